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
	"strconv"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// invokeDoor is InvokeModel or InvokeModelWithResponseStream, for one
// call: the model family's native body. A target whose provider takes
// native bodies (provider.NativeInvoker) and serves the same family gets
// the caller's body untouched (Pass, PassStream); any other target gets it
// decoded with the family's codec into the neutral form, and its answer
// encoded natively. The body is decoded before routing unless the
// requested model itself passes bodies through, so a malformed body never
// reaches an upstream and costs no attempt.
type invokeDoor struct {
	h       *Handler
	op      invocation.Operation
	modelID string
	r       *http.Request
	body    []byte
	model   *catalog.Model
	tr      *translation
	// native is set when the stream was opened on a pass-through target.
	native bool
	// chunks are the stream's native chunks so far, comma-separated: the
	// Invocation's output is their JSON array, as Bedrock logs it.
	chunks []byte
	frames *eventFrames
}

func (d *invokeDoor) streaming() bool { return d.op == invocation.InvokeModelWithResponseStream }

// Describe implements gateway.Door.
func (d *invokeDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIBedrock, Operation: d.op, ModelID: d.modelID,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door: the request metadata and tier headers,
// and the body, decoded now unless the model's provider takes it natively.
func (d *invokeDoor) Decode(r *http.Request, body []byte, model *catalog.Model) (*gateway.Request, error) {
	d.r, d.body, d.model = r, body, model
	out := &gateway.Request{Model: d.modelID, Stream: d.streaming()}
	if v := r.Header.Get(headerMetadata); v != "" {
		md, err := parseRequestMetadata(v)
		if err != nil {
			return out, err
		}
		out.Metadata = md
	}
	tier, err := parseTierHeaders(r.Header)
	if err != nil {
		return out, err
	}
	out.ServiceTier, out.Latency = tier.serviceTier, tier.latency
	d.tr = &translation{model: model, body: body, tier: tier,
		fm:   invokebody.Model{ID: model.ID, MaxOutputTokens: model.MaxOutputTokens, DefaultMaxTokens: model.DefaultMaxTokens},
		meta: invokebody.Meta{ModelID: model.ID}}
	out.Translate = func() error {
		if err := d.tr.decode(); err != nil {
			return err
		}
		if d.tr.image != nil {
			// Image models answer InvokeModel only.
			if d.streaming() {
				return apierror.New(apierror.Validation, "The model is unsupported for streaming.")
			}
			out.Image = &d.tr.ic.Request
			return nil
		}
		if d.tr.embed != nil {
			if d.streaming() {
				return apierror.New(apierror.Validation, "The model is unsupported for streaming.")
			}
			out.Embed = &d.tr.ec.Request
			return nil
		}
		if _, ok := d.tr.chat.(invokebody.StreamCodec); d.streaming() && !ok {
			return apierror.New(apierror.Validation, "The model is unsupported for streaming.")
		}
		out.Chat = d.tr.req
		return nil
	}
	if _, native := d.h.gw.Provider(model.Provider).(provider.NativeInvoker); !native {
		if err := out.Translate(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// nativeTarget returns t's provider when it takes the requested model's
// native body.
func (d *invokeDoor) nativeTarget(t gateway.Target) (provider.NativeInvoker, bool) {
	ni, ok := t.Provider.(provider.NativeInvoker)
	return ni, ok && t.Model.Family == d.model.Family
}

// Pass implements gateway.Passer: the caller's body to a native target,
// its answer as it came, its usage from the upstream's headers.
func (d *invokeDoor) Pass(ctx context.Context, t gateway.Target, x *gateway.Exchange) (*provider.Passed, bool, error) {
	ni, ok := d.nativeTarget(t)
	if !ok {
		return nil, false, nil
	}
	resp, err := ni.InvokeModel(ctx, t.Call, nativeRequest(d.r, d.body))
	if err != nil {
		return nil, true, err
	}
	out := &converse.Response{Usage: converse.Usage{InputTokens: resp.InputTokens, OutputTokens: resp.OutputTokens,
		CacheReadInputTokens: resp.CacheReadInputTokens, CacheWriteInputTokens: resp.CacheWriteInputTokens}}
	if resp.ServiceTier != "" {
		out.ServiceTier = &converse.ServiceTier{Type: resp.ServiceTier}
	}
	if resp.PerformanceLatency != "" {
		out.PerformanceConfig = &converse.PerformanceConfig{Latency: resp.PerformanceLatency}
	}
	passed := &provider.Passed{Body: resp.Body, Response: out}
	d.passedImages(passed)
	return passed, true, nil
}

// passedImages fills in the image usage of a passed-through answer of an
// image model: the request decoded for its size and quality (a body the
// codec refuses, which the upstream accepted, leaves them unknown) and
// the images the answer carries.
func (d *invokeDoor) passedImages(p *provider.Passed) {
	codec, _ := invokebody.Lookup(d.model.Family)
	ic, ok := codec.(invokebody.ImageCodec)
	if !ok {
		return
	}
	p.Image = &provider.ImageRequest{}
	if d.tr.decoded && d.tr.ic != nil {
		p.Image = &d.tr.ic.Request // decoded already, for the model policy
	} else if call, err := ic.DecodeImage(d.body, d.tr.fm); err == nil {
		p.Image = &call.Request
	}
	var answer struct {
		Images []skipJSON `json:"images"`
	}
	if json.Unmarshal(p.Body, &answer) == nil {
		p.Images = len(answer.Images)
	}
}

// meta names the answer for the family's codec.
func (d *invokeDoor) meta(x *gateway.Exchange) invokebody.Meta {
	m := d.tr.meta
	m.RequestID = x.RequestID
	return m
}

// Encode implements gateway.Door: the family's native response.
func (d *invokeDoor) Encode(x *gateway.Exchange, resp *converse.Response) ([]byte, error) {
	return d.tr.chat.EncodeChat(d.tr.req, resp, d.meta(x))
}

// EncodeEmbed implements gateway.EmbedEncoder: the family's native
// embedding response.
func (d *invokeDoor) EncodeEmbed(x *gateway.Exchange, resp *provider.EmbedResponse) ([]byte, error) {
	return d.tr.embed.EncodeEmbed(d.tr.ec, resp, d.meta(x))
}

// EncodeImage implements gateway.ImageEncoder: the family's native
// image-generation response.
func (d *invokeDoor) EncodeImage(x *gateway.Exchange, resp *provider.ImageResponse) ([]byte, error) {
	return d.tr.image.EncodeImage(d.tr.ic, resp, d.meta(x))
}

// SetHeaders implements gateway.HeaderSetter: Bedrock's token counts,
// latency, and the service tier and latency mode that served the call.
func (d *invokeDoor) SetHeaders(x *gateway.Exchange, hdr http.Header) {
	u := x.Usage()
	hdr.Set(headerInputTokens, strconv.Itoa(u.InputTokens))
	hdr.Set(headerOutputToken, strconv.Itoa(u.OutputTokens))
	if u.CacheReadInputTokens > 0 || u.CacheWriteInputTokens > 0 {
		hdr.Set(headerCacheRead, strconv.Itoa(u.CacheReadInputTokens))
		hdr.Set(headerCacheWrite, strconv.Itoa(u.CacheWriteInputTokens))
	}
	hdr.Set(headerLatency, strconv.FormatInt(time.Since(x.Start).Milliseconds(), 10))
	setTierHeaders(hdr, x)
}

// Error implements gateway.Door: Bedrock's restJson1 error, named in
// x-amzn-ErrorType.
func (d *invokeDoor) Error(err error, h http.Header) (*apierror.Error, int, []byte) {
	return bedrockError(err, d.h.opts.MaxRequestBytes, h)
}

// PassStream implements gateway.Passer: a native target's chunks, relayed
// as they come.
func (d *invokeDoor) PassStream(ctx context.Context, t gateway.Target, x *gateway.Exchange) (provider.RawStream, bool, error) {
	ni, ok := d.nativeTarget(t)
	if !ok {
		d.native = false
		return nil, false, nil
	}
	ns, err := ni.InvokeModelWithResponseStream(ctx, t.Call, nativeRequest(d.r, d.body))
	if err != nil {
		return nil, true, err
	}
	if tr, ok := ns.(provider.TierReporter); ok {
		x.SetServedTier(tr.ServedTier())
	}
	d.native = true
	return &nativeEvents{d: d, ns: ns}, true, nil
}

// Stream implements gateway.Door: an event stream of chunk events, with
// the content type of the chunks and the tier and latency mode echoed in
// the initial response (a passed-through upstream's, else the ones asked
// for).
func (d *invokeDoor) Stream(x *gateway.Exchange, h http.Header) gateway.StreamEncoder {
	h.Set("Content-Type", contentTypeEventStream)
	h.Set(headerBedrockCT, contentTypeJSON)
	setTierHeaders(h, x)
	s := &invokeStream{d: d, x: x}
	if !d.native {
		s.fam = d.tr.chat.(invokebody.StreamCodec).NewStreamEncoder(d.tr.req, d.meta(x))
	}
	return s
}

// chunk keeps a native chunk for the record and returns its chunk event.
func (d *invokeDoor) chunk(c []byte) ([]byte, error) {
	if len(d.chunks) > 0 {
		d.chunks = append(d.chunks, ',')
	}
	d.chunks = append(d.chunks, c...)
	pad := make([]byte, 1+rand.IntN(24))
	for i := range pad {
		pad[i] = padAlphabet[rand.IntN(len(padAlphabet))]
	}
	payload, err := json.Marshal(chunkPayload{Bytes: base64.StdEncoding.EncodeToString(c), P: string(pad)})
	if err != nil {
		return nil, err
	}
	return d.frames.event("chunk", payload)
}

// invokeStream encodes a translated stream as the family's chunks.
type invokeStream struct {
	d   *invokeDoor
	x   *gateway.Exchange
	fam invokebody.StreamEncoder
}

// Encode implements gateway.StreamEncoder. The last chunk carries
// amazon-bedrock-invocationMetrics.
func (s *invokeStream) Encode(ev *converse.StreamEvent) ([]byte, error) {
	chunks, err := s.fam.Encode(ev)
	if err != nil {
		return nil, err
	}
	if ev.Metadata != nil {
		if len(chunks) == 0 {
			return nil, errors.New("stream encoder produced no final chunk")
		}
		last, err := withInvocationMetrics(chunks[len(chunks)-1], s.x)
		if err != nil {
			return nil, err
		}
		chunks[len(chunks)-1] = last
	}
	var out []byte
	for _, c := range chunks {
		frame, err := s.d.chunk(c)
		if err != nil {
			return nil, err
		}
		out = append(out, frame...)
	}
	return out, nil
}

// Fail implements gateway.StreamEncoder: an exception message named after
// the stream union's member for the error.
func (s *invokeStream) Fail(err error) (*apierror.Error, int, []byte) {
	return s.d.frames.fail(err, invocation.InvokeModelWithResponseStream)
}

// Output implements gateway.StreamOutput: the JSON array of the chunks
// sent, the last one carrying the invocation metrics, as Bedrock logs a
// streamed InvokeModel.
func (s *invokeStream) Output() []byte {
	out := make([]byte, 0, len(s.d.chunks)+2)
	out = append(out, '[')
	out = append(out, s.d.chunks...)
	return append(out, ']')
}

// nativeEvents reads a native target's chunks as the neutral events the
// gateway's stream loop follows: each chunk is content, the one with the
// invocation metrics ends the stream with their usage; Raw is the chunk's
// event, relayed as it came.
type nativeEvents struct {
	d    *invokeDoor
	ns   provider.NativeStream
	raw  []byte
	seen bool // a chunk has arrived
	done bool
}

// Next implements provider.Stream.
func (s *nativeEvents) Next() (*converse.StreamEvent, error) {
	s.raw = nil
	if s.done {
		return nil, io.EOF
	}
	c, err := s.ns.Next()
	if err == io.EOF && s.seen {
		// An upstream stream that ended without invocation metrics: the
		// call ends with what it had.
		s.done = true
		return &converse.StreamEvent{Metadata: &converse.MetadataEvent{}}, nil
	}
	if err != nil {
		return nil, err
	}
	s.seen = true
	if s.raw, err = s.d.chunk(c); err != nil {
		return nil, err
	}
	if m := nativeMetrics(c); m != nil {
		s.done = true
		return &converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: m.InputTokenCount, OutputTokens: m.OutputTokenCount,
			CacheReadInputTokens: m.CacheRead, CacheWriteInputTokens: m.CacheWrite}}}, nil
	}
	empty := ""
	return &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{Text: &empty}}}, nil
}

// Raw implements provider.RawStream.
func (s *nativeEvents) Raw() []byte { return s.raw }

// Close implements provider.Stream.
func (s *nativeEvents) Close() error { return s.ns.Close() }

// nativeMetrics returns the invocation metrics a native chunk carries (the
// last one does), or nil.
func nativeMetrics(c []byte) *invocationMetrics {
	if !bytes.Contains(c, []byte(metricsKey)) {
		return nil
	}
	var tail struct {
		M *invocationMetrics `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal(c, &tail); err != nil {
		return nil
	}
	return tail.M
}

// skipJSON is a JSON value counted but not kept (a passed-through
// answer's base64 images are not copied to count them).
type skipJSON struct{}

// UnmarshalJSON implements json.Unmarshaler.
func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// RequestTags implements gateway.RequestTagger: the
// X-Amzn-Bedrock-Request-Metadata header.
func (d *invokeDoor) RequestTags(r *http.Request, _ []byte) map[string]string {
	v := r.Header.Get(headerMetadata)
	if v == "" {
		return nil
	}
	md, err := parseRequestMetadata(v)
	if err != nil {
		return nil
	}
	return md
}
