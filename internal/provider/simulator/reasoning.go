package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// Reasoning (catalog field reasoning, copied into ModelSettings.Reasoning).
//
// On a model that reasons ("always", or "on-request" with reasoning switched
// on by the request) the reply starts with a reasoningContent block, then
// the answer, which is the same answer the model gives without reasoning.
// How reasoning is switched on and what the block looks like follows the
// model's family, told by the model ID:
//
//   - Claude (anthropic.*): additionalModelRequestFields.thinking
//     {"type":"enabled","budget_tokens":N} or {"type":"adaptive"}. The
//     block is reasoningText {text, signature}; the signature is an HMAC of
//     the text, so a block sent back in a later turn is checked.
//   - Nova 2 (amazon.nova*): additionalModelRequestFields.reasoningConfig
//     {"type":"enabled","maxReasoningEffort":"low"|"medium"|"high"}. The
//     text is "[REDACTED]", as on Bedrock, while the reasoning tokens are
//     counted (and take their time) as if it had been written out.
//   - Every other family (gpt-oss, DeepSeek, ...): additionalModelRequestFields
//     .reasoning_effort "low"|"medium"|"high" (gpt-oss's flat member); a
//     model whose reasoning is "always" reasons at "medium" without it. The
//     block is reasoningText {text} with no signature.
//
// Reasoning tokens are output tokens (Bedrock has no separate count), and
// maxTokens covers reasoning and answer: reasoning that reaches maxTokens
// ends the reply there with stop reason max_tokens and no answer.

// Reasoning styles: what the reasoning block of a family looks like.
type reasoningStyle uint8

const (
	styleSigned   reasoningStyle = iota + 1 // Claude: text and signature
	styleRedacted                           // Nova 2: "[REDACTED]"
	stylePlain                              // gpt-oss, DeepSeek: text only
)

// novaRedacted is the text of Nova 2's reasoning blocks.
const novaRedacted = "[REDACTED]"

// minThinkingBudget is Anthropic's smallest thinking.budget_tokens.
const minThinkingBudget = 1024

// modelErrorPrefix starts the errors Bedrock relays from a model's own
// request validation.
const modelErrorPrefix = "The model returned the following errors: "

// thinkingDocs ends Anthropic's errors about extended thinking's limits.
const thinkingDocs = " Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"

// reasoningPlan is how much a call reasons: a natural length drawn from
// [lo, hi] tokens, never more than limit (Claude's budget_tokens; 0: no
// limit besides maxTokens).
type reasoningPlan struct {
	style  reasoningStyle
	lo, hi int
	limit  int
}

// Reasoning lengths by effort (Nova 2's maxReasoningEffort, gpt-oss's
// reasoning_effort). Nova's are the larger: its reasoning is hidden and
// only counted, and a recorded Nova 2 reply of "ok" took 2,980 output
// tokens; gpt-oss's text is shown, so it stays short enough to read.
var (
	novaEffort  = map[string][2]int{"low": {200, 600}, "medium": {800, 1600}, "high": {2000, 3200}}
	plainEffort = map[string][2]int{"low": {20, 60}, "medium": {60, 180}, "high": {180, 480}}
)

// adaptiveRange is the natural length of Claude's adaptive thinking.
var adaptiveRange = [2]int{64, 256}

// styleOf is the reasoning style of a model ID's family.
func styleOf(modelID string) reasoningStyle {
	switch {
	case strings.HasPrefix(modelID, "anthropic."):
		return styleSigned
	case strings.HasPrefix(modelID, "amazon.nova"):
		return styleRedacted
	}
	return stylePlain
}

// modelError is a ValidationException in the words of the model's own
// validation, relayed by Bedrock.
func modelError(format string, args ...any) error {
	return apierror.New(apierror.Validation, modelErrorPrefix+format, args...)
}

// reasoning checks the request's reasoning switch and the parameters its
// family refuses with it, and the reasoning blocks sent back in the
// conversation, and returns how the call reasons (nil: not at all).
func (m *model) reasoning(modelID string, req *converse.Request) (*reasoningPlan, error) {
	style := styleOf(modelID)
	fields, err := additionalFields(req.AdditionalModelRequestFields)
	if err != nil {
		return nil, err
	}
	if style == styleSigned {
		if err := checkSignatures(req); err != nil {
			return nil, err
		}
		if err := checkBetas(fields); err != nil {
			return nil, err
		}
		if err := checkSampling(modelID, req); err != nil {
			return nil, err
		}
	}
	var rp *reasoningPlan
	switch style {
	case styleSigned:
		rp, err = m.claudeReasoning(fields, req)
	case styleRedacted:
		rp, err = m.novaReasoning(fields, req)
	default:
		rp, err = m.plainReasoning(fields)
	}
	if rp != nil {
		rp.style = style
	}
	return rp, err
}

