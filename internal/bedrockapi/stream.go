package bedrockapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/family"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const (
	contentTypeEventStream = "application/vnd.amazon.eventstream"
	headerBedrockAccept    = "X-Amzn-Bedrock-Accept"
	headerBedrockCT        = "X-Amzn-Bedrock-Content-Type"
	metricsKey             = "amazon-bedrock-invocationMetrics"
)

// serveStream runs ConverseStream or InvokeModelWithResponseStream. Failures
// before the stream starts are ordinary restJson1 errors; once the 200 and
// the first event are out, a failure is sent as an exception event and ends
// the stream. Every event is flushed as soon as it is written. body, model
// and err are what prepare returned.
func (h *Handler) serveStream(ctx context.Context, w http.ResponseWriter, r *http.Request, call *gateway.Call, op invocation.Operation, body []byte, model *catalog.Model, err error) {
	var (
		st  *gateway.Stream
		src chunkSource
	)
	if err == nil {
		if op == invocation.ConverseStream {
			st, err = h.openConverseStream(ctx, call, model, body)
		} else {
			src, err = h.openInvokeStream(ctx, r, call, model, body)
		}
	}
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	if st != nil {
		defer st.Close()
	} else {
		defer src.close()
	}
	s := &eventWriter{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder(), op: op}
	hdr := w.Header()
	hdr.Set("Content-Type", contentTypeEventStream)
	if op == invocation.InvokeModelWithResponseStream {
		hdr.Set(headerBedrockCT, contentTypeJSON)
		// The initial response echoes the tier and latency mode: a
		// passed-through upstream's, else the ones asked for (they go out
		// before the simulator or a translated upstream reports any).
		setTierHeaders(hdr, call)
	}
	w.WriteHeader(http.StatusOK)
	if op == invocation.ConverseStream {
		h.pumpConverse(ctx, call, st, s)
	} else {
		h.pumpInvoke(ctx, call, src, s)
	}
}

// openConverseStream validates a ConverseStream body and opens the stream.
func (h *Handler) openConverseStream(ctx context.Context, call *gateway.Call, model *catalog.Model, body []byte) (*gateway.Stream, error) {
	req, err := converse.Decode(body)
	if err != nil {
		return nil, err
	}
	call.SetRequestMetadata(req.RequestMetadata)
	if err := checkModelSupports(model, req); err != nil {
		return nil, err
	}
	return call.ConverseStream(ctx, req)
}

