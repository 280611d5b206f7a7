package family

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleMistral rebuilds the InvokeModel body from Mistral stream chunks,
// checking the stop reason comes on the last chunk only.
func assembleMistral(t *testing.T, chunks []string) []byte {
	t.Helper()
	var (
		text   strings.Builder
		reason string
	)
	for i, c := range chunks {
		var ch struct {
			Outputs []struct {
				Text       string  `json:"text"`
				StopReason *string `json:"stop_reason"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(c), &ch); err != nil || len(ch.Outputs) != 1 {
			t.Fatalf("chunk %s: want one output (%v)", c, err)
		}
		o := ch.Outputs[0]
		text.WriteString(o.Text)
		if last := i == len(chunks)-1; last != (o.StopReason != nil) {
			t.Errorf("chunk %d of %d: %s: stop_reason belongs on the last chunk only", i+1, len(chunks), c)
		} else if last {
			reason = *o.StopReason
		}
	}
	b, err := marshal(mistralResponse{Outputs: []mistralOutput{{Text: text.String(), StopReason: reason}}})
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