// additionalFields splits additionalModelRequestFields into its members
// (the front doors have checked it is an object, if set).
func additionalFields(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, apierror.New(apierror.Validation, "The additionalModelRequestFields field must be a JSON object.")
	}
	return fields, nil
}

// isNull reports whether a member is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// maxTokensOf is the request's output budget (the gateway always sets one).
func maxTokensOf(req *converse.Request) int {
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil {
		return max(*ic.MaxTokens, 0)
	}
	return defaultMaxTokens
}

// rejectsCombinedSampling reports the Claude models that take temperature
// or top_p but not both (Sonnet 4.5 and Haiku 4.5, per AWS's model pages).
func rejectsCombinedSampling(modelID string) bool {
	return strings.Contains(modelID, "claude-sonnet-4-5") || strings.Contains(modelID, "claude-haiku-4-5")
}

// checkSampling refuses temperature with top_p where the model does.
func checkSampling(modelID string, req *converse.Request) error {
	ic := req.InferenceConfig
	if ic != nil && ic.Temperature != nil && ic.TopP != nil && rejectsCombinedSampling(modelID) {
		return modelError("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
	}
	return nil
}

// claudeThinking is Anthropic's thinking parameter.
type claudeThinking struct {
	Type         string          `json:"type"`
	BudgetTokens json.RawMessage `json:"budget_tokens"`
}

// claudeReasoning reads thinking and applies Anthropic's rules for it: a
// budget of at least 1,024 tokens below max_tokens; temperature 1 or
// unset, top_p from 0.95 or unset, no top_k, no forced tool use. Adaptive
// thinking (Claude 4.6's mode) is accepted on every thinking model and
// thinks a little, as the simulator cannot judge a question's difficulty.
func (m *model) claudeReasoning(fields map[string]json.RawMessage, req *converse.Request) (*reasoningPlan, error) {
	raw := fields["thinking"]
	if isNull(raw) {
		return m.foreignEffort(fields, req, true), nil
	}
	var th claudeThinking
	if err := json.Unmarshal(raw, &th); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, modelError("thinking: Input should be a valid dictionary or object to extract fields from")
	}
	var rp *reasoningPlan
	switch th.Type {
	case "disabled":
		return m.always(), nil
	case "enabled":
		if isNull(th.BudgetTokens) {
			return nil, modelError("thinking.enabled.budget_tokens: Field required")
		}
		budget, err := strconv.Atoi(string(bytes.TrimSpace(th.BudgetTokens)))
		if err != nil {
			return nil, modelError("thinking.enabled.budget_tokens: Input should be a valid integer")
		}
		if budget < minThinkingBudget {
			return nil, modelError("thinking.enabled.budget_tokens: Input should be greater than or equal to %d", minThinkingBudget)
		}
		if maxTokensOf(req) <= budget {
			return nil, modelError("`max_tokens` must be greater than `thinking.budget_tokens`." + thinkingDocs)
		}
		// Claude uses a part of its budget on an easy question.
		rp = &reasoningPlan{lo: budget / 16, hi: budget / 8, limit: budget}
	case "adaptive":
		rp = &reasoningPlan{lo: adaptiveRange[0], hi: adaptiveRange[1]}
	default:
		return nil, modelError("thinking: Input tag '%s' found using 'type' does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'", th.Type)
	}
	if m.reasoningMode == "" {
		return nil, modelError("thinking: Extra inputs are not permitted")
	}
	if ic := req.InferenceConfig; ic != nil {
		if ic.Temperature != nil && *ic.Temperature != 1 {
			return nil, modelError("`temperature` may only be set to 1 when thinking is enabled." + thinkingDocs)
		}
		if ic.TopP != nil && *ic.TopP < 0.95 {
			return nil, modelError("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled." + thinkingDocs)
		}
	}
	if !isNull(fields["top_k"]) {
		return nil, modelError("`top_k` must be unset when thinking is enabled." + thinkingDocs)
	}
	if tc := req.ToolConfig; tc != nil && tc.ToolChoice != nil && (tc.ToolChoice.Any != nil || tc.ToolChoice.Tool != nil) {
		return nil, modelError("Thinking may not be enabled when tool_choice forces tool use.")
	}
	return rp, nil
}

