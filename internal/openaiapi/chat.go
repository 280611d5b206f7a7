package openaiapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// fallbackMaxTokens is the output budget of a model whose catalog entry
// has neither a default nor a limit (the provider always receives one).
const fallbackMaxTokens = 4096

// serveChat serves POST /v1/chat/completions.
func (h *Handler) serveChat(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req *openai.ChatRequest
	call, release, err := h.begin(w, r, invocation.ChatCompletions, func(body []byte) (string, error) {
		var err error
		req, err = openai.DecodeChatRequest(body)
		if err != nil {
			return "", err
		}
		return req.Model, nil
	})
	defer release()
	var (
		model *catalog.Model
		creq  *converse.Request
	)
	if err == nil {
		call.SetRequestMetadata(requestMetadata(req.Metadata, req.User))
		if req.Stream {
			// Before resolve: a stream is authorized as
			// bedrock:InvokeModelWithResponseStream.
			call.SetStreamed()
		}
		creq, err = req.ToConverse()
	}
	if err == nil {
		model, err = resolve(call, req.Model)
	}
	if err == nil {
		err = checkModel(model, req, creq)
	}
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	if req.Stream {
		h.stream(ctx, w, call, model, req, creq)
		return
	}
	resp, err := call.Converse(ctx, creq)
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	out, err := json.Marshal(openai.FromConverseResponse(resp, completionID(call), model.ID, call.Start().Unix()))
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	h.succeed(ctx, w, call, out)
}

// checkModel applies the checks Converse makes once it knows the model,
// worded for OpenAI clients, and sets the model's default output budget
// when the request has none (the provider always receives an explicit
// maxTokens).
func checkModel(m *catalog.Model, req *openai.ChatRequest, creq *converse.Request) error {
	if m.Embedding() {
		return openai.NewRequestError("model", "The model `%s` is an embedding model and does not support chat completions.", m.ID)
	}
	if req.Stream && !m.Streaming {
		return openai.NewRequestError("stream", "The model `%s` does not support streaming. Try again without 'stream'.", m.ID)
	}
	ic := creq.InferenceConfig
	if ic == nil {
		ic = &converse.InferenceConfig{}
		creq.InferenceConfig = ic
	}
	if ic.MaxTokens == nil {
		n := m.DefaultMaxTokens
		if n <= 0 {
			n = m.MaxOutputTokens
		}
		if n <= 0 {
			n = fallbackMaxTokens
		}
		ic.MaxTokens = &n
	} else if m.MaxOutputTokens > 0 && *ic.MaxTokens > m.MaxOutputTokens {
		param := "max_tokens"
		if req.MaxCompletionTokens != nil {
			param = "max_completion_tokens"
		}
		return openai.NewRequestError(param, "'%s' is too large: %d. The model `%s` supports at most %d completion tokens.", param, *ic.MaxTokens, m.ID, m.MaxOutputTokens)
	}
	if len(creq.System) > 0 && !m.SystemPrompt {
		return openai.NewRequestError("messages", "The model `%s` does not support system or developer messages.", m.ID)
	}
	usesTools := creq.ToolConfig != nil
	usesImages := false
	for _, msg := range creq.Messages {
		for _, b := range msg.Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
			usesImages = usesImages || b.Image != nil
		}
	}
	if usesTools && !m.Tools {
		return openai.NewRequestError("tools", "The model `%s` does not support tools.", m.ID)
	}
	if usesImages && !slices.Contains(m.InputModalities, "IMAGE") {
		return openai.NewRequestError("messages", "The model `%s` does not support image inputs.", m.ID)
	}
	return nil
}

// stream serves a streamed chat completion as server-sent events. Frames
// are flushed one by one; the frames that end the response (finish reason,
// usage, [DONE]) are held back until the call is finished, so durable
// observers record it before the client sees the end.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, call *gateway.Call, model *catalog.Model, req *openai.ChatRequest, creq *converse.Request) {
	st, err := call.ConverseStream(ctx, creq)
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	defer st.Close()
	enc := &openai.StreamEncoder{
		ID:           completionID(call),
		Model:        model.ID,
		Created:      call.Start().Unix(),
		IncludeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}
	assembled := func() []byte {
		b, _ := json.Marshal(openai.FromConverseResponse(st.Response(), enc.ID, enc.Model, enc.Created))
		return b
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // proxies such as nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var tail bytes.Buffer
	for {
		ev, err := st.Next()
		if err != nil {
			h.streamFailed(ctx, w, rc, call, err, assembled())
			return
		}
		var frames bytes.Buffer
		for _, c := range enc.Encode(ev) {
			b, err := json.Marshal(c)
			if err != nil {
				h.streamFailed(ctx, w, rc, call, err, assembled())
				return
			}
			frames.WriteString("data: ")
			frames.Write(b)
			frames.WriteString("\n\n")
		}
		switch {
		case ev.Metadata != nil:
			tail.Write(frames.Bytes())
			tail.WriteString("data: [DONE]\n\n")
			if ferr := call.Finish(ctx, http.StatusOK, invocation.Body{ContentType: contentTypeJSON, Data: assembled()}, nil); ferr != nil {
				// The call could not be recorded: it ends with the refusal.
				h.streamFailed(ctx, w, rc, call, ferr, nil)
				return
			}
			if _, err := w.Write(tail.Bytes()); err != nil {
				h.opts.Logger.Debug("stream client went away before the end", "request_id", call.RequestID(), "error", err)
				return
			}
			_ = flush(rc)
			return
		case ev.MessageStop != nil:
			tail.Write(frames.Bytes())
		case frames.Len() > 0:
			_, err := w.Write(frames.Bytes())
			if err == nil {
				err = flush(rc)
			}
			if err != nil {
				// The client is gone: record it as such even if the
				// server has not noticed yet.
				h.opts.Logger.Debug("stream client went away", "request_id", call.RequestID(), "error", err)
				gone, cancel := context.WithCancel(ctx)
				cancel()
				call.Finish(gone, http.StatusOK, invocation.Body{ContentType: contentTypeJSON, Data: assembled()}, err)
				return
			}
		}
	}
}

// streamFailed ends a stream that failed after it started: the call is
// recorded with the partial output, then the failure is sent as an SSE
// error frame (OpenAI's SDKs raise it) and the stream ends without [DONE].
// A client that went away gets nothing more.
func (h *Handler) streamFailed(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, call *gateway.Call, err error, output []byte) {
	e, status, body := errorReply(err)
	if ctx.Err() != nil {
		h.opts.Logger.Debug("stream client went away", "request_id", call.RequestID())
		call.Finish(ctx, status, invocation.Body{ContentType: contentTypeJSON, Data: output}, err)
		return
	}
	call.Finish(ctx, status, invocation.Body{ContentType: contentTypeJSON, Data: output}, e)
	frame := make([]byte, 0, len(body)+8)
	frame = append(frame, "data: "...)
	frame = append(frame, body...)
	frame = append(frame, "\n\n"...)
	if _, err := w.Write(frame); err == nil {
		_ = flush(rc)
	}
}

// flush sends what was written. A writer that cannot flush (a wrapping
// middleware) is not an error: the frames go out when its buffer fills.
func flush(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
