package simulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Tool choice. The simulator keeps the promises of Converse's toolChoice:
//
//   - any, or a named tool (what OpenAI's "required" and named function
//     become), always call a tool, with no text before the call, also
//     after tool results. Under any the most fitting tool is called, one
//     not yet called in this turn when there is one.
//   - auto (or no toolChoice) calls the most fitting tool for the user's
//     question when it fits well enough (see toolScore), and answers in
//     text otherwise, so small talk gets text. Once the tool results are
//     in, the reply is text, unless the question plainly needs a further,
//     different tool: one not yet called in this turn that matches words
//     of the question no called tool matched. Each tool is called at most
//     once per turn under auto, so a client's tool loop always ends.
//
// A turn is what follows the last user message with text. No tool is ever
// called with the same input as in the previous assistant message when its
// schema allows another input.

// Weights of a question word found in a tool's name, its parameter names
// or its description; each word counts once, at its best weight.
const (
	weightName        = 3
	weightParam       = 2
	weightDescription = 1
	// toolThreshold is the score from which auto calls a tool: one word
	// of its name, or a parameter and a description word, or three
	// description words.
	toolThreshold = 3
	// weightMentioned is added when the question names the tool outright.
	weightMentioned = 100
)

// toolChoice is the outcome of chooseTool.
type toolChoice struct {
	spec *converse.ToolSpec
	// forced is set when the tool choice demands a call (any, named).
	forced bool
	// previous holds the inputs of the calls of the same tool in the last
	// assistant message, which the new input should differ from.
	previous []json.RawMessage
}

// candidate is a tool with what the question has in common with it.
type candidate struct {
	spec    *converse.ToolSpec
	index   int
	score   int
	mention int // position of the tool's name in the question, or -1
	words   map[string]int
}

