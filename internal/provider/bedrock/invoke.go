package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Bedrock's InvokeModel headers.
const (
	headerBedrockPrefix    = "X-Amzn-Bedrock-"
	headerStreamAccept     = "X-Amzn-Bedrock-Accept"
	headerStreamType       = "X-Amzn-Bedrock-Content-Type"
	headerInputTokens      = "X-Amzn-Bedrock-Input-Token-Count"
	headerOutputTokens     = "X-Amzn-Bedrock-Output-Token-Count"
	headerCacheReadTokens  = "X-Amzn-Bedrock-Cache-Read-Input-Token-Count"
	headerCacheWriteTokens = "X-Amzn-Bedrock-Cache-Write-Input-Token-Count"
	headerServiceTier      = "X-Amzn-Bedrock-Service-Tier"
	headerPerfLatency      = "X-Amzn-Bedrock-PerformanceConfig-Latency"
	defaultContentType     = "application/json"
)

// nativeHeaders builds the headers of an InvokeModel request: the
// caller's X-Amzn-Bedrock-* headers (trace, guardrail, latency, tier),
// then the content types. Anything else in NativeRequest.Headers is
// dropped: only Bedrock's own headers belong upstream, and the signing
// headers are modelwatch's.
func nativeHeaders(req *provider.NativeRequest, stream bool) (http.Header, error) {
	h := http.Header{}
	for k, v := range req.Headers {
		ck := http.CanonicalHeaderKey(k)
		if !strings.HasPrefix(ck, headerBedrockPrefix) {
			continue
		}
		if !validHeaderName(ck) || !validHeaderValue(v) {
			return nil, apierror.New(apierror.Validation, "The request header %s has an invalid name or value.", ck)
		}
		h.Set(ck, v)
	}
	contentType := firstNonEmpty(req.ContentType, defaultContentType)
	accept := firstNonEmpty(req.Accept, defaultContentType)
	if !validHeaderValue(contentType) || !validHeaderValue(accept) {
		return nil, apierror.New(apierror.Validation, "The Content-Type or Accept header has an invalid value.")
	}
	h.Set("Content-Type", contentType)
	if stream {
		h.Set(headerStreamAccept, accept)
	} else {
		h.Set("Accept", accept)
	}
	return h, nil
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters, which would split or
// corrupt the request.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// InvokeModel sends the native body to Bedrock's InvokeModel unchanged
// and returns the answer unchanged, with the token counts of Bedrock's
// X-Amzn-Bedrock-*-Token-Count headers.
func (p *Provider) InvokeModel(ctx context.Context, call provider.Call, req *provider.NativeRequest) (*provider.NativeResponse, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	h, err := nativeHeaders(req, false)
	if err != nil {
		return nil, err
	}
	model := upstreamModel(call)
	resp, err := p.do(ctx, request{model: model, op: "invoke", body: req.Body, headers: h})
	if err != nil {
		return nil, err
	}
	body, err := p.readBody(ctx, model, resp)
	if err != nil {
		return nil, err
	}
	return &provider.NativeResponse{
		Body:                  body,
		ContentType:           resp.Header.Get("Content-Type"),
		InputTokens:           headerInt(resp.Header, headerInputTokens),
		OutputTokens:          headerInt(resp.Header, headerOutputTokens),
		CacheReadInputTokens:  headerInt(resp.Header, headerCacheReadTokens),
		CacheWriteInputTokens: headerInt(resp.Header, headerCacheWriteTokens),
		ServiceTier:           resp.Header.Get(headerServiceTier),
		PerformanceLatency:    resp.Header.Get(headerPerfLatency),
	}, nil
}

// InvokeModelWithResponseStream sends the native body to Bedrock's
// InvokeModelWithResponseStream unchanged. Like ConverseStream it waits
// for the first chunk, so that an immediate failure is returned here.
func (p *Provider) InvokeModelWithResponseStream(ctx context.Context, call provider.Call, req *provider.NativeRequest) (provider.NativeStream, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	h, err := nativeHeaders(req, true)
	if err != nil {
		return nil, err
	}
	model := upstreamModel(call)
	resp, err := p.do(ctx, request{model: model, op: "invoke-with-response-stream", body: req.Body, headers: h})
	if err != nil {
		return nil, err
	}
	s := &nativeStream{streamBase: newStreamBase(ctx, p, model, resp), contentType: resp.Header.Get(headerStreamType),
		tier: resp.Header.Get(headerServiceTier), latency: resp.Header.Get(headerPerfLatency)}
	first, err := s.next()
	if err != nil && err != io.EOF {
		_ = s.Close()
		return nil, err
	}
	s.pending = first // nil for a stream without chunks: Next then reports io.EOF
	return s, nil
}

// nativeStream decodes InvokeModelWithResponseStream chunk events.
type nativeStream struct {
	streamBase
	contentType   string
	tier, latency string
	pending       []byte
}

var _ provider.TierReporter = (*nativeStream)(nil)

// ContentType is the model's MIME type (X-Amzn-Bedrock-Content-Type).
func (s *nativeStream) ContentType() string { return s.contentType }

// ServedTier is the upstream's X-Amzn-Bedrock-Service-Tier and
// -PerformanceConfig-Latency response headers.
func (s *nativeStream) ServedTier() (tier, latency string) { return s.tier, s.latency }

// Next returns the decoded bytes of the next chunk event, then io.EOF.
func (s *nativeStream) Next() ([]byte, error) {
	if s.pending != nil && !s.closed {
		b := s.pending
		s.pending = nil
		return b, nil
	}
	return s.next()
}

// payloadPart is a chunk event's payload: the model's bytes, base64 on
// the wire (encoding/json decodes them), and padding ("p") to ignore.
type payloadPart struct {
	Bytes []byte `json:"bytes"`
}

func (s *nativeStream) next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	for {
		name, payload, err := s.event()
		if err != nil {
			return nil, s.fail(err)
		}
		if name != "chunk" {
			continue // an event type this version does not know
		}
		var part payloadPart
		if err := json.Unmarshal(payload, &part); err != nil {
			return nil, s.fail(s.malformed(fmt.Errorf("%w: chunk event: %v", errMalformed, err)))
		}
		if len(part.Bytes) == 0 {
			continue
		}
		return part.Bytes, nil
	}
}
