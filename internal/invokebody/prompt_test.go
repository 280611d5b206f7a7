package invokebody

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var (
	llama3  = Model{ID: "meta.llama3-8b-instruct-v1:0", MaxOutputTokens: 2048, DefaultMaxTokens: 512}
	mistral = Model{ID: "mistral.mistral-7b-instruct-v0:2", MaxOutputTokens: 8192, DefaultMaxTokens: 512}
)

// llamaPrompt renders a conversation in the Llama 3 chat template, ending
// with the assistant header as clients do.
func llamaPrompt(system string, msgs []converse.Message) string {
	var b strings.Builder
	b.WriteString(llamaBegin)
	turn := func(role, text string) {
		b.WriteString(llamaStartHeader + role + llamaEndHeader + "\n\n" + text + llamaEndOfTurn)
	}
	if system != "" {
		turn("system", system)
	}
	for _, m := range msgs {
		for _, c := range m.Content {
			turn(m.Role, *c.Text)
		}
	}
	b.WriteString(llamaStartHeader + "assistant" + llamaEndHeader + "\n\n")
	return b.String()
}

// mistralPrompt renders alternating user/assistant messages in Mistral's
// instruction format.
func mistralPrompt(msgs []converse.Message) string {
	var b strings.Builder
	b.WriteString(mistralBOS)
	for _, m := range msgs {
		text := *m.Content[0].Text
		if m.Role == converse.RoleUser {
			b.WriteString(mistralInst + " " + text + " " + mistralInstStop)
		} else {
			b.WriteString(" " + text + mistralEOS)
		}
	}
	return b.String()
}

func conversation(texts ...string) []converse.Message {
	var msgs []converse.Message
	for i, s := range texts {
		role := converse.RoleUser
		if i%2 == 1 {
			role = converse.RoleAssistant
		}
		msgs = append(msgs, textMessage(role, s))
	}
	return msgs
}

func TestPromptTemplatesRoundTrip(t *testing.T) {
	for _, conv := range [][]string{
		{"Hi"},
		{"What is 2+2?", "4.", "And times 3?"},
		{"Tell me a story.", "Once upon a time...", "Go on.", "The end.", "Another, with <tags> & [brackets]?"},
		{"Line one\nline two", "Multi\n\nparagraph"},
	} {
		msgs := conversation(conv...)
		for _, system := range []string{"", "You are terse."} {
			body, _ := json.Marshal(map[string]string{"prompt": llamaPrompt(system, msgs)})
			req, err := llamaCodec{}.DecodeChat(body, llama3)
			var sys []converse.SystemContentBlock
			if system != "" {
				sys = []converse.SystemContentBlock{{Text: &system}}
			}
			want, _ := json.Marshal(converse.Request{Messages: msgs, System: sys, InferenceConfig: &converse.InferenceConfig{MaxTokens: &llama3.DefaultMaxTokens}})
			wantRequest(t, req, err, string(want))
		}
		body, _ := json.Marshal(map[string]string{"prompt": mistralPrompt(msgs)})
		req, err := mistralCodec{}.DecodeChat(body, mistral)
		want, _ := json.Marshal(converse.Request{Messages: msgs, InferenceConfig: &converse.InferenceConfig{MaxTokens: &mistral.DefaultMaxTokens}})
		wantRequest(t, req, err, string(want))
	}
}

