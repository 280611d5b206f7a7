package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Door is one front door's model operation: a description of its wire. It
// decodes a request into the neutral form, encodes an answer, a stream
// and an error in its API's shape, and nothing else; the gateway runs the
// call (Serve). Adding an API is a new Door and no change here. A Door
// value serves one call, from one goroutine: it may keep what it decoded
// for its encoders and its error wording.
type Door interface {
	// Describe names the operation, for the Invocation and the response
	// headers.
	Describe() DoorInfo
	// Decode turns an authenticated request body into the neutral
	// request. model is the resolved model when the door named it in
	// DoorInfo.ModelID (the body's decoding may depend on it), else nil.
	// Errors are written with Error, in the API's shape; a request
	// returned with an error (its model known, the rest not) is recorded
	// with what it holds.
	Decode(r *http.Request, body []byte, model *catalog.Model) (*Request, error)
	// Encode renders a complete chat answer as the response body.
	Encode(x *Exchange, resp *converse.Response) ([]byte, error)
	// Stream begins a streamed answer: it sets the response headers
	// (content type) on h and returns the encoder of the stream's bytes.
	Stream(x *Exchange, h http.Header) StreamEncoder
	// Error renders a failure: the HTTP status and body in the API's
	// shape (headers, such as an error type, go on h). rec is the error
	// as the API words it, which is what the Invocation records.
	Error(err error, h http.Header) (rec *apierror.Error, status int, body []byte)
}

// DoorInfo describes a Door's operation.
type DoorInfo struct {
	API       invocation.API
	Operation invocation.Operation
	// RequestIDHeader is the response header carrying the request ID
	// (X-Request-Id, Request-Id, x-amzn-RequestId), written as spelled.
	RequestIDHeader string
	// RequestID renders the gateway's request ID (a UUID) as the API
	// shows it (Anthropic's "req_…"); nil shows it as is.
	RequestID func(uuid string) string
	// ModelID is the model identifier when the wire carries it outside
	// the body (Bedrock's URL): it is recorded from the start and resolved
	// before the body is decoded. Empty when the body names the model.
	ModelID string
	// MaxRequestBytes caps the request body.
	MaxRequestBytes int64
	// Bodies is the budget request bodies are charged to (nil: none).
	Bodies *BodyBudget
}

// StreamEncoder turns the neutral events of one streamed answer into the
// API's stream bytes (server-sent events, event-stream frames). It is used
// by one goroutine.
type StreamEncoder interface {
	// Encode returns the bytes an event produces (possibly none). They
	// need only stay valid until the next call of Encode or Fail: the
	// gateway writes them, or copies the ones it holds back, at once, so
	// an encoder may reuse one buffer.
	Encode(ev *converse.StreamEvent) ([]byte, error)
	// Fail returns the bytes that end a stream that failed after it began
	// (an error event); rec and status are the error as the API words it
	// and its HTTP status, recorded in the Invocation.
	Fail(err error) (rec *apierror.Error, status int, frame []byte)
}

// Request is a model call in the neutral form, as a Door decoded it.
type Request struct {
	// Model is the model identifier the caller named, as recorded.
	Model string
	// CatalogID is the catalog identifier Model stands for when the API
	// names models its own way (Anthropic's "claude-3-5-haiku" for the
	// catalog's "anthropic.claude-3-5-haiku-20241022-v1:0"); empty when
	// Model is one.
	CatalogID string
	// Chat is the request for the provider, for a chat call.
	Chat *converse.Request
	// Embed is the request for the provider, for an embedding call (the
	// door then implements EmbedEncoder).
	Embed *provider.EmbedRequest
	// Image is the request for the provider, for an image-generation
	// call (the door then implements ImageEncoder; the provider must be a
	// provider.ImageGenerator).
	Image *provider.ImageRequest
	// Stream asks for a streamed answer.
	Stream bool
	// Metadata is the caller's request metadata, recorded with the call
	// (the OpenAI metadata and user, Anthropic's metadata.user_id).
	Metadata map[string]string
	// Translate, when set, decodes the neutral request on first need and
	// sets Chat or Embed: a door whose body some providers take natively
	// (Bedrock's InvokeModel to a Bedrock upstream) decodes it only for a
	// target that needs the translation. The model policy applies once it
	// is decoded.
	Translate func() error
	// ServiceTier and Latency are the service tier and latency mode the
	// caller asked for outside the body (Bedrock's InvokeModel headers);
	// they stand for the call's unless its answer reports others.
	ServiceTier, Latency string
}