// openInvokeStream opens an InvokeModelWithResponseStream call. As for
// InvokeModel, a target that takes native bodies and serves the model's
// family gets the body untouched and its chunks are relayed as they come;
// any other target is sent the decoded neutral request and its events are
// encoded as the family's chunks.
func (h *Handler) openInvokeStream(ctx context.Context, r *http.Request, call *gateway.Call, model *catalog.Model, body []byte) (chunkSource, error) {
	if v := r.Header.Get(headerMetadata); v != "" {
		md, err := parseRequestMetadata(v)
		if err != nil {
			return nil, err
		}
		call.SetRequestMetadata(md)
	}
	tier, err := parseTierHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	call.SetRequestedTier(tier.serviceTier, tier.latency)
	call.SetStreamed()
	tr := &translation{model: model, body: body, tier: tier,
		fm:   family.Model{ID: model.ID, MaxOutputTokens: model.MaxOutputTokens, DefaultMaxTokens: model.DefaultMaxTokens},
		meta: family.Meta{RequestID: call.RequestID(), ModelID: model.ID}}
	codec, _ := family.Lookup(model.Family)
	streamer, canStream := codec.(family.StreamCodec)
	decode := func() error {
		if !canStream {
			return apierror.New(apierror.Validation, "The model is unsupported for streaming.")
		}
		if err := tr.decode(); err != nil {
			return err
		}
		if tr.chat == nil {
			return apierror.New(apierror.Validation, "The model is unsupported for streaming.")
		}
		return nil
	}
	if _, native := h.gwProvider(model).(provider.NativeInvoker); !native {
		if err := decode(); err != nil {
			return nil, err
		}
	}
	var src chunkSource
	err = call.Route(ctx, func(ctx context.Context, cancel context.CancelFunc, t gateway.Target) (bool, error) {
		if ni, ok := t.Provider.(provider.NativeInvoker); ok && t.Model.Family == model.Family {
			ns, err := ni.InvokeModelWithResponseStream(ctx, t.Call, nativeRequest(r, body))
			if err != nil {
				return false, err
			}
			first, err := ns.Next()
			if err != nil {
				ns.Close()
				if err == io.EOF {
					err = &apierror.Error{Code: apierror.ModelError, Message: "The model returned an empty response stream.", OriginalStatusCode: 200, ResourceName: t.Model.UpstreamModel}
				}
				return false, err
			}
			if tr, ok := ns.(provider.TierReporter); ok {
				tier, latency := tr.ServedTier()
				servedTier(call, tier, latency)
			}
			src = &nativeSource{call: call, ns: ns, first: first, cancel: cancel}
			return true, nil
		}
		if err := decode(); err != nil {
			return false, err
		}
		st, err := call.StreamTo(ctx, cancel, t, tr.req)
		if err != nil {
			return false, err
		}
		src = &translatedSource{call: call, st: st, enc: streamer.NewStreamEncoder(tr.req, tr.meta)}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return src, nil
}

// chunkSource yields the native chunks of an InvokeModelWithResponseStream
// response.
type chunkSource interface {
	// next returns the next chunk; final is set on the chunk that ends the
	// stream (it carries amazon-bedrock-invocationMetrics), after which
	// the call's usage is known. io.EOF ends a stream without one.
	next() (chunk []byte, final bool, err error)
	// close releases the stream and the upstream.
	close()
}

// translatedSource encodes a neutral stream as the family's chunks.
type translatedSource struct {
	call    *gateway.Call
	st      *gateway.Stream
	enc     family.StreamEncoder
	pending [][]byte
	done    bool // the metadata event was encoded: pending ends the stream
}

func (s *translatedSource) next() ([]byte, bool, error) {
	for len(s.pending) == 0 {
		if s.done {
			return nil, false, io.EOF
		}
		ev, err := s.st.Next()
		if err != nil {
			return nil, false, err
		}
		out, err := s.enc.Encode(ev)
		if err != nil {
			return nil, false, err
		}
		if ev.Metadata != nil {
			if len(out) == 0 {
				return nil, false, errors.New("stream encoder produced no final chunk")
			}
			last, err := withInvocationMetrics(out[len(out)-1], s.call)
			if err != nil {
				return nil, false, err
			}
			out[len(out)-1] = last
			s.done = true
		}
		s.pending = out
	}
	c := s.pending[0]
	s.pending = s.pending[1:]
	return c, s.done && len(s.pending) == 0, nil
}

func (s *translatedSource) close() { s.st.Close() }

// nativeSource relays the chunks of an upstream that streams natively;
// the usage comes from the invocation metrics on its last chunk.
type nativeSource struct {
	call   *gateway.Call
	ns     provider.NativeStream
	first  []byte
	cancel context.CancelFunc
}

func (s *nativeSource) next() ([]byte, bool, error) {
	c := s.first
	s.first = nil
	if c == nil {
		var err error
		if c, err = s.ns.Next(); err != nil {
			return nil, false, err
		}
	}
	s.call.MarkFirstByte()
	if !bytes.Contains(c, []byte(metricsKey)) {
		return c, false, nil
	}
	var tail struct {
		M *invocationMetrics `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal(c, &tail); err != nil || tail.M == nil {
		return c, false, nil
	}
	s.call.SetUsage(invocation.Usage{InputTokens: tail.M.InputTokenCount, OutputTokens: tail.M.OutputTokenCount,
		CacheReadInputTokens: tail.M.CacheRead, CacheWriteInputTokens: tail.M.CacheWrite}, "")
	return c, true, nil
}

func (s *nativeSource) close() {
	s.ns.Close()
	s.cancel()
}

// pumpConverse relays ConverseStream events. The Invocation's output is
// the assembled Converse response, as Bedrock logs it.
func (h *Handler) pumpConverse(ctx context.Context, call *gateway.Call, st *gateway.Stream, s *eventWriter) {
	for {
		ev, err := st.Next()
		if err != nil {
			h.endStream(ctx, call, s, err, assembled(st, call))
			return
		}
		if ev.Metadata != nil {
			ev.Metadata.Metrics.LatencyMs = time.Since(call.Start()).Milliseconds()
		}
		payload, err := ev.Payload()
		if err != nil {
			h.endStream(ctx, call, s, err, assembled(st, call))
			return
		}
		if ev.Metadata != nil {
			// The record must be durable before the client sees the end;
			// a call that cannot be recorded ends with the refusal instead.
			if ferr := call.Finish(ctx, http.StatusOK, invocation.Body{ContentType: contentTypeJSON, Data: assembled(st, call)}, nil); ferr != nil {
				_ = s.exception(apierror.From(ferr))
				return
			}
		}
		if err := s.event(ev.Name(), payload); err != nil {
			h.endStream(ctx, call, s, err, assembled(st, call))
			return
		}
		if ev.Metadata != nil {
			return
		}
	}
}

// pumpInvoke relays the stream as the family's native chunks. The
// Invocation's output is the JSON array of the decoded chunks, the last
// one carrying amazon-bedrock-invocationMetrics, as Bedrock logs it.
func (h *Handler) pumpInvoke(ctx context.Context, call *gateway.Call, src chunkSource, s *eventWriter) {
	chunks := []byte{'['}
	output := func() []byte { return append(chunks[:len(chunks):len(chunks)], ']') }
	for {
		c, final, err := src.next()
		if err == io.EOF {
			// An upstream stream that ended without invocation metrics.
			if ferr := call.Finish(ctx, http.StatusOK, invocation.Body{ContentType: contentTypeJSON, Data: output()}, nil); ferr != nil {
				_ = s.exception(apierror.From(ferr))
			}
			return
		}
		if err != nil {
			h.endStream(ctx, call, s, err, output())
			return
		}
		if len(chunks) > 1 {
			chunks = append(chunks, ',')
		}
		chunks = append(chunks, c...)
		if final {
			// The record must be durable before the client sees the end;
			// a call that cannot be recorded ends with the refusal instead.
			if ferr := call.Finish(ctx, http.StatusOK, invocation.Body{ContentType: contentTypeJSON, Data: output()}, nil); ferr != nil {
				_ = s.exception(apierror.From(ferr))
				return
			}
		}
		if err := s.chunk(c); err != nil {
			h.endStream(ctx, call, s, err, output())
			return
		}
		if final {
			return
		}
	}
}

// assembled renders the response assembled so far, with the gateway's
// latency.
func assembled(st *gateway.Stream, call *gateway.Call) []byte {
	resp := st.Response()
	resp.Metrics.LatencyMs = time.Since(call.Start()).Milliseconds()
	b, _ := json.Marshal(resp)
	return b
}

// endStream finishes a stream that failed after it started: the call is
// recorded with the partial output, then the failure is sent as an
// exception event the SDKs understand. A client that went away gets
// nothing more.
func (h *Handler) endStream(ctx context.Context, call *gateway.Call, s *eventWriter, err error, output []byte) {
	if err == io.EOF {
		err = &apierror.Error{Code: apierror.ModelStreamError, Message: "The model's response stream ended before it was complete.", OriginalStatusCode: 200}
	}
	e := apierror.From(err)
	if ctx.Err() != nil {
		call.Finish(ctx, e.Status(), invocation.Body{ContentType: contentTypeJSON, Data: output}, err)
		return
	}
	call.Finish(ctx, e.Status(), invocation.Body{ContentType: contentTypeJSON, Data: output}, e)
	_ = s.exception(e)
}

// withInvocationMetrics adds Bedrock's invocation metrics to the last chunk
// of an InvokeModelWithResponseStream response.
func withInvocationMetrics(chunk []byte, call *gateway.Call) ([]byte, error) {
	if len(chunk) < 2 || chunk[len(chunk)-1] != '}' {
		return nil, errors.New("stream encoder produced a final chunk that is not a JSON object")
	}
	u := call.Usage()
	start := call.Start()
	first := call.FirstByte()
	m := invocationMetrics{
		InputTokenCount:   u.InputTokens,
		OutputTokenCount:  u.OutputTokens,
		InvocationLatency: time.Since(start).Milliseconds(),
		CacheRead:         u.CacheReadInputTokens,
		CacheWrite:        u.CacheWriteInputTokens,
	}
	if !first.IsZero() {
		m.FirstByteLatency = first.Sub(start).Milliseconds()
	} else {
		m.FirstByteLatency = m.InvocationLatency
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(chunk)+len(metricsKey)+len(mj)+4)
	out = append(out, chunk[:len(chunk)-1]...)
	if len(chunk) > 2 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, metricsKey...)
	out = append(out, '"', ':')
	out = append(out, mj...)
	return append(out, '}'), nil
}

// invocationMetrics is the amazon-bedrock-invocationMetrics object.
type invocationMetrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
	CacheRead         int   `json:"cacheReadInputTokenCount,omitempty"`
	CacheWrite        int   `json:"cacheWriteInputTokenCount,omitempty"`
}

// eventWriter writes event-stream messages with the SDK's codec and
// flushes each one.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *eventstream.Encoder
	op  invocation.Operation
}

// event writes an event message.
func (s *eventWriter) event(name string, payload []byte) error {
	var hs eventstream.Headers
	hs.Set(":event-type", eventstream.StringValue(name))
	hs.Set(":content-type", eventstream.StringValue(contentTypeJSON))
	hs.Set(":message-type", eventstream.StringValue("event"))
	return s.write(eventstream.Message{Headers: hs, Payload: payload})
}

// chunkPayload is the payload of an InvokeModelWithResponseStream chunk
// event. P is padding of random length, as Bedrock adds, so that the size
// of encrypted frames says less about the tokens inside; clients ignore it.
type chunkPayload struct {
	Bytes string `json:"bytes"`
	P     string `json:"p"`
}

const padAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// chunk writes a native chunk as a chunk event.
func (s *eventWriter) chunk(c []byte) error {
	pad := make([]byte, 1+rand.IntN(24))
	for i := range pad {
		pad[i] = padAlphabet[rand.IntN(len(padAlphabet))]
	}
	payload, err := json.Marshal(chunkPayload{Bytes: base64.StdEncoding.EncodeToString(c), P: string(pad)})
	if err != nil {
		return err
	}
	return s.event("chunk", payload)
}

// exception writes an exception message named after the stream union's
// member for the error.
func (s *eventWriter) exception(e *apierror.Error) error {
	name, body := streamException(e, s.op)
	var hs eventstream.Headers
	hs.Set(":exception-type", eventstream.StringValue(name))
	hs.Set(":content-type", eventstream.StringValue(contentTypeJSON))
	hs.Set(":message-type", eventstream.StringValue("exception"))
	return s.write(eventstream.Message{Headers: hs, Payload: body})
}

func (s *eventWriter) write(m eventstream.Message) error {
	if err := s.enc.Encode(s.w, m); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamException names the exception event for an error: the members of
// the operation's stream union. Codes the union has no member for are sent
// as the closest one (a model error is a model stream error; a timeout is
// one too on ConverseStream, whose union lacks modelTimeoutException).
func streamException(e *apierror.Error, op invocation.Operation) (string, []byte) {
	name := "internalServerException"
	switch e.Code {
	case apierror.Throttling, apierror.ModelNotReady, apierror.ServiceQuotaExceeded:
		name = "throttlingException"
	case apierror.Validation:
		name = "validationException"
	case apierror.ServiceUnavailable:
		name = "serviceUnavailableException"
	case apierror.ModelStreamError, apierror.ModelError:
		name = "modelStreamErrorException"
	case apierror.ModelTimeout:
		name = "modelStreamErrorException"
		if op == invocation.InvokeModelWithResponseStream {
			name = "modelTimeoutException"
		}
	}
	body := errorJSON{Message: e.Message}
	if name == "modelStreamErrorException" {
		body.OriginalStatusCode = e.OriginalStatusCode
		body.OriginalMessage = e.OriginalMessage
		if body.OriginalMessage == "" {
			body.OriginalMessage = e.Message
		}
	}
	b, _ := json.Marshal(body)
	return name, b
}
