package catalog

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Model is one catalog entry: a Bedrock model ID and how to serve it.
type Model struct {
	// ID is the Bedrock model ID, e.g. anthropic.claude-3-haiku-20240307-v1:0.
	ID string `yaml:"id"`
	// Name is the display name (ListFoundationModels modelName).
	Name string `yaml:"name"`
	// Vendor is the model's maker (ListFoundationModels providerName).
	Vendor string `yaml:"vendor"`
	// Family is the native InvokeModel body format: anthropic, titan-text,
	// titan-embed, nova, llama, mistral. Derived from the ID when empty.
	Family string `yaml:"family"`
	// Provider is the name of the configured provider that serves the model,
	// and UpstreamModel the provider's name for it (defaults to ID).
	Provider      string `yaml:"provider"`
	UpstreamModel string `yaml:"upstreamModel"`
	// Aliases are further identifiers that resolve to this model, such as an
	// application inference profile ARN or a short name.
	Aliases []string `yaml:"aliases"`
	// InputModalities and OutputModalities use Bedrock's names: TEXT, IMAGE,
	// EMBEDDING, ...
	InputModalities  []string `yaml:"inputModalities"`
	OutputModalities []string `yaml:"outputModalities"`
	// Streaming is ListFoundationModels' responseStreamingSupported.
	Streaming bool `yaml:"streaming"`
	// Tools and SystemPrompt say whether Converse may send tool
	// configuration and system prompts to the model.
	Tools        bool `yaml:"tools"`
	SystemPrompt bool `yaml:"systemPrompt"`
	// MaxOutputTokens is the model's output limit; DefaultMaxTokens the
	// output budget when the request sets none.
	MaxOutputTokens  int `yaml:"maxOutputTokens"`
	DefaultMaxTokens int `yaml:"defaultMaxTokens"`
	// Reasoning says whether and when the model reasons before it answers:
	// "" never; "on-request" when the request switches reasoning on (Claude's
	// thinking, Nova 2's reasoningConfig); "always" for models that always
	// do (DeepSeek-R1, and gpt-oss, whose reasoning_effort only sets how
	// much, medium by default). Reasoning tokens count as output tokens.
	Reasoning string `yaml:"reasoning"`
	// ProfileOnly marks a model Bedrock serves only through inference
	// profiles (DeepSeek-R1, Nova Premier): a call that names the model
	// itself, by ID or foundation-model ARN, gets Bedrock's "with on-demand
	// throughput isn't supported" ValidationException. CountTokens and
	// GetFoundationModel still take the model ID, as on Bedrock.
	ProfileOnly bool `yaml:"profileOnly"`
	// Legacy marks a model in its legacy lifecycle state.
	Legacy bool `yaml:"legacy"`
	// Timeout bounds one call to the provider (for a stream: the whole
	// stream).
	Timeout time.Duration `yaml:"timeout"`
	// Fallbacks are catalog model IDs tried in order when this model's
	// provider keeps failing (after its retries) with an error that is
	// not the request's fault. A fallback's own fallbacks are not followed.
	Fallbacks []string `yaml:"fallbacks"`

	// chain is the model followed by its fallbacks, resolved by New.
	chain []*Model
}

// Values of Model.Reasoning besides "" (the model never reasons).
const (
	// ReasoningOnRequest: the model reasons when the request switches
	// reasoning on.
	ReasoningOnRequest = "on-request"
	// ReasoningAlways: the model reasons before every answer.
	ReasoningAlways = "always"
)

// Chain returns the models a call to this one may be served by, in order:
// the model itself, then its fallbacks. It is built once, by New.
func (m *Model) Chain() []*Model {
	if m.chain == nil {
		return []*Model{m}
	}
	return m.chain
}

// FallbackMaxTokens is the output budget of a model whose catalog entry
// has neither a default nor a limit. Providers always receive an explicit
// budget (Anthropic's API requires one); every Claude, Nova, Llama and
// Mistral model accepts 4096.
const FallbackMaxTokens = 4096

