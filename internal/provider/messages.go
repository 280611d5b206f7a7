package provider

import (
	"context"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// MessagesInvoker is implemented by providers whose upstream speaks
// Anthropic's Messages API (the Anthropic provider). The Messages front
// door passes the caller's body to them untranslated, so nothing the
// caller sent is lost in a round trip through Converse (beta features,
// fields newer than this code) and nothing is re-encoded; the answer comes
// back as the upstream sent it.
type MessagesInvoker interface {
	// Messages sends a Messages API body and returns the upstream's
	// answer, with its neutral reading for the record (usage, stop
	// reason, content).
	Messages(ctx context.Context, call Call, req *MessagesRequest) (*Passed, error)
	// MessagesStream sends a Messages API body with stream true. Failures
	// before the first event are returned here, so the gateway can retry
	// or fall back.
	MessagesStream(ctx context.Context, call Call, req *MessagesRequest) (RawStream, error)
}

// MessagesRequest is a Messages API call as the caller sent it.
type MessagesRequest struct {
	// Body is the caller's JSON body. Its model member is replaced with
	// the upstream's name for the model when the two differ; nothing else
	// is touched.
	Body []byte
	// Model is the model the body names (the front door has decoded it),
	// so that a body naming the upstream's model goes as it is, unparsed.
	Model string
	// Betas are the caller's anthropic-beta header values, passed on.
	Betas []string
}

// Passed is an answer passed through untranslated (MessagesInvoker's, or
// a NativeInvoker's as a front door reads it): the body as the upstream
// sent it, and its neutral reading for the record (usage, stop reason,
// service tier).
type Passed struct {
	Body     []byte
	Response *converse.Response
	// Image is set for a passed-through image-generation answer: what
	// was asked (size, quality) and Images the number of images the
	// answer carries, for the usage record.
	Image  *ImageRequest
	Images int
}

// RawStream is a Stream that also hands over the upstream's own bytes:
// after Next returns an event, Raw returns the upstream bytes that carried
// it (possibly several upstream events, such as a ping before it; possibly
// none, when one upstream event became several neutral ones), valid until
// the next call of Next.
type RawStream interface {
	Stream
	Raw() []byte
}
