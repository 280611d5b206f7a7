package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/alarm"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/dashboard"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider/providers"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
	"github.com/modelwatch/modelwatch/internal/quota"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// Config is the complete configuration of a modelwatch server.
type Config struct {
	// Listen is the HTTP listen address. Binding beyond loopback requires
	// at least one principal under Auth.
	Listen string `yaml:"listen"`
	// DataDir holds all state of the embedded defaults.
	DataDir string `yaml:"dataDir"`
	// AccountID and Region appear in identities, ARNs and invocation logs.
	AccountID string `yaml:"accountId"`
	Region    string `yaml:"region"`

	Log    Log    `yaml:"log"`
	TLS    TLS    `yaml:"tls"`
	Limits Limits `yaml:"limits"`
	Auth   Auth   `yaml:"auth"`

	// InvocationLogging tunes the delivery of invocation logs. Whether
	// logging is on, and where to, is set through Bedrock's
	// PutModelInvocationLoggingConfiguration API, as on AWS.
	InvocationLogging invocationlog.Settings `yaml:"invocationLogging"`

	// AsyncInvoke configures StartAsyncInvoke's jobs (Nova Reel videos).
	AsyncInvoke AsyncInvoke `yaml:"asyncInvoke"`

	// Metrics configures the metric history behind the dashboard and the
	// Prometheus-compatible query API.
	Metrics Metrics `yaml:"metrics"`

	// Dashboard is the dashboard as code: which models get a view, extra
	// widgets, title and period (see package dashboard).
	Dashboard dashboard.Spec `yaml:"dashboard"`

	// Prices override or extend the price list shipped with the binary
	// (see package cost for the shape).
	Prices cost.Prices `yaml:"prices"`

	// Audit configures the audit trail (CloudTrail's format).
	Audit Audit `yaml:"audit"`

	// Quotas are Bedrock-style service quotas: requests and tokens per
	// minute (and tokens per day) per model, principal or profile.
	Quotas []quota.Rule `yaml:"quotas"`
	// Budgets are AWS Budgets-style spend limits with notifications.
	Budgets []budget.Definition `yaml:"budgets"`
	// Alarms are CloudWatch-style alarms on the metric history.
	Alarms []alarm.Definition `yaml:"alarms"`

	// Cluster configures scale-out: replicas sharing configuration on
	// PostgreSQL and quota and budget counters on Redis (see cluster.go).
	Cluster Cluster `yaml:"cluster"`

	// Providers are the model backends models can be routed to.
	Providers []Provider `yaml:"providers"`
	// Models is the catalog.
	Models []Model `yaml:"models"`

	// lines are the YAML lines of list entries ("quotas[2]" → 14), for
	// messages about an entry's meaning that the decoder cannot place.
	lines map[string]int

	// fromEnv holds the values ${NAME} references expanded to, so that
	// error messages never show them (see redact).
	fromEnv []string

	// govNodes are the governance sections as the files gave them (env
	// references expanded), for SharedGovernance.
	govNodes map[string]*yaml.Node
}

// AsyncInvoke configures asynchronous invocations.
type AsyncInvoke struct {
	// Store selects where job output (the caller's s3Uri) is written:
	// auto, s3 or local, as invocationLogging.store; "" (the default)
	// follows invocationLogging.store, so that one setting points both at
	// the same S3 endpoint. local writes <dataDir>/s3/<bucket>/<key>.
	Store objectstore.Mode `yaml:"store"`
	// MaxInProgress bounds the jobs running at once; StartAsyncInvoke
	// beyond it gets ServiceQuotaExceededException. 0 means 10.
	MaxInProgress int `yaml:"maxInProgress"`
}

// OutputStore is the store mode job output is written with.
func (a AsyncInvoke) OutputStore(logging invocationlog.Settings) objectstore.Mode {
	if a.Store != "" {
		return a.Store
	}
	return logging.Store
}

