package bedrockapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/smithy-go/eventstream"
	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

const (
	contentTypeEventStream = "application/vnd.amazon.eventstream"
	headerBedrockAccept    = "X-Amzn-Bedrock-Accept"
	headerBedrockCT        = "X-Amzn-Bedrock-Content-Type"
	metricsKey             = "amazon-bedrock-invocationMetrics"
)

// withInvocationMetrics adds Bedrock's invocation metrics to the last chunk
// of an InvokeModelWithResponseStream response.
func withInvocationMetrics(chunk []byte, x *gateway.Exchange) ([]byte, error) {
	if len(chunk) < 2 || chunk[len(chunk)-1] != '}' {
		return nil, errors.New("stream encoder produced a final chunk that is not a JSON object")
	}
	u := x.Usage()
	start := x.Start
	first := x.FirstByte()
	m := invocationMetrics{
		InputTokenCount:   u.InputTokens,
		OutputTokenCount:  u.OutputTokens,
		InvocationLatency: time.Since(start).Milliseconds(),
		CacheRead:         u.CacheReadInputTokens,
		CacheWrite:        u.CacheWriteInputTokens,
	}
	if !first.IsZero() {
		m.FirstByteLatency = first.Sub(start).Milliseconds()
	} else {
		m.FirstByteLatency = m.InvocationLatency
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(chunk)+len(metricsKey)+len(mj)+4)
	out = append(out, chunk[:len(chunk)-1]...)
	if len(chunk) > 2 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, metricsKey...)
	out = append(out, '"', ':')
	out = append(out, mj...)
	return append(out, '}'), nil
}

// invocationMetrics is the amazon-bedrock-invocationMetrics object.
type invocationMetrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
	CacheRead         int   `json:"cacheReadInputTokenCount,omitempty"`
	CacheWrite        int   `json:"cacheWriteInputTokenCount,omitempty"`
}

// chunkPayload is the payload of an InvokeModelWithResponseStream chunk
// event. P is padding of random length, as Bedrock adds, so that the size
// of encrypted frames says less about the tokens inside; clients ignore it.
type chunkPayload struct {
	Bytes string `json:"bytes"`
	P     string `json:"p"`
}

const padAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// streamException names the exception event for an error: the members of
// the operation's stream union. Codes the union has no member for are sent
// as the closest one (a model error is a model stream error; a timeout is
// one too on ConverseStream, whose union lacks modelTimeoutException).
func streamException(e *apierror.Error, op invocation.Operation) (string, []byte) {
	name := "internalServerException"
	switch e.Code {
	case apierror.Throttling, apierror.ModelNotReady, apierror.ServiceQuotaExceeded:
		name = "throttlingException"
	case apierror.Validation:
		name = "validationException"
	case apierror.ServiceUnavailable:
		name = "serviceUnavailableException"
	case apierror.ModelStreamError, apierror.ModelError:
		name = "modelStreamErrorException"
	case apierror.ModelTimeout:
		name = "modelStreamErrorException"
		if op == invocation.InvokeModelWithResponseStream {
			name = "modelTimeoutException"
		}
	}
	body := errorJSON{Message: e.Message}
	if name == "modelStreamErrorException" {
		body.OriginalStatusCode = e.OriginalStatusCode
		body.OriginalMessage = e.OriginalMessage
		if body.OriginalMessage == "" {
			body.OriginalMessage = e.Message
		}
	}
	b, _ := json.Marshal(body)
	return name, b
}

// eventFrames writes the AWS event-stream messages of one streamed answer
// with the SDK's codec, into one reused buffer: a frame is valid until the
// next one (as gateway.StreamEncoder's bytes are).
type eventFrames struct {
	enc *eventstream.Encoder
	buf bytes.Buffer
}

func newEventFrames() *eventFrames { return &eventFrames{enc: eventstream.NewEncoder()} }

// event is an event message named name.
func (f *eventFrames) event(name string, payload []byte) ([]byte, error) {
	var hs eventstream.Headers
	hs.Set(":event-type", eventstream.StringValue(name))
	hs.Set(":content-type", eventstream.StringValue(contentTypeJSON))
	hs.Set(":message-type", eventstream.StringValue("event"))
	return f.message(eventstream.Message{Headers: hs, Payload: payload})
}

// fail is the exception message that ends a stream of op after err,
// named after the stream union's member for it: gateway.StreamEncoder's
// Fail.
func (f *eventFrames) fail(err error, op invocation.Operation) (*apierror.Error, int, []byte) {
	e := apierror.From(err)
	name, body := streamException(e, op)
	var hs eventstream.Headers
	hs.Set(":exception-type", eventstream.StringValue(name))
	hs.Set(":content-type", eventstream.StringValue(contentTypeJSON))
	hs.Set(":message-type", eventstream.StringValue("exception"))
	frame, _ := f.message(eventstream.Message{Headers: hs, Payload: body})
	return e, e.Status(), frame
}

func (f *eventFrames) message(m eventstream.Message) ([]byte, error) {
	f.buf.Reset()
	if err := f.enc.Encode(&f.buf, m); err != nil {
		return nil, err
	}
	return f.buf.Bytes(), nil
}