// Exchange is what a Door's encoders know of the call they answer.
type Exchange struct {
	// RequestID is the gateway's request ID (a UUID).
	RequestID string
	// Start is when the call arrived.
	Start time.Time
	// Model is the catalog model that was asked for.
	Model *catalog.Model
	// Request is the decoded request.
	Request *Request

	call *Call
}

// Usage returns the usage recorded so far: the provider's report once the
// answer (or a stream's metadata event) has arrived.
func (x *Exchange) Usage() invocation.Usage { return x.call.inv.Usage }

// FirstByte returns when the answer's first content was produced (zero
// before that).
func (x *Exchange) FirstByte() time.Time { return x.call.inv.FirstByte }

// ServiceTier returns the service tier and latency mode recorded for the
// call: the ones that served it when the answer said, else the ones asked
// for.
func (x *Exchange) ServiceTier() (tier, latency string) {
	return x.call.inv.ServiceTier, x.call.inv.PerformanceLatency
}

// SetServedTier records the service tier and latency mode a passed-through
// upstream named ("" keeps what was asked).
func (x *Exchange) SetServedTier(tier, latency string) {
	if tier != "" {
		x.call.inv.ServiceTier = tier
	}
	if latency != "" {
		x.call.inv.PerformanceLatency = latency
	}
}

// UnknownModelError is a model identifier the catalog cannot resolve;
// Err is the catalog's error (Bedrock's wording). Doors of other APIs word
// it in theirs (OpenAI's 404 model_not_found).
type UnknownModelError struct {
	Model string
	Err   error
}

func (e *UnknownModelError) Error() string { return e.Err.Error() }

// Unwrap returns the catalog's error.
func (e *UnknownModelError) Unwrap() error { return e.Err }

// Serve runs one model call through door: the gateway's request loop,
// the same for every API. In order: the request ID, the authentication
// that needs no body, the body (under the door's limit and the body
// budget), the signature over it, the model named outside the body, the
// door's decoding, the model named in the body (resolve, authorize,
// admit), the model policy (CheckChat, CheckEmbed), then the provider call
// with retries and fallbacks (passed through untranslated where the door
// and the target allow), the answer encoded by the door, and the one
// Invocation, recorded before the client has the answer's last byte.
// Every failure is written in the door's shape and recorded.
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, door Door) {
	info := door.Describe()
	ctx := r.Context()
	call := g.begin(r, info.API, info.Operation, info.ModelID)
	if info.RequestIDHeader != "" {
		id := call.requestID()
		if info.RequestID != nil {
			id = info.RequestID(id)
		}
		// Set as spelled: Bedrock writes x-amzn-RequestId in its own case.
		w.Header()[info.RequestIDHeader] = []string{id}
	}
	req, model, release, err := g.admit(w, r, call, door, info)
	defer release()
	if err != nil {
		fail(ctx, w, call, door, err)
		return
	}
	x := &Exchange{RequestID: call.requestID(), Start: call.start(), Model: model, Request: req, call: call}
	if req.Stream {
		call.stream(ctx, w, door, x)
		return
	}
	out, err := call.answer(ctx, door, x)
	if err != nil {
		fail(ctx, w, call, door, err)
		return
	}
	// The answer's own headers are taken now (Bedrock's latency is the
	// call's so far) and sent only with the answer: a call refused at its
	// end carries none of them.
	var answered http.Header
	if hs, ok := door.(HeaderSetter); ok {
		answered = http.Header{}
		hs.SetHeaders(x, answered)
	}
	call.respondJSON(ctx, w, http.StatusOK, out, nil, refusal(door), answered)
}

