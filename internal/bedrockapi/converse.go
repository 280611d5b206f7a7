package bedrockapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// converseDoor is Converse or ConverseStream, for one call: Bedrock's
// own chat wire, which is the gateway's neutral form, so decoding is
// validation and encoding is marshalling. The model is in the URL.
type converseDoor struct {
	h  *Handler
	op invocation.Operation
	// modelID is the URL's model identifier, unescaped.
	modelID string
}

// Describe implements gateway.Door.
func (d *converseDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIBedrock, Operation: d.op, ModelID: d.modelID,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door.
func (d *converseDoor) Decode(_ *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := converse.Decode(body)
	if err != nil {
		return nil, err
	}
	if err := converse.ValidateImages(req); err != nil {
		return nil, err
	}
	return &gateway.Request{Model: d.modelID, Chat: req, Stream: d.op == invocation.ConverseStream, Metadata: req.RequestMetadata}, nil
}

// Encode implements gateway.Door: the response with the gateway's latency.
func (d *converseDoor) Encode(x *gateway.Exchange, resp *converse.Response) ([]byte, error) {
	resp.Metrics.LatencyMs = time.Since(x.Start).Milliseconds()
	return json.Marshal(resp)
}

// Stream implements gateway.Door: AWS event-stream messages, one per
// event, encoded with the SDK's codec.
func (d *converseDoor) Stream(x *gateway.Exchange, h http.Header) gateway.StreamEncoder {
	h.Set("Content-Type", contentTypeEventStream)
	return &converseStream{start: x.Start, frames: newEventFrames()}
}

// Error implements gateway.Door: Bedrock's restJson1 error, named in
// x-amzn-ErrorType.
func (d *converseDoor) Error(err error, h http.Header) (*apierror.Error, int, []byte) {
	return bedrockError(err, d.h.opts.MaxRequestBytes, h)
}

// bedrockError is Bedrock's answer to a failed call: the exception as
// x-amzn-ErrorType, its status and restJson1 body; an unknown model is the
// catalog's ValidationException, a body over the limit is worded as
// Bedrock words it.
func bedrockError(err error, limit int64, h http.Header) (*apierror.Error, int, []byte) {
	err = bodyError(err, limit)
	var unknown *gateway.UnknownModelError
	if errors.As(err, &unknown) {
		err = unknown.Err
	}
	e := apierror.From(err)
	h[headerErrorType] = []string{string(e.Code)}
	return e, e.Status(), errorBody(e)
}

// converseStream encodes ConverseStream events.
type converseStream struct {
	start  time.Time
	frames *eventFrames
}

// Encode implements gateway.StreamEncoder. The metadata event carries the
// gateway's latency.
func (s *converseStream) Encode(ev *converse.StreamEvent) ([]byte, error) {
	if ev.Metadata != nil {
		ev.Metadata.Metrics.LatencyMs = time.Since(s.start).Milliseconds()
	}
	payload, err := ev.Payload()
	if err != nil {
		return nil, err
	}
	return s.frames.event(ev.Name(), payload)
}

// Fail implements gateway.StreamEncoder: an exception message named
// after the stream union's member for the error.
func (s *converseStream) Fail(err error) (*apierror.Error, int, []byte) {
	return s.frames.fail(err, invocation.ConverseStream)
}

// RequestTags implements gateway.RequestTagger: the body's requestMetadata,
// read without decoding the rest; nil when Bedrock would refuse it.
func (d *converseDoor) RequestTags(_ *http.Request, body []byte) map[string]string {
	md := gjson.GetBytes(body, "requestMetadata")
	if !md.IsObject() {
		return nil
	}
	out := map[string]string{}
	ok := true
	md.ForEach(func(k, v gjson.Result) bool {
		ok = v.Type == gjson.String
		out[k.String()] = v.String()
		return ok
	})
	if !ok || converse.ValidateRequestMetadata(out) != nil {
		return nil // the decoding refuses it in Bedrock's words
	}
	return out
}
