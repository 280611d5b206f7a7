package iampolicy

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Policy source types, as IAM's simulator names them (SourcePolicyType).
const (
	SourceUser        = "user"
	SourceGroup       = "group"
	SourceRole        = "role"
	SourceUserManaged = "user-managed"
	SourceAWSManaged  = "aws-managed"
	SourceNone        = "none"
)

// MaxDocumentSize bounds Parse's input (IAM's own limits are far lower:
// 2,048 to 10,240 characters), so a hostile file cannot make parsing costly.
const MaxDocumentSize = 1 << 20

// Version values IAM accepts.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Source identifies where a policy comes from. ID is a name ("InvokeHaiku") or
// a policy ARN ("arn:aws:iam::123456789012:policy/DenyX"); Type is IAM
// simulator's SourcePolicyType ("user", "group", "role", "user-managed",
// "aws-managed", "none").
type Source struct {
	ID   string
	Type string
}

// Position is a 1-based line and column in the policy's text.
type Position struct {
	Line   int
	Column int
}

// ParseError is a policy error located in its source text.
type ParseError struct {
	Policy string // the policy's Source.ID
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Msg    string // what is wrong, in plain words
}

// Error formats as `policy "ID": line L, column C: message`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("policy ")
	b.WriteString(strconv.Quote(e.Policy))
	b.WriteString(": ")
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(", column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParseOption adjusts parsing.
type ParseOption func(*parseOptions)

type parseOptions struct {
	known []string // lower-cased
}

// WithKnownActions makes an Action pattern (not NotAction) that matches none of
// actions a parse error, to catch typos such as "bedrock:InvokeModle".
func WithKnownActions(actions ...string) ParseOption {
	return func(o *parseOptions) {
		for _, a := range actions {
			o.known = append(o.known, strings.ToLower(a))
		}
	}
}

// Policy is one parsed identity-based policy. It is immutable.
type Policy struct {
	src     Source
	version string
	stmts   []*statement
}

// Source returns where the policy comes from.
func (p *Policy) Source() Source { return p.src }

// Version returns the policy language version ("2012-10-17" or "2008-10-17";
// an absent Version reads as "2008-10-17").
func (p *Policy) Version() string { return p.version }

// Statements returns the number of statements.
func (p *Policy) Statements() int { return len(p.stmts) }

// Sids returns the statements' Sids in order ("" where absent).
func (p *Policy) Sids() []string {
	out := make([]string, len(p.stmts))
	for i, s := range p.stmts {
		out[i] = s.sid
	}
	return out
}

// Parse parses one identity-based policy document in IAM's JSON form. It is
// read with yaml.v3 (JSON is YAML) so every element has a line and column.
func Parse(src Source, doc []byte, opts ...ParseOption) (*Policy, error) {
	if len(doc) > MaxDocumentSize {
		return nil, &ParseError{Policy: src.ID, Msg: fmt.Sprintf("policy document is larger than %d bytes", MaxDocumentSize)}
	}
	clean := detab(doc)
	var root yaml.Node
	if err := safeUnmarshal(clean, &root); err != nil {
		return nil, yamlError(src, err)
	}
	p := newParser(src, clean, opts)
	if root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0) {
		return nil, &ParseError{Policy: src.ID, Msg: "policy document is empty"}
	}
	return p.policy(&root)
}

// ParseNode parses a policy given as a YAML mapping node inside a larger YAML
// file (the server's configuration); errors and statement positions carry that
// file's lines and columns.
func ParseNode(src Source, n *yaml.Node, opts ...ParseOption) (*Policy, error) {
	if n == nil {
		return nil, &ParseError{Policy: src.ID, Msg: "policy document is empty"}
	}
	return newParser(src, nil, opts).policy(n)
}

func safeUnmarshal(doc []byte, n *yaml.Node) (err error) {
	// A YAML library panic on hostile input must not take the server down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed document")
		}
	}()
	return yaml.Unmarshal(doc, n)
}

