package family

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
		// The response to an accepted request must encode.
		resp := &converse.Response{Output: converse.Output{Message: &req.Messages[0]}, StopReason: converse.StopEndTurn}
		out, err := codec.EncodeChat(req, resp, Meta{RequestID: "r", ModelID: m.ID})
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeChat: %v, %s", err, out)
		}
	})
}

func FuzzAnthropic(f *testing.F) {
	fuzzChat(f, anthropicCodec{}, haiku,
		[]string{"messages: ", "max_tokens: ", "system: ", "tools: ", "tool_choice", "stop_sequences: ", "Requests which include", "`max_tokens`", "thinking."},
		anthropicBody(`"messages":[{"role":"user","content":"Hello"}]`),
		anthropicBody(`"system":"S","temperature":0.5,"top_k":3,"stop_sequences":["x"],"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"}]`),
		anthropicBody(`"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"},"title":"t"}]}]`),
		anthropicBody(`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"r"}],"is_error":true}]}]`),
		`{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"},{"type":"text","text":"a"}]},{"role":"user","content":"b"}]}`,
		`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5000,"messages":[]}`,
		`{"prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":10}`,
		`{"anthropic_version":`,
	)
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
