package openaiapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/apischema/responses"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// serveResponses serves POST /v1/responses (and Bedrock's own
// /openai/v1/responses) through the gateway's request loop.
//
// modelwatch keeps no responses: store is accepted and answered with
// store false, previous_response_id and conversation are refused with a
// 400 that says to send the whole conversation as input (Codex CLI does,
// with store false), and GET/DELETE /v1/responses/{id} answer 404. Keeping
// every answer would make the gateway a second store of prompts and
// outputs beside the invocation log, with its own retention and access
// rules; the invocation log already keeps them, under its own.
func (h *Handler) serveResponses(w http.ResponseWriter, r *http.Request) {
	h.gw.Serve(w, r, &responsesDoor{h: h})
}

// responsesDoor is the Responses API wire, for one call.
type responsesDoor struct {
	h   *Handler
	req *responses.Request
}

// Describe implements gateway.Door.
func (d *responsesDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIOpenAI, Operation: invocation.Responses,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door.
func (d *responsesDoor) Decode(_ *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := translate.DecodeResponsesRequest(body)
	if err != nil {
		return nil, err
	}
	d.req = req
	out := &gateway.Request{Model: req.Model, Stream: req.Stream, Metadata: requestMetadata(req.Metadata, req.User)}
	if err := translate.CheckResponsesStateless(req); err != nil {
		return out, err
	}
	out.Chat, err = translate.ResponsesToConverse(req)
	return out, err
}

// ids names the answer: the response ID derives from the request ID, as
// the chat completion ID does.
func (d *responsesDoor) ids(x *gateway.Exchange) translate.ResponseIDs {
	return translate.ResponseIDs{ResponseID: responseID(x.RequestID), CreatedAt: x.Start.Unix(), Model: d.req.Model}
}

// responseID is "resp_" and the request ID without its dashes.
func responseID(requestID string) string { return "resp_" + strings.ReplaceAll(requestID, "-", "") }

// Encode implements gateway.Door.
func (d *responsesDoor) Encode(x *gateway.Exchange, resp *converse.Response) ([]byte, error) {
	return json.Marshal(translate.ConverseToResponse(d.req, resp, d.ids(x)))
}

// Stream implements gateway.Door: the Responses event sequence as
// server-sent events.
func (d *responsesDoor) Stream(x *gateway.Exchange, h http.Header) gateway.StreamEncoder {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	return &responsesStream{enc: translate.NewResponsesStream(d.req, d.ids(x))}
}

// Error implements gateway.Door: OpenAI's error shape, as for chat.
func (d *responsesDoor) Error(err error, _ http.Header) (*apierror.Error, int, []byte) {
	return errorReply(d.word(err))
}

// word puts the gateway's errors in OpenAI's terms.
func (d *responsesDoor) word(err error) error {
	var re *openai.RequestError
	if errors.As(err, &re) {
		return re
	}
	var unknown *gateway.UnknownModelError
	if errors.As(err, &unknown) {
		return modelNotFound(unknown.Model)
	}
	var pe *gateway.PolicyError
	if errors.As(err, &pe) {
		if pe.Rule == gateway.RuleMaxTokens {
			return openai.NewRequestError("max_output_tokens", "'max_output_tokens' is too large: %d. The model `%s` supports at most %d output tokens.", pe.Value, pe.Model, pe.Limit)
		}
		if pe.Rule == gateway.RuleSystem {
			return openai.NewRequestError("instructions", "The model `%s` does not support instructions or system and developer messages.", pe.Model)
		}
		if pe.Rule == gateway.RuleImages {
			return openai.NewRequestError("input", "The model `%s` does not support image inputs.", pe.Model)
		}
		return policyError(pe, nil)
	}
	return d.h.bodyError(err)
}

// responsesStream encodes one answer as Responses stream events.
type responsesStream struct {
	enc *translate.ResponsesStream
}

// Encode implements gateway.StreamEncoder.
func (s *responsesStream) Encode(ev *converse.StreamEvent) ([]byte, error) {
	var out []byte
	for _, e := range s.enc.Encode(ev) {
		b, err := e.Frame()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// Fail implements gateway.StreamEncoder: response.failed, with the
// error's code (what Codex CLI reads to decide whether to retry).
func (s *responsesStream) Fail(err error) (*apierror.Error, int, []byte) {
	e, status, _ := errorReply(err)
	ev := s.enc.Failed(e)
	frame, _ := ev.Frame()
	return e, status, frame
}

// SendsRetryAfter implements gateway.RetryAfterer: the API's clients read
// Retry-After on a 429.
func (d *responsesDoor) SendsRetryAfter() bool { return true }
