package anthropic

import (
	"bytes"
	"context"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Messages implements provider.MessagesInvoker: the caller's Messages API
// body goes to Anthropic as it came (its model set to the upstream's
// name), and the answer comes back as Anthropic sent it.
func (p *Provider) Messages(ctx context.Context, call provider.Call, req *provider.MessagesRequest) (*provider.Passed, error) {
	model := upstreamModel(call)
	enc, err := passBody(req, model)
	if err != nil {
		return nil, err
	}
	body, out, err := p.message(ctx, model, enc)
	if err != nil {
		return nil, err
	}
	return &provider.Passed{Body: body, Response: out}, nil
}

// MessagesStream implements provider.MessagesInvoker: Anthropic's own
// events, each with the neutral events it amounts to.
func (p *Provider) MessagesStream(ctx context.Context, call provider.Call, req *provider.MessagesRequest) (provider.RawStream, error) {
	model := upstreamModel(call)
	enc, err := passBody(req, model)
	if err != nil {
		return nil, err
	}
	st, err := p.stream(ctx, model, enc, true)
	if err != nil {
		return nil, err
	}
	return rawStream{st}, nil
}

// rawStream is a stream that hands over Anthropic's bytes.
type rawStream struct{ *stream }

// Raw implements provider.RawStream.
func (s rawStream) Raw() []byte { return s.raw }

// passBody is the caller's body for model: untouched when it names model
// already (the front door decoded the name: the body is not parsed again),
// else with its model member's value replaced in place, every other byte
// as the caller sent it.
func passBody(req *provider.MessagesRequest, model string) (*encoded, error) {
	enc := &encoded{body: req.Body, betas: req.Betas}
	if req.Model == model {
		return enc, nil
	}
	if !gjson.ValidBytes(req.Body) || !gjson.ParseBytes(req.Body).IsObject() {
		return nil, invalid("The request body must be a JSON object.")
	}
	body, err := provider.WithModel(req.Body, model)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	enc.body = body
	return enc, nil
}

// appendSSE appends an event as a server-sent event: its name, its data.
func appendSSE(dst []byte, ev sseEvent) []byte {
	if ev.name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.name...)
		dst = append(dst, '\n')
	}
	for _, line := range bytes.Split(ev.data, []byte("\n")) {
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
	}
	return append(dst, '\n')
}
