package gateway

import (
	"context"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/iampolicy"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Admission admits a resolved, decoded call against the server's quotas
// and budgets before any provider is called. settle, when not nil, is
// called exactly once with the finished Invocation (whatever its outcome),
// so that what was reserved for the call is replaced by what it used: a
// stream settles when it ends, never before. An error refuses the call;
// it is an *apierror.Error in Bedrock's words (ThrottlingException for a
// quota, ServiceQuotaExceededException for a budget's hard limit).
type Admission interface {
	// Active reports whether anything is configured to admit against;
	// when not, the gateway skips estimating the call (and Admit).
	Active() bool
	Admit(a *AdmitInfo) (settle func(*invocation.Invocation), err error)
}

// AdmitInfo is what admission knows of a call.
type AdmitInfo struct {
	// Principal is the caller's name; PrincipalTags its tags.
	Principal     string
	PrincipalTags map[string]string
	// RequestTags are the call's request metadata.
	RequestTags map[string]string
	// Model is the catalog model asked for; ProfileID the inference
	// profile the caller named, if any.
	Model     *catalog.Model
	ProfileID string
	// InputTokens estimates the input (see estimateInput) and
	// MaxOutputTokens is the most the call may generate: the request's
	// limit, else the model's maximum, as Bedrock reserves quota.
	InputTokens     int64
	MaxOutputTokens int64
	// Image is the request of an image-generation call (its count, size
	// and quality price it), else nil.
	Image *provider.ImageRequest
	// Context is the request's context: admission that asks a shared
	// counter gives up when the caller does.
	Context context.Context
}

// SetAdmission installs the admission of quotas and budgets (nil: none).
// It may be called while calls are served.
func (g *Gateway) SetAdmission(a Admission) {
	g.admission.Store(&admissionBox{a})
}

type admissionBox struct{ a Admission }

// rollbacks holds the models whose calls skip to their fallbacks while an
// alarm holds (remediation): model ID → the alarms holding it.
type rollbacks struct {
	mu     sync.Mutex
	active map[string]map[string]bool
	// snapshot is read on every call without the lock.
	snapshot sync.Map
}

// SetRollback switches calls of model to its fallbacks while the alarm
// named by holds it (active), or releases that alarm's hold; alarms call it
// as their remediation. The model is rolled back while any alarm holds it;
// the same alarm holding twice is one hold. A model without fallbacks is
// served as usual.
func (g *Gateway) SetRollback(model, by string, active bool) {
	r := &g.rollback
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active = map[string]map[string]bool{}
	}
	holders := r.active[model]
	if active {
		if holders == nil {
			holders = map[string]bool{}
			r.active[model] = holders
		}
		holders[by] = true
	} else {
		delete(holders, by)
	}
	if len(holders) > 0 {
		r.snapshot.Store(model, true)
	} else {
		delete(r.active, model)
		r.snapshot.Delete(model)
	}
}

// RolledBack reports whether calls of model go to its fallbacks now.
func (g *Gateway) RolledBack(model string) bool {
	_, ok := g.rollback.snapshot.Load(model)
	return ok
}

// policyContext is the call's condition context, built on first need.
func (c *Call) policyContext() *iampolicy.Context {
	if c.pctx == nil {
		c.pctx = c.g.Auth().RequestContext(c.r, c.id, c.inv.Start)
	}
	return c.pctx
}

// authorizeModel authorizes the call's action on the model it resolved
// to, as Bedrock does: a call through an inference profile needs the
// action on the profile and on the foundation model (with
// bedrock:InferenceProfileArn naming the profile), and a call made with an
// API key needs bedrock:CallWithBearerToken too. tags are the request's
// metadata, as aws:RequestTag/<key>.
func (c *Call) authorizeModel(res catalog.Resolution, tags map[string]string) error {
	if c.id.Method == auth.MethodAnonymous {
		return nil
	}
	action := c.action()
	ctx := c.policyContext()
	for k, v := range tags {
		ctx.Set("aws:RequestTag/"+k, v)
	}
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		ctx.Set("aws:TagKeys", keys...)
	}
	if c.id.Method == auth.MethodBearer {
		if err := auth.Authorize(c.id, auth.ActionCallWithBearerToken, "*", ctx); err != nil {
			return err
		}
	}
	modelARN := c.g.catalog.ModelARN(res)
	ctx.Set("bedrock:ModelArn", modelARN)
	if profile := c.profileARN(res); profile != "" {
		ctx.Set("bedrock:InferenceProfileArn", profile)
		if err := auth.Authorize(c.id, action, profile, ctx); err != nil {
			return err
		}
	}
	return auth.Authorize(c.id, action, modelARN, ctx)
}

