package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

var (
	_ provider.ChatCompletionsInvoker = (*Provider)(nil)
	_ provider.EmbeddingsInvoker      = (*Provider)(nil)
)

// ChatCompletions implements provider.ChatCompletionsInvoker: the caller's
// body goes upstream with only what must change rewritten (passBody), and
// the answer comes back byte for byte. Of the answer only the usage, the
// first choice's finish reason and whether it calls tools are read, for
// the record; the rest is never decoded.
func (p *Provider) ChatCompletions(ctx context.Context, call provider.Call, req *provider.ChatCompletionsRequest) (*provider.Passed, error) {
	body, err := p.passBody(call, req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, call, "/chat/completions", body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readSized(resp.Body, resp.ContentLength, maxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, call, err)
	}
	out, err := p.readPassed(call, data)
	if err != nil {
		return nil, err
	}
	return &provider.Passed{Body: data, Response: out}, nil
}

// readPassed reads what the record needs from a chat completion passed
// through: the same usage and stop reason ChatCompletionToConverse gives,
// without decoding the message. A 200 answer that holds an error body
// (some servers send one) is reported as that error.
func (p *Provider) readPassed(call provider.Call, data []byte) (*converse.Response, error) {
	if len(data) == 0 || !gjson.ValidBytes(data) {
		return nil, p.badResponse(call, "the chat completion could not be parsed", errors.New("invalid JSON"))
	}
	// A view of data, which is the answer as passed on and never changes;
	// no string read from it is kept.
	var first, usage gjson.Result
	found := false
	gjson.Parse(unsafe.String(&data[0], len(data))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "choices":
			v.ForEach(func(_, ch gjson.Result) bool {
				if ch.Get("index").Int() == 0 {
					first, found = ch, true
					return false
				}
				return true
			})
		case "usage":
			usage = v
		}
		return true
	})
	if !found {
		if ue, ok := wire.ParseUpstreamError(data); ok {
			status := ue.StatusCode()
			if status == 0 {
				status = http.StatusBadGateway
			}
			return nil, provider.UpstreamError(p.name, model(call), status, p.redact(ue.Message))
		}
		return nil, &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: http.StatusOK, ResourceName: model(call),
			Message: "The model's provider returned a response without choices."}
	}
	stop := translate.ChatFinishReasonToConverse(first.Get("finish_reason").Str)
	if stop == converse.StopEndTurn && first.Get("message.tool_calls.#").Int() > 0 {
		stop = converse.StopToolUse
	}
	return &converse.Response{StopReason: stop, Usage: translate.ChatUsageToConverse(passedUsage(usage))}, nil
}

// passedUsage reads the counts the record needs from an answer's usage
// object (nil when it has none).
func passedUsage(v gjson.Result) *wire.Usage {
	if !v.IsObject() {
		return nil
	}
	u := &wire.Usage{PromptTokens: int(v.Get("prompt_tokens").Int()), CompletionTokens: int(v.Get("completion_tokens").Int()),
		TotalTokens: int(v.Get("total_tokens").Int())}
	if d := v.Get("prompt_tokens_details"); d.IsObject() {
		u.PromptTokensDetails = &wire.PromptTokensDetails{CachedTokens: int(d.Get("cached_tokens").Int()),
			CacheWriteTokens: int(d.Get("cache_write_tokens").Int())}
	}
	return u
}

// ChatCompletionsStream implements provider.ChatCompletionsInvoker: the
// upstream's server-sent events, each with the neutral events it amounts
// to. When the caller did not ask for the usage chunk, the upstream is
// asked for it anyway (the record needs it) and that chunk is left out of
// the bytes handed over, so the caller sees the stream it asked for.
func (p *Provider) ChatCompletionsStream(ctx context.Context, call provider.Call, req *provider.ChatCompletionsRequest) (provider.RawStream, error) {
	body, err := p.passBody(call, req, true)
	if err != nil {
		return nil, err
	}
	s, whole, err := p.openStream(ctx, call, body)
	if err != nil {
		return nil, err
	}
	if s == nil {
		// The server ignored stream: true and answered in one piece: the
		// answer is replayed as the chunks the caller asked for.
		return p.replay(call, whole, req.IncludeUsage)
	}
	s.raw, s.dropUsage = true, !req.IncludeUsage
	return s, nil
}