// RequestTagger is implemented by doors that name the model outside the
// body (Bedrock's URL) and carry request metadata: RequestTags reads the
// metadata from the request before the body is decoded, for the policy
// conditions on aws:RequestTag/* that authorizing the model tests. It
// returns nil for metadata it cannot read (the decoding then words the
// error).
type RequestTagger interface {
	RequestTags(r *http.Request, body []byte) map[string]string
}

// RetryAfterer is implemented by doors whose API tells a refused caller
// when to try again (OpenAI's and Anthropic's Retry-After): the gateway
// then sends the header with a quota's refusal. Bedrock's wire has none.
type RetryAfterer interface {
	SendsRetryAfter() bool
}

// StreamOutput is implemented by stream encoders whose API records a
// stream as something other than the assembled answer (Bedrock logs a
// streamed InvokeModel as the JSON array of its chunks): Output is the
// Invocation's output, the stream so far.
type StreamOutput interface {
	Output() []byte
}

// EmbedEncoder is implemented by doors with an embedding operation.
type EmbedEncoder interface {
	// EncodeEmbed renders the embeddings as the response body.
	EncodeEmbed(x *Exchange, resp *provider.EmbedResponse) ([]byte, error)
}

// ImageEncoder is implemented by doors with an image-generation
// operation.
type ImageEncoder interface {
	// EncodeImage renders the generated images as the response body. An
	// error (a family that answers a filtered prompt with a
	// ValidationException) fails the call.
	EncodeImage(x *Exchange, resp *provider.ImageResponse) ([]byte, error)
}

// answer runs a call that is not streamed on its model and fallbacks and
// returns the body to send: a passed-through answer as the upstream sent
// it, else the door's encoding of the provider's answer (a chat response
// or embeddings). The usage and stop reason are recorded in the call.
func (c *Call) answer(ctx context.Context, door Door, x *Exchange) ([]byte, error) {
	req := x.Request
	passer, _ := door.(Passer)
	var (
		passed *provider.Passed
		resp   *converse.Response
		emb    *provider.EmbedResponse
		img    *provider.ImageResponse
	)
	err := c.route(ctx, func(ctx context.Context, _ context.CancelFunc, t Target) (bool, error) {
		passed, resp, emb, img = nil, nil, nil, nil
		if passer != nil {
			if p, ok, err := passer.Pass(ctx, t, x); ok {
				passed = p
				return false, err
			}
		}
		if err := c.translate(x); err != nil {
			return false, err
		}
		var err error
		if req.Image != nil {
			ig, ok := t.Provider.(provider.ImageGenerator)
			if !ok {
				return false, apierror.New(apierror.Validation, "This action doesn't support the model that you provided. The provider of %s cannot generate images.", t.Model.ID)
			}
			img, err = ig.GenerateImages(ctx, t.Call, req.Image)
			return false, err
		}
		if req.Embed != nil {
			emb, err = t.Provider.Embed(ctx, t.Call, req.Embed)
			if err == nil && len(emb.Embeddings) != len(req.Embed.Inputs) {
				err = &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: http.StatusOK, ResourceName: t.Model.ID,
					Message: "The model returned a different number of embeddings than inputs."}
			}
			return false, err
		}
		resp, err = t.Provider.Converse(ctx, t.Call, req.Chat)
		return false, err
	})
	switch {
	case err != nil:
		return nil, err
	case passed != nil:
		c.recordConverse(req.Chat, passed.Response)
		if passed.Image != nil {
			c.recordImage(passed.Image, passed.Images, passed.Response.Usage.InputTokens)
		}
		return passed.Body, nil
	case emb != nil:
		c.inv.Usage = invocation.Usage{InputTokens: emb.InputTokens, InputImages: emb.InputImages}
		enc, ok := door.(EmbedEncoder)
		if !ok {
			return nil, errors.New("gateway: the door decoded an embedding call it cannot encode")
		}
		return enc.EncodeEmbed(x, emb)
	case img != nil:
		c.recordImage(req.Image, len(img.Images), img.InputTokens)
		enc, ok := door.(ImageEncoder)
		if !ok {
			return nil, errors.New("gateway: the door decoded an image call it cannot encode")
		}
		return enc.EncodeImage(x, img)
	}
	c.recordConverse(req.Chat, resp)
	return door.Encode(x, resp)
}