// Log configures the server's own log (not invocation logging).
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// TLS makes the server speak HTTPS. Both files must be given, or neither.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Limits bound what one request may cost the server.
type Limits struct {
	// MaxRequestBytes caps a request body (Bedrock's InvokeModel limit is
	// 25,000,000 bytes).
	MaxRequestBytes int64 `yaml:"maxRequestBytes"`
	// MaxBodyBytesInFlight bounds the memory held by the bodies of all
	// calls in progress (default 250,000,000: ten bodies of the maximum
	// size). A body is charged as its bytes arrive, until its call is
	// answered; a call whose body would pass the budget is refused with
	// ServiceUnavailableException (503). 0 means no budget.
	MaxBodyBytesInFlight int64 `yaml:"maxBodyBytesInFlight"`
	// ReadHeaderTimeout and ReadTimeout bound slow clients; IdleTimeout
	// closes idle keep-alive connections.
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	ReadTimeout       time.Duration `yaml:"readTimeout"`
	IdleTimeout       time.Duration `yaml:"idleTimeout"`
	// MaxConcurrentStreams bounds the HTTP/2 streams (calls) one client
	// connection may have open at once (default 250, the SETTINGS value
	// the server announces). Well-behaved clients wait for a stream to
	// end; streams opened past it anyway are reset.
	MaxConcurrentStreams int `yaml:"maxConcurrentStreams"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight calls and
	// observers.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// DrainDelay is how long, after SIGTERM, the server keeps its listener
	// open answering /healthz with 503 (and new model calls with 503)
	// before it closes it, so that a load balancer's health checks see the
	// instance leave before connections are refused. In-flight calls are
	// always waited for, up to ShutdownTimeout. Unset, it is 5s beyond
	// loopback and 0 on a loopback address, where no load balancer is in
	// front (so Ctrl-C stops a laptop's server at once); see DrainDelayFor.
	DrainDelay *time.Duration `yaml:"drainDelay"`
}

// defaultDrainDelay is the drain delay beyond loopback: two to five health
// checks of a typical load balancer's interval.
const defaultDrainDelay = 5 * time.Second

// DrainDelayFor returns the drain delay in force for a listen address.
func (l Limits) DrainDelayFor(listen string) time.Duration {
	switch {
	case l.DrainDelay != nil:
		return *l.DrainDelay
	case IsLoopback(listen):
		return 0
	}
	return min(defaultDrainDelay, l.ShutdownTimeout)
}

// Metrics configures the metric history.
type Metrics struct {
	// HistoryInterval is the resolution of the history: the metrics are
	// sampled this often (default 15s, a common Prometheus scrape interval:
	// a new server's charts have a point every 15 seconds).
	HistoryInterval time.Duration `yaml:"historyInterval"`
	// HistoryRetention is how long samples are kept (default 15 days,
	// 360h). The history lives under <dataDir>/history and survives
	// restarts.
	HistoryRetention time.Duration `yaml:"historyRetention"`
	// Listen, when set, serves GET /metrics on a second address of its own
	// for a Prometheus scrape, e.g. 127.0.0.1:9464. On a loopback address
	// it answers without authentication (only this machine can reach it);
	// beyond loopback it requires a principal granted
	// modelwatch:GetMetrics, like /metrics on the main listener.
	Listen string `yaml:"listen"`
	// ReplicaLabel adds replica="<cluster.replica>" to every series on
	// /metrics (not to the embedded history), so that one Prometheus
	// scraping several replicas tells them apart even behind one address.
	ReplicaLabel bool `yaml:"replicaLabel"`
	// PrometheusURL, when set, is an external Prometheus (e.g.
	// http://prometheus:9090) scraping every replica: the dashboard,
	// /api/v1 and the alarms read the whole cluster's metrics from it
	// instead of this replica's embedded history.
	PrometheusURL string `yaml:"prometheusURL"`
}

// Auth lists the principals allowed to call modelwatch.
type Auth struct {
	Principals []auth.Principal `yaml:"principals"`
	// Groups are groups of principals: a member's policies include its
	// groups'.
	Groups []auth.Group `yaml:"groups"`
	// Policies are managed identity policies that principals and groups
	// attach by name (managedPolicies).
	Policies []auth.PolicyDoc `yaml:"policies"`
}

// AuthOptions are the options the authenticator is built with.
func (c *Config) AuthOptions() auth.Options {
	return auth.Options{AccountID: c.AccountID, Region: c.Region, Groups: c.Auth.Groups, Policies: c.Auth.Policies}
}

// Provider is a configured model backend (an upstream). It holds what
// the gateway uses for every type; the type's own settings are the
// entry's other keys, which package providers decodes into the Config of
// the type's package (openai.Config, bedrock.Config, ...).
type Provider struct {
	// Name is how models refer to the provider.
	Name string `yaml:"name"`
	// Type selects the implementation: one of providers.Names()
	// (simulator, openai, anthropic, bedrock).
	Type string `yaml:"type"`
	// Settings are the entry's remaining keys, the type's own settings
	// (baseURL, apiKeyEnv, headers, region, ...), as written. Validate
	// rejects a key the type does not have.
	Settings map[string]any `yaml:",inline"`
	// Retries is how many times a retryable upstream failure (throttle,
	// timeout, 5xx, connection failure) is retried before the model's
	// fallbacks are tried. Default 2 for real upstreams, 0 for the
	// simulator (whose failures are injected on purpose); see RetryCount.
	Retries *int `yaml:"retries"`
	// BackoffMin and BackoffMax bound the exponential backoff with full
	// jitter between retries (default 200ms and 5s).
	BackoffMin time.Duration `yaml:"backoffMin"`
	BackoffMax time.Duration `yaml:"backoffMax"`
}

// RetryCount returns the configured retries or the type's default.
func (p *Provider) RetryCount() int {
	if p.Retries != nil {
		return *p.Retries
	}
	if t, err := providers.Lookup(p.Type); err == nil {
		return t.DefaultRetries
	}
	return 2
}

// Model is a catalog entry plus its provider-specific settings.
type Model struct {
	catalog.Model `yaml:",inline"`
	// Simulator configures the simulated behaviour when the model's
	// provider is a simulator.
	Simulator simulator.ModelSettings `yaml:"simulator"`
}

// Default returns the embedded defaults.
func Default() *Config {
	var c Config
	if err := decodeStrict(defaultsYAML, &c); err != nil {
		panic("config: embedded defaults are invalid: " + err.Error())
	}
	return &c
}

// Load returns the defaults with the YAML file at path applied on top. An
// empty path returns the defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	return LoadOnto(Default(), path)
}

// LoadOnto applies the YAML file at path on top of c and returns c.
func LoadOnto(c *Config, path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.apply(data); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// apply decodes a YAML document on top of c.
func (c *Config) apply(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return errors.New("the top level must be a mapping")
	}
	if err := expandEnv(root, &c.fromEnv); err != nil {
		return err
	}
	c.noteGovernance(root)
	var models, providers *yaml.Node
	rest := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k, v := root.Content[i], root.Content[i+1]; k.Value {
		case "models":
			models = v
		case "providers":
			providers = v
		case "defaultCatalog":
			var keep bool
			if err := v.Decode(&keep); err != nil {
				return fmt.Errorf("defaultCatalog: %w", err)
			}
			if !keep {
				c.Models = nil
			}
		default:
			rest.Content = append(rest.Content, k, v)
		}
	}
	if err := decodeNodeStrict(rest, c); err != nil {
		return c.redact(err)
	}
	c.noteLines(root)
	if providers != nil {
		if err := mergeByKey(providers, "name", &c.Providers, func(p *Provider) string { return p.Name }); err != nil {
			return c.redact(fmt.Errorf("providers: %w", err))
		}
	}
	if models != nil {
		if err := mergeByKey(models, "id", &c.Models, func(m *Model) string { return m.ID }); err != nil {
			return c.redact(fmt.Errorf("models: %w", err))
		}
	}
	return nil
}

// notShown replaces a value that came from the environment in an error.
const notShown = "[value from the environment, not shown]"

// redact removes every value expanded from an environment variable from
// err's message: such values are where secrets live (${OPENAI_API_KEY}),
// and a message quoting a misplaced one must not print it. Values shorter
// than four characters are left alone; they cannot be secrets and would
// blank out unrelated text.
func (c *Config) redact(err error) error {
	if err == nil || len(c.fromEnv) == 0 {
		return err
	}
	msg := err.Error()
	changed := false
	for _, v := range c.fromEnv {
		if len(v) >= 4 && strings.Contains(msg, v) {
			msg, changed = strings.ReplaceAll(msg, v, notShown), true
		}
		// The YAML decoder quotes long values cut to seven characters and
		// "...": a key's first characters are still the key's.
		if cut := v[:min(len(v), 7)] + "..."; len(v) > 10 && strings.Contains(msg, cut) {
			msg, changed = strings.ReplaceAll(msg, cut, notShown), true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}

// mergeByKey decodes each entry of a YAML sequence on top of the existing
// entry with the same key, or appends it, so that overriding one field of a
// built-in entry does not require restating the others.
func mergeByKey[T any](seq *yaml.Node, key string, list *[]T, keyOf func(*T) string) error {
	if seq.Kind != yaml.SequenceNode {
		return errors.New("must be a list")
	}
	for i, item := range seq.Content {
		var probe map[string]any
		if err := item.Decode(&probe); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		k, _ := probe[key].(string)
		if k == "" {
			return fmt.Errorf("entry %d has no %s", i, key)
		}
		idx := -1
		for j := range *list {
			if keyOf(&(*list)[j]) == k {
				idx = j
				break
			}
		}
		var entry T
		if idx >= 0 {
			entry = (*list)[idx]
		}
		if err := decodeNodeStrict(item, &entry); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if idx >= 0 {
			(*list)[idx] = entry
		} else {
			*list = append(*list, entry)
		}
	}
	return nil
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// decodeNodeStrict decodes a node rejecting unknown fields (yaml.Node.Decode
// cannot), so that a misspelt key is an error rather than silently ignored.
func decodeNodeStrict(n *yaml.Node, v any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	if err := decodeStrict(data, v); err != nil {
		return err
	}
	// Decoded again from the nodes themselves: the re-marshalled text has
	// other line numbers, and values kept as nodes (policy documents)
	// must point at the file's.
	return n.Decode(v)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} in string scalars with the environment
// variable's value. It works on parsed scalars, not on the raw text, so a
// value with YAML-significant characters cannot change the document's shape.
func expandEnv(n *yaml.Node, values *[]string) error {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "") && strings.Contains(n.Value, "${") {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := os.LookupEnv(name)
			if !ok {
				missing = append(missing, name)
			}
			*values = append(*values, v)
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("line %d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		n.Style = yaml.DoubleQuotedStyle // keep the expanded value a string
	}
	for _, c := range n.Content {
		if err := expandEnv(c, values); err != nil {
			return err
		}
	}
	return nil
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]{1,2}$`)
)

