package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var _ provider.TokenCounter = (*Provider)(nil)

// countTokensBody is CountTokens' request body: a union of the Converse
// form (ConverseTokensRequest: messages, system, toolConfig,
// additionalModelRequestFields) and the InvokeModel form (the native body,
// a blob, which encoding/json writes as base64 as the SDKs do).
type countTokensBody struct {
	Input countTokensInput `json:"input"`
}

type countTokensInput struct {
	Converse    *converseTokens    `json:"converse,omitempty"`
	InvokeModel *invokeModelTokens `json:"invokeModel,omitempty"`
}

type converseTokens struct {
	Messages                     []converse.Message            `json:"messages,omitempty"`
	System                       []converse.SystemContentBlock `json:"system,omitempty"`
	ToolConfig                   *converse.ToolConfig          `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields json.RawMessage               `json:"additionalModelRequestFields,omitempty"`
}

type invokeModelTokens struct {
	Body []byte `json:"body"`
}

// CountTokens asks Bedrock's CountTokens for the input tokens of a
// Converse request, in the converse form (the members of req that carry
// input; inferenceConfig and the rest are not part of that form).
func (p *Provider) CountTokens(ctx context.Context, call provider.Call, req *converse.Request) (int, error) {
	if req == nil {
		return 0, apierror.New(apierror.Validation, "The request body is missing.")
	}
	return p.countTokens(ctx, call, countTokensInput{Converse: &converseTokens{
		Messages: req.Messages, System: req.System, ToolConfig: req.ToolConfig,
		AdditionalModelRequestFields: req.AdditionalModelRequestFields,
	}})
}

// CountTokensNative asks Bedrock's CountTokens for the input tokens of a
// native InvokeModel body, which goes upstream unchanged (the invokeModel
// form), as InvokeModel passes it through.
func (p *Provider) CountTokensNative(ctx context.Context, call provider.Call, body []byte) (int, error) {
	return p.countTokens(ctx, call, countTokensInput{InvokeModel: &invokeModelTokens{Body: body}})
}

func (p *Provider) countTokens(ctx context.Context, call provider.Call, in countTokensInput) (int, error) {
	body, err := json.Marshal(countTokensBody{Input: in})
	if err != nil {
		// Only raw JSON members that are not valid JSON get here.
		return 0, &apierror.Error{Code: apierror.Validation, Message: "Malformed input request: the request contains invalid JSON.", Cause: err}
	}
	model := countModel(upstreamModel(call))
	resp, err := p.do(ctx, request{model: model, op: "count-tokens", body: body, headers: jsonHeaders.Clone()})
	if err != nil {
		return 0, err
	}
	data, err := p.readBody(ctx, model, resp)
	if err != nil {
		return 0, err
	}
	n, err := decodeCount(data)
	if err != nil {
		return 0, p.badResponse(model, err)
	}
	return n, nil
}

// decodeCount reads a CountTokens response, {"inputTokens": N}.
func decodeCount(data []byte) (int, error) {
	var out struct {
		InputTokens *int `json:"inputTokens"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("decoding the CountTokens response: %w", err)
	}
	if out.InputTokens == nil || *out.InputTokens < 0 {
		return 0, fmt.Errorf("the CountTokens response has no valid inputTokens")
	}
	return *out.InputTokens, nil
}

// countModel is the model CountTokens is asked about. CountTokens takes
// foundation-model IDs and ARNs; it has refused cross-region profile IDs
// (us.…, global.…), so a configured upstream profile, or its
// inference-profile ARN, is counted as its base model: the same model,
// so the same tokenizer. Other identifiers go as they are.
func countModel(model string) string {
	if i := strings.Index(model, ":inference-profile/"); strings.HasPrefix(model, "arn:") && i >= 0 {
		if _, base, ok := catalog.SplitProfileID(model[i+len(":inference-profile/"):]); ok {
			return base
		}
		return model
	}
	if _, base, ok := catalog.SplitProfileID(model); ok {
		return base
	}
	return model
}
