package openaiapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// serveChat serves POST /v1/chat/completions (and Bedrock's own
// /openai/v1/chat/completions) through the gateway's request loop.
func (h *Handler) serveChat(w http.ResponseWriter, r *http.Request) {
	h.gw.Serve(w, r, &chatDoor{h: h})
}

// chatDoor is the chat completions wire, for one call: it keeps the
// decoded request, whose parameter names its errors use, and the body as
// the caller sent it, for upstreams that speak the same wire.
type chatDoor struct {
	h    *Handler
	req  *openai.ChatRequest
	body []byte
}

// Describe implements gateway.Door.
func (d *chatDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIOpenAI, Operation: invocation.ChatCompletions,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door.
func (d *chatDoor) Decode(_ *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		return nil, err
	}
	d.req, d.body = req, body
	out := &gateway.Request{Model: req.Model, Stream: req.Stream, Metadata: requestMetadata(req.Metadata, req.User)}
	out.Chat, err = translate.ChatToConverse(req)
	return out, err
}

// Encode implements gateway.Door.
func (d *chatDoor) Encode(x *gateway.Exchange, resp *converse.Response) ([]byte, error) {
	return json.Marshal(translate.ConverseToChatCompletion(resp, d.ids(x)))
}

// Pass implements gateway.Passer: a provider that speaks chat
// completions (the OpenAI provider) gets the caller's body untranslated,
// and its answer goes back as it came: its id, model, system_fingerprint,
// usage details and logprobs included.
func (d *chatDoor) Pass(ctx context.Context, t gateway.Target, x *gateway.Exchange) (*provider.Passed, bool, error) {
	ci, ok := t.Provider.(provider.ChatCompletionsInvoker)
	if !ok {
		// Translated: what only chat completions can carry is refused.
		if err := d.req.TranslationLimits(); err != nil {
			return nil, true, err
		}
		return nil, false, nil
	}
	resp, err := ci.ChatCompletions(ctx, t.Call, d.passed(x))
	return resp, true, err
}

// PassStream implements gateway.Passer: the upstream's own chunks.
func (d *chatDoor) PassStream(ctx context.Context, t gateway.Target, x *gateway.Exchange) (provider.RawStream, bool, error) {
	ci, ok := t.Provider.(provider.ChatCompletionsInvoker)
	if !ok {
		if err := d.req.TranslationLimits(); err != nil {
			return nil, true, err
		}
		return nil, false, nil
	}
	st, err := ci.ChatCompletionsStream(ctx, t.Call, d.passed(x))
	return st, true, err
}

// passed is the caller's request as it goes to a chat completions
// upstream.
func (d *chatDoor) passed(x *gateway.Exchange) *provider.ChatCompletionsRequest {
	r := &provider.ChatCompletionsRequest{Body: d.body, Model: d.req.Model,
		IncludeUsage:        d.req.StreamOptions != nil && d.req.StreamOptions.IncludeUsage,
		MaxCompletionTokens: d.req.MaxCompletionTokens != nil && d.req.MaxTokens == nil}
	if d.req.MaxTokens == nil && d.req.MaxCompletionTokens == nil {
		// The budget the model policy gave the request (CheckChat).
		r.MaxTokens = *x.Request.Chat.InferenceConfig.MaxTokens
	}
	return r
}

// ids are the values of the call's completion the door chooses.
func (d *chatDoor) ids(x *gateway.Exchange) translate.ChatIDs {
	return translate.ChatIDs{CompletionID: completionID(x.RequestID), Model: x.Model.ID, Created: x.Start.Unix()}
}

// Stream implements gateway.Door: server-sent events, each chunk a data
// line, the last one [DONE].
func (d *chatDoor) Stream(x *gateway.Exchange, h http.Header) gateway.StreamEncoder {
	h.Set("Content-Type", "text/event-stream")
	includeUsage := d.req.StreamOptions != nil && d.req.StreamOptions.IncludeUsage
	return &chatStream{enc: translate.NewChatStream(d.ids(x), includeUsage)}
}

// Error implements gateway.Door.
func (d *chatDoor) Error(err error, _ http.Header) (*apierror.Error, int, []byte) {
	return errorReply(d.word(err))
}

// word puts the gateway's errors in OpenAI's terms: an unknown model is
// 404 model_not_found, a model policy violation names the parameter, a
// body over the limit is request_too_large.
func (d *chatDoor) word(err error) error {
	var unknown *gateway.UnknownModelError
	if errors.As(err, &unknown) {
		return modelNotFound(unknown.Model)
	}
	var pe *gateway.PolicyError
	if errors.As(err, &pe) {
		return policyError(pe, d.req)
	}
	return d.h.bodyError(err)
}

// policyError words the model policy for OpenAI clients.
func policyError(pe *gateway.PolicyError, req *openai.ChatRequest) error {
	switch pe.Rule {
	case gateway.RuleChatModel:
		return openai.NewRequestError("model", "The model `%s` is an embedding model and does not support chat completions.", pe.Model)
	case gateway.RuleStreaming:
		return openai.NewRequestError("stream", "The model `%s` does not support streaming. Try again without 'stream'.", pe.Model)
	case gateway.RuleMaxTokens:
		param := "max_tokens"
		if req != nil && req.MaxCompletionTokens != nil {
			param = "max_completion_tokens"
		}
		return openai.NewRequestError(param, "'%s' is too large: %d. The model `%s` supports at most %d completion tokens.", param, pe.Value, pe.Model, pe.Limit)
	case gateway.RuleSystem:
		return openai.NewRequestError("messages", "The model `%s` does not support system or developer messages.", pe.Model)
	case gateway.RuleTools:
		return openai.NewRequestError("tools", "The model `%s` does not support tools.", pe.Model)
	case gateway.RuleImages:
		return openai.NewRequestError("messages", "The model `%s` does not support image inputs.", pe.Model)
	}
	return pe
}

// chatStream encodes a chat completion stream as server-sent events.
type chatStream struct {
	enc *translate.ChatStream
	buf []byte
}

// Encode implements gateway.StreamEncoder. The bytes are valid until the
// next call: the buffer is reused.
func (s *chatStream) Encode(ev *converse.StreamEvent) ([]byte, error) {
	var err error
	s.buf, err = s.enc.AppendSSE(s.buf[:0], ev)
	return s.buf, err
}

// Fail implements gateway.StreamEncoder: the error body as a data frame,
// which OpenAI's SDKs raise; the stream then ends without [DONE].
func (s *chatStream) Fail(err error) (*apierror.Error, int, []byte) {
	e, status, body := errorReply(err)
	frame := make([]byte, 0, len(body)+8)
	frame = append(frame, "data: "...)
	frame = append(frame, body...)
	frame = append(frame, "\n\n"...)
	return e, status, frame
}

// SendsRetryAfter implements gateway.RetryAfterer: the API's clients read
// Retry-After on a 429.
func (d *chatDoor) SendsRetryAfter() bool { return true }
