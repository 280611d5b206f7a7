package invokebody

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleTitanText rebuilds the InvokeModel body from Titan stream chunks,
// checking that each count is sent once and the end only on the last chunk.
func assembleTitanText(t *testing.T, chunks []string) []byte {
	t.Helper()
	var (
		text          strings.Builder
		input, output *int
		reason        *string
	)
	for i, c := range chunks {
		var ch struct {
			OutputText string  `json:"outputText"`
			Index      *int    `json:"index"`
			Total      *int    `json:"totalOutputTextTokenCount"`
			Reason     *string `json:"completionReason"`
			Input      *int    `json:"inputTextTokenCount"`
		}
		if err := json.Unmarshal([]byte(c), &ch); err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		if ch.Index == nil || *ch.Index != 0 {
			t.Errorf("chunk %s: index must be 0", c)
		}
		text.WriteString(ch.OutputText)
		if ch.Input != nil {
			if input != nil {
				t.Errorf("inputTextTokenCount sent twice")
			}
			input = ch.Input
		}
		last := i == len(chunks)-1
		if last != (ch.Total != nil) || last != (ch.Reason != nil) {
			t.Errorf("chunk %d of %d: %s: totals and completionReason belong on the last chunk only", i+1, len(chunks), c)
		}
		output, reason = ch.Total, ch.Reason
	}
	if input == nil || output == nil || reason == nil {
		t.Fatalf("stream lacks counts or reason: %v", chunks)
	}
	out, err := marshal(titanTextResponse{
		InputTextTokenCount: *input,
		Results:             []titanTextResult{{TokenCount: *output, OutputText: text.String(), CompletionReason: *reason}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTitanTextStream(t *testing.T) {
	chunk := func(text, total, reason, input string) string {
		return `{"outputText":` + text + `,"index":0,"totalOutputTextTokenCount":` + total + `,"completionReason":` + reason + `,"inputTextTokenCount":` + input + `}`
	}
	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"one chunk", converse.Events(textResponse(converse.StopEndTurn, 3, 13, "\nBot: Hello! <How> can I help?")), []string{
			chunk(`"\nBot: Hello! <How> can I help?"`, "13", `"FINISH"`, "3"),
		}},
		{"several chunks", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 12, 96, "It is difficult to imagine")), 10), []string{
			chunk(`"It is diff"`, "null", "null", "12"),
			chunk(`"icult to i"`, "null", "null", "null"),
			chunk(`"magine"`, "96", `"FINISH"`, "null"),
		}},
		{"length", splitDeltas(converse.Events(textResponse(converse.StopMaxTokens, 12, 128, "Once upon")), 5), []string{
			chunk(`"Once "`, "null", "null", "12"),
			chunk(`"upon"`, "128", `"LENGTH"`, "null"),
		}},
		{"stop sequence", converse.Events(textResponse(converse.StopSequence, 4, 2, "Bye")), []string{
			chunk(`"Bye"`, "2", `"STOP_CRITERIA_MET"`, "4"),
		}},
		{"content filtered", converse.Events(textResponse(converse.StopContentFiltered, 4, 0)), []string{
			chunk(`""`, "0", `"CONTENT_FILTERED"`, "4"),
		}},
		{"input tokens known only at the end", unknownInput(splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 7, 2, "abcd")), 2)), []string{
			chunk(`"ab"`, "null", "null", "null"),
			chunk(`"cd"`, "2", `"FINISH"`, "7"),
		}},
		{"tool and reasoning deltas are not Titan output", converse.Events(response(converse.StopEndTurn, 2, 3,
			converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm"}}},
			converse.TextBlock("ok"),
			converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t", Name: "f", Input: json.RawMessage(`{}`)}})), []string{
			chunk(`"ok"`, "3", `"FINISH"`, "2"),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeStream(t, TitanText, c.evs), c.want...)
		})
	}
}

// TestTitanTextStreamHoldsText checks the one-delta hold back: a delta is
// released by the next one, the last by metadata.
func TestTitanTextStreamHoldsText(t *testing.T) {
	evs := splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 1, 3, "abc")), 1)
	enc := titanTextCodec{}.NewStreamEncoder(nil, streamMeta)
	var counts []int
	for i := range evs {
		chunks, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, len(chunks))
	}
	// messageStart, "a", "b", "c", contentBlockStop, messageStop, metadata.
	if want := []int{0, 0, 1, 1, 0, 0, 1}; !slices.Equal(counts, want) {
		t.Errorf("chunks per event = %v, want %v", counts, want)
	}
}