// Validate checks the configuration and fills derived defaults (model
// families, upstream model names). Every problem is reported, one per line.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen: %q is not host:port", c.Listen)
	}
	if c.DataDir == "" {
		bad("dataDir: must be set")
	}
	if !accountPattern.MatchString(c.AccountID) {
		bad("accountId: %q must be 12 digits", c.AccountID)
	}
	if !regionPattern.MatchString(c.Region) {
		bad("region: %q is not an AWS region name", c.Region)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: %q must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format: %q must be text or json", c.Log.Format)
	}
	if c.TLS.Enabled() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		bad("tls: certFile and keyFile must both be set")
	}
	if c.Limits.MaxRequestBytes <= 0 {
		bad("limits.maxRequestBytes: must be positive")
	}
	switch c.AsyncInvoke.Store {
	case "", objectstore.ModeAuto, objectstore.ModeS3, objectstore.ModeLocal:
	default:
		bad("asyncInvoke.store: %q must be auto, s3 or local", c.AsyncInvoke.Store)
	}
	if c.AsyncInvoke.MaxInProgress < 0 || c.AsyncInvoke.MaxInProgress > 1000 {
		bad("asyncInvoke.maxInProgress: %d must be between 0 (the default, 10) and 1000", c.AsyncInvoke.MaxInProgress)
	}
	if c.Metrics.HistoryInterval < time.Second || c.Metrics.HistoryInterval > time.Hour {
		bad("metrics.historyInterval: %v must be between 1s and 1h", c.Metrics.HistoryInterval)
	}
	if c.Limits.MaxBodyBytesInFlight < 0 || (c.Limits.MaxBodyBytesInFlight > 0 && c.Limits.MaxBodyBytesInFlight < c.Limits.MaxRequestBytes) {
		bad("limits.maxBodyBytesInFlight: must be 0 (no budget) or at least limits.maxRequestBytes (%d), or every large body would be refused", c.Limits.MaxRequestBytes)
	}
	if n := c.Limits.MaxConcurrentStreams; n < 1 || n > 10000 {
		bad("limits.maxConcurrentStreams: %d must be between 1 and 10000 (HTTP/2 streams per connection)", n)
	}
	if d := c.Limits.DrainDelayFor(c.Listen); d < 0 || d > c.Limits.ShutdownTimeout {
		bad("limits.drainDelay: %v must be between 0 and limits.shutdownTimeout (%v)", d, c.Limits.ShutdownTimeout)
	}
	if c.Metrics.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			bad("metrics.listen: %q is not host:port", c.Metrics.Listen)
		} else if c.Metrics.Listen == c.Listen && port != "0" {
			bad("metrics.listen: must differ from listen (/metrics is served there too)")
		}
	}
	if c.Metrics.HistoryRetention < time.Hour {
		bad("metrics.historyRetention: %v must be at least 1h", c.Metrics.HistoryRetention)
	}
	if err := c.Prices.Validate(); err != nil {
		bad("prices: %v", err)
	}
	if err := c.InvocationLogging.Validate(); err != nil {
		bad("%v", err)
	}
	if _, err := auth.New(c.Auth.Principals, c.AuthOptions()); err != nil {
		bad("%v", err) // auth's errors begin "auth: "
	}
	errs = append(errs, c.validateGovernance()...)
	errs = append(errs, c.validateCluster()...)

	typeOf := map[string]string{}
	for i := range c.Providers {
		p := &c.Providers[i]
		switch {
		case p.Name == "":
			bad("providers[%d]: name must be set", i)
		case typeOf[p.Name] != "":
			bad("providers: %q is defined twice", p.Name)
		}
		if t, err := providers.Lookup(p.Type); err != nil {
			bad("providers[%s]: %v", p.Name, err)
		} else if _, err := t.Decode(p.Settings); err != nil {
			bad("providers[%s]: %v", p.Name, err)
		}
		if p.Retries != nil && (*p.Retries < 0 || *p.Retries > 10) {
			bad("providers[%s]: retries must be between 0 and 10", p.Name)
		}
		if p.BackoffMin < 0 || p.BackoffMax < 0 || (p.BackoffMax > 0 && p.BackoffMin > p.BackoffMax) {
			bad("providers[%s]: backoffMin and backoffMax must be positive, min <= max", p.Name)
		}
		if p.BackoffMin == 0 {
			p.BackoffMin = 200 * time.Millisecond
		}
		if p.BackoffMax == 0 {
			p.BackoffMax = max(5*time.Second, p.BackoffMin)
		}
		typeOf[p.Name] = p.Type
	}

	for i := range c.Models {
		m := &c.Models[i]
		where := fmt.Sprintf("models[%s]", m.ID)
		if m.ID == "" {
			bad("models[%d]: id must be set", i)
			continue
		}
		typ, ok := typeOf[m.Provider]
		if m.Family == "" {
			m.Family = invokebody.ForModelID(m.ID)
		}
		if m.Family == "" && typ == providers.OpenAI {
			// A model of an OpenAI-compatible server takes the OpenAI
			// body through InvokeModel too, as Bedrock's gpt-oss does.
			m.Family = invokebody.OpenAI
		}
		if typ == providers.OpenAI {
			// An OpenAI-compatible server is the judge of what its models
			// take: system messages and tools go to it without flags, and
			// a model that cannot use them answers with its own error.
			m.SystemPrompt, m.Tools = true, true
		}
		if _, ok := invokebody.Lookup(m.Family); !ok {
			bad("%s: unknown family %q; set family to one of %s", where, m.Family, strings.Join(invokebody.Names(), ", "))
		}
		if m.UpstreamModel == "" {
			m.UpstreamModel = m.ID
		}
		if m.Name == "" {
			m.Name = m.ID
		}
		if len(m.InputModalities) == 0 {
			m.InputModalities = []string{"TEXT"}
		}
		if len(m.OutputModalities) == 0 {
			m.OutputModalities = []string{"TEXT"}
		}
		if m.Timeout == 0 {
			m.Timeout = 2 * time.Minute
		}
		if !ok {
			bad("%s: provider %q is not defined under providers", where, m.Provider)
		}
		// Embedding, image- and video-generation models have no output
		// tokens.
		generates := slices.Contains(m.OutputModalities, "IMAGE") || slices.Contains(m.OutputModalities, "VIDEO")
		if !m.Embedding() && !(generates && !slices.Contains(m.OutputModalities, "TEXT")) {
			if m.MaxOutputTokens <= 0 {
				bad("%s: maxOutputTokens must be positive", where)
			}
			if m.DefaultMaxTokens <= 0 || m.DefaultMaxTokens > m.MaxOutputTokens {
				m.DefaultMaxTokens = min(m.MaxOutputTokens, catalog.FallbackMaxTokens)
			}
		}
		switch m.Reasoning {
		case "", catalog.ReasoningOnRequest, catalog.ReasoningAlways:
		default:
			bad("%s: reasoning must be \"\", %q or %q, got %q", where, catalog.ReasoningOnRequest, catalog.ReasoningAlways, m.Reasoning)
		}
		if typ == providers.Simulator {
			if err := m.Simulator.Validate(); err != nil {
				bad("%s.simulator: %v", where, err)
			}
			// The simulator reasons as the catalog says the model does, and
			// tells a budget the caller set from the default one.
			m.Simulator.Reasoning = m.Reasoning
			m.Simulator.DefaultMaxTokens = m.OutputBudget()
		}
	}
	if _, err := catalog.New(c.Region, c.AccountID, c.CatalogModels()); err != nil {
		bad("%v", err)
	} else if _, err := dashboard.Build(c.Dashboard, dashboard.Models(c.CatalogModels(), nil)); err != nil {
		bad("%v", err)
	}
	return c.redact(errors.Join(errs...))
}

// CatalogModels returns the catalog entries of the configured models.
func (c *Config) CatalogModels() []*catalog.Model {
	out := make([]*catalog.Model, len(c.Models))
	for i := range c.Models {
		out[i] = &c.Models[i].Model
	}
	return out
}

// Loopback reports whether the listen address only accepts connections from
// this machine.
func (c *Config) Loopback() bool { return IsLoopback(c.Listen) }

// IsLoopback reports whether a host:port listen address only accepts
// connections from this machine.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
