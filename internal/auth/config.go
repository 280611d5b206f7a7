package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

// redacted replaces secret values in every textual rendering.
const redacted = "[REDACTED]"

// Secret is a credential value (an access key's secret, an API key). Every
// rendering of it — fmt verbs including %#v, JSON, YAML, slog — prints
// [REDACTED], so a Principal can be logged or dumped whole without leaking.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string { return s.redact() }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return strconv.Quote(s.redact()) }

// Format implements fmt.Formatter, so no verb (%x, %q, ...) reaches the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.redact())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redact()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.redact()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.redact(), nil }

func (s Secret) redact() string {
	if s == "" {
		return ""
	}
	return redacted
}

// AccessKey is an AWS-style access key pair.
type AccessKey struct {
	ID     string `yaml:"id" json:"id"`
	Secret Secret `yaml:"secret" json:"secret"`
}

// Principal is a configured caller.
type Principal struct {
	Name string `yaml:"name" json:"name"`
	// ARN is optional; it defaults to "arn:aws:iam::<AccountID>:user/<Name>".
	ARN        string      `yaml:"arn" json:"arn,omitempty"`
	AccessKeys []AccessKey `yaml:"accessKeys" json:"accessKeys,omitempty"`
	// APIKeys holds bearer keys: either the key itself, or
	// "sha256:<64 hex digits>", the hex SHA-256 of the key, so that configs
	// need not hold the key.
	APIKeys []Secret `yaml:"apiKeys" json:"apiKeys,omitempty"`
	// Allow lists the actions the principal may perform, by IAM action
	// name with * and ? wildcards ("bedrock:InvokeModel", "bedrock:*",
	// "modelwatch:GetMetrics", "*"). Absent, it is DefaultAllow: call and
	// list models and read its own records. An empty list allows nothing.
	Allow []string `yaml:"allow" json:"allow,omitempty"`
	// Tags are the principal's tags (aws:PrincipalTag/<key> in policy
	// conditions; budgets may filter on them).
	Tags map[string]string `yaml:"tags" json:"tags,omitempty"`
	// Groups name groups under auth.groups whose policies apply too.
	Groups []string `yaml:"groups" json:"groups,omitempty"`
	// Policies are the principal's inline identity policies, as IAM JSON
	// documents; ManagedPolicies name policies under auth.policies. A
	// principal with policies or groups and no allow list may do exactly
	// what they allow.
	Policies        []PolicyDoc `yaml:"policies" json:"policies,omitempty"`
	ManagedPolicies []string    `yaml:"managedPolicies" json:"managedPolicies,omitempty"`
}

// Options configures an Authenticator.
type Options struct {
	// AccountID is the 12-digit account used in default ARNs;
	// "000000000000" if empty.
	AccountID string
	// Region is the serving region, e.g. "us-east-1"; the SigV4 credential
	// scope must name it. Required when principals are configured.
	Region string
	// Service is the SigV4 signing name; "bedrock" if empty.
	Service string
	// MaxSkew is the allowed clock skew; 5 minutes if zero.
	MaxSkew time.Duration
	// Now returns the current time; time.Now if nil.
	Now func() time.Time
	// Groups are the groups principals may belong to; Policies the
	// managed policies principals and groups may attach by name.
	Groups   []Group
	Policies []PolicyDoc
}

// Identity is the authenticated caller.
type Identity struct {
	// Name is the principal name ("anonymous" in anonymous mode).
	Name string
	// ARN is the principal's ARN.
	ARN string
	// Method is "sigv4", "bearer" or "anonymous".
	Method string
	// AccessKeyID is the access key that signed the request (sigv4 only).
	AccessKeyID string

	// Tags are the principal's tags.
	Tags map[string]string

	// policies are the principal's identity policies, its groups'
	// included (see Decide).
	policies *iampolicy.Set
}

// Authentication methods reported in Identity.Method.
const (
	MethodSigV4     = "sigv4"
	MethodBearer    = "bearer"
	MethodAnonymous = "anonymous"
)

// Authenticator authenticates requests against the configured principals.
// It is safe for concurrent use.
type Authenticator struct {
	accountID string
	region    string
	service   string
	maxSkew   time.Duration
	now       func() time.Time

	anonymous bool
	keys      map[string]*accessKey // by access key ID
	apiKeys   map[[32]byte]*Pending // by SHA-256 of the key; shared, immutable
	anon      *Pending              // shared, immutable
	anonID    Identity

	// principals are the configured principals' identities (no method,
	// no key), for the policy simulator; policies their parsed policies.
	principals []Identity
	policies   map[string][]*iampolicy.Policy
	views      map[string][]PolicyView
}