// novaReasoningConfig is Nova 2's reasoningConfig.
type novaReasoningConfig struct {
	Type               string `json:"type"`
	MaxReasoningEffort string `json:"maxReasoningEffort"`
}

// novaReasoning reads reasoningConfig. Effort defaults to low; with high,
// Nova refuses maxTokens, temperature, topP and topK. The gateway gives
// every call an output budget, so "maxTokens set" means a budget other than
// the model's default (ModelSettings.DefaultMaxTokens): a caller that sends
// exactly the default is not caught.
func (m *model) novaReasoning(fields map[string]json.RawMessage, req *converse.Request) (*reasoningPlan, error) {
	raw := fields["reasoningConfig"]
	if isNull(raw) {
		return m.foreignEffort(fields, req, false), nil
	}
	var rc novaReasoningConfig
	if err := json.Unmarshal(raw, &rc); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, modelError("reasoningConfig must be an object with type and maxReasoningEffort")
	}
	switch rc.Type {
	case "disabled":
		return m.always(), nil
	case "enabled":
	default:
		return nil, modelError("reasoningConfig.type must be one of 'enabled', 'disabled', got '%s'", rc.Type)
	}
	effort := rc.MaxReasoningEffort
	if effort == "" {
		effort = "low"
	}
	r, ok := novaEffort[effort]
	if !ok {
		return nil, modelError("reasoningConfig.maxReasoningEffort must be one of 'low', 'medium', 'high', got '%s'", rc.MaxReasoningEffort)
	}
	if m.reasoningMode == "" {
		return nil, modelError("reasoningConfig is not supported by this model")
	}
	if effort == "high" {
		ic := req.InferenceConfig
		unset := func(name string) error {
			return modelError("`%s` must be unset when reasoningConfig type is 'enabled' and maxReasoningEffort is 'high'. Please consult our documentation at https://docs.aws.amazon.com/nova/latest/userguide", name)
		}
		switch {
		case ic != nil && ic.MaxTokens != nil && m.defaultMaxTokens > 0 && *ic.MaxTokens != m.defaultMaxTokens:
			return nil, unset("maxTokens")
		case ic != nil && ic.Temperature != nil:
			return nil, unset("temperature")
		case ic != nil && ic.TopP != nil:
			return nil, unset("topP")
		case !isNull(fields["inferenceConfig"]) && bytes.Contains(fields["inferenceConfig"], []byte(`"topK"`)):
			return nil, unset("topK")
		}
	}
	return &reasoningPlan{lo: r[0], hi: r[1]}, nil
}

// plainReasoning reads reasoning_effort (gpt-oss's flat member).
func (m *model) plainReasoning(fields map[string]json.RawMessage) (*reasoningPlan, error) {
	raw := fields["reasoning_effort"]
	if isNull(raw) {
		return m.always(), nil
	}
	var effort string
	if err := json.Unmarshal(raw, &effort); err != nil {
		return nil, modelError("Failed to deserialize the JSON body into the target type: reasoning_effort: invalid type, expected a string")
	}
	r, ok := plainEffort[effort]
	if !ok {
		return nil, modelError("Failed to deserialize the JSON body into the target type: reasoning_effort: unknown variant `%s`, expected one of `low`, `medium`, `high`", effort)
	}
	if m.reasoningMode == "" {
		// A model that does not reason ignores the effort, as an
		// OpenAI-compatible server does.
		return nil, nil
	}
	return &reasoningPlan{lo: r[0], hi: r[1]}, nil
}

// Thinking budgets that stand for gpt-oss's effort levels, as the
// Anthropic provider maps them (package translate).
var effortBudgets = map[string]int{"low": minThinkingBudget, "medium": 4 * minThinkingBudget, "high": 16 * minThinkingBudget}

