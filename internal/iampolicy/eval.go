package iampolicy

import (
	"sort"
	"strings"
)

type statement struct {
	policy      *Policy
	sid         string
	deny        bool
	notAction   bool
	anyAction   bool
	actions     []glob // lower-cased
	notResource bool
	anyResource bool
	resources   []pattern
	conds       []condition
	start, end  Position
}

// Decision is the outcome of evaluating a request.
type Decision uint8

// Decisions, named as IAM's policy simulator names them.
const (
	ImplicitDeny Decision = iota // no statement allows the request (the zero value)
	ExplicitDeny                 // a Deny statement applies; nothing can override it
	Allowed                      // an Allow statement applies and no Deny does
)

// String returns IAM simulator's word: "implicitDeny", "explicitDeny" or "allowed".
func (d Decision) String() string {
	switch d {
	case ExplicitDeny:
		return "explicitDeny"
	case Allowed:
		return "allowed"
	}
	return "implicitDeny"
}

// Request is one authorization question: may the principal perform Action
// ("bedrock:InvokeModel") on Resource (an ARN, or "*"/"" for actions without
// resource-level permissions) given Context?
type Request struct {
	Action   string
	Resource string
	Context  *Context
}

// Set is the compiled, immutable union of all policies of one principal
// (its own and its groups'). It is safe for concurrent use.
type Set struct {
	policies []*Policy
	all      []*statement // in policy order, for Explain
	denies   []*statement
	allows   []*statement
}

// Compile pools policies into a Set; nil policies are skipped.
func Compile(policies ...*Policy) *Set {
	s := &Set{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		s.policies = append(s.policies, p)
		for _, st := range p.stmts {
			s.all = append(s.all, st)
			if st.deny {
				s.denies = append(s.denies, st)
			} else {
				s.allows = append(s.allows, st)
			}
		}
	}
	return s
}

// Policies returns the pooled policies.
func (s *Set) Policies() []*Policy { return append([]*Policy(nil), s.policies...) }

// Evaluate decides r: an applicable Deny wins, else an applicable Allow,
// else implicit deny. It does not allocate.
func (s *Set) Evaluate(r *Request) Decision {
	if s == nil || r == nil {
		return ImplicitDeny
	}
	bp := scratchPool.Get().(*[]int16)
	defer scratchPool.Put(bp)
	rr := newReqRes(r)
	for _, st := range s.denies {
		if st.targets(r.Action, &rr, r.Context, bp) && st.condsHold(r.Context, bp) {
			return ExplicitDeny
		}
	}
	for _, st := range s.allows {
		if st.targets(r.Action, &rr, r.Context, bp) && st.condsHold(r.Context, bp) {
			return Allowed
		}
	}
	return ImplicitDeny
}

// reqRes is the request's resource with its ARN segments located once.
type reqRes struct {
	s   string
	off [6]int
	n   int
}

func newReqRes(r *Request) reqRes {
	rr := reqRes{s: r.Resource}
	if rr.s == "" {
		rr.s = "*"
	}
	rr.off, rr.n = arnOffsets(rr.s)
	return rr
}

// targets reports whether the statement's action and resource elements cover
// the request (conditions aside).
func (st *statement) targets(action string, resource *reqRes, ctx *Context, bp *[]int16) bool {
	return st.matchAction(action) && st.matchResource(resource, ctx, bp)
}

func (st *statement) matchAction(action string) bool {
	hit := st.anyAction
	for i := 0; !hit && i < len(st.actions); i++ {
		hit = st.actions[i].match(action, true)
	}
	return hit != st.notAction
}

func (st *statement) matchResource(rr *reqRes, ctx *Context, bp *[]int16) bool {
	if st.anyResource {
		return !st.notResource
	}
	hit := false
	for i := range st.resources {
		pt := &st.resources[i]
		if pt.arn != nil {
			if pt.arn.match(rr.s, &rr.off, rr.n, true) {
				hit = true
				break
			}
			continue
		}
		toks, ok := pt.resolve(ctx, bp)
		if !ok {
			// An absent variable in Resource: the statement does not take effect.
			return false
		}
		if matchARN(toks, rr.s, true) {
			hit = true
			break
		}
	}
	return hit != st.notResource
}

func (st *statement) condsHold(ctx *Context, bp *[]int16) bool {
	for i := range st.conds {
		if !st.conds[i].eval(ctx, bp) {
			return false
		}
	}
	return true
}

// MatchedStatement identifies a statement that applied to a request; the JSON
// field names are IAM simulator's.
type MatchedStatement struct {
	SourcePolicyID   string   `json:"SourcePolicyId"`
	SourcePolicyType string   `json:"SourcePolicyType"`
	Sid              string   `json:"-"` // not part of IAM's answer
	StartPosition    Position `json:"StartPosition"`
	EndPosition      Position `json:"EndPosition"`
}

// Result is Explain's detailed answer.
type Result struct {
	Decision Decision
	// MatchedStatements are the applicable Deny statements when denied
	// explicitly, else the applicable Allow statements.
	MatchedStatements []MatchedStatement
	// MissingContextValues are condition keys (and variable keys) referenced
	// by statements whose action and resource matched but absent from the
	// context, sorted and de-duplicated.
	MissingContextValues []string
	// DenyingPolicy is the source ID of the first applicable Deny statement.
	DenyingPolicy string
}

