package invokebody

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var benchAnthropicBody = []byte(anthropicBody(`"system":"You are a helpful assistant.","temperature":0.7,"top_k":40,
	"messages":[{"role":"user","content":"What is the capital of France?"},
	{"role":"assistant","content":[{"type":"text","text":"Paris."}]},
	{"role":"user","content":[{"type":"text","text":"And of Germany? Answer in one word, please."}]}]`))

func BenchmarkAnthropicDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (anthropicCodec{}).DecodeChat(benchAnthropicBody, haiku); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnthropicEncode(b *testing.B) {
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Berlin.")}}},
		StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 30, OutputTokens: 3},
	}
	meta := Meta{RequestID: "b4d3c5a0-0000-4000-8000-000000000001", ModelID: haiku.ID}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (anthropicCodec{}).EncodeChat(nil, resp, meta); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLlamaDecode(b *testing.B) {
	body := []byte(`{"prompt":"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","max_gen_len":128,"temperature":0.5}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (llamaCodec{}).DecodeChat(body, llama3); err != nil {
			b.Fatal(err)
		}
	}
}