// accessKey is a configured key pair with the identity it authenticates.
type accessKey struct {
	secret string
	id     Identity
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	arnPattern       = regexp.MustCompile(`^arn:aws(-[a-z]+)*:(iam|sts)::[0-9]{12}:[^\s]+$`)
	accessKeyPattern = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	regionPattern    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

const (
	sha256Prefix     = "sha256:"
	minAPIKeyLength  = 20
	defaultAccountID = "000000000000"
	defaultService   = "bedrock"
	defaultMaxSkew   = 5 * time.Minute
)

// New validates the configuration and builds an Authenticator. With no
// principals it runs in anonymous mode.
//
// Errors are plain Go errors meant for the config loader; they name
// principals and key indexes, never secret or API key values.
func New(principals []Principal, opts Options) (*Authenticator, error) {
	a := &Authenticator{
		accountID: opts.AccountID,
		region:    opts.Region,
		service:   opts.Service,
		maxSkew:   opts.MaxSkew,
		now:       opts.Now,
		anonymous: len(principals) == 0,
		keys:      make(map[string]*accessKey),
		apiKeys:   make(map[[32]byte]*Pending),
	}
	if a.accountID == "" {
		a.accountID = defaultAccountID
	}
	if a.service == "" {
		a.service = defaultService
	}
	if a.maxSkew == 0 {
		a.maxSkew = defaultMaxSkew
	}
	if a.now == nil {
		a.now = time.Now
	}

	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf("auth: "+format, args...)) }

	if !accountIDPattern.MatchString(a.accountID) {
		fail("account ID must be 12 digits")
	}
	if a.maxSkew < 0 {
		fail("max clock skew must not be negative")
	}
	if a.region == "" && len(principals) > 0 {
		fail("region is required when principals are configured")
	} else if a.region != "" && !regionPattern.MatchString(a.region) {
		fail("region %q is not a valid region name", a.region)
	}
	if strings.ContainsAny(a.service, "/ ") {
		fail("service %q is not a valid signing name", a.service)
	}

	a.anonID = Identity{Name: "anonymous", ARN: "arn:aws:iam::" + a.accountID + ":user/anonymous", Method: MethodAnonymous}
	a.anon = &Pending{id: a.anonID}

	type keyRef struct {
		principal string
		index     int
	}
	managed, err := parseManaged(opts.Policies, a.accountID)
	if err != nil {
		fail("%v", err)
	}
	groups := make(map[string]*Group, len(opts.Groups))
	for gi := range opts.Groups {
		g := &opts.Groups[gi]
		if g.Name == "" {
			fail("groups[%d]: name is required", gi)
			continue
		}
		if _, dup := groups[g.Name]; dup {
			fail("groups[%d]: name %q is already used", gi, g.Name)
			continue
		}
		groups[g.Name] = g
	}
	a.policies = make(map[string][]*iampolicy.Policy, len(principals))
	a.views = make(map[string][]PolicyView, len(principals))
	managedDocs := make(map[string]PolicyDoc, len(opts.Policies))
	for _, d := range opts.Policies {
		managedDocs[d.Name] = d
	}
	names := make(map[string]int)
	keyOwners := make(map[string]keyRef)
	apiKeyOwners := make(map[[32]byte]keyRef)

	for pi, p := range principals {
		if p.Name == "" {
			fail("principals[%d]: name is required", pi)
			continue
		}
		if !validName(p.Name) {
			fail("principals[%d]: name %q must not contain spaces or control characters", pi, p.Name)
			continue
		}
		if prev, dup := names[p.Name]; dup {
			fail("principals[%d]: name %q is already used by principals[%d]", pi, p.Name, prev)
			continue
		}
		names[p.Name] = pi

		arn := p.ARN
		if arn == "" {
			arn = "arn:aws:iam::" + a.accountID + ":user/" + p.Name
		} else if !arnPattern.MatchString(arn) {
			fail("principal %q: arn %q is not an IAM or STS ARN (arn:aws:iam::<12 digits>:...)", p.Name, arn)
		}
		if len(p.AccessKeys) == 0 && len(p.APIKeys) == 0 {
			fail("principal %q: has neither accessKeys nor apiKeys", p.Name)
		}
		if err := validateAllow(p.Allow); err != nil {
			fail("principal %q: %v", p.Name, err)
		}
		g, docs, err := policySet(p, a.accountID, groups, managed)
		if err != nil {
			fail("principal %q: %v", p.Name, err)
		}
		a.policies[p.Name] = docs
		a.views[p.Name] = views(p, a.accountID, groups, managedDocs)
		a.principals = append(a.principals, Identity{Name: p.Name, ARN: arn, Tags: p.Tags, policies: g})

		for ki, k := range p.AccessKeys {
			// The ID is checked before it is ever echoed: a secret pasted
			// into the ID field fails the pattern and is not printed.
			if !accessKeyPattern.MatchString(k.ID) {
				fail("principal %q: accessKeys[%d]: id must be 16-128 characters of A-Z and 0-9", p.Name, ki)
				continue
			}
			if k.Secret == "" {
				fail("principal %q: accessKeys[%d]: secret is required", p.Name, ki)
				continue
			}
			if prev, dup := keyOwners[k.ID]; dup {
				fail("principal %q: accessKeys[%d]: id %s is already used by principal %q accessKeys[%d]", p.Name, ki, k.ID, prev.principal, prev.index)
				continue
			}
			keyOwners[k.ID] = keyRef{p.Name, ki}
			a.keys[k.ID] = &accessKey{
				secret: string(k.Secret),
				id:     Identity{Name: p.Name, ARN: arn, Method: MethodSigV4, AccessKeyID: k.ID, Tags: p.Tags, policies: g},
			}
		}

		bearerPending := &Pending{id: Identity{Name: p.Name, ARN: arn, Method: MethodBearer, Tags: p.Tags, policies: g}}
		for ki, key := range p.APIKeys {
			digest, err := apiKeyDigest(string(key))
			if err != nil {
				fail("principal %q: apiKeys[%d]: %v", p.Name, ki, err)
				continue
			}
			if prev, dup := apiKeyOwners[digest]; dup {
				fail("principal %q: apiKeys[%d] is the same key as principal %q apiKeys[%d]", p.Name, ki, prev.principal, prev.index)
				continue
			}
			apiKeyOwners[digest] = keyRef{p.Name, ki}
			a.apiKeys[digest] = bearerPending
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// apiKeyDigest returns the SHA-256 of a configured API key, which is either
// the key itself or its "sha256:<hex>" digest. Errors never quote the key.
func apiKeyDigest(key string) ([32]byte, error) {
	var d [32]byte
	if hexDigest, ok := strings.CutPrefix(key, sha256Prefix); ok {
		if len(hexDigest) != 64 {
			return d, errors.New(`"sha256:" form must be followed by 64 hex digits`)
		}
		if _, err := hex.Decode(d[:], []byte(hexDigest)); err != nil {
			return d, errors.New(`"sha256:" form must be followed by 64 hex digits`)
		}
		return d, nil
	}
	if len(key) < minAPIKeyLength {
		return d, fmt.Errorf("key must be at least %d characters (or \"sha256:<64 hex digits>\")", minAPIKeyLength)
	}
	if strings.IndexFunc(key, unicode.IsSpace) >= 0 {
		return d, errors.New("key must not contain whitespace")
	}
	return sha256.Sum256([]byte(key)), nil
}

// validName rejects names that would make ARNs and log lines ambiguous.
func validName(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// Anonymous reports whether no principals are configured, in which case every
// request is accepted as AnonymousIdentity.
func (a *Authenticator) Anonymous() bool { return a.anonymous }

// AnonymousIdentity is the identity given to every request in anonymous mode.
func (a *Authenticator) AnonymousIdentity() Identity { return a.anonID }

// Principal returns the configured principal named name as an identity
// (no authentication method), for the policy simulator and the
// dashboard's policy view.
func (a *Authenticator) Principal(name string) (Identity, bool) {
	for _, id := range a.principals {
		if id.Name == name {
			return id, true
		}
	}
	return Identity{}, false
}

// Principals returns every configured principal as an identity.
func (a *Authenticator) Principals() []Identity { return a.principals }

// PrincipalPolicies returns the parsed policies that apply to the
// principal named name: its own, its managed ones and its groups'.
func (a *Authenticator) PrincipalPolicies(name string) []*iampolicy.Policy { return a.policies[name] }

// PolicyViews returns the policies of the principal named name as JSON
// documents, for the dashboard's policy view.
func (a *Authenticator) PolicyViews(name string) []PolicyView { return a.views[name] }

// AccountID returns the account in the server's ARNs.
func (a *Authenticator) AccountID() string { return a.accountID }

// Region returns the serving region.
func (a *Authenticator) Region() string { return a.region }

// ForService returns an authenticator of the same principals for requests
// signed for another service's SigV4 signing name (the audit trail's
// LookupEvents is signed for "cloudtrail"). It shares the keys and
// policies; only the credential scope's service differs.
func (a *Authenticator) ForService(service string) *Authenticator {
	b := *a
	b.service = service
	return &b
}
