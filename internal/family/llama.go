package family

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Meta Llama (2, 3.x, 4): a raw prompt, usually in the Llama 3 chat template.

var llamaSchema = object(props{
	"prompt":      str().length(1, 0).nonBlank(),
	"max_gen_len": integer().atLeast(1).upToModelMax(),
	"temperature": number().between(0, 1),
	"top_p":       number().between(0, 1),
	// Llama 3.2 vision: base64 images, which the neutral form does not carry.
	"images": array(str()),
}, "prompt")

// llamaDefaultMax is Llama's documented max_gen_len default.
const llamaDefaultMax = 512

type llamaRequest struct {
	Prompt      string   `json:"prompt"`
	MaxGenLen   *int     `json:"max_gen_len"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
}

type llamaCodec struct{}

// DecodeChat implements ChatCodec.
func (llamaCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in llamaRequest
	if err := decodeChecked(body, llamaSchema, m, &in); err != nil {
		return nil, err
	}
	maxTokens := defaultMax(m, llamaDefaultMax)
	if in.MaxGenLen != nil {
		maxTokens = *in.MaxGenLen
	}
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{
		MaxTokens: &maxTokens, Temperature: in.Temperature, TopP: in.TopP,
	}}
	var ok bool
	if req.System, req.Messages, ok = fromTurns(parseLlama3(in.Prompt)); !ok {
		req.System, req.Messages = nil, []converse.Message{textMessage(converse.RoleUser, in.Prompt)}
	}
	return req, nil
}

// Llama 3 chat template tokens.
const (
	llamaBegin       = "<|begin_of_text|>"
	llamaStartHeader = "<|start_header_id|>"
	llamaEndHeader   = "<|end_header_id|>"
	llamaEndOfTurn   = "<|eot_id|>"
)

// parseLlama3 splits a Llama 3 chat-template prompt into turns; it returns
// nil when the prompt does not follow the template. The trailing empty
// assistant header (the generation prompt) becomes an empty turn, which
// fromTurns drops.
func parseLlama3(prompt string) []turn {
	s := strings.TrimPrefix(trimLeftSpace(prompt), llamaBegin)
	var turns []turn
	for s = trimLeftSpace(s); s != ""; s = trimLeftSpace(s) {
		rest, ok := strings.CutPrefix(s, llamaStartHeader)
		if !ok {
			return nil
		}
		role, rest, ok := strings.Cut(rest, llamaEndHeader)
		if !ok {
			return nil
		}
		switch role = strings.TrimSpace(role); role {
		case "system", converse.RoleUser, converse.RoleAssistant:
		case "ipython", "tool": // tool output is the user's side of the conversation
			role = converse.RoleUser
		default:
			return nil
		}
		text, after, closed := strings.Cut(rest, llamaEndOfTurn)
		if !closed {
			after = ""
		}
		turns = append(turns, turn{role, strings.TrimSpace(text)})
		s = after
	}
	return turns
}

var llamaStops = stopTable{
	converse.StopMaxTokens: "length",
	"":                     "stop",
}

type llamaResponse struct {
	Generation           string `json:"generation"`
	PromptTokenCount     int    `json:"prompt_token_count"`
	GenerationTokenCount int    `json:"generation_token_count"`
	StopReason           string `json:"stop_reason"`
}

// EncodeChat implements ChatCodec.
func (llamaCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	return marshal(llamaResponse{
		Generation:           resp.Text(),
		PromptTokenCount:     resp.Usage.InputTokens,
		GenerationTokenCount: resp.Usage.OutputTokens,
		StopReason:           llamaStops.native(resp.StopReason),
	})
}

// Streaming: each chunk has the response's keys, with "generation" the new
// text, stop_reason null until the last chunk, which adds
// "amazon-bedrock-invocationMetrics". The chunk encoder is in llama_stream.go.