// Embeddings implements provider.EmbeddingsInvoker: the caller's body goes
// upstream with only its model member edited when the upstream names the
// model otherwise, and the answer comes back byte for byte; of it only the
// number of embeddings and usage.prompt_tokens are read.
func (p *Provider) Embeddings(ctx context.Context, call provider.Call, req *provider.EmbeddingsRequest) (*provider.Passed, error) {
	body := req.Body
	if m := model(call); m != req.Model {
		b, err := provider.WithModel(body, m)
		if err != nil {
			return nil, apierror.New(apierror.Validation, "The request body must be a JSON object.")
		}
		body = b
	}
	resp, err := p.post(ctx, call, "/embeddings", body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readSized(resp.Body, resp.ContentLength, maxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, call, err)
	}
	if len(data) == 0 || !gjson.ValidBytes(data) {
		return nil, p.badResponse(call, "the embeddings response could not be parsed", errors.New("invalid JSON"))
	}
	// A view of data, which is the answer as passed on; nothing kept.
	var n, tokens int64
	gjson.Parse(unsafe.String(&data[0], len(data))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "data":
			n = v.Get("#").Int()
		case "usage":
			tokens = v.Get("prompt_tokens").Int()
		}
		return true
	})
	if int(n) != req.Inputs {
		return nil, p.badResponse(call, "wrong number of embeddings", fmt.Errorf("%d embeddings for %d inputs", n, req.Inputs))
	}
	return &provider.Passed{Body: data, Response: &converse.Response{Usage: converse.Usage{InputTokens: int(tokens), TotalTokens: int(tokens)}}}, nil
}

// passBody is the caller's body as the upstream gets it: the model member
// set to the upstream's name when the two differ, max_completion_tokens
// renamed max_tokens for servers that take only that, the model's default
// output budget when the body sets none, and a stream's
// stream_options.include_usage set. Each is an in-place edit; every other
// byte is the caller's. A body that needs none goes as it came.
func (p *Provider) passBody(call provider.Call, req *provider.ChatCompletionsRequest, stream bool) ([]byte, error) {
	body := req.Body
	var err error
	if m := model(call); m != req.Model {
		body, err = provider.WithModel(body, m) // a copy: later edits may go in place
	} else if req.MaxTokens > 0 || (p.legacyMaxTokens && req.MaxCompletionTokens) || (stream && !req.IncludeUsage) {
		body = append([]byte(nil), body...) // the caller's is the recorded input
	}
	switch {
	case err != nil:
	case req.MaxTokens > 0:
		param := MaxCompletionTokens
		if p.legacyMaxTokens {
			param = MaxTokens
		}
		body, err = sjson.SetRawBytes(body, param, strconv.AppendInt(nil, int64(req.MaxTokens), 10))
	case p.legacyMaxTokens && req.MaxCompletionTokens:
		v := gjson.GetBytes(body, "max_completion_tokens")
		if body, err = sjson.SetRawBytes(body, "max_tokens", []byte(v.Raw)); err == nil {
			body, err = sjson.DeleteBytes(body, "max_completion_tokens")
		}
	}
	if err == nil && stream && !req.IncludeUsage {
		body, err = sjson.SetRawBytes(body, "stream_options.include_usage", []byte("true"))
	}
	if err != nil {
		return nil, apierror.New(apierror.Validation, "The request body must be a JSON object.")
	}
	return body, nil
}

// replay turns a complete chat completion, sent in answer to a stream
// request, into the stream's events and their chunks, named as the
// completion was.
func (p *Provider) replay(call provider.Call, data []byte, includeUsage bool) (provider.RawStream, error) {
	out, err := p.parseCompletion(call, data)
	if err != nil {
		return nil, err
	}
	ids := translate.ChatIDs{CompletionID: gjson.GetBytes(data, "id").String(), Model: gjson.GetBytes(data, "model").String(),
		Created: gjson.GetBytes(data, "created").Int()}
	return &replayStream{
		EventStream: provider.EventStream{Events: converse.Events(out)},
		enc:         translate.NewChatStream(ids, includeUsage),
	}, nil
}

// replayStream is a complete answer replayed as a stream, each event with
// the chunks it amounts to.
type replayStream struct {
	provider.EventStream
	enc *translate.ChatStream
	raw []byte
}

// Next implements provider.Stream, encoding the event's chunks for Raw.
func (s *replayStream) Next() (*converse.StreamEvent, error) {
	ev, err := s.EventStream.Next()
	if err != nil {
		return nil, err
	}
	s.raw, err = s.enc.AppendSSE(s.raw[:0], ev)
	return ev, err
}

// Raw implements provider.RawStream.
func (s *replayStream) Raw() []byte { return s.raw }