// yamlError rewrites a yaml.v3 syntax error into a ParseError without the
// library's "yaml:" prefix.
func yamlError(src Source, err error) error {
	msg := strings.ReplaceAll(err.Error(), "yaml: ", "")
	e := &ParseError{Policy: src.ID}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				e.Line = n
				msg = rest[i+2:]
			}
		}
	}
	e.Msg = "not valid JSON: " + strings.ReplaceAll(msg, "\n", "; ")
	return e
}

// detab replaces tabs outside strings with spaces: JSON allows tab
// indentation, YAML does not; the column count is unchanged.
func detab(doc []byte) []byte {
	var out []byte
	inStr, esc := false, false
	for i, c := range doc {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case c == '\t' && !inStr:
			if out == nil {
				out = append([]byte(nil), doc...)
			}
			out[i] = ' '
		}
	}
	if out == nil {
		return doc
	}
	return out
}

type parser struct {
	src     Source
	doc     []byte // the JSON text when known, for statement end positions
	opts    parseOptions
	version string
}

func newParser(src Source, doc []byte, opts []ParseOption) *parser {
	p := &parser{src: src, doc: doc}
	for _, o := range opts {
		o(&p.opts)
	}
	return p
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	e := &ParseError{Policy: p.src.ID, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// deref follows YAML aliases (the server's config may share a policy by
// anchor). Structure depth is fixed, so self-referencing anchors cannot loop.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindWord(n *yaml.Node) string {
	if n == nil {
		return "empty"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "an array"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a string"
	}
	return "empty"
}

var (
	topKeys  = []string{"Version", "Statement"}
	stmtKeys = []string{"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

func unknownKey(p *parser, k *yaml.Node, known []string, where string) error {
	for _, want := range known {
		if strings.EqualFold(want, k.Value) {
			return p.errf(k, "unknown element %q in %s (element names are case-sensitive: did you mean %q?)", k.Value, where, want)
		}
	}
	return p.errf(k, "unknown element %q in %s", k.Value, where)
}

func (p *parser) policy(n *yaml.Node) (*Policy, error) {
	n = deref(n)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, p.errf(n, "policy document is empty")
		}
		n = deref(n.Content[0])
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "a policy must be a JSON object, not %s", kindWord(n))
	}
	var stmtNode *yaml.Node
	seen := map[string]bool{}
	p.version = Version2008 // IAM's default when Version is absent
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "element names must be strings")
		}
		if seen[k.Value] {
			return nil, p.errf(k, "duplicate element %q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "Version":
			// Read Value, not a decoded value: yaml.v3 tags 2012-10-17 as !!timestamp.
			if v.Kind != yaml.ScalarNode || (v.Value != Version2012 && v.Value != Version2008) {
				return nil, p.errf(v, "Version must be %q or %q, not %s", Version2012, Version2008, describe(v))
			}
			p.version = v.Value
		case "Statement":
			stmtNode = v
		case "Id":
			return nil, p.errf(k, "Id is not allowed in an identity-based policy")
		default:
			return nil, unknownKey(p, k, topKeys, "the policy")
		}
	}
	if stmtNode == nil {
		return nil, p.errf(n, "the policy has no Statement")
	}
	pol := &Policy{src: p.src, version: p.version}
	var items []*yaml.Node
	switch stmtNode.Kind {
	case yaml.MappingNode:
		items = []*yaml.Node{stmtNode}
	case yaml.SequenceNode:
		items = stmtNode.Content
		if len(items) == 0 {
			return nil, p.errf(stmtNode, "Statement must not be empty")
		}
	default:
		return nil, p.errf(stmtNode, "Statement must be an object or an array of objects, not %s", kindWord(stmtNode))
	}
	sids := map[string]bool{}
	for _, it := range items {
		st, err := p.statement(deref(it))
		if err != nil {
			return nil, err
		}
		if st.sid != "" {
			if sids[st.sid] {
				return nil, p.errf(it, "duplicate Sid %q: Sids must be unique within a policy", st.sid)
			}
			sids[st.sid] = true
		}
		st.policy = pol
		pol.stmts = append(pol.stmts, st)
	}
	return pol, nil
}

