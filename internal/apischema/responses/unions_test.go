package responses

import (
	"encoding/json"
	"testing"
)

func TestResponsesUnionsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		into any
		in   string
		out  string
	}{
		{"input string", &Input{}, `"hi"`, `"hi"`},
		{"input items", &Input{}, `[{"role":"user","content":"hi"}]`, `[{"type":"message","role":"user","content":"hi"}]`},
		{"content parts", &Content{}, `[{"type":"input_text","text":"a"}]`, `[{"type":"input_text","text":"a"}]`},
		{"tool choice mode", &ToolChoice{}, `"required"`, `"required"`},
		{"tool choice object", &ToolChoice{}, `{"type":"custom","name":"apply_patch"}`, `{"type":"custom","name":"apply_patch"}`},
		{"hosted tool kept raw", &Tool{}, `{"type":"web_search", "filters":{"allowed_domains":["a.b"]}}`, `{"type":"web_search","filters":{"allowed_domains":["a.b"]}}`},
		{"function call keeps empty arguments", &Item{}, `{"type":"function_call","call_id":"c","name":"f","arguments":""}`, `{"type":"function_call","call_id":"c","name":"f","arguments":""}`},
		{"reasoning keeps empty summary", &Item{}, `{"type":"reasoning","summary":[],"encrypted_content":"x"}`, `{"type":"reasoning","summary":[],"encrypted_content":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.in), tt.into); err != nil {
				t.Fatalf("decode %s: %v", tt.in, err)
			}
			b, err := json.Marshal(tt.into)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.out {
				t.Errorf("got %s, want %s", b, tt.out)
			}
		})
	}
}

func TestResponsesUnionsRefuseWrongKinds(t *testing.T) {
	for _, tt := range []struct {
		name string
		into any
		in   string
	}{
		{"input number", &Input{}, `3`},
		{"content object", &Content{}, `{}`},
		{"tool choice array", &ToolChoice{}, `[]`},
		{"item string", &Item{}, `"x"`},
		{"tool number", &Tool{}, `1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.in), tt.into)
			if _, ok := err.(*json.UnmarshalTypeError); !ok {
				t.Errorf("decoding %s gave %v, want a type error", tt.in, err)
			}
		})
	}
}