// Explain decides r like Evaluate and tells why. It allocates; use it for
// error reporting and the simulator, not on every request.
func (s *Set) Explain(r *Request) Result {
	res := Result{MatchedStatements: []MatchedStatement{}, MissingContextValues: []string{}}
	if s == nil || r == nil {
		return res
	}
	bp := scratchPool.Get().(*[]int16)
	defer scratchPool.Put(bp)
	resource := newReqRes(r)
	var denies, allows []MatchedStatement
	missing := map[string]string{}
	for _, st := range s.all {
		if !st.targets(r.Action, &resource, r.Context, bp) {
			st.noteResourceVars(r.Context, missing, r.Action)
			continue
		}
		for i := range st.conds {
			c := &st.conds[i]
			if r.Context.lookup(c.key) == nil {
				missing[c.key] = c.keyName
			}
			for k := range c.pats {
				notePieces(c.pats[k].pieces, r.Context, missing)
			}
		}
		if !st.condsHold(r.Context, bp) {
			continue
		}
		m := MatchedStatement{SourcePolicyID: st.policy.src.ID, SourcePolicyType: st.policy.src.Type,
			Sid: st.sid, StartPosition: st.start, EndPosition: st.end}
		if st.deny {
			denies = append(denies, m)
			if res.DenyingPolicy == "" {
				res.DenyingPolicy = st.policy.src.ID
			}
		} else {
			allows = append(allows, m)
		}
	}
	switch {
	case len(denies) > 0:
		res.Decision, res.MatchedStatements = ExplicitDeny, denies
	case len(allows) > 0:
		res.Decision, res.MatchedStatements = Allowed, allows
	}
	for _, name := range missing {
		res.MissingContextValues = append(res.MissingContextValues, name)
	}
	sort.Strings(res.MissingContextValues)
	return res
}

// noteResourceVars records variables of a Resource pattern that kept the
// statement from taking effect, when the action matched.
func (st *statement) noteResourceVars(ctx *Context, missing map[string]string, action string) {
	if !st.matchAction(action) {
		return
	}
	for i := range st.resources {
		notePieces(st.resources[i].pieces, ctx, missing)
	}
}

func notePieces(pieces []piece, ctx *Context, missing map[string]string) {
	for _, pc := range pieces {
		if pc.key != "" && !pc.hasDef {
			if _, ok := ctx.single(pc.key); !ok {
				missing[pc.key] = pc.key
			}
		}
	}
}

// DeniedMessage renders AWS's AccessDeniedException message for a denied
// request, e.g. "User: arn:aws:iam::123456789012:user/x is not authorized to
// perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m
// because no identity-based policy allows the bedrock:InvokeModel action".
// An explicit deny reads "… with an explicit deny in an identity-based policy",
// followed by ": <policy ARN>" when denyingPolicy is an ARN. A resource of ""
// or "*" leaves " on resource: …" out. There is no final period, as in
// Bedrock's real messages. Allowed yields "".
func DeniedMessage(principalARN, action, resource string, d Decision, denyingPolicy string) string {
	if d == Allowed {
		return ""
	}
	var b strings.Builder
	b.WriteString("User: ")
	b.WriteString(principalARN)
	b.WriteString(" is not authorized to perform: ")
	b.WriteString(action)
	if resource != "" && resource != "*" {
		b.WriteString(" on resource: ")
		b.WriteString(resource)
	}
	if d == ExplicitDeny {
		b.WriteString(" with an explicit deny in an identity-based policy")
		if strings.HasPrefix(denyingPolicy, "arn:") {
			b.WriteString(": ")
			b.WriteString(denyingPolicy)
		}
		return b.String()
	}
	b.WriteString(" because no identity-based policy allows the ")
	b.WriteString(action)
	b.WriteString(" action")
	return b.String()
}

// EvaluationResult is one simulated decision, shaped like an element of IAM's
// SimulatePrincipalPolicyResult.EvaluationResults so that json.Marshal reads
// like AWS's answer.
type EvaluationResult struct {
	EvalActionName       string             `json:"EvalActionName"`
	EvalResourceName     string             `json:"EvalResourceName"`
	EvalDecision         string             `json:"EvalDecision"`
	MatchedStatements    []MatchedStatement `json:"MatchedStatements"`
	MissingContextValues []string           `json:"MissingContextValues"`
	// EvalDecisionDetails maps the policy type evaluated to its decision
	// ("IAM Policy" → decision), as the simulator reports when boundaries or
	// SCPs are involved; modelwatch has only identity policies.
	EvalDecisionDetails map[string]string `json:"EvalDecisionDetails,omitempty"`
}

// Simulate answers like IAM's policy simulator: one result per action ×
// resource (in that order); no resources means "*".
func Simulate(s *Set, actions, resources []string, ctx *Context) []EvaluationResult {
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	out := make([]EvaluationResult, 0, len(actions)*len(resources))
	for _, a := range actions {
		for _, res := range resources {
			r := s.Explain(&Request{Action: a, Resource: res, Context: ctx})
			out = append(out, EvaluationResult{
				EvalActionName:       a,
				EvalResourceName:     res,
				EvalDecision:         r.Decision.String(),
				MatchedStatements:    r.MatchedStatements,
				MissingContextValues: r.MissingContextValues,
			})
		}
	}
	return out
}
