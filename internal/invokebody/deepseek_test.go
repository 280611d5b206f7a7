package invokebody

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var (
	deepseekR1 = Model{ID: "deepseek.r1-v1:0", MaxOutputTokens: 32768, DefaultMaxTokens: 8192}
	deepseekV3 = Model{ID: "deepseek.v3-v1:0", MaxOutputTokens: 81920, DefaultMaxTokens: 8192}
)

func TestDeepSeekDecode(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"AWS example", `{"prompt":"<｜begin▁of▁sentence｜><｜User｜>Hi. In a short paragraph, explain what you can do.<｜Assistant｜><think>\n","max_tokens":512,"temperature":0.5,"top_p":0.9}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi. In a short paragraph, explain what you can do."}]}],"inferenceConfig":{"maxTokens":512,"temperature":0.5,"topP":0.9}}`},
		{"system and history, reasoning of earlier answers dropped",
			`{"prompt":"<｜begin▁of▁sentence｜>You are terse.<｜User｜>2+2?<｜Assistant｜><think>\nadd\n</think>\n\n4<｜end▁of▁sentence｜><｜User｜>Times 3?<｜Assistant｜>","stop":["\n\n",""]}`,
			`{"messages":[{"role":"user","content":[{"text":"2+2?"}]},{"role":"assistant","content":[{"text":"4"}]},{"role":"user","content":[{"text":"Times 3?"}]}],
			"system":[{"text":"You are terse."}],"inferenceConfig":{"maxTokens":8192,"stopSequences":["\n\n"]}}`},
		{"ASCII tokens and prefill", `{"prompt":"<|begin_of_sentence|><|User|>Name a colour.<|Assistant|></think>Blue"}`,
			`{"messages":[{"role":"user","content":[{"text":"Name a colour."}]},{"role":"assistant","content":[{"text":"Blue"}]}],"inferenceConfig":{"maxTokens":8192}}`},
		{"raw prompt", `{"prompt":"Write a haiku about <rain>."}`,
			`{"messages":[{"role":"user","content":[{"text":"Write a haiku about <rain>."}]}],"inferenceConfig":{"maxTokens":8192}}`},
		{"two assistant turns stay raw", `{"prompt":"<｜User｜>a<｜Assistant｜>b<｜Assistant｜>c"}`,
			`{"messages":[{"role":"user","content":[{"text":"<｜User｜>a<｜Assistant｜>b<｜Assistant｜>c"}]}],"inferenceConfig":{"maxTokens":8192}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := deepseekCodec{}.DecodeChat([]byte(c.body), deepseekR1)
			wantRequest(t, req, err, c.want)
		})
	}
	// V3.1 takes the same body, up to its own output limit.
	req, err := deepseekCodec{}.DecodeChat([]byte(`{"prompt":"Hi","max_tokens":40000}`), deepseekV3)
	wantRequest(t, req, err, `{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":40000}}`)
}

func TestDeepSeekDecodeErrors(t *testing.T) {
	elevenStops := `["a","b","c","d","e","f","g","h","i","j","k"]`
	for _, c := range []struct{ name, body, want string }{
		{"required key", `{"messages":[{"role":"user","content":"Hi"}]}`,
			malformedMsg("#: required key [prompt] not found", "#: extraneous key [messages] is not permitted")},
		{"over 32768", `{"prompt":"Hi","max_tokens":32769}`, malformedMsg("#/max_tokens: 32769 is not less or equal to 32768")},
		{"zero", `{"prompt":"Hi","max_tokens":0}`, malformedMsg("#/max_tokens: 0 is not greater or equal to 1")},
		{"temperature and top_p", `{"prompt":"Hi","temperature":1.2,"top_p":2}`,
			malformedMsg("#/temperature: 1.2 is not less or equal to 1", "#/top_p: 2 is not less or equal to 1")},
		{"too many stops", `{"prompt":"Hi","stop":` + elevenStops + `}`, malformedMsg("#/stop: expected maximum item count: 10, found: 11")},
		{"blank", `{"prompt":"  "}`, malformedMsg("#/prompt: string must contain non-whitespace characters")},
		{"not an object", `["Hi"]`, malformedMsg("A JSONObject text must begin with '{' at 0 [character 1 line 1]")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := deepseekCodec{}.DecodeChat([]byte(c.body), deepseekR1)
			wantValidation(t, err, c.want)
		})
	}
}

