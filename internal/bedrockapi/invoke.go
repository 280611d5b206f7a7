package bedrockapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider"
)

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

// setTierHeaders echoes the service tier and latency mode of the call as
// Bedrock does on InvokeModel responses: the ones that served it, which
// are the ones asked for unless the provider reported otherwise.
func setTierHeaders(hdr http.Header, x *gateway.Exchange) {
	tier, latency := x.ServiceTier()
	if tier != "" {
		hdr.Set(headerServiceTier, tier)
	}
	if latency != "" {
		hdr.Set(headerPerfLatency, latency)
	}
}

// translation is a native InvokeModel body on its way through the neutral
// form: decoded once, sent to any number of targets.
type translation struct {
	model *catalog.Model
	body  []byte
	fm    invokebody.Model
	meta  invokebody.Meta
	// tier is what the caller's headers ask for; a translated chat
	// request carries it as Converse's serviceTier and performanceConfig.
	tier tierRequest

	decoded bool
	chat    invokebody.ChatCodec
	embed   invokebody.EmbedCodec
	image   invokebody.ImageCodec
	req     *converse.Request
	ec      *invokebody.EmbedCall
	ic      *invokebody.ImageCall
}

// decode validates and decodes the body with the requested model's family
// codec (once).
func (tr *translation) decode() error {
	if tr.decoded {
		return nil
	}
	codec, _ := invokebody.Lookup(tr.model.Family)
	var err error
	switch c := codec.(type) {
	case invokebody.EmbedCodec:
		tr.embed = c
		tr.ec, err = c.DecodeEmbed(tr.body, tr.fm)
	case invokebody.ImageCodec:
		tr.image = c
		tr.ic, err = c.DecodeImage(tr.body, tr.fm)
	case invokebody.ChatCodec:
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
