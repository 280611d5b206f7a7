package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Actions are named as IAM names them: "service:Operation". The bedrock
// ones are Bedrock's own IAM actions (there is no bedrock:Converse: Converse
// is authorized as bedrock:InvokeModel and ConverseStream as
// bedrock:InvokeModelWithResponseStream, as on AWS). The modelwatch ones
// cover what only modelwatch serves.
const (
	ActionInvokeModel                   = "bedrock:InvokeModel"
	ActionInvokeModelWithResponseStream = "bedrock:InvokeModelWithResponseStream"
	ActionListFoundationModels          = "bedrock:ListFoundationModels"
	ActionGetFoundationModel            = "bedrock:GetFoundationModel"
	ActionCountTokens                   = "bedrock:CountTokens"
	ActionListInferenceProfiles         = "bedrock:ListInferenceProfiles"
	ActionGetInferenceProfile           = "bedrock:GetInferenceProfile"
	ActionPutLoggingConfiguration       = "bedrock:PutModelInvocationLoggingConfiguration"
	ActionGetLoggingConfiguration       = "bedrock:GetModelInvocationLoggingConfiguration"
	ActionDeleteLoggingConfiguration    = "bedrock:DeleteModelInvocationLoggingConfiguration"
	// ActionGetMetrics reads the metrics (/metrics) and their history
	// (/api/v1/...), which name every principal and its cost.
	ActionGetMetrics = "modelwatch:GetMetrics"
	// ActionListInvocations reads the caller's own recent invocation
	// records (/api/invocations).
	ActionListInvocations = "modelwatch:ListInvocations"
	// ActionListAllInvocations reads every principal's recent invocation
	// records, prompts and answers included.
	ActionListAllInvocations = "modelwatch:ListAllInvocations"
)

// Actions lists every action modelwatch authorizes, in a stable order.
var Actions = []string{
	ActionInvokeModel, ActionInvokeModelWithResponseStream, ActionCountTokens,
	ActionListFoundationModels, ActionGetFoundationModel,
	ActionListInferenceProfiles, ActionGetInferenceProfile,
	ActionPutLoggingConfiguration, ActionGetLoggingConfiguration, ActionDeleteLoggingConfiguration,
	ActionGetMetrics, ActionListInvocations, ActionListAllInvocations,
}

// DefaultAllow is what a principal configured without an allow list may
// do: call models, list them and read its own records. Everything that
// controls or observes the whole server (the logging configuration, the
// metrics, other principals' records) needs an explicit grant.
var DefaultAllow = []string{
	ActionInvokeModel, ActionInvokeModelWithResponseStream, ActionCountTokens,
	ActionListFoundationModels, ActionGetFoundationModel,
	ActionListInferenceProfiles, ActionGetInferenceProfile,
	ActionListInvocations,
}

// grants is a principal's allow list, as action patterns ("bedrock:*",
// "bedrock:*LoggingConfiguration"). It is immutable once built.
type grants struct {
	patterns []string // lower-cased
	// known holds the verdict for every action in Actions, decided once,
	// so that authorizing a call is a map lookup with no allocation.
	known map[string]bool
}

// newGrants validates an allow list: every entry is "*" or
// "service:pattern", and matches at least one action modelwatch knows, so
// a misspelt grant is an error rather than a silent deny.
func newGrants(allow []string) (*grants, error) {
	g := &grants{}
	for i, a := range allow {
		p := strings.ToLower(strings.TrimSpace(a))
		svc, _, ok := strings.Cut(p, ":")
		if p != "*" && (!ok || svc == "" || strings.ContainsAny(svc, "*?")) {
			return nil, fmt.Errorf("allow[%d]: %q must be an action such as bedrock:InvokeModel, a pattern such as bedrock:*, or *", i, a)
		}
		if !slices.ContainsFunc(Actions, func(act string) bool { return matchAction(p, strings.ToLower(act)) }) {
			return nil, fmt.Errorf("allow[%d]: %q matches no action modelwatch authorizes (%s)", i, a, strings.Join(Actions, ", "))
		}
		g.patterns = append(g.patterns, p)
	}
	g.known = make(map[string]bool, len(Actions))
	for _, act := range Actions {
		g.known[act] = g.match(strings.ToLower(act))
	}
	return g, nil
}

// allows reports whether some pattern matches action. Action names are
// case-insensitive, as in IAM.
func (g *grants) allows(action string) bool {
	if g == nil {
		return false
	}
	if v, ok := g.known[action]; ok {
		return v
	}
	return g.match(strings.ToLower(action))
}

// match matches a lower-cased action against the patterns.
func (g *grants) match(action string) bool {
	for _, p := range g.patterns {
		if matchAction(p, action) {
			return true
		}
	}
	return false
}

// matchAction matches IAM-style wildcards: * is any run of characters,
// ? any one character.
func matchAction(pattern, s string) bool {
	// Iterative matcher with backtracking to the last *: linear in
	// practice, and never exponential.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Allows reports whether the identity may perform action. The anonymous
// identity (no principals configured, loopback only) may do everything.
func (id Identity) Allows(action string) bool {
	if id.Method == MethodAnonymous {
		return true
	}
	return id.grants.allows(action)
}

// Authorize returns nil when id may perform action on resource, else
// AccessDeniedException in AWS's wording. resource is an ARN, or "" or "*"
// for actions that have no resource (AWS then leaves "on resource" out).
func Authorize(id Identity, action, resource string) error {
	if id.Allows(action) {
		return nil
	}
	on := ""
	if resource != "" && resource != "*" {
		on = " on resource: " + resource
	}
	return apierror.New(apierror.AccessDenied, "User: %s is not authorized to perform: %s%s because no identity-based policy allows the %s action",
		id.ARN, action, on, action)
}
