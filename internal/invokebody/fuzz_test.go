package invokebody

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// checkFuzzError asserts a decode failure is a ValidationException in
// Bedrock's schema wording or the family's model-level wording, without Go
// error text.
func checkFuzzError(t *testing.T, err error, modelWording []string) {
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Validation {
		t.Fatalf("error is not a ValidationException: %v (%T)", err, err)
	}
	for _, leak := range []string{"json:", "invalid character", "cannot unmarshal", "unexpected end of JSON", "Go value"} {
		if strings.Contains(ae.Message, leak) {
			t.Fatalf("message leaks Go error text: %s", ae.Message)
		}
	}
	if strings.HasPrefix(ae.Message, "Malformed input request: ") && strings.HasSuffix(ae.Message, ", please reformat your input and try again.") {
		return
	}
	for _, p := range modelWording {
		if strings.HasPrefix(ae.Message, p) {
			return
		}
	}
	t.Fatalf("unexpected message: %s", ae.Message)
}

func fuzzChat(f *testing.F, codec ChatCodec, m Model, modelWording []string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := codec.DecodeChat(body, m)
		if err != nil {
			checkFuzzError(t, err, modelWording)
			return
		}
		if req.InferenceConfig == nil || req.InferenceConfig.MaxTokens == nil || *req.InferenceConfig.MaxTokens < 1 {
			t.Fatalf("MaxTokens not set: %+v", req.InferenceConfig)
		}
		if m.MaxOutputTokens > 0 && *req.InferenceConfig.MaxTokens > m.MaxOutputTokens {
			t.Fatalf("MaxTokens %d over the model limit", *req.InferenceConfig.MaxTokens)
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("decoded request fails Validate: %v\nbody: %s", err, body)
		}
		// The response to an accepted request must encode, in one body and
		// as a stream.
		resp := &converse.Response{Output: converse.Output{Message: &req.Messages[0]}, StopReason: converse.StopEndTurn,
			Usage: converse.Usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: len(body), CacheWriteInputTokens: 3,
				CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL1h, InputTokens: 3}}}}
		meta := Meta{RequestID: "r", ModelID: m.ID}
		out, err := codec.EncodeChat(req, resp, meta)
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeChat: %v, %s", err, out)
		}
		enc := codec.(StreamCodec).NewStreamEncoder(req, meta)
		evs := converse.Events(resp)
		for i := range evs {
			chunks, err := enc.Encode(&evs[i])
			if err != nil {
				t.Fatalf("Encode(%s): %v", evs[i].Name(), err)
			}
			for _, c := range chunks {
				if !json.Valid(c) {
					t.Fatalf("chunk is not JSON: %s", c)
				}
			}
		}
	})
}

func FuzzAnthropic(f *testing.F) {
	fuzzChat(f, anthropicCodec{}, haiku,
		[]string{"messages: ", "max_tokens: ", "system: ", "tools: ", "tool_choice", "stop_sequences: ", "Requests which include", "`max_tokens`", "thinking.",
			"anthropic_version: ", "Invalid API version: ", "output_format: "},
		anthropicBody(`"messages":[{"role":"user","content":"Hello"}]`),
		anthropicBody(`"system":"S","temperature":0.5,"top_k":3,"stop_sequences":["x"],"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]`),
		anthropicBody(`"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"},"title":"t"}]}]`),
		anthropicBody(`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"r"}],"is_error":true}]}]`),
		`{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"},{"type":"text","text":"a"}]},{"role":"user","content":"b"}]}`,
		`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5000,"messages":[]}`,
		// What @anthropic-ai/bedrock-sdk 1.x sends, and the newer members.
		`{"max_tokens":1024,"messages":[{"role":"user","content":"Hi"}],"anthropic_version":"2026-10-21","anthropic_beta":["a","b"],"user_profile_id":"p"}`,
		`{"anthropic_version":"2026-10-21","max_tokens":64,"thinking":{"type":"adaptive","display":"omitted"},"context_management":{},"messages":[{"role":"user","content":"Hi"}]}`,
		anthropicBody(`"output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}},"messages":[{"role":"user","content":"x"}]`),
		anthropicBody(`"output_format":{"type":"json_schema","schema":{}},"output_config":{"effort":"low"},"messages":[{"role":"user","content":"x"}]`),
		anthropicBody(`"output_format":{"type":"json_schema","schema":{}},"output_config":{"format":{"type":"json_schema","schema":{}}},"messages":[{"role":"user","content":"x"}]`),
		anthropicBody(`"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral","ttl":"1h"}}],"tools":[{"name":"f","input_schema":{"type":"object"},"strict":true,"cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","name":"f","input":{},"cache_control":{"type":"ephemeral"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral","ttl":"5m"}}]}]}]`),
		`{"anthropic_version":"bedrock-2023-05-32","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"anthropic_version":7,"max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":10}`,
		`{"anthropic_version":`,
	)
}

