package invokebody

import (
	"encoding/json"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Mistral AI text completion (7B, Mixtral, Large, Small): a raw prompt,
// usually in Mistral's [INST] instruction format.

var mistralSchema = object(props{
	"prompt":      str().length(1, 0).nonBlank(),
	"max_tokens":  integer().atLeast(1).upToModelMax(),
	"stop":        array(str()).count(0, 10),
	"temperature": number().between(0, 1),
	"top_p":       number().between(0, 1),
	"top_k":       integer().between(1, 200),
}, "prompt")

// mistralDefaultMax is Mistral 7B's documented max_tokens default.
const mistralDefaultMax = 512

type mistralRequest struct {
	Prompt      string          `json:"prompt"`
	MaxTokens   *int            `json:"max_tokens"`
	Stop        []string        `json:"stop"`
	Temperature *float64        `json:"temperature"`
	TopP        *float64        `json:"top_p"`
	TopK        json.RawMessage `json:"top_k"`
}

type mistralCodec struct{}

// DecodeChat implements ChatCodec.
func (mistralCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in mistralRequest
	if err := decodeChecked(body, mistralSchema, m, &in); err != nil {
		return nil, err
	}
	req := &converse.Request{InferenceConfig: promptInference(m, mistralDefaultMax, in.MaxTokens, in.Temperature, in.TopP, in.Stop)}
	var extra fields
	extra.add("top_k", in.TopK)
	req.AdditionalModelRequestFields = extra.raw()
	// Mistral has no system role; a system prompt is part of the first [INST].
	var ok bool
	if _, req.Messages, ok = fromTurns(parseMistral(in.Prompt)); !ok {
		req.Messages = []converse.Message{textMessage(converse.RoleUser, in.Prompt)}
	}
	return req, nil
}

// Mistral instruction-format tokens.
const (
	mistralBOS      = "<s>"
	mistralEOS      = "</s>"
	mistralInst     = "[INST]"
	mistralInstStop = "[/INST]"
)

// parseMistral splits "<s>[INST] q [/INST] a</s>[INST] q2 [/INST]" into
// turns; it returns nil when the prompt does not follow the format. Text
// after the last [/INST] is an assistant prefill.
func parseMistral(prompt string) []turn {
	var turns []turn
	s := prompt
	for {
		s = trimLeftSpace(s)
		s = trimLeftSpace(strings.TrimPrefix(s, mistralBOS))
		if s == "" {
			return turns
		}
		rest, ok := strings.CutPrefix(s, mistralInst)
		if !ok {
			return nil
		}
		user, rest, ok := strings.Cut(rest, mistralInstStop)
		if !ok {
			return nil
		}
		answer := rest
		s = ""
		end, next := strings.Index(rest, mistralEOS), strings.Index(rest, mistralInst)
		switch {
		case end >= 0 && (next < 0 || end < next):
			answer, s = rest[:end], rest[end+len(mistralEOS):]
		case next >= 0:
			answer, s = rest[:next], rest[next:]
		}
		turns = append(turns, turn{converse.RoleUser, strings.TrimSpace(user)}, turn{converse.RoleAssistant, strings.TrimSpace(answer)})
	}
}

var mistralStops = stopTable{
	converse.StopMaxTokens: "length",
	"":                     "stop",
}

type mistralResponse struct {
	Outputs []mistralOutput `json:"outputs"`
}

type mistralOutput struct {
	Text       string `json:"text"`
	StopReason string `json:"stop_reason"`
}

// EncodeChat implements ChatCodec.
func (mistralCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	return marshal(mistralResponse{Outputs: []mistralOutput{{
		Text:       resp.Text(),
		StopReason: mistralStops.native(resp.StopReason),
	}}})
}

// Streaming: each chunk is {"outputs":[{"text":<new text>,"stop_reason":null}]},
// the last with its stop_reason and "amazon-bedrock-invocationMetrics". The chunk encoder is in mistral_stream.go.
