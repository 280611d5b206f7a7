package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/auth"
)

// Cluster configures scale-out: several replicas of `serve` behind one
// load balancer. Everything is optional; with nothing set a server is a
// single node on its own data directory, as before.
type Cluster struct {
	// Replica names this replica: the replica label on /metrics, the
	// owner of its spool in the replica registry, the leader's name. It
	// must be unique in the cluster and stable across restarts (a
	// StatefulSet pod name). Default: the host name.
	Replica string `yaml:"replica"`
	// Postgres is the PostgreSQL connection URL (postgres://...) of the
	// shared configuration: the invocation-logging configuration,
	// principals, policies, quotas, budgets and alarm definitions, alarm
	// state, leader election and the replica registry. A secret: it may
	// hold a password (use ${ENV}).
	Postgres auth.Secret `yaml:"postgres"`
	// Redis is the Redis URL (redis://host:6379/0) of the shared quota
	// and budget counters. A secret, like Postgres.
	Redis auth.Secret `yaml:"redis"`
	// RedisUnavailable is what admission does while Redis cannot be
	// reached: "local" (the default) fails open to this replica's own
	// counters at the configured limits (so N replicas may admit up to N
	// times a limit meanwhile); "closed" refuses calls governed by a
	// quota or a budget with ServiceUnavailableException.
	RedisUnavailable string `yaml:"redisUnavailable"`
	// SecretsKey seals the secret access keys of SigV4 principals in the
	// shared configuration (AES-256-GCM under the SHA-256 of this value):
	// unlike API keys, which are stored as SHA-256 hashes, a SigV4 secret
	// must be known to verify a signature. Every replica needs the same
	// value; without it a configuration with access keys cannot be
	// shared. A secret (use ${ENV}).
	SecretsKey auth.Secret `yaml:"secretsKey"`
}

// Shared reports whether the configuration is shared on PostgreSQL.
func (c *Cluster) Shared() bool { return c.Postgres != "" }

var replicaPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ReplicaName returns cluster.replica, or the host name (lower-cased,
// reduced to a DNS label) when unset.
func (c *Config) ReplicaName() string {
	if c.Cluster.Replica != "" {
		return c.Cluster.Replica
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "modelwatch"
	}
	h = strings.ToLower(strings.SplitN(h, ".", 2)[0])
	h = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(h, "-")
	h = strings.Trim(h, "-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], "-")
	}
	if h == "" {
		return "modelwatch"
	}
	return h
}

func (c *Config) validateCluster() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	cl := &c.Cluster
	if cl.Replica != "" && !replicaPattern.MatchString(cl.Replica) {
		bad("cluster.replica: %q must be a DNS label: lower-case letters, digits and '-', at most 63 characters", cl.Replica)
	}
	if cl.Postgres != "" {
		if u, err := url.Parse(string(cl.Postgres)); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("cluster.postgres: must be a URL postgres://user@host:port/database (the value is not shown: it may hold a password)")
		}
	}
	if cl.Redis != "" {
		if u, err := url.Parse(string(cl.Redis)); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("cluster.redis: must be a URL redis://host:port/db or rediss://... (the value is not shown: it may hold a password)")
		}
	}
	switch cl.RedisUnavailable {
	case "", "local", "closed":
	default:
		bad("cluster.redisUnavailable: %q must be local (fail open to this replica's own counters) or closed (refuse governed calls)", cl.RedisUnavailable)
	}
	if cl.RedisUnavailable != "" && cl.Redis == "" {
		bad("cluster.redisUnavailable: set only with cluster.redis")
	}
	if cl.SecretsKey != "" && len(cl.SecretsKey) < 16 {
		bad("cluster.secretsKey: must be at least 16 characters (a long random value, the same on every replica)")
	}
	if p := c.Metrics.PrometheusURL; p != "" {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("metrics.prometheusURL: %q must be an http:// or https:// URL of a Prometheus server", p)
		}
	}
	return errs
}

// governanceKeys are the top-level sections the shared configuration
// holds: who may call, what they may do and what they may spend. The rest
// of a file (listen address, data directory, providers, models, logging
// settings) stays each replica's own.
var governanceKeys = []string{"auth", "quotas", "budgets", "alarms"}

// sealedPrefix marks a sealed secret access key in the shared
// configuration.
const sealedPrefix = "sealed:v1:"

// SharedGovernance returns the governance sections (auth, quotas,
// budgets, alarms) of the YAML files c was loaded from, as the YAML
// document the shared configuration stores: ${ENV} references expanded,
// API keys replaced by their SHA-256 ("sha256:<hex>") and secret access
// keys sealed with cluster.secretsKey (refused when a principal has access
// keys and no secretsKey is set).
func (c *Config) SharedGovernance() ([]byte, error) {
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range governanceKeys {
		if v := c.govNodes[k]; v != nil {
			out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, deepCopy(v))
		}
	}
	if err := protectSecrets(out, c.Cluster.SecretsKey); err != nil {
		return nil, err
	}
	return yaml.Marshal(out)
}

