package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

// PolicyDoc is an identity-based policy as configured: a name and an IAM
// JSON policy document, written in the config file either as a YAML
// mapping (its errors then name the config file's lines) or as a string
// holding the JSON exactly as IAM takes it.
type PolicyDoc struct {
	Name     string    `yaml:"name" json:"name"`
	Document yaml.Node `yaml:"document" json:"-"`
}

// Group is a group of principals: its policies apply to every member, as
// an IAM group's do.
type Group struct {
	Name string `yaml:"name" json:"name"`
	// Policies are the group's inline policies; ManagedPolicies name
	// policies of auth.policies.
	Policies        []PolicyDoc `yaml:"policies" json:"policies,omitempty"`
	ManagedPolicies []string    `yaml:"managedPolicies" json:"managedPolicies,omitempty"`
}

// Policy source types, as IAM's policy simulator names them.
const (
	sourceUser        = "user"
	sourceGroup       = "group"
	sourceUserManaged = "user-managed"
	sourceNone        = "none"
)

// DefaultPolicyID names the policy of a principal configured with neither
// allow nor policies nor groups: DefaultAllow on every resource.
const DefaultPolicyID = "DefaultAccess"

// AllowPolicyID names the policy built from a principal's allow list.
const AllowPolicyID = "allow"

// knownActions are the patterns a policy's Action must match one of: the
// actions modelwatch authorizes. A statement naming only other actions
// is a typo, refused at load.
func knownActions() []string { return Actions }

// parsePolicy parses a configured policy document.
func parsePolicy(src iampolicy.Source, d PolicyDoc) (*iampolicy.Policy, error) {
	n := &d.Document
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	switch n.Kind {
	case yaml.MappingNode:
		return iampolicy.ParseNode(src, n, iampolicy.WithKnownActions(knownActions()...))
	case yaml.ScalarNode:
		if n.Value == "" {
			break
		}
		// A string holds the JSON as IAM takes it: YAML's leniency (a
		// trailing comma, unquoted keys) is not IAM's.
		var v any
		if err := json.Unmarshal([]byte(n.Value), &v); err != nil {
			line, col := 1, 1
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line, col = position(n.Value, int(se.Offset))
			}
			return nil, fmt.Errorf("the JSON document at line %d: policy %q: line %d, column %d: not valid JSON", n.Line, src.ID, line, col)
		}
		p, err := iampolicy.Parse(src, []byte(n.Value), iampolicy.WithKnownActions(knownActions()...))
		if err != nil {
			return nil, fmt.Errorf("the JSON document at line %d: %w", n.Line, err)
		}
		return p, nil
	case 0:
		return nil, fmt.Errorf("policy %q: document is required", d.Name)
	}
	return nil, fmt.Errorf("policy %q: line %d: document must be an IAM policy: a mapping with Version and Statement, or a string holding its JSON", d.Name, n.Line)
}

// allowPolicy turns an allow list (already validated by newGrants) into
// the identity policy it stands for: Allow those actions on every
// resource. A principal with API keys may also call with them
// (bedrock:CallWithBearerToken): the allow list predates that action,
// and taking it away would lock out every key configured with one.
func allowPolicy(id string, allow []string, bearer bool) (*iampolicy.Policy, error) {
	actions := slices.Clone(allow)
	if bearer && len(actions) > 0 {
		actions = append(actions, ActionCallWithBearerToken)
	}
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow", "Action": actions, "Resource": "*",
		}},
	})
	if err != nil {
		return nil, err
	}
	if len(actions) == 0 {
		return nil, nil // allows nothing: no policy at all
	}
	return iampolicy.Parse(iampolicy.Source{ID: id, Type: sourceNone}, doc)
}

// PolicyView is one of a principal's policies as the dashboard and the
// policy simulator show it: its ID (a name, or a managed policy's ARN),
// its source type and its document as JSON.
type PolicyView struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Document json.RawMessage `json:"document"`
}