// translate makes sure a call has its neutral request, decoding it now
// for a door that decodes on first need (Request.Translate), and applies
// the model policy to what it decoded.
func (c *Call) translate(x *Exchange) error {
	req := x.Request
	if req.Chat != nil || req.Embed != nil || req.Image != nil || req.Translate == nil {
		return nil
	}
	if err := req.Translate(); err != nil {
		return err
	}
	return checkPolicy(x.Model, req)
}

// checkPolicy applies the model policy to a decoded request (nothing to
// a request not decoded yet).
func checkPolicy(m *catalog.Model, req *Request) error {
	switch {
	case req.Embed != nil:
		return CheckEmbed(m)
	case req.Image != nil:
		return CheckImage(m)
	case req.Chat != nil:
		return CheckChat(m, req.Chat, req.Stream)
	}
	return nil
}

// recordImage records an image call's usage: the images actually
// returned (Bedrock's OutputImageCount; filtered ones are not counted),
// their size and quality for per-image pricing, and any input tokens the
// model reported.
func (c *Call) recordImage(req *provider.ImageRequest, images, inputTokens int) {
	c.inv.Usage = invocation.Usage{InputTokens: inputTokens, OutputImages: images,
		ImageWidth: req.Width, ImageHeight: req.Height, ImageQuality: req.Quality}
}

// HeaderSetter is implemented by doors whose successful answers carry
// headers computed from the call (Bedrock's token counts, latency and
// service tier). SetHeaders is called once the call has succeeded, before
// the answer is recorded and written.
type HeaderSetter interface {
	SetHeaders(x *Exchange, h http.Header)
}

// Passer is implemented by doors whose wire some providers speak
// themselves (the Messages door, and the Anthropic provider): for such a
// target the caller's body goes upstream untranslated and the upstream's
// answer comes back as it was sent, instead of a round trip through the
// neutral form that would drop what it cannot carry. The gateway still
// routes, retries, measures and records the call.
type Passer interface {
	// Pass serves the call on t untranslated; ok is false when t's
	// provider does not speak the door's wire (the gateway then
	// translates).
	Pass(ctx context.Context, t Target, x *Exchange) (resp *provider.Passed, ok bool, err error)
	// PassStream opens a stream on t untranslated; ok as for Pass.
	PassStream(ctx context.Context, t Target, x *Exchange) (st provider.RawStream, ok bool, err error)
}

// admit runs a call's steps up to the provider call: it returns the
// decoded request and the resolved model, or the first failure in the
// order a client should learn of them (authentication, body, signature,
// decoding, model, policy). release returns the body's budget charge and
// is never nil; the body is the call's input until the call is answered.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, call *Call, door Door, info DoorInfo) (*Request, *catalog.Model, func(), error) {
	// The headers are checked before the body is read, so that an
	// unauthenticated client cannot make the server read a large body.
	if err := call.check(r); err != nil {
		return nil, nil, func() {}, err
	}
	body, release, err := info.Bodies.ReadBody(w, r, info.MaxRequestBytes)
	if err != nil {
		return nil, nil, release, err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	call.setInput(ct, body)
	if err := call.authenticate(body); err != nil {
		return nil, nil, release, err
	}
	var model *catalog.Model
	if tagger, ok := door.(RequestTagger); ok && info.ModelID != "" {
		// The model is authorized before the body is decoded; policies
		// may test the request's tags (aws:RequestTag/*) all the same.
		call.setRequestMetadata(tagger.RequestTags(r, body))
	}
	if info.ModelID != "" {
		if model, err = call.resolveAs(info.ModelID); err != nil {
			return nil, nil, release, err
		}
	}
	// A request that fails to decode past its model is recorded with it.
	req, err := door.Decode(r, body, model)
	if req != nil {
		if info.ModelID == "" {
			call.setModelID(req.Model)
			call.catalogID = req.CatalogID
		}
		call.setRequestMetadata(req.Metadata)
		if req.ServiceTier != "" || req.Latency != "" {
			call.setRequestedTier(req.ServiceTier, req.Latency)
		}
		if req.Stream {
			// Before resolving: a stream is authorized as
			// bedrock:InvokeModelWithResponseStream.
			call.setStreamed()
		}
	}
	if err != nil {
		return nil, nil, release, err
	}
	if model == nil {
		if model, err = call.resolveAs(req.Model); err != nil {
			return nil, nil, release, err
		}
	}
	if err := checkPolicy(model, req); err != nil {
		return nil, nil, release, err
	}
	if err := call.admitQuota(req, body); err != nil {
		return nil, nil, release, err
	}
	return req, model, release, nil
}

