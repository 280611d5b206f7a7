package bedrockapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/family"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
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
	out, err := h.invokeFamily(ctx, r, call, model, body)
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

// invokeFamily serves InvokeModel. A target whose provider takes native
// bodies (provider.NativeInvoker) and serves the same family gets the
// caller's body untouched; any other target gets it decoded with the
// model family's codec into the neutral form, and its answer encoded
// natively. The body is decoded before routing unless the requested model
// itself passes bodies through, so a malformed body never reaches an
// upstream and costs no attempt.
func (h *Handler) invokeFamily(ctx context.Context, r *http.Request, call *gateway.Call, model *catalog.Model, body []byte) ([]byte, error) {
	tr := &translation{model: model, body: body,
		fm:   family.Model{ID: model.ID, MaxOutputTokens: model.MaxOutputTokens, DefaultMaxTokens: model.DefaultMaxTokens},
		meta: family.Meta{RequestID: call.RequestID(), ModelID: model.ID}}
	if _, native := h.gwProvider(model).(provider.NativeInvoker); !native {
		if err := tr.decode(); err != nil {
			return nil, err
		}
	}
	var out []byte
	err := call.Route(ctx, func(ctx context.Context, _ context.CancelFunc, t gateway.Target) (bool, error) {
		if ni, ok := t.Provider.(provider.NativeInvoker); ok && t.Model.Family == model.Family {
			resp, err := ni.InvokeModel(ctx, t.Call, nativeRequest(r, body))
			if err != nil {
				return false, err
			}
			out = resp.Body
			call.SetUsage(invocation.Usage{InputTokens: resp.InputTokens, OutputTokens: resp.OutputTokens,
				CacheReadInputTokens: resp.CacheReadInputTokens, CacheWriteInputTokens: resp.CacheWriteInputTokens}, "")
			return false, nil
		}
		var err error
		out, err = tr.invoke(ctx, call, t)
		return false, err
	})
	return out, err
}

// gwProvider returns the provider serving the model.
func (h *Handler) gwProvider(model *catalog.Model) provider.Provider {
	return h.gw.Provider(model.Provider)
}

// translation is a native InvokeModel body on its way through the neutral
// form: decoded once, sent to any number of targets.
type translation struct {
	model *catalog.Model
	body  []byte
	fm    family.Model
	meta  family.Meta

	decoded bool
	chat    family.ChatCodec
	embed   family.EmbedCodec
	req     *converse.Request
	ec      *family.EmbedCall
}

// decode validates and decodes the body with the requested model's family
// codec (once).
func (tr *translation) decode() error {
	if tr.decoded {
		return nil
	}
	codec, _ := family.Lookup(tr.model.Family)
	var err error
	switch c := codec.(type) {
	case family.EmbedCodec:
		tr.embed = c
		tr.ec, err = c.DecodeEmbed(tr.body, tr.fm)
	case family.ChatCodec:
		tr.chat = c
		tr.req, err = c.DecodeChat(tr.body, tr.fm)
	default:
		err = apierror.New(apierror.Validation, "This action doesn't support the model that you provided.")
	}
	if err != nil {
		return err
	}
	tr.decoded = true
	return nil
}

// invoke sends the decoded request to the target's provider and encodes
// its answer in the requested family's format.
func (tr *translation) invoke(ctx context.Context, call *gateway.Call, t gateway.Target) ([]byte, error) {
	if err := tr.decode(); err != nil {
		return nil, err
	}
	if tr.embed != nil {
		resp, err := t.Provider.Embed(ctx, t.Call, &tr.ec.Request)
		if err != nil {
			return nil, err
		}
		call.SetUsage(invocation.Usage{InputTokens: resp.InputTokens}, "")
		return tr.embed.EncodeEmbed(tr.ec, resp, tr.meta)
	}
	resp, err := t.Provider.Converse(ctx, t.Call, tr.req)
	if err != nil {
		return nil, err
	}
	call.SetUsage(invocation.Usage{InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens,
		CacheReadInputTokens: resp.Usage.CacheReadInputTokens, CacheWriteInputTokens: resp.Usage.CacheWriteInputTokens}, resp.StopReason)
	return tr.chat.EncodeChat(tr.req, resp, tr.meta)
}

// forwardedHeaders are the InvokeModel request headers a pass-through
// upstream must see.
var forwardedHeaders = []string{
	"X-Amzn-Bedrock-Trace", "X-Amzn-Bedrock-Guardrailidentifier", "X-Amzn-Bedrock-Guardrailversion",
	headerPerfLatency, headerServiceTier,
}

// nativeRequest describes the caller's InvokeModel request for a
// pass-through provider.
func nativeRequest(r *http.Request, body []byte) *provider.NativeRequest {
	nr := &provider.NativeRequest{Body: body, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept")}
	if v := r.Header.Get(headerBedrockAccept); v != "" {
		nr.Accept = v
	}
	for _, h := range forwardedHeaders {
		if v := r.Header.Get(h); v != "" {
			if nr.Headers == nil {
				nr.Headers = map[string]string{}
			}
			nr.Headers[http.CanonicalHeaderKey(h)] = v
		}
	}
	return nr
}

// parseRequestMetadata reads the X-Amzn-Bedrock-Request-Metadata header, a
// JSON object of string keys and values, held to the same constraints as
// Converse's requestMetadata (converse.ValidateRequestMetadata).
func parseRequestMetadata(v string) (map[string]string, error) {
	var md map[string]string
	if err := json.Unmarshal([]byte(v), &md); err != nil || md == nil {
		return nil, apierror.New(apierror.Validation, "The X-Amzn-Bedrock-Request-Metadata header must be a JSON object of string keys and string values.")
	}
	if err := converse.ValidateRequestMetadata(md); err != nil {
		return nil, err
	}
	return md, nil
}