// documentJSON renders a configured document as JSON: a JSON string as
// written, a YAML mapping converted.
func documentJSON(d PolicyDoc) json.RawMessage {
	n := &d.Document
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode {
		if json.Valid([]byte(n.Value)) {
			return json.RawMessage(n.Value)
		}
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// views lists the policies policySet builds, for PolicyViews.
func views(p Principal, accountID string, groups map[string]*Group, managed map[string]PolicyDoc) []PolicyView {
	var out []PolicyView
	allow := func(id string, actions []string) {
		doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
		out = append(out, PolicyView{ID: id, Type: sourceNone, Document: doc})
	}
	switch {
	case p.Allow != nil:
		allow(AllowPolicyID, p.Allow)
	case len(p.Policies) == 0 && len(p.ManagedPolicies) == 0 && len(p.Groups) == 0:
		allow(DefaultPolicyID, DefaultAllow)
	}
	for _, d := range p.Policies {
		out = append(out, PolicyView{ID: d.Name, Type: sourceUser, Document: documentJSON(d)})
	}
	for _, name := range p.ManagedPolicies {
		out = append(out, PolicyView{ID: ManagedPolicyARN(accountID, name), Type: sourceUserManaged, Document: documentJSON(managed[name])})
	}
	for _, gname := range p.Groups {
		g := groups[gname]
		if g == nil {
			continue
		}
		for _, d := range g.Policies {
			out = append(out, PolicyView{ID: d.Name, Type: sourceGroup, Document: documentJSON(d)})
		}
		for _, name := range g.ManagedPolicies {
			out = append(out, PolicyView{ID: ManagedPolicyARN(accountID, name), Type: sourceUserManaged, Document: documentJSON(managed[name])})
		}
	}
	return out
}

// policySet builds a principal's policies: its allow list (or the default
// when it has nothing else), its inline policies, its managed ones and its
// groups'.
func policySet(p Principal, accountID string, groups map[string]*Group, managed map[string]*iampolicy.Policy) (*iampolicy.Set, []*iampolicy.Policy, error) {
	var ps []*iampolicy.Policy
	add := func(pol *iampolicy.Policy, err error) error {
		if err != nil {
			return err
		}
		if pol != nil {
			ps = append(ps, pol)
		}
		return nil
	}
	bearer := len(p.APIKeys) > 0
	switch {
	case p.Allow != nil:
		if err := add(allowPolicy(AllowPolicyID, p.Allow, bearer)); err != nil {
			return nil, nil, err
		}
	case len(p.Policies) == 0 && len(p.ManagedPolicies) == 0 && len(p.Groups) == 0:
		if err := add(allowPolicy(DefaultPolicyID, DefaultAllow, bearer)); err != nil {
			return nil, nil, err
		}
	}
	for i, d := range p.Policies {
		if d.Name == "" {
			return nil, nil, fmt.Errorf("policies[%d]: name is required", i)
		}
		if err := add(parsePolicy(iampolicy.Source{ID: d.Name, Type: sourceUser}, d)); err != nil {
			return nil, nil, err
		}
	}
	for _, name := range p.ManagedPolicies {
		pol, ok := managed[name]
		if !ok {
			return nil, nil, fmt.Errorf("managedPolicies: no policy %q under auth.policies", name)
		}
		ps = append(ps, pol)
	}
	for _, gname := range p.Groups {
		g, ok := groups[gname]
		if !ok {
			return nil, nil, fmt.Errorf("groups: no group %q under auth.groups", gname)
		}
		for i, d := range g.Policies {
			if d.Name == "" {
				return nil, nil, fmt.Errorf("group %q: policies[%d]: name is required", g.Name, i)
			}
			if err := add(parsePolicy(iampolicy.Source{ID: d.Name, Type: sourceGroup}, d)); err != nil {
				return nil, nil, fmt.Errorf("group %q: %w", g.Name, err)
			}
		}
		for _, name := range g.ManagedPolicies {
			pol, ok := managed[name]
			if !ok {
				return nil, nil, fmt.Errorf("group %q: managedPolicies: no policy %q under auth.policies", g.Name, name)
			}
			ps = append(ps, pol)
		}
	}
	return iampolicy.Compile(ps...), ps, nil
}

// ManagedPolicyARN is the ARN of a policy under auth.policies, as IAM
// names a customer-managed policy.
func ManagedPolicyARN(accountID, name string) string {
	return "arn:aws:iam::" + accountID + ":policy/" + name
}

// parseManaged parses auth.policies.
func parseManaged(docs []PolicyDoc, accountID string) (map[string]*iampolicy.Policy, error) {
	out := make(map[string]*iampolicy.Policy, len(docs))
	for i, d := range docs {
		if d.Name == "" {
			return nil, fmt.Errorf("policies[%d]: name is required", i)
		}
		if _, dup := out[d.Name]; dup {
			return nil, fmt.Errorf("policies[%d]: name %q is already used", i, d.Name)
		}
		p, err := parsePolicy(iampolicy.Source{ID: ManagedPolicyARN(accountID, d.Name), Type: sourceUserManaged}, d)
		if err != nil {
			return nil, err
		}
		out[d.Name] = p
	}
	return out, nil
}

// RequestContext is what a request says about itself that policies'
// conditions may test (aws:SourceIp, aws:CurrentTime, aws:SecureTransport,
// aws:UserAgent, aws:RequestedRegion), with the principal's keys
// (aws:PrincipalArn, aws:PrincipalAccount, aws:username, aws:userid,
// aws:PrincipalTag/*, bedrock:BearerTokenType for API keys). Callers add
// the operation's own keys (bedrock:InferenceProfileArn, aws:RequestTag/*).
func (a *Authenticator) RequestContext(r *http.Request, id Identity, now time.Time) *iampolicy.Context {
	c := iampolicy.NewContext(12 + len(id.Tags))
	if r != nil {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			c.Set("aws:SourceIp", host)
		} else if r.RemoteAddr != "" {
			c.Set("aws:SourceIp", r.RemoteAddr)
		}
		c.Set("aws:SecureTransport", strconv.FormatBool(r.TLS != nil))
		c.Set("aws:UserAgent", r.UserAgent())
	}
	c.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	c.Set("aws:RequestedRegion", a.region)
	c.Set("aws:PrincipalArn", id.ARN)
	c.Set("aws:PrincipalAccount", a.accountID)
	if strings.Contains(id.ARN, ":user/") {
		c.Set("aws:username", id.Name)
		c.Set("aws:userid", id.Name)
	}
	for k, v := range id.Tags {
		c.Set("aws:PrincipalTag/"+k, v)
	}
	if id.Method == MethodBearer {
		c.Set("bedrock:BearerTokenType", "LONG_TERM")
	}
	return c
}

// Decide evaluates the identity's policies for action on resource ("*"
// for actions without one) in ctx. The anonymous identity (no principals
// configured, loopback only) may do everything.
func (id Identity) Decide(action, resource string, ctx *iampolicy.Context) iampolicy.Decision {
	if id.Method == MethodAnonymous {
		return iampolicy.Allowed
	}
	if id.policies == nil {
		return iampolicy.ImplicitDeny
	}
	if resource == "" {
		resource = "*"
	}
	return id.policies.Evaluate(&iampolicy.Request{Action: action, Resource: resource, Context: ctx})
}

// Allows reports whether the identity may perform action on every
// resource ("*"), with no request context: the check for actions that
// have no resource (reading the metrics, every principal's records).
func (id Identity) Allows(action string) bool {
	return id.Decide(action, "*", nil) == iampolicy.Allowed
}

// Policies returns the identity's compiled policies (nil for anonymous).
func (id Identity) Policies() *iampolicy.Set { return id.policies }

// Authorize returns nil when id may perform action on resource in ctx,
// else AccessDeniedException in AWS's wording. resource is an ARN, or ""
// or "*" for actions that have no resource (AWS then leaves "on
// resource" out). ctx may be nil (no condition key is then present).
func Authorize(id Identity, action, resource string, ctx *iampolicy.Context) error {
	d := id.Decide(action, resource, ctx)
	if d == iampolicy.Allowed {
		return nil
	}
	denying := ""
	if d == iampolicy.ExplicitDeny && id.policies != nil {
		if resource == "" {
			resource = "*"
		}
		denying = id.policies.Explain(&iampolicy.Request{Action: action, Resource: resource, Context: ctx}).DenyingPolicy
	}
	return apierror.New(apierror.AccessDenied, "%s", iampolicy.DeniedMessage(id.ARN, action, resource, d, denying))
}

// position is the line and column (from 1) of byte offset off in s.
func position(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	line = 1 + strings.Count(s[:off], "\n")
	col = off - strings.LastIndexByte(s[:off], '\n')
	return line, col
}