// FuzzAnthropicToolID checks the tool-use ID mapping on any ID: reading back
// the native form of an ID gives the ID (unless the ID already had the
// native prefix without Bedrock's own shape, which no upstream makes), and
// the native form of a Converse ID is never in Converse's.
func FuzzAnthropicToolID(f *testing.F) {
	for _, s := range []string{"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ", "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "tooluse_", "toolu_bdrk_", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		native := anthropicToolID(id)
		rest, prefixed := strings.CutPrefix(id, anthropicToolIDPrefix)
		if back := converseToolID(native); back != id && (!prefixed || bedrockNativeID(rest)) {
			t.Fatalf("converseToolID(anthropicToolID(%q)) = %q", id, back)
		}
		if strings.HasPrefix(native, converseToolIDPrefix) {
			t.Fatalf("anthropicToolID(%q) = %q keeps the Converse prefix", id, native)
		}
	})
}

func FuzzTitanText(f *testing.F) {
	fuzzChat(f, titanTextCodec{}, titanExpress, nil,
		`{"inputText":"Hello"}`,
		`{"inputText":"User: Hi\nBot:","textGenerationConfig":{"maxTokenCount":100,"temperature":0.5,"topP":0.9,"stopSequences":["User:","|"]}}`,
		`{"inputText":"Hi","textGenerationConfig":{"maxTokenCount":0}}`,
		`{"inputText":" ","textGenerationConfig":{"stopSequences":["x"]}}`,
	)
}

func FuzzNova(f *testing.F) {
	fuzzChat(f, novaCodec{}, novaLite,
		[]string{"A conversation", "The ", "1 validation error detected"},
		`{"schemaVersion":"messages-v1","system":[{"text":"S"}],"messages":[{"role":"user","content":[{"text":"Hi"},{"image":{"format":"png","source":{"bytes":"iVBO"}}}]}],"inferenceConfig":{"max_new_tokens":300,"temperature":0.7,"topP":0.9,"topK":20,"stopSequences":["END"]}}`,
		`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"weather","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"18"}]}}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"weather","inputSchema":{"json":{}}}}],"toolChoice":{"tool":{"name":"weather"}}}}`,
		`{"messages":[{"role":"user","content":[{"document":{"format":"txt","name":"d","source":{"text":"x"}}},{"cachePoint":{"type":"default"}}]}],"inferenceConfig":{"maxTokens":5}}`,
		`{"messages":[{"role":"assistant","content":[{"type":"text","text":"hi"}]}]}`,
	)
}

func FuzzLlama(f *testing.F) {
	fuzzChat(f, llamaCodec{}, llama3, nil,
		`{"prompt":"Hi","max_gen_len":100,"temperature":0.2,"top_p":0.9}`,
		`{"prompt":"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"}`,
		`{"prompt":"<|start_header_id|>user<|end_header_id|>\n\n <|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA"}`,
		`{"prompt":"x","images":["iVBO"],"max_gen_len":0}`,
	)
}

func FuzzMistral(f *testing.F) {
	fuzzChat(f, mistralCodec{}, mistral, nil,
		`{"prompt":"Hi","max_tokens":50,"stop":["\n",""],"temperature":0.5,"top_p":0.9,"top_k":50}`,
		`{"prompt":"<s>[INST] Q1 [/INST] A1</s><s>[INST] Q2 [/INST]"}`,
		`{"prompt":"[INST] [/INST] A [INST] Q [/INST]"}`,
		`{"prompt":"<s>[INST] Q1","stop":["a","b","c","d","e","f","g","h","i","j","k"]}`,
	)
}

func FuzzOpenAI(f *testing.F) {
	fuzzChat(f, openaiCodec{}, gptOss, []string{"The model returned the following errors: "},
		`{"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"openai.gpt-oss-120b-1:0","messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Q"}]},{"role":"assistant","content":"<reasoning>r</reasoning>A"},{"role":"user","content":"Q2"}],"max_completion_tokens":100,"temperature":0.5,"top_p":0.9,"stop":["END"],"reasoning_effort":"low","seed":1,"top_k":5,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"},"max_tokens":40000}`,
		`{"messages":[{"role":"user","content":"x"}],"system":"s"}`,
		`{"messages":[{"role":"user","content":"x"}],"messages":[],"reasoning_effort":{}}`,
		"{\n \"messages\" [",
	)
}

func FuzzTitanEmbed(f *testing.F) {
	for _, s := range []string{
		`{"inputText":"hello"}`,
		`{"inputText":"hello","dimensions":256,"normalize":false,"embeddingTypes":["float","binary"]}`,
		`{"inputText":"","dimensions":100,"embeddingTypes":[]}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, v2 bool) {
		m := embedV1Model
		if v2 {
			m = embedV2Model
		}
		call, err := titanEmbedCodec{}.DecodeEmbed(body, m)
		if err != nil {
			checkFuzzError(t, err, nil)
			return
		}
		req := &call.Request
		if len(req.Inputs) != 1 || req.Inputs[0] == "" {
			t.Fatalf("inputs: %q", req.Inputs)
		}
		switch req.Dimensions {
		case 256, 512, 1024, 1536:
		default:
			t.Fatalf("dimensions %d", req.Dimensions)
		}
		resp := &provider.EmbedResponse{Embeddings: [][]float32{make([]float32, req.Dimensions)}, InputTokens: 1}
		out, err := titanEmbedCodec{}.EncodeEmbed(call, resp, Meta{ModelID: m.ID})
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeEmbed: %v, %s", err, out)
		}
	})
}
