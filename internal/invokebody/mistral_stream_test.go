package invokebody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleCompletion joins the text of prompt-completion stream chunks
// (Mistral's outputs, DeepSeek's choices: list names the array), each
// holding one entry, checking the stop reason comes on the last chunk only.
func assembleCompletion(t *testing.T, chunks []string, list string) (text, reason string) {
	t.Helper()
	var b strings.Builder
	for i, c := range chunks {
		var ch map[string][]struct {
			Text       string  `json:"text"`
			StopReason *string `json:"stop_reason"`
		}
		if err := json.Unmarshal([]byte(c), &ch); err != nil || len(ch[list]) != 1 {
			t.Fatalf("chunk %s: want one entry in %s (%v)", c, list, err)
		}
		o := ch[list][0]
		b.WriteString(o.Text)
		if last := i == len(chunks)-1; last != (o.StopReason != nil) {
			t.Errorf("chunk %d of %d: %s: stop_reason belongs on the last chunk only", i+1, len(chunks), c)
		} else if last {
			reason = *o.StopReason
		}
	}
	return b.String(), reason
}

// assembleMistral rebuilds the InvokeModel body from Mistral stream chunks.
func assembleMistral(t *testing.T, chunks []string) []byte {
	t.Helper()
	text, reason := assembleCompletion(t, chunks, "outputs")
	b, err := marshal(mistralResponse{Outputs: []mistralOutput{{Text: text, StopReason: reason}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMistralStream(t *testing.T) {
	chunk := func(text, stop string) string {
		return `{"outputs":[{"text":` + text + `,"stop_reason":` + stop + `}]}`
	}
	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"stop", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 5, 24, " Bonjour <à> vous")), 8), []string{
			chunk(`" Bonjour"`, "null"),
			chunk(`" <à> vo"`, "null"),
			chunk(`"us"`, "null"),
			chunk(`""`, `"stop"`),
		}},
		{"length", converse.Events(textResponse(converse.StopMaxTokens, 12, 12, "Once upon a")), []string{
			chunk(`"Once upon a"`, "null"),
			chunk(`""`, `"length"`),
		}},
		{"stop sequence", converse.Events(textResponse(converse.StopSequence, 3, 1, "A")), []string{
			chunk(`"A"`, "null"),
			chunk(`""`, `"stop"`),
		}},
		{"no output", converse.Events(textResponse(converse.StopEndTurn, 3, 0)), []string{
			chunk(`""`, `"stop"`),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeStream(t, Mistral, c.evs), c.want...)
		})
	}
}
