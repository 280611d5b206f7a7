package openai

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// pngBytes is a 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

var pngDataURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)

// checkInvalid asserts err is a ValidationException naming param.
func checkInvalid(t *testing.T, err error, param, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one about %q", param)
	}
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation {
		t.Fatalf("error %v is not a ValidationException", err)
	}
	var re *RequestError
	if param != "-" {
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a RequestError", err)
		}
		if re.Param != param {
			t.Errorf("param = %q, want %q (message %q)", re.Param, param, e.Message)
		}
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message %q does not contain %q", e.Message, msgPart)
	}
	if strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "Go value") {
		t.Errorf("message %q leaks a Go error", e.Message)
	}
}

func TestDecodeChatRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"empty body", ``, "", "empty"},
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1,2]`, "", "JSON object"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "model", "model parameter"},
		{"missing messages", `{"model":"m"}`, "messages", "Missing required parameter"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", "empty array"},
		{"messages wrong type", `{"model":"m","messages":"hi"}`, "messages", "Invalid type for 'messages'"},
		{"content wrong type", `{"model":"m","messages":[{"role":"user","content":42}]}`, "", "string or an array"},
		{"n below 1", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":0}`, "n", "Expected a value >= 1"},
		{"stream options without stream", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options", "only allowed when 'stream'"},
		{"stop wrong type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":7}`, "stop", "string or an array"},
		{"tool choice unknown mode", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"always"}`, "tool_choice", "Supported values"},
		{"tool choice allowed_tools", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"allowed_tools"}}`, "tool_choice", "only {"},
		{"metadata value too long", `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, "metadata.k", "at most 512"},
		{"metadata not strings", `{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"k":1}}`, "metadata", "Invalid type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChatRequest([]byte(tt.body))
			checkInvalid(t, err, tt.param, tt.msg)
		})
	}
}

func TestDecodeChatRequestAcceptsUnions(t *testing.T) {
	body := `{"model":"m","messages":[
		{"role":"system","content":"be brief"},
		{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `","detail":"low"}}]},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}],
		"stop":"END","tool_choice":{"type":"function","function":{"name":"f"}},"n":1,"stream":true,"stream_options":{"include_usage":true},
		"frequency_penalty":0.5,"metadata":{"team":"a"},"user":"u-1"}`
	req, err := DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Messages[0].Content; got == nil || got.Text == nil || *got.Text != "be brief" {
		t.Errorf("system content = %+v", got)
	}
	if got := req.Messages[1].Content; got == nil || len(got.Parts) != 2 || got.Parts[1].ImageURL.Detail != "low" {
		t.Errorf("user content = %+v", got)
	}
	if req.Messages[2].Content != nil {
		t.Errorf("null content decoded as %+v", req.Messages[2].Content)
	}
	if len(req.Stop) != 1 || req.Stop[0] != "END" {
		t.Errorf("stop = %v", req.Stop)
	}
	if req.ToolChoice == nil || req.ToolChoice.Function != "f" {
		t.Errorf("tool_choice = %+v", req.ToolChoice)
	}
	if !req.Stream || req.StreamOptions == nil || !req.StreamOptions.IncludeUsage || req.User != "u-1" || req.Metadata["team"] != "a" {
		t.Errorf("stream/user/metadata not decoded: %+v", req)
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