// chooseTool decides whether the reply calls a tool, and which. r is drawn
// from only to break ties that the question does not.
func chooseTool(req *converse.Request, r *prng) *toolChoice {
	tc := req.ToolConfig
	if tc == nil {
		return nil
	}
	var specs []*converse.ToolSpec
	for i := range tc.Tools {
		if s := tc.Tools[i].ToolSpec; s != nil && s.Name != "" {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	question, turnStart := questionText(req)
	called := calledSince(req, turnStart)
	afterResult := lastHasToolResult(req)
	cands := rankTools(specs, question)

	choice := tc.ToolChoice
	var pick *candidate
	switch {
	case choice != nil && choice.Tool != nil:
		for i := range cands {
			if cands[i].spec.Name == choice.Tool.Name {
				pick = &cands[i]
				break
			}
		}
		if pick == nil {
			return nil
		}
	case choice != nil && choice.Any != nil:
		fresh := make([]*candidate, 0, len(cands))
		for i := range cands {
			if !called[cands[i].spec.Name] {
				fresh = append(fresh, &cands[i])
			}
		}
		if len(fresh) == 0 {
			for i := range cands {
				fresh = append(fresh, &cands[i])
			}
		}
		pick = fresh[0]
		if pick.score == 0 {
			pick = fresh[r.intn(len(fresh))]
		}
	default:
		covered := map[string]bool{}
		if afterResult {
			for i := range cands {
				if called[cands[i].spec.Name] {
					for w := range cands[i].words {
						covered[w] = true
					}
				}
			}
		}
		// The first tool in rank order that fits well enough.
		best := -1
		for i := range cands {
			c := &cands[i]
			if called[c.spec.Name] {
				continue
			}
			score := c.score
			if afterResult && c.mention < 0 {
				// After results only what no called tool answered counts.
				score = 0
				for w, wt := range c.words {
					if !covered[w] {
						score += wt
					}
				}
			}
			if score >= toolThreshold {
				best = i
				break
			}
		}
		if best < 0 {
			return nil
		}
		pick = &cands[best]
	}
	return &toolChoice{
		spec:     pick.spec,
		forced:   choice != nil && (choice.Any != nil || choice.Tool != nil),
		previous: previousInputs(req, pick.spec.Name),
	}
}

// rankTools scores every tool against the question and orders them best
// first: tools the question names (the earliest named first), then by
// score, then in declaration order.
func rankTools(specs []*converse.ToolSpec, question string) []candidate {
	lower := strings.ToLower(question)
	qwords := contentWords(question)
	cands := make([]candidate, len(specs))
	for i, s := range specs {
		c := candidate{spec: s, index: i, mention: strings.Index(lower, strings.ToLower(s.Name))}
		c.words = toolScore(s, qwords)
		for _, wt := range c.words {
			c.score += wt
		}
		if c.mention >= 0 {
			c.score += weightMentioned
		}
		cands[i] = c
	}
	better := func(a, b *candidate) bool {
		switch {
		case (a.mention >= 0) != (b.mention >= 0):
			return a.mention >= 0
		case a.mention >= 0 && a.mention != b.mention:
			return a.mention < b.mention
		case a.mention >= 0 && len(a.spec.Name) != len(b.spec.Name):
			// Of names found at the same place, the longest.
			return len(a.spec.Name) > len(b.spec.Name)
		case a.score != b.score:
			return a.score > b.score
		}
		return a.index < b.index
	}
	// Insertion sort: tool lists are short and the order must be stable.
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && better(&cands[j], &cands[j-1]); j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	return cands
}

// toolScore returns the question words found in the tool's name,
// parameter names or description, each with its best weight.
func toolScore(s *converse.ToolSpec, qwords map[string]bool) map[string]int {
	found := map[string]int{}
	note := func(text string, weight int, identifier bool) {
		var ws []string
		if identifier {
			ws = identifierWords(text)
		} else {
			ws = splitWords(text)
		}
		for _, w := range ws {
			w = stem(w)
			if qwords[w] && found[w] < weight {
				found[w] = weight
			}
		}
	}
	note(s.Name, weightName, true)
	for _, p := range paramNames(s.InputSchema.JSON) {
		note(p, weightParam, true)
	}
	note(s.Description, weightDescription, false)
	return found
}

// paramNames returns the top-level property names of an input schema.
func paramNames(schema []byte) []string {
	v, _ := decodeOrdered(schema)
	if o, ok := v.(*omap); ok {
		if props, ok := o.vals["properties"].(*omap); ok {
			return props.keys
		}
	}
	return nil
}

// contentWords returns the stemmed words of a question that can tie it to
// a tool: lower case, three letters or more, not stop words.
func contentWords(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range splitWords(text) {
		if w = stem(w); w != "" {
			out[w] = true
		}
	}
	return out
}

// splitWords splits text into lower-case runs of letters and digits and
// drops short words and stop words.
func splitWords(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(w) >= 3 && !stopWords[w] {
			out = append(out, w)
		}
	}
	return out
}

// identifierWords splits a tool or parameter name written in snake_case,
// kebab-case or camelCase into its words.
func identifierWords(id string) []string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range id {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return splitWords(b.String())
}

// stem strips common English inflections so that "forecasts" meets
// "forecast" and "booking" meets "book".
func stem(w string) string {
	switch {
	case stopWords[w]:
		return ""
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && (strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "sses")):
		return w[:len(w)-2]
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		return w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// stopWords are words too common to tie a question to a tool, including
// the verbs and nouns every tool name and description uses.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		the and for with about from into onto this that these those there here then than
		have has had having are was were been being does did doing done not but nor yet
		you your yours our ours they them their theirs its it's his her hers she him
		what when where which who whom whose why how can could would should will shall
		may might must let lets any all some more most other such only own same too very
		just now also like know get gets got set sets fetch fetches retrieve retrieves
		find finds lookup look looks check checks show shows list lists create creates
		make makes run runs call calls use uses using used tool tools function functions
		please tell give want need help thanks thank hello hey yes okay sure one two
		out over under again once each few both off per via based given value values
		data info information current currently specified specific provided return
		returns result results input output name names type types string number integer
		boolean object array optional required default true false null field fields
		able way thing things something anything everything really much many well good
		new about whether into upon within without`) {
		m[w] = true
	}
	return m
}()

// questionText returns the text of the last user message that has text
// and no tool results (the question the current turn answers) and that
// message's index, or -1. A message carrying tool results continues the
// turn even with text beside them: agents such as Claude Code add notes
// (system reminders) to their tool results, and a turn that restarted
// there would let a client's tool loop run forever.
func questionText(req *converse.Request) (string, int) {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role != converse.RoleUser {
			continue
		}
		var sb strings.Builder
		results := false
		for _, b := range m.Content {
			if b.Text != nil {
				sb.WriteString(withoutReminders(*b.Text))
				sb.WriteByte('\n')
			}
			results = results || b.ToolResult != nil
		}
		if results {
			continue
		}
		if sb.Len() > 0 {
			return sb.String(), i
		}
	}
	return "", -1
}

// withoutReminders removes the <system-reminder>…</system-reminder>
// sections agents add to a user's message (Claude Code lists its context,
// skills and tools there): they are not the user's question, and their
// words would match every tool.
func withoutReminders(s string) string {
	const open, close = "<system-reminder>", "</system-reminder>"
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], close)
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+j+len(close):]
	}
}

// calledSince returns the names of the tools assistant messages after
// message index from called.
func calledSince(req *converse.Request, from int) map[string]bool {
	called := map[string]bool{}
	for i := from + 1; i < len(req.Messages); i++ {
		if req.Messages[i].Role != converse.RoleAssistant {
			continue
		}
		for _, b := range req.Messages[i].Content {
			if b.ToolUse != nil {
				called[b.ToolUse.Name] = true
			}
		}
	}
	return called
}

// previousInputs returns the inputs with which the last assistant message
// called the tool, compacted.
func previousInputs(req *converse.Request, name string) []json.RawMessage {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role != converse.RoleAssistant {
			continue
		}
		var out []json.RawMessage
		for _, b := range m.Content {
			if b.ToolUse != nil && b.ToolUse.Name == name {
				var c bytes.Buffer
				if json.Compact(&c, b.ToolUse.Input) == nil {
					out = append(out, c.Bytes())
				}
			}
		}
		return out
	}
	return nil
}

// repeats reports whether input equals one of the previous inputs.
func (c *toolChoice) repeats(input []byte) bool {
	for _, p := range c.previous {
		if bytes.Equal(p, input) {
			return true
		}
	}
	return false
}