// foreignEffort is the reasoning of a Claude or Nova 2 call without its own
// switch but with gpt-oss's reasoning_effort, which is how the OpenAI
// front door's reasoning_effort arrives: a reasoning model reasons at that
// effort (Claude with the effort's thinking budget, lowered to fit below
// maxTokens, not at all when the smallest does not fit), as a real
// Anthropic or OpenAI upstream does behind the providers' mapping. A value
// that is no effort level is ignored. Otherwise, it is always's answer.
func (m *model) foreignEffort(fields map[string]json.RawMessage, req *converse.Request, claude bool) *reasoningPlan {
	var effort string
	if m.reasoningMode == "" || isNull(fields["reasoning_effort"]) || json.Unmarshal(fields["reasoning_effort"], &effort) != nil {
		return m.always()
	}
	if !claude {
		if r, ok := novaEffort[effort]; ok {
			return &reasoningPlan{lo: r[0], hi: r[1]}
		}
		return m.always()
	}
	budget, ok := effortBudgets[effort]
	if !ok {
		return m.always()
	}
	budget = min(budget, maxTokensOf(req)-1)
	if budget < minThinkingBudget {
		return m.always()
	}
	return &reasoningPlan{lo: budget / 16, hi: budget / 8, limit: budget}
}

// always is the reasoning of a call that does not switch it on: none,
// unless the model always reasons (then at medium length).
func (m *model) always() *reasoningPlan {
	if m.reasoningMode != catalog.ReasoningAlways {
		return nil
	}
	r := plainEffort["medium"]
	return &reasoningPlan{lo: r[0], hi: r[1]}
}

// signatureKey signs the simulator's thinking blocks. It is a fixed key,
// the same in every process and on every machine: a signature only has to
// prove that the text came back unmodified from a simulator, which is what
// Bedrock's signatures prove to the client, and a fixed key keeps every
// conversation valid across restarts of serve and across replicas behind a
// load balancer, with nothing to store or share. It is not a secret: a
// client could forge a signature by reading this source, as no real client
// would bother to.
var signatureKey = []byte("modelwatch simulator thinking signature v1")

// signatureVersion is the first byte of a signature, so the format can
// change without accepting old signatures by accident.
const signatureVersion = 1

// sign returns the signature of a thinking block's text.
func sign(text string) string {
	mac := hmac.New(sha256.New, signatureKey)
	mac.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(mac.Sum([]byte{signatureVersion}))
}

// validSignature reports whether sig is the simulator's signature of text.
func validSignature(text, sig string) bool {
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	want, _ := base64.StdEncoding.DecodeString(sign(text))
	return hmac.Equal(got, want)
}

// checkSignatures checks the reasoning blocks a Claude conversation sends
// back: each thinking block needs its signature, and the signature must be
// the one the simulator gave the text. Redacted thinking is accepted as
// it is: it is opaque, and the simulator never produces any, so it came
// from a real Claude whose encryption the simulator cannot check.
func checkSignatures(req *converse.Request) error {
	for i := range req.Messages {
		msg := &req.Messages[i]
		for j := range msg.Content {
			rc := msg.Content[j].ReasoningContent
			if rc == nil || rc.ReasoningText == nil {
				continue
			}
			if rc.ReasoningText.Signature == "" {
				return modelError("messages.%d.content.%d.thinking.signature: Field required", i, j)
			}
			if !validSignature(rc.ReasoningText.Text, rc.ReasoningText.Signature) {
				return modelError("messages.%d.content.%d: Invalid signature in thinking block", i, j)
			}
		}
	}
	return nil
}

// reasoningOpeners begin reasoning text.
var reasoningOpeners = [...]string{
	"Let me think about what is being asked here.",
	"The user wants an answer, so I should work it out step by step.",
	"First, I need to understand the question.",
	"Let me break this down before I answer.",
}

// block plans the reasoning block: its natural length drawn from
// the plan's range, within its limit and the output budget. It returns the
// block and its tokens.
func (rp *reasoningPlan) block(h uint64, budget int) planBlock {
	r := newPRNG(h ^ streamReasoning)
	target := r.between(max(rp.lo, 1), max(rp.hi, rp.lo, 1))
	if rp.limit > 0 {
		target = min(target, rp.limit)
	}
	target = min(target, budget)
	if rp.style == styleRedacted {
		// The text is hidden; the tokens were spent all the same.
		return planBlock{text: novaRedacted, ends: []int32{int32(len(novaRedacted))}, tokens: target,
			reasoning: true, hidden: max(target-1, 0)}
	}
	prefix := reasoningOpeners[r.intn(len(reasoningOpeners))]
	text := prefix
	if c := CountTokens(prefix); c < target {
		text = generate(&r, prefix, target-c)
	}
	ends := appendEnds(nil, text)
	if len(ends) > target {
		ends = ends[:target]
		text = text[:lastEnd(ends)]
	}
	b := planBlock{text: text, ends: ends, tokens: len(ends), reasoning: true}
	if rp.style == styleSigned {
		b.signature = sign(text)
	}
	return b
}
