package invokebody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleLlama rebuilds the InvokeModel body from Llama stream chunks,
// checking the prompt count is sent once, the running count never falls
// and the stop reason comes last.
func assembleLlama(t *testing.T, chunks []string) []byte {
	t.Helper()
	var (
		text   strings.Builder
		prompt *int
		out    llamaResponse
	)
	for i, c := range chunks {
		var ch struct {
			Generation string  `json:"generation"`
			Prompt     *int    `json:"prompt_token_count"`
			Generated  *int    `json:"generation_token_count"`
			StopReason *string `json:"stop_reason"`
		}
		if err := json.Unmarshal([]byte(c), &ch); err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		text.WriteString(ch.Generation)
		if ch.Prompt != nil {
			if prompt != nil {
				t.Errorf("prompt_token_count sent twice")
			}
			prompt = ch.Prompt
		}
		last := i == len(chunks)-1
		// The final count is the true one; the running counts before it
		// are one per delta.
		if ch.Generated == nil || (!last && *ch.Generated < out.GenerationTokenCount) {
			t.Errorf("chunk %s: generation_token_count must be a running count", c)
		} else {
			out.GenerationTokenCount = *ch.Generated
		}
		if last != (ch.StopReason != nil) {
			t.Errorf("chunk %d of %d: %s: stop_reason belongs on the last chunk only", i+1, len(chunks), c)
		} else if last {
			out.StopReason = *ch.StopReason
		}
	}
	if prompt == nil {
		t.Fatalf("stream lacks prompt_token_count: %v", chunks)
	}
	out.Generation, out.PromptTokenCount = text.String(), *prompt
	b, err := marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLlamaStream(t *testing.T) {
	chunk := func(text, prompt, generated, stop string) string {
		return `{"generation":` + text + `,"prompt_token_count":` + prompt + `,"generation_token_count":` + generated + `,"stop_reason":` + stop + `}`
	}
	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"stop", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 10, 11, "\n\nHello <world>")), 6), []string{
			chunk(`"\n\nHell"`, "10", "1", "null"),
			chunk(`"o <wor"`, "null", "2", "null"),
			chunk(`"ld>"`, "null", "3", "null"),
			chunk(`""`, "null", "11", `"stop"`),
		}},
		{"length", converse.Events(textResponse(converse.StopMaxTokens, 13, 8, "One, two,")), []string{
			chunk(`"One, two,"`, "13", "1", "null"),
			chunk(`""`, "null", "8", `"length"`),
		}},
		{"stop sequence and empty answer", converse.Events(textResponse(converse.StopSequence, 4, 0, "")), []string{
			chunk(`""`, "4", "0", `"stop"`),
		}},
		{"input tokens known only at the end", unknownInput(converse.Events(textResponse(converse.StopEndTurn, 7, 1, "Hi"))), []string{
			chunk(`"Hi"`, "null", "1", "null"),
			chunk(`""`, "7", "1", `"stop"`),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeStream(t, Llama, c.evs), c.want...)
		})
	}
}

// TestLlamaStreamCountLimit checks the running count stops at max_gen_len
// when an upstream splits tokens over several deltas.
func TestLlamaStreamCountLimit(t *testing.T) {
	limit := 2
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{MaxTokens: &limit}}
	enc := llamaCodec{}.NewStreamEncoder(req, streamMeta)
	evs := splitDeltas(converse.Events(textResponse(converse.StopMaxTokens, 3, 2, "abcd")), 1)
	var got []string
	for i := range evs {
		chunks, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			got = append(got, string(c))
		}
	}
	wantChunks(t, got,
		`{"generation":"a","prompt_token_count":3,"generation_token_count":1,"stop_reason":null}`,
		`{"generation":"b","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}`,
		`{"generation":"c","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}`,
		`{"generation":"d","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}`,
		`{"generation":"","prompt_token_count":null,"generation_token_count":2,"stop_reason":"length"}`,
	)
}