// resolveAs resolves the call's model, naming an identifier the catalog
// does not know an UnknownModelError.
func (c *Call) resolveAs(name string) (*catalog.Model, error) {
	model, err := c.resolve()
	if err != nil {
		var e *apierror.Error
		if errors.As(err, &e) && (e.Code == apierror.Validation || e.Code == apierror.ResourceNotFound) {
			err = &UnknownModelError{Model: name, Err: err}
		}
		return nil, err
	}
	return model, nil
}

// fail finishes the call with err and writes it in the door's shape.
func fail(ctx context.Context, w http.ResponseWriter, call *Call, door Door, err error) {
	if ra, ok := door.(RetryAfterer); ok && ra.SendsRetryAfter() {
		if s := apierror.From(err).RetryAfterSeconds(); s != "" {
			w.Header().Set("Retry-After", s)
		}
	}
	rec, status, body := door.Error(err, w.Header())
	call.respondJSON(ctx, w, status, body, rec, refusal(door), nil)
}

// refusal writes the error of a call that could not be recorded, in the
// door's shape, instead of its answer.
func refusal(door Door) func(http.ResponseWriter, error) {
	return func(w http.ResponseWriter, err error) {
		_, status, body := door.Error(err, w.Header())
		WriteJSON(w, status, body)
	}
}

