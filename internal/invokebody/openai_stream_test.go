package invokebody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// encodeOpenAI feeds evs through a new encoder with the fixed clock and
// returns the chunks; each must be a JSON object.
func encodeOpenAI(t testing.TB, evs []converse.StreamEvent) []string {
	t.Helper()
	enc := openaiFixed.NewStreamEncoder(nil, openaiMeta)
	var out []string
	for i := range evs {
		chunks, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatalf("Encode(%s): %v", evs[i].Name(), err)
		}
		for _, c := range chunks {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(c, &obj); err != nil {
				t.Fatalf("chunk %s is not a JSON object: %v", c, err)
			}
			out = append(out, string(c))
		}
	}
	return out
}

// assembleOpenAI rebuilds the chat completion from its chunks, the way
// OpenAI's SDKs do, checking that every chunk names the same completion and
// that the finish reason and the usage come on the last chunk only.
func assembleOpenAI(t *testing.T, chunks []string) []byte {
	t.Helper()
	var (
		out     openai.ChatCompletion
		content strings.Builder
		calls   []openai.ToolCall
	)
	for i, c := range chunks {
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal([]byte(c), &ch); err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		if ch.Object != openai.ObjectChatCompletionChunk || len(ch.Choices) != 1 || ch.Choices[0].Index != 0 {
			t.Fatalf("chunk %s: want a chat.completion.chunk with one choice", c)
		}
		if i == 0 {
			out.ID, out.Created, out.Model = ch.ID, ch.Created, ch.Model
		} else if ch.ID != out.ID || ch.Created != out.Created || ch.Model != out.Model {
			t.Errorf("chunk %s names another completion than the first", c)
		}
		last := i == len(chunks)-1
		choice := ch.Choices[0]
		if last != (choice.FinishReason != nil) || last != (ch.Usage != nil) {
			t.Errorf("chunk %d of %d: %s: the finish reason and the usage belong on the last chunk only", i+1, len(chunks), c)
		}
		if last && choice.FinishReason != nil {
			out.Choices = []openai.Choice{{FinishReason: *choice.FinishReason}}
			out.Usage = ch.Usage
		}
		if choice.Delta.ReasoningContent != nil || choice.Delta.Reasoning != nil {
			t.Errorf("chunk %s: reasoning belongs in the content", c)
		}
		if d := choice.Delta.Content; d != nil {
			content.WriteString(*d)
		}
		for _, tc := range choice.Delta.ToolCalls {
			switch {
			case tc.Index == len(calls) && tc.ID != "" && tc.Function != nil:
				calls = append(calls, openai.ToolCall{ID: tc.ID, Type: tc.Type, Function: openai.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
			case tc.Index < len(calls) && tc.ID == "" && tc.Function != nil:
				calls[tc.Index].Function.Arguments += tc.Function.Arguments
			default:
				t.Fatalf("chunk %s: unexpected tool call delta", c)
			}
		}
	}
	if len(out.Choices) == 0 {
		t.Fatalf("no chunk with a finish reason:\n  %s", strings.Join(chunks, "\n  "))
	}
	msg := openai.ResponseMessage{Role: openai.RoleAssistant, ToolCalls: calls}
	if s := content.String(); s != "" || len(calls) == 0 {
		msg.Content = &s
	}
	out.Object = openai.ObjectChatCompletion
	out.Choices[0].Message = msg
	b, err := marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenAIStream(t *testing.T) {
	const head = `{"id":"chatcmpl-b4d3c5a0000040008000000000000001","object":"chat.completion.chunk","created":1754400000,"model":"openai.gpt-oss-120b-1:0","choices":[{"index":0,"delta":`
	chunk := func(delta string) string { return head + delta + `,"finish_reason":null,"logprobs":null}]}` }
	last := func(finish, usage string) string {
		return head + `{},"finish_reason":"` + finish + `","logprobs":null}],"usage":` + usage + `}`
	}
	role := chunk(`{"role":"assistant","content":""}`)
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}}
	reasoning := func(text string) converse.ContentBlock {
		return converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: text, Signature: "sig"}}}
	}
	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"text", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 5, 3, "Bonjour <à> \"vous\"")), 8), []string{
			role,
			chunk(`{"content":"Bonjour "}`),
			chunk(`{"content":"<à> \"vo"}`),
			chunk(`{"content":"us\""}`),
			last("stop", `{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"max tokens", converse.Events(textResponse(converse.StopMaxTokens, 12, 2, "Once upon")), []string{
			role,
			chunk(`{"content":"Once upon"}`),
			last("length", `{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"tool call", splitDeltas(converse.Events(response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking."), toolUse)), 9), []string{
			role,
			chunk(`{"content":"Checking."}`),
			chunk(`{"tool_calls":[{"index":0,"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\""}}]}`),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"Paris\"}"}}]}`),
			last("tool_calls", `{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"reasoning in tags before the text", converse.Events(response(converse.StopEndTurn, 8, 9, reasoning("Think."), reasoning(" More."), converse.TextBlock("Hi!"))), []string{
			role,
			chunk(`{"content":"<reasoning>Think."}`),
			chunk(`{"content":" More."}`),
			chunk(`{"content":"</reasoning>"}`),
			chunk(`{"content":"Hi!"}`),
			last("stop", `{"prompt_tokens":8,"completion_tokens":9,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"reasoning only", converse.Events(response(converse.StopMaxTokens, 8, 9, reasoning("Hmm"))), []string{
			role,
			chunk(`{"content":"<reasoning>Hmm"}`),
			chunk(`{"content":"</reasoning>"}`),
			last("length", `{"prompt_tokens":8,"completion_tokens":9,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"no output", converse.Events(textResponse(converse.StopEndTurn, 3, 0)), []string{
			role,
			last("stop", `{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
		{"metadata alone", []converse.StreamEvent{{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 2}}}}, []string{
			role,
			last("stop", `{"prompt_tokens":2,"completion_tokens":0,"total_tokens":2,"prompt_tokens_details":{"cached_tokens":0}}`),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeOpenAI(t, c.evs), c.want...)
		})
	}
}

// TestOpenAIStreamAssemblesToBody checks that a response's stream says
// what its body says: the same content (reasoning included), tool calls,
// finish reason, usage, ID, model and creation time.
func TestOpenAIStreamAssemblesToBody(t *testing.T) {
	toolUse := func(id string) converse.ContentBlock {
		return converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: id, Name: "get_weather", Input: json.RawMessage(`{"city":"Paris","unit":"C"}`)}}
	}
	reasoning := converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "Weather: use the tool <now>."}}}
	cached := textResponse(converse.StopEndTurn, 10, 2, "Yes.")
	cached.Usage.CacheReadInputTokens = 90
	resps := map[string]*converse.Response{
		"text":                     textResponse(converse.StopEndTurn, 12, 6, "Hello <there> & \"you\"\n\té 日本 🎉 \u2028"),
		"two blocks":               textResponse(converse.StopEndTurn, 5, 9, "First part. ", "Second part."),
		"max_tokens":               textResponse(converse.StopMaxTokens, 3, 2, "Once upon"),
		"stop_sequence":            textResponse(converse.StopSequence, 9, 7, "1, 2, 3"),
		"empty":                    textResponse(converse.StopEndTurn, 4, 0),
		"content filter":           textResponse(converse.StopContentFiltered, 4, 1, "I"),
		"cached":                   cached,
		"tool use":                 response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking the weather."), toolUse("tooluse_1")),
		"tool use alone":           response(converse.StopToolUse, 40, 20, toolUse("tooluse_1")),
		"two tool uses":            response(converse.StopToolUse, 40, 20, toolUse("tooluse_1"), toolUse("tooluse_2")),
		"reasoning":                response(converse.StopEndTurn, 8, 30, reasoning, converse.TextBlock("It is sunny.")),
		"reasoning and a tool use": response(converse.StopToolUse, 8, 30, reasoning, toolUse("tooluse_1")),
	}
	for name, resp := range resps {
		want, err := openaiFixed.EncodeChat(nil, resp, openaiMeta)
		if err != nil {
			t.Fatal(err)
		}
		for _, split := range []int{1, 4, 1 << 20} {
			for _, unknown := range []bool{false, true} {
				evs := splitDeltas(converse.Events(resp), split)
				if unknown {
					evs = unknownInput(evs)
				}
				chunks := encodeOpenAI(t, evs)
				if got := assembleOpenAI(t, chunks); !sameJSON(t, got, string(want)) {
					t.Errorf("%s (split %d, input unknown at start %v): assembled stream differs from EncodeChat\n got: %s\nwant: %s\nchunks:\n  %s",
						name, split, unknown, got, want, strings.Join(chunks, "\n  "))
				}
			}
		}
	}
}

// TestOpenAIStreamTextChunkBytes checks that the text chunks built by
// appending are the bytes marshal writes.
func TestOpenAIStreamTextChunkBytes(t *testing.T) {
	for _, meta := range []Meta{openaiMeta, {RequestID: "", ModelID: `odd "model" <id>`}} {
		s := openaiFixed.NewStreamEncoder(nil, meta).(*openaiStream)
		ids := openaiFixed.ids(meta)
		for _, text := range []string{"", "plain", `quote " \ <html> & `, "\x00\x1f\n\t", "é 日本 🎉 \u2028", "bad \xff"} {
			c := openai.ChatCompletionChunk{ID: ids.CompletionID, Object: openai.ObjectChatCompletionChunk, Created: ids.Created, Model: ids.Model,
				Choices: []openai.ChunkChoice{{Delta: openai.Delta{Content: &text}}}}
			got, err := s.render(&c)
			if err != nil {
				t.Fatal(err)
			}
			want, err := marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("text chunk %q:\n got: %s\nwant: %s", text, got, want)
			}
		}
	}
}

// BenchmarkOpenAIStreamTextDelta measures the per-token cost: one text
// delta.
func BenchmarkOpenAIStreamTextDelta(b *testing.B) {
	text := " token"
	ev := &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{Text: &text}}}
	enc := openaiFixed.NewStreamEncoder(nil, openaiMeta)
	if _, err := enc.Encode(&converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}
