package simulator

import (
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// plan is the complete, precomputed outcome of a Converse call: the output
// blocks split into the pieces a stream would emit, the stop reason, the
// token counts and the timing. Building it is pure and cheap; Converse waits
// for the plan's latency and returns its response, and a stream can emit the
// pieces one by one, the first after timeToFirstToken and each next one
// timePerOutputToken later.
type plan struct {
	blocks       []planBlock
	stopReason   string
	stopSequence string
	// inputTokens is the whole prompt; the cache accounting (see
	// Simulator.account) moves part of it to cacheRead and cacheWrite.
	inputTokens  int
	outputTokens int
	cacheRead    int
	cacheWrite   int
	cacheDetails []converse.CacheDetail

	// performance and tier echo the request's performanceConfig and
	// serviceTier.
	performance *converse.PerformanceConfig
	tier        *converse.ServiceTier

	timeToFirstToken   time.Duration
	timePerOutputToken time.Duration
}

// planBlock is one output content block.
type planBlock struct {
	// text is the text of a text block, or the input JSON of a tool use.
	text string
	// ends are the end offsets in text of its pieces (tokens), in order;
	// offsets rather than substrings keep the plan free of pointers.
	ends []int32
	// toolUse is set for a tool use block; its Input is the complete JSON.
	toolUse *converse.ToolUseBlock
	// tokens is the block's share of the output tokens (for a tool use,
	// its name and input).
	tokens int
	// reasoning marks a reasoningContent block; signature is its
	// signature (Claude's), and hidden the tokens it spent beyond its
	// pieces (Nova 2's "[REDACTED]" stands for all of them).
	reasoning bool
	signature string
	hidden    int
}

// pieces returns the block's text split into its pieces.
func (b *planBlock) pieces() []string {
	out := make([]string, len(b.ends))
	start := int32(0)
	for i, end := range b.ends {
		out[i] = b.text[start:end]
		start = end
	}
	return out
}

// latency is the simulated duration of the whole call.
func (p *plan) latency() time.Duration {
	return p.timeToFirstToken + time.Duration(p.outputTokens)*p.timePerOutputToken
}

// usage is the plan's token accounting as Converse reports it: inputTokens
// is the part of the prompt neither read from nor written to the cache,
// and totalTokens counts every input and output token, cache tokens
// included, as Bedrock's does.
func (p *plan) usage() converse.Usage {
	return converse.Usage{
		InputTokens:           p.inputTokens,
		OutputTokens:          p.outputTokens,
		TotalTokens:           p.inputTokens + p.outputTokens + p.cacheRead + p.cacheWrite,
		CacheReadInputTokens:  p.cacheRead,
		CacheWriteInputTokens: p.cacheWrite,
		CacheDetails:          p.cacheDetails,
	}
}

// response renders the plan as a Converse response.
func (p *plan) response() *converse.Response {
	content := make([]converse.ContentBlock, len(p.blocks))
	for i := range p.blocks {
		b := &p.blocks[i]
		switch {
		case b.reasoning:
			content[i].ReasoningContent = &converse.ReasoningContentBlock{
				ReasoningText: &converse.ReasoningText{Text: b.text, Signature: b.signature}}
		case b.toolUse != nil:
			content[i].ToolUse = b.toolUse
		default:
			content[i] = converse.TextBlock(b.text)
		}
	}
	return &converse.Response{
		Output: converse.Output{Message: &converse.Message{
			Role:    converse.RoleAssistant,
			Content: content,
		}},
		StopReason:        p.stopReason,
		Usage:             p.usage(),
		Metrics:           converse.Metrics{LatencyMs: p.latency().Milliseconds()},
		StopSequence:      p.stopSequence,
		PerformanceConfig: p.performance,
		ServiceTier:       p.tier,
	}
}

// Seeds of the independent random streams derived from the conversation
// hash: draws for a tool call (which depend on the tool choice) must not
// shift the text that follows from the conversation.
const (
	streamText = 0x5eed7e47
	streamTool = 0x5eed7001
	streamJSON = 0x5eed750a
	// streamReasoning draws the reasoning, so that the answer is the same
	// with reasoning on or off.
	streamReasoning = 0x5eed7ea5
)

// plan computes the outcome of a Converse call for this model. The natural
// reply depends only on the conversation (system, messages, tools) and the
// output schema; maxTokens and stop sequences only cut it short. With rp
// set, a reasoning block comes first and its tokens come out of maxTokens.
func (m *model) plan(req *converse.Request, rp *reasoningPlan) *plan {
	h := conversationHash(req)
	scale := latencyScale(req)
	p := &plan{
		inputTokens:        countInput(req),
		timeToFirstToken:   time.Duration(float64(m.ttft) * scale),
		timePerOutputToken: time.Duration(float64(m.tpot) * scale),
	}
	if pc := req.PerformanceConfig; pc != nil {
		p.performance = &converse.PerformanceConfig{Latency: pc.Latency}
	}
	if st := req.ServiceTier; st != nil {
		p.tier = &converse.ServiceTier{Type: st.Type}
	}

	var (
		text string
		tool *planBlock
	)
	if req.ToolConfig != nil {
		tr := newPRNG(h ^ streamTool)
		if c := chooseTool(req, &tr); c != nil {
			tool = toolUseBlock(c, &tr)
			// A forced call comes alone; under auto a model often says
			// what it is about to do.
			if !c.forced && tr.chance(1, 2) {
				text = toolPreamble(c.spec.Name, &tr)
			}
		}
	}
	if tool == nil {
		switch schema := req.OutputConfig.Schema(); {
		case schema != "":
			// Structured output is JSON in echo mode too: the API's
			// promise comes first.
			jr := newPRNG(h ^ streamJSON)
			text = structuredOutput(schema, &jr)
		case m.echo:
			text = lastUserText(req)
		default:
			r := newPRNG(h ^ streamText)
			target := r.between(m.minReply, m.maxReply)
			prefix := ""
			if res, name := lastToolResult(req); res != nil {
				prefix = toolResultIntro(res, name, &r)
				if c := CountTokens(prefix); c <= target {
					target -= c
				} else {
					prefix = ""
				}
			}
			text = generate(&r, prefix, target)
		}
	}

	maxTokens := defaultMaxTokens
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil {
		maxTokens = max(*ic.MaxTokens, 0)
	}
	var think *planBlock
	if rp != nil {
		b := rp.block(h, maxTokens)
		think = &b
		maxTokens -= b.tokens
	}
	ends := appendEnds(make([]int32, 0, min(len(text)/3+8, maxTokens+1)), text)
	p.stopReason = converse.StopEndTurn
	out := len(ends)
	switch {
	case len(ends) > maxTokens:
		ends = ends[:maxTokens]
		text = text[:lastEnd(ends)]
		p.stopReason = converse.StopMaxTokens
		out = maxTokens
		tool = nil
	case tool != nil && len(ends)+tool.tokens > maxTokens:
		// The tool call would have been cut off: its tokens were spent,
		// but an incomplete call is dropped rather than returned as
		// invalid JSON.
		p.stopReason = converse.StopMaxTokens
		out = maxTokens
		tool = nil
	}
	if ic := req.InferenceConfig; ic != nil && len(ic.StopSequences) > 0 {
		if at, seq := firstStop(text, ic.StopSequences); at >= 0 {
			ends = cutEnds(ends, at)
			text = text[:at]
			p.stopReason = converse.StopSequence
			p.stopSequence = seq
			out = len(ends)
			tool = nil
		}
	}

	p.blocks = make([]planBlock, 0, 3)
	if think != nil {
		p.blocks = append(p.blocks, *think)
		out += think.tokens
	}
	if text != "" {
		p.blocks = append(p.blocks, planBlock{text: text, ends: ends, tokens: len(ends)})
	}
	if tool != nil {
		p.blocks = append(p.blocks, *tool)
		out += tool.tokens
		p.stopReason = converse.StopToolUse
	}
	p.outputTokens = out
	return p
}

func lastEnd(ends []int32) int {
	if len(ends) == 0 {
		return 0
	}
	return int(ends[len(ends)-1])
}

// firstStop returns the earliest occurrence of any stop sequence in text
// and the sequence found there. Of sequences found at the same place the
// shortest wins, as it is the one a model would complete first. Empty
// sequences are ignored.
func firstStop(text string, seqs []string) (int, string) {
	at, seq := -1, ""
	for _, s := range seqs {
		if s == "" {
			continue
		}
		limit := text
		if at >= 0 {
			// Only an earlier (or equally early) match matters.
			limit = text[:min(len(text), at+len(s))]
		}
		i := strings.Index(limit, s)
		if i < 0 {
			continue
		}
		if at < 0 || i < at || i == at && len(s) < len(seq) {
			at, seq = i, s
		}
	}
	return at, seq
}

// cutEnds keeps the pieces that start before byte offset at. A piece that
// at falls inside was partly emitted: it is kept, trimmed, and still counts
// as a token.
func cutEnds(ends []int32, at int) []int32 {
	start := 0
	for i, end := range ends {
		if int(end) >= at {
			if start == at {
				return ends[:i]
			}
			ends[i] = int32(at)
			return ends[:i+1]
		}
		start = int(end)
	}
	return ends
}

// lastUserText returns the concatenated text blocks of the last user
// message.
func lastUserText(req *converse.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role != converse.RoleUser {
			continue
		}
		var only *string
		n := 0
		for _, b := range m.Content {
			if b.Text != nil {
				only = b.Text
				n++
			}
		}
		switch n {
		case 0:
			return ""
		case 1:
			return *only
		}
		var sb strings.Builder
		for _, b := range m.Content {
			if b.Text != nil {
				sb.WriteString(*b.Text)
			}
		}
		return sb.String()
	}
	return ""
}

