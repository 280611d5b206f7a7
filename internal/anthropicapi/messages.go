package anthropicapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// messagesDoor is POST /v1/messages, for one call: it keeps the decoded
// request, whose model name the answer echoes.
type messagesDoor struct {
	h   *Handler
	req *anthropic.MessagesRequest
	// body and betas are the request as the caller sent it, passed
	// through to Anthropic upstreams.
	body  []byte
	betas []string
}

// Describe implements gateway.Door.
func (d *messagesDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIAnthropic, Operation: invocation.Messages,
		RequestIDHeader: headerRequestID, RequestID: requestID,
		MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door. Anthropic's model names resolve to the
// catalog's Claude models; metadata.user_id is recorded as the end user
// (request metadata "user", as the OpenAI door records its user).
func (d *messagesDoor) Decode(r *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := translate.DecodeMessagesRequest(body)
	if err != nil {
		return nil, err
	}
	d.req, d.body = req, body
	for _, v := range r.Header.Values("Anthropic-Beta") {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				d.betas = append(d.betas, b)
			}
		}
	}
	out := &gateway.Request{Model: req.Model, Stream: req.Stream}
	out.CatalogID = d.h.names.catalogID(req.Model)
	if req.Metadata != nil && req.Metadata.UserID != nil && *req.Metadata.UserID != "" {
		out.Metadata = map[string]string{"user": *req.Metadata.UserID}
	}
	out.Chat, err = translate.MessagesToConverse(req)
	return out, err
}

func (d *messagesDoor) ids(x *gateway.Exchange) translate.MessageIDs {
	return translate.MessageIDs{RequestID: x.RequestID, Model: d.req.Model}
}

// Encode implements gateway.Door.
func (d *messagesDoor) Encode(x *gateway.Exchange, resp *converse.Response) ([]byte, error) {
	return json.Marshal(translate.ConverseToMessagesResponse(resp, d.ids(x)))
}

// Pass implements gateway.Passer: a provider that speaks the Messages API
// (the Anthropic provider) gets the caller's body and anthropic-beta
// values untranslated, and its answer goes back as it came.
func (d *messagesDoor) Pass(ctx context.Context, t gateway.Target, _ *gateway.Exchange) (*provider.Passed, bool, error) {
	mi, ok := t.Provider.(provider.MessagesInvoker)
	if !ok {
		return nil, false, nil
	}
	resp, err := mi.Messages(ctx, t.Call, d.passed())
	return resp, true, err
}

// passed is the caller's request as it goes to a Messages upstream.
func (d *messagesDoor) passed() *provider.MessagesRequest {
	return &provider.MessagesRequest{Body: d.body, Model: d.req.Model, Betas: d.betas}
}

// PassStream implements gateway.Passer: the upstream's own events.
func (d *messagesDoor) PassStream(ctx context.Context, t gateway.Target, _ *gateway.Exchange) (provider.RawStream, bool, error) {
	mi, ok := t.Provider.(provider.MessagesInvoker)
	if !ok {
		return nil, false, nil
	}
	st, err := mi.MessagesStream(ctx, t.Call, d.passed())
	return st, true, err
}

// Stream implements gateway.Door: Anthropic's server-sent events.
func (d *messagesDoor) Stream(x *gateway.Exchange, h http.Header) gateway.StreamEncoder {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	return &messagesStream{d: d, enc: translate.NewMessagesStream(d.ids(x))}
}

// Error implements gateway.Door.
func (d *messagesDoor) Error(err error, h http.Header) (*apierror.Error, int, []byte) {
	// The error body names the request as the request-id header does.
	return d.h.errorReply(d.word(err), h.Get(headerRequestID))
}

// word puts the gateway's errors in Anthropic's terms.
func (d *messagesDoor) word(err error) error {
	var unknown *gateway.UnknownModelError
	if errors.As(err, &unknown) {
		return notFound(unknown.Model)
	}
	var pe *gateway.PolicyError
	if errors.As(err, &pe) {
		switch pe.Rule {
		case gateway.RuleMaxTokens:
			return invalid("max_tokens: %d > %d, which is the maximum allowed number of output tokens for %s", pe.Value, pe.Limit, d.req.Model)
		case gateway.RuleChatModel:
			return invalid("model: %s does not support the Messages API: it is an embedding model", d.req.Model)
		case gateway.RuleStreaming:
			return invalid("model: %s does not support streaming; send the request without stream", d.req.Model)
		case gateway.RuleSystem:
			return invalid("system: model %s does not support a system prompt", d.req.Model)
		case gateway.RuleTools:
			return invalid("tools: model %s does not support tool use", d.req.Model)
		case gateway.RuleImages:
			return invalid("messages: model %s does not support image input", d.req.Model)
		}
	}
	return err
}

// messagesStream encodes one answer as Anthropic's server-sent events.
type messagesStream struct {
	d   *messagesDoor
	enc *translate.MessagesStream
}

// Encode implements gateway.StreamEncoder. A ping follows message_start,
// as Anthropic's API sends it.
func (s *messagesStream) Encode(ev *converse.StreamEvent) ([]byte, error) {
	evs, err := s.enc.Encode(ev)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, e := range evs {
		b, err := e.SSE()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		if e.Type == anthropic.EventMessageStart {
			p, _ := s.enc.Ping().SSE()
			out = append(out, p...)
		}
	}
	return out, nil
}

// Fail implements gateway.StreamEncoder: an error event, which the SDKs
// raise (overloaded_error for an upstream that broke off, as Anthropic's
// own streams report it).
func (s *messagesStream) Fail(err error) (*apierror.Error, int, []byte) {
	var we *wordedError
	if errors.As(err, &we) {
	} else if e := apierror.From(err); e.Code == apierror.ModelStreamError {
		we = &wordedError{typ: anthropic.ErrOverloaded, status: anthropic.StatusOverloaded, err: e}
	} else {
		we = classify(e)
	}
	frame, _ := s.enc.ErrorEvent(we.typ, we.err.Message).SSE()
	return we.err, we.status, frame
}

// SendsRetryAfter implements gateway.RetryAfterer: the API's clients read
// Retry-After on a 429.
func (d *messagesDoor) SendsRetryAfter() bool { return true }
