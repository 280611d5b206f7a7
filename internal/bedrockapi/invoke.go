package bedrockapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/family"
	"github.com/modelwatch/modelwatch/internal/gateway"
)

// invokeModel serves InvokeModel: the body is the model family's native
// JSON, translated to the neutral form for the provider and back. It sets
// the token and latency headers and returns the response body.
func (h *Handler) invokeModel(ctx context.Context, hdr http.Header, r *http.Request, call *gateway.Call, model *catalog.Model, body []byte) ([]byte, error) {
	if v := r.Header.Get(headerMetadata); v != "" {
		md, err := parseRequestMetadata(v)
		if err != nil {
			return nil, err
		}
		call.SetRequestMetadata(md)
	}
	out, err := h.invokeFamily(ctx, call, model, body)
	if err != nil {
		return nil, err
	}
	u := call.Usage()
	hdr.Set(headerInputTokens, strconv.Itoa(u.InputTokens))
	hdr.Set(headerOutputToken, strconv.Itoa(u.OutputTokens))
	if u.CacheReadInputTokens > 0 || u.CacheWriteInputTokens > 0 {
		hdr.Set(headerCacheRead, strconv.Itoa(u.CacheReadInputTokens))
		hdr.Set(headerCacheWrite, strconv.Itoa(u.CacheWriteInputTokens))
	}
	hdr.Set(headerLatency, strconv.FormatInt(time.Since(call.Start()).Milliseconds(), 10))
	if v := r.Header.Get(headerPerfLatency); v != "" {
		hdr.Set(headerPerfLatency, v)
	}
	return out, nil
}

// invokeFamily decodes the native body with the model family's codec, calls
// the provider and encodes its answer natively.
func (h *Handler) invokeFamily(ctx context.Context, call *gateway.Call, model *catalog.Model, body []byte) ([]byte, error) {
	fm := family.Model{ID: model.ID, MaxOutputTokens: model.MaxOutputTokens, DefaultMaxTokens: model.DefaultMaxTokens}
	meta := family.Meta{RequestID: call.RequestID(), ModelID: model.ID}
	codec, _ := family.Lookup(model.Family)
	switch c := codec.(type) {
	case family.EmbedCodec:
		ec, err := c.DecodeEmbed(body, fm)
		if err != nil {
			return nil, err
		}
		resp, err := call.Embed(ctx, &ec.Request)
		if err != nil {
			return nil, err
		}
		return c.EncodeEmbed(ec, resp, meta)
	case family.ChatCodec:
		req, err := c.DecodeChat(body, fm)
		if err != nil {
			return nil, err
		}
		resp, err := call.Converse(ctx, req)
		if err != nil {
			return nil, err
		}
		return c.EncodeChat(req, resp, meta)
	}
	return nil, apierror.New(apierror.Validation, "This action doesn't support the model that you provided.")
}

// parseRequestMetadata reads the X-Amzn-Bedrock-Request-Metadata header, a
// JSON object of string keys and values.
func parseRequestMetadata(v string) (map[string]string, error) {
	var md map[string]string
	if err := json.Unmarshal([]byte(v), &md); err != nil {
		return nil, apierror.New(apierror.Validation, "The X-Amzn-Bedrock-Request-Metadata header must be a JSON object of string keys and string values.")
	}
	if len(md) > 16 {
		return nil, apierror.ConstraintViolation("map", "requestMetadata", "Member must have length less than or equal to 16")
	}
	for k, val := range md {
		if len(k) < 1 || len(k) > 256 || len(val) > 256 {
			return nil, apierror.ConstraintViolation(k, "requestMetadata", "Map keys must have length between 1 and 256 and values at most 256")
		}
	}
	return md, nil
}