// toolUseBlock plans a call of the chosen tool with input generated from
// its schema, drawn again (a few times) when it would repeat the input of
// the previous call of the same tool.
func toolUseBlock(c *toolChoice, r *prng) *planBlock {
	spec := c.spec
	id := toolUseID(r)
	input := toolInput(spec.InputSchema.JSON, r)
	for try := 0; try < 4 && c.repeats(input); try++ {
		input = toolInput(spec.InputSchema.JSON, r)
	}
	text := string(input)
	ends := appendEnds(nil, text)
	return &planBlock{
		text:    text,
		ends:    ends,
		toolUse: &converse.ToolUseBlock{ToolUseID: id, Name: spec.Name, Input: input},
		tokens:  CountTokens(spec.Name) + len(ends),
	}
}

// Latency factors of the performance and service tiers: modest, so that a
// dashboard shows the difference without the simulator claiming a real
// model's numbers. Latency-optimized inference and the priority tier are
// faster, the flex tier slower; the factors multiply.
const (
	scaleOptimized = 0.75
	scalePriority  = 0.8
	scaleFlex      = 1.25
)

// latencyScale is the factor the request's tiers apply to TimeToFirstToken
// and TimePerOutputToken.
func latencyScale(req *converse.Request) float64 {
	f := 1.0
	if pc := req.PerformanceConfig; pc != nil && pc.Latency == "optimized" {
		f *= scaleOptimized
	}
	if st := req.ServiceTier; st != nil {
		switch st.Type {
		case "priority":
			f *= scalePriority
		case "flex":
			f *= scaleFlex
		}
	}
	return f
}

var preambles = [...][2]string{
	{"I'll use the ", " tool to help with this."},
	{"Let me call ", " to find out."},
	{"I will check this with the ", " tool."},
	{"To answer that, I'll call ", "."},
}

// toolPreamble is the short text a model says before calling a tool.
func toolPreamble(name string, r *prng) string {
	p := preambles[r.intn(len(preambles))]
	return p[0] + name + p[1]
}

var resultIntros = [...][2]string{
	{"The ", " tool returned a result."},
	{"Thanks, I have the result from ", "."},
	{"Based on the output of ", ", here is my answer."},
}

// toolResultIntro is the sentence with which a reply to a tool result
// begins; name is the tool's name when the conversation shows it.
func toolResultIntro(res *converse.ToolResultBlock, name string, r *prng) string {
	switch {
	case res.Status == "error" && name != "":
		return "The " + name + " call reported an error."
	case res.Status == "error":
		return "The tool call reported an error."
	case name == "":
		return "Thanks, I have the tool result."
	}
	p := resultIntros[r.intn(len(resultIntros))]
	return p[0] + name + p[1]
}