// WriteJSON writes a complete JSON response: its type and length, the
// status, the body. Front doors use it for answers that are not model calls
// (model lists, control errors).
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// stream serves a streamed answer. Retries and fallbacks apply until the
// provider's first event; then the status is sent and each event's bytes
// are flushed as they come. The bytes of the events that end the answer
// (the stop and the usage) are held back until the call is finished, so
// that durable observers have the record before the client sees the end.
// The recorded output is the door's encoding of the assembled answer.
func (c *Call) stream(ctx context.Context, w http.ResponseWriter, door Door, x *Exchange) {
	var st *Stream
	var err error
	if passer, ok := door.(Passer); ok {
		st, err = c.passStream(ctx, passer, x)
	} else {
		st, err = c.chatStream(ctx, x.Request.Chat)
	}
	if err != nil {
		fail(ctx, w, c, door, err)
		return
	}
	defer st.Close()
	enc := door.Stream(x, w.Header())
	assembled := func() invocation.Body {
		if o, ok := enc.(StreamOutput); ok {
			return invocation.Body{ContentType: "application/json", Data: o.Output()}
		}
		b, _ := door.Encode(x, st.Response())
		return invocation.Body{ContentType: "application/json", Data: b}
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // proxies such as nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// out gathers the bytes of events that arrived together (Buffered),
	// sent with one write and one flush; tail holds back the bytes of the
	// events that end the answer until it is recorded.
	bufs := streamBuffers.Get().(*streamBufs)
	defer streamBuffers.Put(bufs.reset())
	out, tail := &bufs.out, &bufs.tail
	for {
		ev, err := st.Next()
		if err != nil {
			c.streamFailed(ctx, w, rc, enc, err, assembled(), *out)
			return
		}
		var frames []byte
		if st.raw != nil {
			// Passed through: the upstream's own bytes.
			frames = st.raw.Raw()
		} else {
			frames, err = enc.Encode(ev)
		}
		if err != nil {
			c.streamFailed(ctx, w, rc, enc, err, assembled(), *out)
			return
		}
		switch {
		case ev.Metadata != nil:
			*tail = append(*tail, frames...)
			if ferr := c.finish(ctx, http.StatusOK, assembled(), nil); ferr != nil {
				// The call could not be recorded: it ends with the refusal.
				c.streamFailed(ctx, w, rc, enc, ferr, invocation.Body{}, *out)
				return
			}
			if _, err := w.Write(append(*out, *tail...)); err != nil {
				c.g.log.Debug("stream client went away before the end", "request_id", c.requestID(), "error", err)
				return
			}
			_ = flush(rc)
			return
		case ev.MessageStop != nil:
			*tail = append(*tail, frames...)
		case len(frames) > 0:
			if st.Buffered() {
				// More is in hand: send it with this.
				*out = append(*out, frames...)
				continue
			}
			if len(*out) > 0 {
				*out = append(*out, frames...)
				frames = *out
			}
			_, err := w.Write(frames)
			*out = (*out)[:0]
			if err == nil {
				err = flush(rc)
			}
			if err != nil {
				// The client is gone: record it as such even if the
				// server has not noticed yet.
				c.g.log.Debug("stream client went away", "request_id", c.requestID(), "error", err)
				gone, cancel := context.WithCancel(ctx)
				cancel()
				c.finish(gone, http.StatusOK, assembled(), err)
				return
			}
		}
	}
}

// passStream opens the call's stream through passer on targets that take
// the door's wire untranslated, and through the neutral form on the
// others, with ConverseStream's retries and fallbacks.
func (c *Call) passStream(ctx context.Context, passer Passer, x *Exchange) (*Stream, error) {
	c.inv.Streamed = true
	var s *Stream
	err := c.route(ctx, func(ctx context.Context, cancel context.CancelFunc, t Target) (bool, error) {
		raw, ok, err := passer.PassStream(ctx, t, x)
		if !ok {
			if err := c.translate(x); err != nil {
				return false, err
			}
			s, err = c.streamTo(ctx, cancel, t, x.Request.Chat)
			return err == nil, err
		}
		if err != nil {
			return false, err
		}
		s, err = c.open(ctx, cancel, t, x.Request.Chat, raw)
		if err == nil {
			s.raw = raw
		}
		return err == nil, err
	})
	return s, err
}

// streamFailed ends a stream that failed after it began: the call is
// recorded with the partial output, then the failure is sent in the
// door's stream shape. A client that went away gets nothing more.
func (c *Call) streamFailed(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, enc StreamEncoder, err error, output invocation.Body, unsent []byte) {
	rec, status, frame := enc.Fail(err)
	if ctx.Err() != nil {
		c.g.log.Debug("stream client went away", "request_id", c.requestID())
		c.finish(ctx, status, output, err)
		return
	}
	c.finish(ctx, status, output, rec)
	// What arrived before the failure goes first, then the failure.
	if len(unsent)+len(frame) == 0 {
		return
	}
	if _, err := w.Write(append(unsent, frame...)); err == nil {
		_ = flush(rc)
	}
}

// streamBufs are one stream's write buffers, pooled: most streams are
// short, and their buffers' sizes repeat.
type streamBufs struct{ out, tail []byte }

var streamBuffers = sync.Pool{New: func() any { return new(streamBufs) }}

// reset empties the buffers for reuse, dropping ones grown unusually
// large so that one long answer does not pin its memory in the pool.
func (b *streamBufs) reset() *streamBufs {
	const keep = 64 << 10
	if cap(b.out) > keep {
		b.out = nil
	}
	if cap(b.tail) > keep {
		b.tail = nil
	}
	b.out, b.tail = b.out[:0], b.tail[:0]
	return b
}

// flush sends what was written. A writer that cannot flush (a wrapping
// middleware) is not an error: the bytes go out when its buffer fills.
func flush(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
