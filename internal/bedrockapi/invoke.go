package bedrockapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	tier, err := parseTierHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	call.SetRequestedTier(tier.serviceTier, tier.latency)
	out, err := h.invokeFamily(ctx, r, call, model, body, tier)
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
	setTierHeaders(hdr, call)
	return out, nil
}

// tierRequest is the service tier and latency mode an InvokeModel call
// asks for in its headers ("" when it names none).
type tierRequest struct {
	serviceTier, latency string
}

// parseTierHeaders reads X-Amzn-Bedrock-Service-Tier and
// X-Amzn-Bedrock-PerformanceConfig-Latency, held to the service model's
// enums with Bedrock's wording for a header-bound member (named by its
// member name, serviceTier and performanceConfigLatency). The values are
// matched exactly: Bedrock's enums are case-sensitive.
func parseTierHeaders(h http.Header) (tierRequest, error) {
	t := tierRequest{serviceTier: h.Get(headerServiceTier), latency: h.Get(headerPerfLatency)}
	var v violations
	if t.serviceTier != "" && !slices.Contains(invocation.ServiceTiers, t.serviceTier) {
		v.add(t.serviceTier, "serviceTier", enumConstraint(invocation.ServiceTiers))
	}
	if t.latency != "" && !slices.Contains(invocation.LatencyModes, t.latency) {
		v.add(t.latency, "performanceConfigLatency", enumConstraint(invocation.LatencyModes))
	}
	if err := v.err(); err != nil {
		return tierRequest{}, err
	}
	return t, nil
}

// enumConstraint is Bedrock's wording of an enum constraint.
func enumConstraint(allowed []string) string {
	return "Member must satisfy enum value set: [" + strings.Join(allowed, ", ") + "]"
}

// apply asks a translated request for the tier and latency mode, as the
// Converse request's serviceTier and performanceConfig.
func (t tierRequest) apply(req *converse.Request) {
	if t.serviceTier != "" {
		req.ServiceTier = &converse.ServiceTier{Type: t.serviceTier}
	}
	if t.latency != "" {
		req.PerformanceConfig = &converse.PerformanceConfig{Latency: t.latency}
	}
}

// servedTier records what served a passed-through call when the upstream
// says ("" keeps what was asked): Bedrock may serve a priority request on
// the default tier.
func servedTier(call *gateway.Call, tier, latency string) {
	if tier == "" {
		tier = call.ServiceTier()
	}
	if latency == "" {
		latency = call.PerformanceLatency()
	}
	call.SetRequestedTier(tier, latency)
}

// setTierHeaders echoes the service tier and latency mode of the call as
// Bedrock does on InvokeModel responses: the ones that served it, which
// are the ones asked for unless the provider reported otherwise.
func setTierHeaders(hdr http.Header, call *gateway.Call) {
	if v := call.ServiceTier(); v != "" {
		hdr.Set(headerServiceTier, v)
	}
	if v := call.PerformanceLatency(); v != "" {
		hdr.Set(headerPerfLatency, v)
	}
}

// invokeFamily serves InvokeModel. A target whose provider takes native
// bodies (provider.NativeInvoker) and serves the same family gets the
// caller's body untouched; any other target gets it decoded with the
// model family's codec into the neutral form, and its answer encoded
// natively. The body is decoded before routing unless the requested model
// itself passes bodies through, so a malformed body never reaches an
// upstream and costs no attempt.
func (h *Handler) invokeFamily(ctx context.Context, r *http.Request, call *gateway.Call, model *catalog.Model, body []byte, tier tierRequest) ([]byte, error) {
	tr := &translation{model: model, body: body, tier: tier,
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
			servedTier(call, resp.ServiceTier, resp.PerformanceLatency)
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
	// tier is what the caller's headers ask for; a translated chat
	// request carries it as Converse's serviceTier and performanceConfig.
	tier tierRequest

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
		if err == nil {
			tr.tier.apply(tr.req)
		}
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
	call.RecordConverse(tr.req, resp)
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
