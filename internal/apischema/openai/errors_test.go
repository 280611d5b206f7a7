package openai

import (
	"testing"
)

func TestParseUpstreamError(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
		want       UpstreamError
		status     int
	}{
		{"OpenAI", `{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`, true,
			UpstreamError{Message: "Rate limit reached", Type: "tokens", Code: "rate_limit_exceeded"}, 0},
		{"vLLM numeric code", `{"error":{"object":"error","message":"too long","type":"BadRequestError","param":null,"code":400}}`, true,
			UpstreamError{Message: "too long", Type: "BadRequestError", Code: "400"}, 400},
		{"plain string", `{"error":"model 'x' not found"}`, true, UpstreamError{Message: "model 'x' not found"}, 0},
		{"message only", `{"message":"bad gateway"}`, true, UpstreamError{Message: "bad gateway"}, 0},
		{"not an error", `{"id":"x","choices":[]}`, false, UpstreamError{}, 0},
		{"not JSON", `<html>502</html>`, false, UpstreamError{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseUpstreamError([]byte(tt.body))
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if got.StatusCode() != tt.status {
				t.Errorf("StatusCode = %d, want %d", got.StatusCode(), tt.status)
			}
		})
	}
}

func TestNewErrorResponse(t *testing.T) {
	if got := js(NewErrorResponse("bad", "invalid_request_error", "", "")); got != `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}` {
		t.Errorf("got %s", got)
	}
	if got := js(NewErrorResponse("m", "t", "p", "c")); got != `{"error":{"message":"m","type":"t","param":"p","code":"c"}}` {
		t.Errorf("got %s", got)
	}
}