// profileARN is the ARN of the inference profile the call named: a
// cross-region profile's, or the application inference profile ARN the
// caller sent (configured as an alias); "" for a call that named the
// model itself.
func (c *Call) profileARN(res catalog.Resolution) string {
	if res.ProfileID != "" {
		return "arn:aws:bedrock:" + c.g.catalog.Region() + ":" + c.g.catalog.AccountID() + ":inference-profile/" + res.ProfileID
	}
	if id := c.inv.ModelID; strings.HasPrefix(id, "arn:") && strings.Contains(id, ":application-inference-profile/") {
		return id
	}
	return ""
}

// admitQuota runs the admission of quotas and budgets for a decoded call;
// what it reserved is settled when the call finishes.
func (c *Call) admitQuota(req *Request, body []byte) error {
	box := c.g.admission.Load()
	if box == nil || box.a == nil || !box.a.Active() {
		return nil
	}
	info := &AdmitInfo{
		Principal:       c.id.Name,
		PrincipalTags:   c.id.Tags,
		RequestTags:     c.inv.RequestMetadata,
		Model:           c.model,
		ProfileID:       c.inv.InferenceProfileID,
		InputTokens:     estimateInput(body, c.model),
		MaxOutputTokens: maxOutput(req, body, c.model),
	}
	if c.r != nil {
		info.Context = c.r.Context()
	}
	if req != nil {
		info.Image = req.Image
	}
	settle, err := box.a.Admit(info)
	if err != nil {
		return err
	}
	c.settle = settle
	return nil
}

// maxInputEstimate caps estimateInput: a body of base64 images is far
// larger than its tokens, and no call the default catalog serves takes
// more than 200,000 input tokens without the 1M-context beta.
const maxInputEstimate = 200_000

// estimateInput estimates a call's input tokens from its body before the
// model has counted them: a quarter of its bytes (English text runs about
// four bytes a token, and JSON syntax adds more), at most
// maxInputEstimate. It only sizes the reservation; the true count settles
// it when the call ends.
func estimateInput(body []byte, _ *catalog.Model) int64 {
	return min(int64(len(body)+3)/4, maxInputEstimate)
}

// outputLimitFields are where the bodies modelwatch serves carry the
// output limit: Converse, Anthropic, OpenAI, Titan, Llama, Cohere, Nova.
var outputLimitFields = []string{
	"inferenceConfig.maxTokens", "max_tokens", "max_completion_tokens", "max_output_tokens",
	"textGenerationConfig.maxTokenCount", "max_gen_len", "inferenceConfig.max_new_tokens",
}

// maxOutput is the most a call may generate: the decoded request's limit,
// else the limit its body names, else the model's output budget (what the
// gateway sends when a request sets none; Bedrock likewise reserves the
// model's maximum).
func maxOutput(req *Request, body []byte, m *catalog.Model) int64 {
	if req != nil && req.Chat != nil && req.Chat.InferenceConfig != nil && req.Chat.InferenceConfig.MaxTokens != nil {
		return int64(*req.Chat.InferenceConfig.MaxTokens)
	}
	if req != nil && (req.Embed != nil || req.Image != nil) {
		return 0
	}
	// gjson reads the fields without validating the whole body first: a
	// body that is not JSON simply has none of them.
	for _, f := range outputLimitFields {
		if v := gjson.GetBytes(body, f); v.Type == gjson.Number && v.Int() > 0 {
			return v.Int()
		}
	}
	return int64(m.OutputBudget())
}
