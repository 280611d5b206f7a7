package anthropic

import (
	"encoding/json"
	"testing"
)

func TestMessagesRequestRoundTripKeepsUnknownMembers(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"string content and extras",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"zeta":1,"alpha":{"b":[true]}}`,
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"alpha":{"b":[true]},"zeta":1}`},
		{"block extras, unmodelled blocks raw, string source",
			`{"model":"m","messages":[{"role":"assistant","content":[{"type":"text","text":"","new":2},{"type":"web_search_tool_result","tool_use_id":"s","content":{"type":"web_search_tool_result_error","error_code":"x"}},{"type":"search_result","source":"https://s","title":"t","content":[{"type":"text","text":"x"}]}]}]}`,
			`{"model":"m","messages":[{"role":"assistant","content":[{"type":"text","text":"","new":2},{"type":"web_search_tool_result","tool_use_id":"s","content":{"type":"web_search_tool_result_error","error_code":"x"}},{"type":"search_result","source":"https://s","title":"t","content":[{"type":"text","text":"x"}]}]}]}`},
		{"server tool config kept",
			`{"model":"m","messages":[],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}`,
			`{"model":"m","messages":[],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r MessagesRequest
			if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMessagesContentRefusesNull(t *testing.T) {
	var m Message
	if err := json.Unmarshal([]byte(`{"role":"user","content":null}`), &m); err == nil {
		t.Error("null content accepted")
	}
}

func TestMessagesStreamEventWireForm(t *testing.T) {
	for _, in := range []string{
		`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"type":"char_location"}}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}`,
		`{"type":"message_stop"}`,
		`{"type":"ping"}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
	} {
		var ev StreamEvent
		if err := json.Unmarshal([]byte(in), &ev); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, err := json.Marshal(ev)
		if err != nil || string(got) != in {
			t.Errorf("round trip of %s = %s (%v)", in, got, err)
		}
	}
}

func TestAnthropicErrorStatusAndType(t *testing.T) {
	for typ, status := range map[string]int{ErrInvalidRequest: 400, ErrAuthentication: 401, ErrBilling: 402, ErrPermission: 403,
		ErrNotFound: 404, ErrRequestTooLarge: 413, ErrRateLimit: 429, ErrAPI: 500, ErrTimeout: 504, ErrOverloaded: 529} {
		if got := ErrorStatus(typ); got != status {
			t.Errorf("ErrorStatus(%s) = %d, want %d", typ, got, status)
		}
		if got := ErrorType(status); got != typ {
			t.Errorf("ErrorType(%d) = %s, want %s", status, got, typ)
		}
	}
	b, _ := json.Marshal(NewErrorResponse(ErrNotFound, "no", "req_1"))
	if string(b) != `{"type":"error","error":{"type":"not_found_error","message":"no"},"request_id":"req_1"}` {
		t.Errorf("error body = %s", b)
	}
}
