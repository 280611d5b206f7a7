package invokebody

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// DeepSeek-R1 (deepseek.r1-v1:0) and DeepSeek-V3.1 (deepseek.v3-v1:0): a
// raw prompt, usually in DeepSeek's chat template, answered with choices
// of text.
//
// Sources: the Bedrock user guide, "DeepSeek models"
// (model-parameters-deepseek: prompt; temperature and top_p at most 1;
// max_tokens 1 to 32,768; stop with at most 10 entries; the response
// {"choices":[{"text","stop_reason"}]} with stop_reason "stop" or
// "length"); AWS's code examples, whose prompt is
// "<｜begin▁of▁sentence｜><｜User｜>{prompt}<｜Assistant｜><think>\n";
// DeepSeek-R1's and V3.1's tokenizer chat templates (system text right
// after the begin token, then <｜User｜>/<｜Assistant｜> turns, an
// assistant turn closed by <｜end▁of▁sentence｜>, the reasoning of earlier
// answers dropped); langchain-aws for the stream chunks (spec digest
// model-families-2026.md §5).
//
// Decisions:
//
//   - Both models take the same body (the digest marks V3.1's as
//     unverified; langchain-aws sends it the same way). max_tokens is
//     held to the catalog's maxOutputTokens: 32,768 for R1, the AWS page's
//     ceiling; V3.1's own limit for V3.1.
//   - The prompt is parsed back into a system prompt and turns: text
//     before the first <｜User｜> is the system prompt; an assistant
//     turn's reasoning (anything up to its </think>) is dropped, as the
//     template drops it; a trailing "<think>" after the last
//     <｜Assistant｜> is the generation prompt, not a prefill. The ASCII
//     spellings some clients write (<|User|>, <|Assistant|>,
//     <|begin_of_sentence|>, <|end_of_sentence|>) are read the same way.
//     A prompt that does not follow the template is one user message.
//   - Reasoning is inline, as the model writes it: the response text is
//     the reasoning, "\n</think>\n\n" and the answer, when the neutral
//     response has reasoning (R1 always has; modelwatch's catalog marks it
//     reasoning: always). The opening <think> is not repeated: the
//     documented prompt ends with it. A response cut short while reasoning
//     (stop_reason "length") has no </think>, as the model's would not.
//     Redacted reasoning has no text and is left out.
//   - Bedrock serves R1 only through its inference profiles
//     (us.deepseek.r1-v1:0) and refuses the base ID on demand. modelwatch
//     serves the base ID too, as it serves every catalog model in its own
//     region: the catalog has no profile-only models, and refusing here
//     would need the profile, which a codec is not told.

var deepseekSchema = object(props{
	"prompt":      str().length(1, 0).nonBlank(),
	"temperature": number().between(0, 1),
	"top_p":       number().between(0, 1),
	"max_tokens":  integer().atLeast(1).upToModelMax(),
	"stop":        array(str()).count(0, 10),
}, "prompt")

// deepseekDefaultMax is the output budget of a request that sets none and
// whose model has no catalog default: the AWS page documents none, and
// this is the length up to which DeepSeek says R1's quality holds.
const deepseekDefaultMax = 8192