// OutputBudget is the output budget of a call that sets none: the model's
// default, else its limit, else FallbackMaxTokens (also for a nil model).
func (m *Model) OutputBudget() int {
	switch {
	case m == nil:
		return FallbackMaxTokens
	case m.DefaultMaxTokens > 0:
		return m.DefaultMaxTokens
	case m.MaxOutputTokens > 0:
		return m.MaxOutputTokens
	}
	return FallbackMaxTokens
}

// Embedding reports whether the model produces embeddings rather than text.
func (m *Model) Embedding() bool { return slices.Contains(m.OutputModalities, "EMBEDDING") }

// ARN returns the model's foundation-model ARN in the region.
func (m *Model) ARN(region string) string {
	return "arn:aws:bedrock:" + region + "::foundation-model/" + m.ID
}

// Resolution is the outcome of resolving a caller's model identifier.
type Resolution struct {
	Model *Model
	// ProfileID is the inference profile the caller named, if any.
	ProfileID string
	// InferenceRegion is where a cross-region profile routed the call.
	InferenceRegion string
}

// Catalog is an immutable set of models, safe for concurrent use.
type Catalog struct {
	region    string
	accountID string
	models    []*Model
	byID      map[string]*Model

	// profiles is Profiles' answer, built once: the catalog never changes.
	profilesOnce sync.Once
	profiles     []Profile
}

// New builds a catalog for the given serving region and account. Model IDs
// and aliases must be unique.
func New(region, accountID string, models []*Model) (*Catalog, error) {
	c := &Catalog{region: region, accountID: accountID, byID: map[string]*Model{}}
	for _, m := range models {
		for _, id := range append([]string{m.ID}, m.Aliases...) {
			if id == "" {
				return nil, fmt.Errorf("catalog: a model has an empty id or alias")
			}
			if prev, dup := c.byID[id]; dup {
				return nil, fmt.Errorf("catalog: %q is defined twice (models %s and %s)", id, prev.ID, m.ID)
			}
			c.byID[id] = m
		}
		c.models = append(c.models, m)
	}
	for _, m := range models {
		m.chain = append(make([]*Model, 0, 1+len(m.Fallbacks)), m)
		for _, f := range m.Fallbacks {
			fm, ok := c.byID[f]
			switch {
			case !ok:
				return nil, fmt.Errorf("catalog: model %s: fallback %q is not a catalog model", m.ID, f)
			case fm == m:
				return nil, fmt.Errorf("catalog: model %s lists itself as a fallback", m.ID)
			case fm.Embedding() != m.Embedding():
				return nil, fmt.Errorf("catalog: model %s: fallback %s produces %v, not %v", m.ID, f, fm.OutputModalities, m.OutputModalities)
			}
			m.chain = append(m.chain, fm)
		}
	}
	return c, nil
}

// Models returns the catalog's models in configuration order.
func (c *Catalog) Models() []*Model { return c.models }

// Region returns the serving region the catalog was built for.
func (c *Catalog) Region() string { return c.region }

// Lookup returns the model with the given ID or alias, without profile or
// ARN resolution.
func (c *Catalog) Lookup(id string) (*Model, bool) {
	m, ok := c.byID[id]
	return m, ok
}

// geoPrefixes are the cross-region inference profile prefixes and the source
// regions that may use them.
var geoPrefixes = map[string]func(region string) bool{
	"us":     func(r string) bool { return strings.HasPrefix(r, "us-") && !strings.HasPrefix(r, "us-gov-") },
	"us-gov": func(r string) bool { return strings.HasPrefix(r, "us-gov-") },
	"eu":     func(r string) bool { return strings.HasPrefix(r, "eu-") },
	"apac":   func(r string) bool { return strings.HasPrefix(r, "ap-") },
	"jp":     func(r string) bool { return r == "ap-northeast-1" || r == "ap-northeast-3" },
	"au":     func(r string) bool { return r == "ap-southeast-2" || r == "ap-southeast-4" },
	"ca":     func(r string) bool { return strings.HasPrefix(r, "ca-") },
	"global": func(string) bool { return true },
}

// errInvalidModel is Bedrock's answer to an identifier it cannot resolve.
func errInvalidModel() error {
	return apierror.New(apierror.Validation, "The provided model identifier is invalid.")
}

