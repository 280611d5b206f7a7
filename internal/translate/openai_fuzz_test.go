package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// FuzzChatRequest decodes arbitrary chat completion bodies and translates
// them to Converse: no panic; a refusal is a ValidationException; an
// accepted body becomes a Converse request that passes Converse's own
// validation after a JSON round trip.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":10,"stop":["x"]}`,
		`{"model":"m","messages":[{"role":"user","content":"weather?"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","n":2,"messages":[]}`,
		`{"model":"m","messages":[{"role":"user","content":"json please"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
		`{"model":"m","messages":[{"role":"user","content":"json please"}],"response_format":{"type":"json_object"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeChatRequest(body)
		var cr *converse.Request
		if err == nil {
			cr, err = ChatToConverse(req)
		}
		if err != nil {
			if e := apierror.From(err); e.Code != apierror.Validation {
				var re *openai.RequestError
				if !errors.As(err, &re) {
					t.Fatalf("refusal %v is neither a ValidationException nor an openai.RequestError", err)
				}
			}
			return
		}
		checkConverseRoundTrip(t, cr)
	})
}

// FuzzChatResponseFormat decodes arbitrary response_format values: a
// refusal is an OpenAI-worded openai.RequestError naming a response_format
// parameter; an accepted one becomes an outputConfig Converse accepts, and
// that goes back to an OpenAI-compatible upstream as a response_format the
// front door would accept again.
func FuzzChatResponseFormat(f *testing.F) {
	for _, s := range []string{
		`{"type":"json_schema","json_schema":{"name":"a","strict":true,"schema":{"type":"object","properties":{"x":{"type":"string"}}}}}`,
		`{"type":"json_schema","json_schema":{"name":"a","schema":"x"}}`,
		`{"type":"json_object"}`, `{"type":"text"}`, `{"type":"json_schema"}`, `{"type":""}`, `null`, `"text"`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, format string) {
		req, err := openai.DecodeChatRequest([]byte(chatWithFormat(format)))
		if err != nil {
			var re *openai.RequestError
			if errors.As(err, &re) && re.Param != "" && !strings.HasPrefix(re.Param, "response_format") {
				t.Fatalf("refusal names %q, not response_format: %v", re.Param, err)
			}
			return
		}
		cr, err := ChatToConverse(req)
		if err != nil {
			t.Fatalf("accepted response_format %s fails translation: %v", format, err)
		}
		b, err := json.Marshal(cr)
		if err != nil {
			t.Fatal(err)
		}
		back, err := converse.Decode(b)
		if err != nil {
			t.Fatalf("outputConfig %s fails Converse validation: %v", chatJS(cr.OutputConfig), err)
		}
		up, err := ConverseToChatRequest(back)
		if err != nil {
			t.Fatalf("outputConfig %s does not go upstream: %v", chatJS(back.OutputConfig), err)
		}
		if err := up.ResponseFormat.Validate(); err != nil {
			t.Fatalf("upstream response_format %s is invalid: %v", chatJS(up.ResponseFormat), err)
		}
	})
}