type deepseekRequest struct {
	Prompt      string   `json:"prompt"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	MaxTokens   *int     `json:"max_tokens"`
	Stop        []string `json:"stop"`
}

type deepseekCodec struct{}

var (
	_ ChatCodec   = deepseekCodec{}
	_ StreamCodec = deepseekCodec{}
)

// DecodeChat implements ChatCodec.
func (deepseekCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in deepseekRequest
	if err := decodeChecked(body, deepseekSchema, m, &in); err != nil {
		return nil, err
	}
	req := &converse.Request{InferenceConfig: promptInference(m, deepseekDefaultMax, in.MaxTokens, in.Temperature, in.TopP, in.Stop)}
	var ok bool
	if req.System, req.Messages, ok = fromTurns(parseDeepSeek(in.Prompt)); !ok {
		req.System, req.Messages = nil, []converse.Message{textMessage(converse.RoleUser, in.Prompt)}
	}
	return req, nil
}

// DeepSeek chat template tokens (the bars are U+FF5C, the spaces U+2581).
const (
	deepseekBOS       = "<｜begin▁of▁sentence｜>"
	deepseekEOS       = "<｜end▁of▁sentence｜>"
	deepseekUser      = "<｜User｜>"
	deepseekAssistant = "<｜Assistant｜>"
	deepseekThink     = "<think>"
	deepseekThinkEnd  = "</think>"
)

// deepseekASCII maps the ASCII spellings of the template tokens to the
// real ones.
var deepseekASCII = strings.NewReplacer(
	"<|begin_of_sentence|>", deepseekBOS, "<|begin▁of▁sentence|>", deepseekBOS,
	"<|end_of_sentence|>", deepseekEOS, "<|end▁of▁sentence|>", deepseekEOS,
	"<|User|>", deepseekUser, "<|Assistant|>", deepseekAssistant,
)

// parseDeepSeek splits a DeepSeek chat-template prompt into turns; it
// returns nil when the prompt has no user turn.
func parseDeepSeek(prompt string) []turn {
	s := deepseekASCII.Replace(prompt)
	s = strings.TrimPrefix(trimLeftSpace(s), deepseekBOS)
	system, rest, ok := strings.Cut(s, deepseekUser)
	if !ok {
		return nil
	}
	turns := []turn{{"system", strings.TrimSpace(system)}}
	// Each piece is one user turn, optionally followed by the answer.
	for _, piece := range strings.Split(rest, deepseekUser) {
		user, answer, answered := strings.Cut(piece, deepseekAssistant)
		if strings.Contains(answer, deepseekAssistant) {
			return nil // two assistant turns in a row: not the template
		}
		turns = append(turns, turn{converse.RoleUser, strings.TrimSpace(strings.ReplaceAll(user, deepseekEOS, ""))})
		if !answered {
			continue
		}
		answer, _, _ = strings.Cut(answer, deepseekEOS)
		// The reasoning of an earlier answer (or the generation prompt's
		// "<think>") is not part of the conversation.
		if _, after, found := strings.Cut(answer, deepseekThinkEnd); found {
			answer = after
		} else if strings.HasPrefix(trimLeftSpace(answer), deepseekThink) {
			answer = ""
		}
		turns = append(turns, turn{converse.RoleAssistant, strings.TrimSpace(answer)})
	}
	return turns
}

var deepseekStops = stopTable{
	converse.StopMaxTokens: "length",
	"":                     "stop",
}

type deepseekResponse struct {
	Choices []deepseekChoice `json:"choices"`
}

type deepseekChoice struct {
	Text       string `json:"text"`
	StopReason string `json:"stop_reason"`
}

// deepseekReasoningEnd closes the inline reasoning in front of the answer.
const deepseekReasoningEnd = "\n" + deepseekThinkEnd + "\n\n"

// EncodeChat implements ChatCodec.
func (deepseekCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	var reasoning, answer strings.Builder
	if msg := resp.Output.Message; msg != nil {
		for _, b := range msg.Content {
			switch {
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
			case b.Text != nil:
				answer.WriteString(*b.Text)
			}
		}
	}
	text := answer.String()
	if reasoning.Len() > 0 {
		text = reasoning.String()
		if answer.Len() > 0 || resp.StopReason != converse.StopMaxTokens {
			text += deepseekReasoningEnd + answer.String()
		}
	}
	return marshal(deepseekResponse{Choices: []deepseekChoice{{Text: text, StopReason: deepseekStops.native(resp.StopReason)}}})
}

// Streaming: each chunk is {"choices":[{"text":<new text>,"stop_reason":null}]},
// the last with its stop_reason and "amazon-bedrock-invocationMetrics". The
// chunk encoder is in deepseek_stream.go.