// ModelARN is the ARN a call resolved to res is authorized against: the
// model's foundation-model ARN in the region that serves it (an inference
// profile's region, else the catalog's).
func (c *Catalog) ModelARN(res Resolution) string {
	region := res.InferenceRegion
	if region == "" {
		region = c.region
	}
	return res.Model.ARN(region)
}

// Resolve maps a model identifier as a caller sent it (already URL-decoded)
// to a catalog entry. It accepts, in order: an exact ID or alias; a
// foundation-model ARN of the serving region; an inference-profile ARN of the
// serving account and region; a cross-region inference profile ID whose
// geography contains the serving region. Unknown identifiers get Bedrock's
// ValidationException; ARNs of resources modelwatch does not have
// (provisioned, custom, imported models, application inference profiles not
// configured as aliases) get ResourceNotFoundException.
func (c *Catalog) Resolve(id string) (Resolution, error) {
	if len(id) < 1 || len(id) > 2048 {
		return Resolution{}, apierror.ConstraintViolation(truncate(id, 64), "modelId", "Member must have length between 1 and 2048")
	}
	if m, ok := c.byID[id]; ok {
		return Resolution{Model: m}, nil
	}
	if strings.HasPrefix(id, "arn:") {
		return c.resolveARN(id)
	}
	return c.resolveProfile(id)
}

func (c *Catalog) resolveProfile(id string) (Resolution, error) {
	geo, base, ok := strings.Cut(id, ".")
	if !ok {
		return Resolution{}, errInvalidModel()
	}
	inGeo, known := geoPrefixes[geo]
	if !known {
		// "us-gov" contains no dot, but a vendor prefix might; nothing else to try.
		return Resolution{}, errInvalidModel()
	}
	m, ok := c.byID[base]
	if !ok || !inGeo(c.region) {
		return Resolution{}, errInvalidModel()
	}
	return Resolution{Model: m, ProfileID: id, InferenceRegion: c.region}, nil
}

func (c *Catalog) resolveARN(arn string) (Resolution, error) {
	// arn:partition:bedrock:region:account:type/resource
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "bedrock" {
		return Resolution{}, errInvalidModel()
	}
	region, account, resource := parts[3], parts[4], parts[5]
	kind, name, ok := strings.Cut(resource, "/")
	if !ok || name == "" {
		return Resolution{}, errInvalidModel()
	}
	if region != c.region {
		return Resolution{}, errInvalidModel()
	}
	switch kind {
	case "foundation-model":
		if account != "" {
			return Resolution{}, errInvalidModel()
		}
		if m, ok := c.byID[name]; ok {
			return Resolution{Model: m}, nil
		}
		return Resolution{}, errInvalidModel()
	case "inference-profile":
		if account != c.accountID {
			return Resolution{}, apierror.New(apierror.AccessDenied, "You don't have access to the model with the specified model ID.")
		}
		if m, ok := c.byID[name]; ok {
			return Resolution{Model: m, ProfileID: name, InferenceRegion: c.region}, nil
		}
		r, err := c.resolveProfile(name)
		if err != nil {
			return Resolution{}, apierror.New(apierror.ResourceNotFound, "The inference profile %s does not exist.", name)
		}
		return r, nil
	case "application-inference-profile", "provisioned-model", "custom-model", "imported-model", "custom-model-deployment":
		return Resolution{}, apierror.New(apierror.ResourceNotFound, "The %s %s does not exist. Configure it as an alias of a catalog model to serve it.", strings.ReplaceAll(kind, "-", " "), name)
	}
	return Resolution{}, errInvalidModel()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// OnDemand refuses an invocation of a profile-only model that named the
// model itself (its ID or foundation-model ARN) rather than an inference
// profile or a configured alias, in Bedrock's words.
func OnDemand(id string, res Resolution) error {
	m := res.Model
	if m == nil || !m.ProfileOnly || res.ProfileID != "" {
		return nil
	}
	if id != m.ID && !strings.HasSuffix(id, ":foundation-model/"+m.ID) {
		return nil // an alias the operator configured
	}
	return apierror.New(apierror.Validation, "Invocation of model ID %s with on-demand throughput isn’t supported. "+
		"Retry your request with the ID or ARN of an inference profile that contains this model.", m.ID)
}