// HasGovernance reports whether the files c was loaded from set any of the
// shared sections (auth, quotas, budgets, alarms). A replica's file
// without them holds only its own settings: publishing it would empty the
// cluster's principals, so SIGHUP and cluster push do not.
func (c *Config) HasGovernance() bool { return len(c.govNodes) > 0 }

// noteGovernance keeps the governance sections of a decoded document (env
// references expanded) for SharedGovernance.
func (c *Config) noteGovernance(root *yaml.Node) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		for _, k := range governanceKeys {
			if root.Content[i].Value == k {
				if c.govNodes == nil {
					c.govNodes = map[string]*yaml.Node{}
				}
				c.govNodes[k] = deepCopy(root.Content[i+1])
			}
		}
	}
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch)
	}
	c.Alias = deepCopy(n.Alias)
	return &c
}

// protectSecrets hashes API keys and seals secret access keys in the
// governance mapping m, in place.
func protectSecrets(m *yaml.Node, secretsKey auth.Secret) error {
	principals := child(child(m, "auth"), "principals")
	if principals == nil {
		return nil
	}
	for _, p := range principals.Content {
		if keys := child(p, "apiKeys"); keys != nil {
			for _, k := range keys.Content {
				if k.Kind == yaml.ScalarNode && !strings.HasPrefix(k.Value, "sha256:") {
					sum := sha256.Sum256([]byte(k.Value))
					k.Value, k.Style = "sha256:"+hex.EncodeToString(sum[:]), 0
				}
			}
		}
		if keys := child(p, "accessKeys"); keys != nil {
			for _, k := range keys.Content {
				s := child(k, "secret")
				if s == nil || strings.HasPrefix(s.Value, sealedPrefix) {
					continue
				}
				if secretsKey == "" {
					name := "?"
					if n := child(p, "name"); n != nil {
						name = n.Value
					}
					return fmt.Errorf("auth.principals[%s]: a SigV4 secret access key cannot be stored as a hash; set cluster.secretsKey (the same long random value on every replica) to share it sealed, or give the principal an API key instead", name)
				}
				sealed, err := seal(secretsKey, s.Value)
				if err != nil {
					return err
				}
				s.Value, s.Style = sealed, 0
			}
		}
	}
	return nil
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func aead(secretsKey auth.Secret) (cipher.AEAD, error) {
	k := sha256.Sum256([]byte(secretsKey))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(secretsKey auth.Secret, plain string) (string, error) {
	g, err := aead(secretsKey)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(plain), []byte("modelwatch access key"))), nil
}

func unseal(secretsKey auth.Secret, sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if err != nil {
		return "", errors.New("not a sealed value")
	}
	g, err := aead(secretsKey)
	if err != nil {
		return "", err
	}
	if len(b) < g.NonceSize() {
		return "", errors.New("not a sealed value")
	}
	plain, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte("modelwatch access key"))
	if err != nil {
		return "", errors.New("cluster.secretsKey does not open it (is the key the same on every replica?)")
	}
	return string(plain), nil
}

// WithSharedGovernance returns a copy of c whose governance sections
// (auth, quotas, budgets, alarms) are those of doc, a document
// SharedGovernance made, with sealed access keys opened with
// c.Cluster.SecretsKey. The copy is validated whole, so a shared
// document this replica cannot apply is an error and c stays in force.
func (c *Config) WithSharedGovernance(doc []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("shared configuration: %w", err)
	}
	if len(root.Content) > 0 {
		m := root.Content[0]
		if m.Kind != yaml.MappingNode {
			return nil, errors.New("shared configuration: the top level must be a mapping")
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; !slices.Contains(governanceKeys, k) {
				return nil, fmt.Errorf("shared configuration: line %d: %q is not shared (only %s are): each replica's own file sets it", m.Content[i].Line, k, strings.Join(governanceKeys, ", "))
			}
		}
	}
	n := *c
	// Validate fills derived defaults in place: the copy's own slices, so
	// that c, which other goroutines may read, is never written.
	n.Models, n.Providers = slices.Clone(c.Models), slices.Clone(c.Providers)
	n.Auth, n.Quotas, n.Budgets, n.Alarms = Auth{}, nil, nil, nil
	n.lines, n.govNodes = nil, nil
	n.fromEnv = append([]string(nil), c.fromEnv...)
	if err := n.apply(doc); err != nil {
		return nil, fmt.Errorf("shared configuration: %w", err)
	}
	for i := range n.Auth.Principals {
		p := &n.Auth.Principals[i]
		keys := append([]auth.AccessKey(nil), p.AccessKeys...)
		for j := range keys {
			if s := string(keys[j].Secret); strings.HasPrefix(s, sealedPrefix) {
				if c.Cluster.SecretsKey == "" {
					return nil, fmt.Errorf("shared configuration: principal %q has a sealed access key and cluster.secretsKey is not set on this replica", p.Name)
				}
				plain, err := unseal(c.Cluster.SecretsKey, s)
				if err != nil {
					return nil, fmt.Errorf("shared configuration: principal %q access key %d: %v", p.Name, j, err)
				}
				keys[j].Secret = auth.Secret(plain)
			}
		}
		p.AccessKeys = keys
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("shared configuration: %w", err)
	}
	return &n, nil
}