// describe quotes a scalar's text or names the node's kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return strconv.Quote(n.Value)
	}
	return kindWord(n)
}

func (p *parser) statement(n *yaml.Node) (*statement, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "each Statement must be a JSON object, not %s", kindWord(n))
	}
	st := &statement{start: Position{n.Line, n.Column}}
	st.end = p.endPos(n)
	seen := map[string]bool{}
	var act, notAct, res, notRes, cond, effect *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "element names must be strings")
		}
		if seen[k.Value] {
			return nil, p.errf(k, "duplicate element %q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "Sid":
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				return nil, p.errf(v, "Sid must be a string, not %s", kindWord(v))
			}
			for _, c := range []byte(v.Value) {
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
					return nil, p.errf(v, "Sid %q may contain only letters and digits", v.Value)
				}
			}
			st.sid = v.Value
		case "Effect":
			effect = v
		case "Action":
			act = v
		case "NotAction":
			notAct = v
		case "Resource":
			res = v
		case "NotResource":
			notRes = v
		case "Condition":
			cond = v
		case "Principal", "NotPrincipal":
			return nil, p.errf(k, "%s is not allowed in an identity-based policy", k.Value)
		default:
			return nil, unknownKey(p, k, stmtKeys, "a statement")
		}
	}
	switch {
	case effect == nil:
		return nil, p.errf(n, "the statement has no Effect")
	case effect.Kind != yaml.ScalarNode || (effect.Value != "Allow" && effect.Value != "Deny"):
		return nil, p.errf(effect, `Effect must be "Allow" or "Deny", not %s`, describe(effect))
	}
	st.deny = effect.Value == "Deny"
	switch {
	case act != nil && notAct != nil:
		return nil, p.errf(notAct, "a statement must have Action or NotAction, not both")
	case act == nil && notAct == nil:
		return nil, p.errf(n, "the statement has neither Action nor NotAction")
	case res != nil && notRes != nil:
		return nil, p.errf(notRes, "a statement must have Resource or NotResource, not both")
	case res == nil && notRes == nil:
		return nil, p.errf(n, "the statement has neither Resource nor NotResource")
	}
	if notAct != nil {
		st.notAction, act = true, notAct
	}
	if err := p.actions(st, act); err != nil {
		return nil, err
	}
	if notRes != nil {
		st.notResource, res = true, notRes
	}
	if err := p.resources(st, res); err != nil {
		return nil, err
	}
	if cond != nil {
		if err := p.conditions(st, cond); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// strings returns the string elements of a value that may be a bare string
// or an array of strings.
func (p *parser) strings(n *yaml.Node, what string) ([]*yaml.Node, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, p.errf(n, "%s must be a string or an array of strings, not null", what)
		}
		return []*yaml.Node{n}, nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.errf(n, "%s must not be an empty array", what)
		}
		out := make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			e = deref(e)
			if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				return nil, p.errf(e, "%s must contain only strings, not %s", what, kindWord(e))
			}
			out[i] = e
		}
		return out, nil
	}
	return nil, p.errf(n, "%s must be a string or an array of strings, not %s", what, kindWord(n))
}

