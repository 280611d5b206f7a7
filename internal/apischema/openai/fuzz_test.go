package openai

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
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
		req, err := DecodeChatRequest(body)
		var cr *converse.Request
		if err == nil {
			cr, err = req.ToConverse()
		}
		if err != nil {
			if e := apierror.From(err); e.Code != apierror.Validation {
				var re *RequestError
				if !errors.As(err, &re) {
					t.Fatalf("refusal %v is neither a ValidationException nor a RequestError", err)
				}
			}
			return
		}
		b, err := json.Marshal(cr)
		if err != nil {
			t.Fatalf("translated request does not encode: %v", err)
		}
		if _, err := converse.Decode(b); err != nil {
			t.Fatalf("translated request %s fails Converse validation: %v", b, err)
		}
	})
}
