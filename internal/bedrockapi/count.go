package bedrockapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// CountTokens constraints, from the service model (botocore
// bedrock-runtime/2023-09-30/service-2.json): the model ID is a
// FoundationModelVersionIdentifier, invokeModel.body a Body blob.
const (
	maxCountModelID   = 256
	countModelPattern = `[a-zA-Z_\.\-/0-9:]+`
	maxNativeBody     = 25000000
)

var countModelID = regexp.MustCompile(`^` + countModelPattern + `$`)

// errCannotCount is Bedrock's answer for a model it cannot count for.
func errCannotCount() *apierror.Error {
	return apierror.New(apierror.Validation, "The provided model doesn't support counting tokens.")
}

// nativeTokenCounter is implemented by providers that count a model's
// native InvokeModel body themselves (the Bedrock provider): the body
// then goes upstream untouched, as InvokeModel's does, so the count is of
// exactly what an InvokeModel call would send.
type nativeTokenCounter interface {
	CountTokensNative(ctx context.Context, call provider.Call, body []byte) (int, error)
}

// countTokensRequest is CountTokens' body; input is a union of the two
// request forms.
type countTokensRequest struct {
	Input *struct {
		InvokeModel *struct {
			// Body is a blob: encoding/json decodes its base64 in place,
			// without a copy of the encoded text.
			Body []byte `json:"body"`
		} `json:"invokeModel"`
		Converse *converseTokens `json:"converse"`
	} `json:"input"`
}

// converseTokens is ConverseTokensRequest: the members of a Converse
// request that carry input (inferenceConfig and the others are not part
// of it, and are ignored if sent, as AWS ignores unknown members).
type converseTokens struct {
	Messages                     []converse.Message            `json:"messages"`
	System                       []converse.SystemContentBlock `json:"system"`
	ToolConfig                   *converse.ToolConfig          `json:"toolConfig"`
	AdditionalModelRequestFields json.RawMessage               `json:"additionalModelRequestFields"`
}

// countInput is a decoded CountTokens body: a native body or a Converse
// request.
type countInput struct {
	native   []byte
	converse *converse.Request
}

// countTokens serves CountTokens. It is not a model invocation: Bedrock
// neither bills it nor logs it in model invocation logging nor counts it
// in its invocation metrics, so it produces no Invocation record. The
// caller is authenticated as for any request and must hold
// bedrock:CountTokens on the model's foundation-model ARN.
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request, escapedID string) {
	// The body stays charged to the body budget while it is decoded and
	// counted: a count holds up to 25 MB as long as a model call does.
	w.Header()[headerRequestID] = []string{newRequestID()}
	body, id, release, err := h.gw.ControlHeld(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, "", "")
	defer release()
	if err != nil {
		writeError(w, apierror.From(bodyError(err, h.opts.MaxRequestBytes)))
		return
	}
	// The header is set under Bedrock's spelling, which Get would not find.
	requestID := strings.Join(w.Header()[headerRequestID], "")
	n, err := h.count(r, id, requestID, escapedID, body)
	if err != nil {
		if r.Context().Err() != nil {
			return // the caller went away: nobody to answer, nothing to log
		}
		e := apierror.From(err)
		if e.Cause != nil {
			h.opts.Logger.Warn("count tokens failed", "request_id", requestID,
				"model_id", escapedID, "error_code", e.Code, "cause", e.Cause)
		}
		writeError(w, e)
		return
	}
	writeJSON(w, struct {
		InputTokens int `json:"inputTokens"`
	}{n})
}

// count resolves and authorizes the model, decodes the body and asks the
// model's provider for the count.
func (h *Handler) count(r *http.Request, id auth.Identity, requestID, escapedID string, body []byte) (int, error) {
	ctx := r.Context()
	modelID, err := url.PathUnescape(escapedID)
	if err != nil {
		return 0, apierror.New(apierror.Validation, "The provided model identifier is invalid.")
	}
	if err := checkCountModelID(modelID); err != nil {
		return 0, err
	}
	cat := h.gw.Catalog()
	res, err := cat.Resolve(modelID)
	if err != nil {
		return 0, err
	}
	if err := h.gw.Authorize(r, id, auth.ActionCountTokens, cat.ModelARN(res)); err != nil {
		return 0, err
	}
	model := res.Model
	p := h.gw.Provider(model.Provider)
	tc, counts := p.(provider.TokenCounter)
	nc, countsNative := p.(nativeTokenCounter)
	if model.Embedding() || (!counts && !countsNative) {
		return 0, errCannotCount()
	}
	in, err := decodeCountInput(body)
	if err != nil {
		return 0, err
	}
	if in.converse != nil && !counts {
		return 0, errCannotCount()
	}
	call := provider.Call{RequestID: requestID, ModelID: model.ID, UpstreamModel: model.UpstreamModel}
	var n int
	switch {
	case in.native != nil:
		native := nativeForCounting(model, in.native)
		if countsNative {
			n, err = withTimeout(ctx, model, func(ctx context.Context) (int, error) { return nc.CountTokensNative(ctx, call, native) })
			break
		}
		req, derr := decodeNative(model, native)
		if derr != nil {
			return 0, derr
		}
		n, err = withTimeout(ctx, model, func(ctx context.Context) (int, error) { return tc.CountTokens(ctx, call, req) })
	default:
		req := in.converse
		if err := req.Validate(); err != nil {
			return 0, err
		}
		if err := gateway.CheckChat(model, req, false); err != nil {
			return 0, err
		}
		n, err = withTimeout(ctx, model, func(ctx context.Context) (int, error) { return tc.CountTokens(ctx, call, req) })
	}
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, &apierror.Error{Code: apierror.InternalServer, Message: "The server encountered an internal error while processing the request.",
			Cause: fmt.Errorf("provider %s counted %d tokens for %s", model.Provider, n, model.ID)}
	}
	return n, nil
}