func TestLlamaDecode(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"raw prompt", `{"prompt":"Write a haiku about <rain>.","max_gen_len":100,"temperature":0.2,"top_p":0.9}`,
			`{"messages":[{"role":"user","content":[{"text":"Write a haiku about <rain>."}]}],"inferenceConfig":{"maxTokens":100,"temperature":0.2,"topP":0.9}}`},
		{"template with prefill and ipython",
			`{"prompt":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{\"name\":\"w\"}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n18C<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nIt is"}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},{"role":"assistant","content":[{"text":"{\"name\":\"w\"}"}]},
			{"role":"user","content":[{"text":"18C"}]},{"role":"assistant","content":[{"text":"It is"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"consecutive user turns merge",
			`{"prompt":"<|start_header_id|>user<|end_header_id|>\n\nA<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nB<|eot_id|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"A"},{"text":"B"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"template starting with assistant stays raw",
			`{"prompt":"<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"text outside the template stays raw",
			`{"prompt":"Intro <|start_header_id|>user<|end_header_id|>\n\nA<|eot_id|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"Intro <|start_header_id|>user<|end_header_id|>\n\nA<|eot_id|>"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"images become image blocks", `{"prompt":"Describe","images":["` + tinyPNG + `"]}`,
			`{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"` + tinyPNG + `"}}},{"text":"Describe"}]}],"inferenceConfig":{"maxTokens":512}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := llamaCodec{}.DecodeChat([]byte(c.body), llama3)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestLlamaDecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"required key", `{"inputText":"Hi"}`, malformedMsg("#: required key [prompt] not found", "#: extraneous key [inputText] is not permitted")},
		{"over model limit", `{"prompt":"Hi","max_gen_len":2049}`, malformedMsg("#/max_gen_len: 2049 is not less or equal to 2048")},
		{"zero", `{"prompt":"Hi","max_gen_len":0}`, malformedMsg("#/max_gen_len: 0 is not greater or equal to 1")},
		{"wrong type", `{"prompt":["Hi"],"top_p":"x"}`,
			malformedMsg("#/prompt: expected type: String, found: JSONArray", "#/top_p: expected type: Number, found: String")},
		{"blank", `{"prompt":"\n"}`, malformedMsg("#/prompt: string must contain non-whitespace characters")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := llamaCodec{}.DecodeChat([]byte(c.body), llama3)
			wantValidation(t, err, c.want)
		})
	}
}

func TestMistralDecode(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"raw prompt with parameters", `{"prompt":"Say hi","max_tokens":50,"stop":["\n",""],"temperature":0.5,"top_p":0.9,"top_k":50}`,
			`{"messages":[{"role":"user","content":[{"text":"Say hi"}]}],"inferenceConfig":{"maxTokens":50,"temperature":0.5,"topP":0.9,"stopSequences":["\n"]},
			"additionalModelRequestFields":{"top_k":50}}`},
		{"instructions with prefill", `{"prompt":"<s>[INST] Q1 [/INST] A1</s><s>[INST] Q2 [/INST] Well,"}`,
			`{"messages":[{"role":"user","content":[{"text":"Q1"}]},{"role":"assistant","content":[{"text":"A1"}]},
			{"role":"user","content":[{"text":"Q2"}]},{"role":"assistant","content":[{"text":"Well,"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"answer without end of sequence", `{"prompt":"[INST] Q1 [/INST] A1 [INST] Q2 [/INST]"}`,
			`{"messages":[{"role":"user","content":[{"text":"Q1"}]},{"role":"assistant","content":[{"text":"A1"}]},
			{"role":"user","content":[{"text":"Q2"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"unterminated instruction stays raw", `{"prompt":"<s>[INST] Q1"}`,
			`{"messages":[{"role":"user","content":[{"text":"<s>[INST] Q1"}]}],"inferenceConfig":{"maxTokens":512}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := mistralCodec{}.DecodeChat([]byte(c.body), mistral)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestMistralDecodeErrors(t *testing.T) {
	elevenStops := `["a","b","c","d","e","f","g","h","i","j","k"]`
	for _, c := range []struct{ name, body, want string }{
		{"too many stops", `{"prompt":"Hi","stop":` + elevenStops + `}`, malformedMsg("#/stop: expected maximum item count: 10, found: 11")},
		{"top_k range", `{"prompt":"Hi","top_k":0}`, malformedMsg("#/top_k: 0 is not greater or equal to 1")},
		{"top_k above", `{"prompt":"Hi","top_k":201}`, malformedMsg("#/top_k: 201 is not less or equal to 200")},
		{"over model limit", `{"prompt":"Hi","max_tokens":8193}`, malformedMsg("#/max_tokens: 8193 is not less or equal to 8192")},
		{"several", `{"max_tokens":1.5,"messages":[]}`,
			malformedMsg("#: required key [prompt] not found", "#: extraneous key [messages] is not permitted", "#/max_tokens: expected type: Integer, found: BigDecimal")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := mistralCodec{}.DecodeChat([]byte(c.body), mistral)
			wantValidation(t, err, c.want)
		})
	}
}

func TestLlamaMistralEncode(t *testing.T) {
	resp := func(stop string) *converse.Response {
		return &converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Hi"), converse.TextBlock(" <there>")}}},
			StopReason: stop, Usage: converse.Usage{InputTokens: 7, OutputTokens: 3},
		}
	}
	for _, c := range []struct {
		codec      ChatCodec
		stop, want string
	}{
		{llamaCodec{}, converse.StopEndTurn, `{"generation":"Hi <there>","prompt_token_count":7,"generation_token_count":3,"stop_reason":"stop"}`},
		{llamaCodec{}, converse.StopMaxTokens, `{"generation":"Hi <there>","prompt_token_count":7,"generation_token_count":3,"stop_reason":"length"}`},
		{llamaCodec{}, converse.StopSequence, `{"generation":"Hi <there>","prompt_token_count":7,"generation_token_count":3,"stop_reason":"stop"}`},
		{mistralCodec{}, converse.StopEndTurn, `{"outputs":[{"text":"Hi <there>","stop_reason":"stop"}]}`},
		{mistralCodec{}, converse.StopMaxTokens, `{"outputs":[{"text":"Hi <there>","stop_reason":"length"}]}`},
		{mistralCodec{}, converse.StopSequence, `{"outputs":[{"text":"Hi <there>","stop_reason":"stop"}]}`},
	} {
		got, err := c.codec.EncodeChat(nil, resp(c.stop), Meta{})
		if err != nil || string(got) != c.want {
			t.Errorf("%T %s:\n got: %s (%v)\nwant: %s", c.codec, c.stop, got, err, c.want)
		}
	}
}