func TestDeepSeekEncode(t *testing.T) {
	think := func(s string) converse.ContentBlock {
		return converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: s}}}
	}
	redacted := converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("x")}}
	for _, c := range []struct {
		name string
		resp *converse.Response
		want string
	}{
		{"answer", textResponse(converse.StopEndTurn, 12, 4, "Hello ", "<there>"),
			`{"choices":[{"text":"Hello <there>","stop_reason":"stop"}]}`},
		{"reasoning then answer", response(converse.StopEndTurn, 12, 9, think("The user says hi."), converse.TextBlock("Hello!")),
			`{"choices":[{"text":"The user says hi.\n</think>\n\nHello!","stop_reason":"stop"}]}`},
		{"cut short while reasoning", response(converse.StopMaxTokens, 12, 3, think("The user")),
			`{"choices":[{"text":"The user","stop_reason":"length"}]}`},
		{"cut short while answering", response(converse.StopMaxTokens, 12, 3, think("Hm."), redacted, converse.TextBlock("Hel")),
			`{"choices":[{"text":"Hm.\n</think>\n\nHel","stop_reason":"length"}]}`},
		{"stop sequence", textResponse(converse.StopSequence, 1, 1, "A"), `{"choices":[{"text":"A","stop_reason":"stop"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := deepseekCodec{}.EncodeChat(nil, c.resp, Meta{})
			if err != nil || string(got) != c.want {
				t.Errorf("\n got: %s (%v)\nwant: %s", got, err, c.want)
			}
		})
	}
}

// assembleDeepSeek rebuilds the InvokeModel body from DeepSeek stream
// chunks.
func assembleDeepSeek(t *testing.T, chunks []string) []byte {
	t.Helper()
	text, reason := assembleCompletion(t, chunks, "choices")
	b, err := marshal(deepseekResponse{Choices: []deepseekChoice{{Text: text, StopReason: reason}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeepSeekStream(t *testing.T) {
	chunk := func(text, stop string) string {
		return `{"choices":[{"text":` + text + `,"stop_reason":` + stop + `}]}`
	}
	resp := response(converse.StopEndTurn, 12, 9,
		converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "Greeting.", Signature: "sig"}}},
		converse.TextBlock("Hello!"))
	evs := converse.Events(resp)
	// Split the reasoning delta in two, as a streaming upstream sends it.
	var split []converse.StreamEvent
	for _, ev := range evs {
		if d := ev.ContentBlockDelta; d != nil && d.Delta.ReasoningContent != nil {
			a, b := "Greet", "ing."
			split = append(split,
				converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &a}}}},
				converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &b}}}},
				converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: d.Delta.ReasoningContent.Signature}}}})
			continue
		}
		split = append(split, ev)
	}
	wantChunks(t, encodeStream(t, DeepSeek, split),
		chunk(`"Greet"`, "null"), chunk(`"ing."`, "null"), chunk(`"\n</think>\n\nHello!"`, "null"), chunk(`""`, `"stop"`))
}

func FuzzDeepSeek(f *testing.F) {
	fuzzChat(f, deepseekCodec{}, deepseekR1, nil,
		`{"prompt":"<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n","max_tokens":512,"temperature":0.5,"top_p":0.9,"stop":["x"]}`,
		`{"prompt":"S<｜User｜>a<｜Assistant｜>b</think>c<｜end▁of▁sentence｜><｜User｜>d"}`,
		`{"prompt":"<|User|> <|Assistant|>","max_tokens":40000}`,
		`{"prompt":"<｜User｜><｜User｜>"}`,
	)
}