func validActionPattern(a string) bool {
	if a == "*" {
		return true
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return false
	}
	for _, c := range []byte(svc) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '*' || c == '?' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (p *parser) actions(st *statement, n *yaml.Node) error {
	what := "Action"
	if st.notAction {
		what = "NotAction"
	}
	vals, err := p.strings(n, what)
	if err != nil {
		return err
	}
	for _, v := range vals {
		if !validActionPattern(v.Value) {
			return p.errf(v, `%s %q must look like "service:ActionName" (wildcards allowed) or be "*"`, what, v.Value)
		}
		toks := compileTokens(nil, v.Value, true, true)
		if !st.notAction && len(p.opts.known) > 0 {
			hit := false
			for _, k := range p.opts.known {
				if matchTokens(toks, k, true) {
					hit = true
					break
				}
			}
			if !hit {
				return p.errf(v, "Action %q matches no action modelwatch authorizes", v.Value)
			}
		}
		if isStar(toks) {
			st.anyAction = true
		}
		st.actions = append(st.actions, newGlob(toks))
	}
	return nil
}

func (p *parser) resources(st *statement, n *yaml.Node) error {
	what := "Resource"
	if st.notResource {
		what = "NotResource"
	}
	vals, err := p.strings(n, what)
	if err != nil {
		return err
	}
	for _, v := range vals {
		s := v.Value
		if s == "*" {
			st.anyResource = true
			st.resources = append(st.resources, pattern{toks: []int16{tStar}, arn: newARNGlob([]int16{tStar})})
			continue
		}
		if !strings.HasPrefix(s, "arn:") {
			return p.errf(v, `%s %q must be an ARN ("arn:partition:service:region:account:resource") or "*"`, what, s)
		}
		parts := strings.SplitN(s, ":", 6)
		if len(parts) >= 3 && strings.ContainsAny(parts[2], "*?") {
			return p.errf(v, "%s %q: the service segment of an ARN cannot contain wildcards", what, s)
		}
		// Variables are allowed only in the resource part (after the fifth colon).
		var pat pattern
		if len(parts) == 6 && p.version == Version2012 {
			prefix := s[:len(s)-len(parts[5])]
			pat, err = compilePattern(prefix, parts[5], true, false, true)
			if err != nil {
				return p.errf(v, "%s %q: %v", what, s, err)
			}
		} else {
			pat = pattern{toks: compileTokens(nil, s, true, false)}
		}
		if pat.pieces == nil {
			pat.arn = newARNGlob(pat.toks)
		}
		st.resources = append(st.resources, pat)
	}
	return nil
}

// endPos finds where a statement ends: with the JSON text at hand, the
// position of its closing brace; otherwise the end of its last scalar.
func (p *parser) endPos(n *yaml.Node) Position {
	if p.doc != nil {
		if off := offsetOf(p.doc, n.Line, n.Column); off >= 0 && off < len(p.doc) && p.doc[off] == '{' {
			depth, inStr, esc := 0, false, false
			line, col := n.Line, n.Column
			for i := off; i < len(p.doc); i++ {
				c := p.doc[i]
				switch {
				case esc:
					esc = false
				case inStr && c == '\\':
					esc = true
				case c == '"':
					inStr = !inStr
				case inStr:
				case c == '{':
					depth++
				case c == '}':
					depth--
					if depth == 0 {
						return Position{line, col}
					}
				}
				if c == '\n' {
					line, col = line+1, 1
				} else if c < 0x80 || c >= 0xC0 { // count runes, as yaml.v3 does
					col++
				}
			}
		}
	}
	last := n
	for len(last.Content) > 0 {
		last = last.Content[len(last.Content)-1]
	}
	return Position{last.Line, last.Column + len([]rune(last.Value))}
}

// offsetOf converts a 1-based line and (rune) column to a byte offset.
func offsetOf(doc []byte, line, col int) int {
	l, i := 1, 0
	for ; i < len(doc) && l < line; i++ {
		if doc[i] == '\n' {
			l++
		}
	}
	if l != line {
		return -1
	}
	for c := 1; c < col && i < len(doc); i++ {
		if doc[i] == '\n' {
			return -1
		}
		if i+1 < len(doc) && doc[i+1] >= 0x80 && doc[i+1] < 0xC0 {
			continue // a continuation byte follows: still inside this rune
		}
		c++
	}
	return i
}
