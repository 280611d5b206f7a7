package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var _ provider.TokenCounter = (*Provider)(nil)

// maxCountBytes bounds a count_tokens response ({"input_tokens": N}).
const maxCountBytes = 64 << 10

// generationOnly are the Messages parameters that shape the output, not
// the input. count_tokens takes every other Messages parameter (model,
// messages, system, tools, tool_choice, thinking, output_config, …) and
// refuses these ("Extra inputs are not permitted"), so they are removed
// from the translated body rather than the others kept: a parameter this
// list does not know still reaches the count, as it would the call.
var generationOnly = []string{
	"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences",
	"metadata", "service_tier", "container", "inference_geo",
}

// CountTokens asks Anthropic's POST /v1/messages/count_tokens for the
// input tokens of req: the body is the one Converse would send (the same
// translation, additionalModelRequestFields and anthropic_beta
// included), without the generation parameters, so the count is the one
// the call would be billed for. The count is free at Anthropic but has
// its own rate limit; a 429 is a ThrottlingException.
func (p *Provider) CountTokens(ctx context.Context, call provider.Call, req *converse.Request) (int, error) {
	model := upstreamModel(call)
	enc, err := encodeRequest(req, model, false)
	if err != nil {
		return 0, err
	}
	if enc.body, err = countBody(enc.body); err != nil {
		return 0, err
	}
	// The same request as a Messages call (headers, betas, errors), to
	// the count endpoint: a copy of the provider with that endpoint.
	counter := *p
	counter.endpoint = p.endpoint + "/count_tokens"
	resp, err := counter.post(ctx, model, enc, false)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCountBytes+1))
	if err != nil {
		return 0, provider.TransportError(displayName, err)
	}
	if len(body) > maxCountBytes {
		return 0, badResponse(model, resp, fmt.Errorf("count_tokens response larger than %d bytes", maxCountBytes))
	}
	n, err := decodeCount(body)
	if err != nil {
		return 0, badResponse(model, resp, err)
	}
	return n, nil
}

// decodeCount reads a count_tokens response, {"input_tokens": N}.
func decodeCount(body []byte) (int, error) {
	var out struct {
		InputTokens *int `json:"input_tokens"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("count_tokens response: %w", err)
	}
	if out.InputTokens == nil || *out.InputTokens < 0 {
		return 0, fmt.Errorf("count_tokens response without a valid input_tokens: %s", snippet(body))
	}
	return *out.InputTokens, nil
}

// countBody removes the generation parameters from a translated
// Messages body.
func countBody(body []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("anthropic: count_tokens body: %w", err)
	}
	for _, k := range generationOnly {
		delete(fields, k)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("anthropic: count_tokens body: %w", err)
	}
	return out, nil
}