// checkCountModelID applies FoundationModelVersionIdentifier's
// constraints, which are narrower than the other runtime operations'
// (256 characters, not 2048).
func checkCountModelID(id string) error {
	switch {
	case len(id) < 1:
		return apierror.ConstraintViolation(id, "modelId", "Member must have length greater than or equal to 1")
	case len(id) > maxCountModelID:
		return apierror.ConstraintViolation(truncate(id, 64), "modelId", "Member must have length less than or equal to 256")
	case !countModelID.MatchString(id):
		return apierror.ConstraintViolation(id, "modelId", "Member must satisfy regular expression pattern: "+countModelPattern)
	}
	return nil
}

// decodeCountInput parses and checks the CountTokens body up to the
// union: one form, and for invokeModel a base64 body within 25 MB.
func decodeCountInput(body []byte) (*countInput, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apierror.New(apierror.Validation, "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null")
	}
	var req countTokensRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var notBase64 base64.CorruptInputError
		if errors.As(err, &notBase64) {
			return nil, apierror.New(apierror.Validation, "Malformed request: the value at 'input.invokeModel.body' is not valid base64.")
		}
		return nil, converse.JSONError(err)
	}
	if req.Input == nil {
		return nil, apierror.New(apierror.Validation, "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null")
	}
	n := 0
	if req.Input.InvokeModel != nil {
		n++
	}
	if req.Input.Converse != nil {
		n++
	}
	switch n {
	case 0:
		return nil, apierror.New(apierror.Validation, "The CountTokensInput object at input has no supported member set. Set exactly one member and try again.")
	case 2:
		return nil, apierror.New(apierror.Validation, "The CountTokensInput object at input has 2 members set, but it is a union. Set exactly one member and try again.")
	}
	if im := req.Input.InvokeModel; im != nil {
		if im.Body == nil {
			return nil, apierror.New(apierror.Validation, "1 validation error detected: Value null at 'input.invokeModel.body' failed to satisfy constraint: Member must not be null")
		}
		if len(im.Body) > maxNativeBody {
			// The body is a sensitive member: its value is not echoed.
			return nil, apierror.New(apierror.Validation, "1 validation error detected: Value at 'input.invokeModel.body' failed to satisfy constraint: Member must have length less than or equal to %d", maxNativeBody)
		}
		return &countInput{native: im.Body}, nil
	}
	c := req.Input.Converse
	extra := c.AdditionalModelRequestFields
	if bytes.Equal(bytes.TrimSpace(extra), []byte("null")) {
		extra = nil
	}
	return &countInput{converse: &converse.Request{
		Messages: c.Messages, System: c.System, ToolConfig: c.ToolConfig, AdditionalModelRequestFields: extra,
	}}, nil
}

// nativeForCounting completes a native Anthropic body that has no
// max_tokens: the Anthropic SDKs send count_tokens' parameters, which
// have none (an output budget does not change the input), while the
// InvokeModel schema requires one. The model's output limit is filled
// in, so that a thinking budget below it stays valid. Other bodies, and
// bodies that are not JSON objects (the codec reports those), are
// returned unchanged.
func nativeForCounting(model *catalog.Model, body []byte) []byte {
	if model.Family != invokebody.Anthropic {
		return body
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return body
	}
	if _, ok := fields["max_tokens"]; ok {
		return body
	}
	fields["max_tokens"] = json.RawMessage(strconv.Itoa(model.OutputBudget()))
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// decodeNative decodes a native body with the model family's codec into
// the Converse request a TokenCounter counts.
func decodeNative(model *catalog.Model, body []byte) (*converse.Request, error) {
	codec, _ := invokebody.Lookup(model.Family)
	chat, ok := codec.(invokebody.ChatCodec)
	if !ok {
		return nil, errCannotCount()
	}
	return chat.DecodeChat(body, invokebody.Model{ID: model.ID, MaxOutputTokens: model.MaxOutputTokens, DefaultMaxTokens: model.DefaultMaxTokens})
}

// withTimeout bounds a count by the model's timeout, as a call to the
// model is bounded.
func withTimeout(ctx context.Context, model *catalog.Model, f func(context.Context) (int, error)) (int, error) {
	if model.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, model.Timeout)
		defer cancel()
	}
	return f(ctx)
}
