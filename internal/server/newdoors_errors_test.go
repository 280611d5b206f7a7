package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/config"
)

// TestNewDoorsAnswerBadInputInTheirOwnShape sends the Anthropic Messages
// and OpenAI Responses doors what goes wrong in practice: no key, a wrong
// key, broken JSON, a missing member, an unknown model, a budget over the
// model's limit, state the gateway does not keep, a throttled or failing
// model, a body over the limit, a wrong method. Each answer is the API's
// own error shape and status, never a 500 with a Go error string, and each
// model call is recorded with the error it was answered with.
func TestNewDoorsAnswerBadInputInTheirOwnShape(t *testing.T) {
	srv, rec := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Limits.MaxRequestBytes = 64 << 10
	})
	big := `{"model":"claude-3-5-haiku-20241022","max_tokens":10,"messages":[{"role":"user","content":"` + strings.Repeat("a", 70<<10) + `"}]}`
	tests := []struct {
		name, method, path, key, body string
		status                        int
		// errType is error.type; message a part of error.message.
		errType, message string
		// recorded: the call is a model call with a record (errorCode).
		recorded string
	}{
		{name: "messages: no key", path: "/v1/messages", body: `{}`, status: 401, errType: "authentication_error", message: "x-api-key header is required", recorded: "MissingAuthenticationTokenException"},
		{name: "messages: wrong key", path: "/v1/messages", key: "sk-wrong", body: `{}`, status: 401, errType: "authentication_error", message: "invalid x-api-key", recorded: "UnrecognizedClientException"},
		{name: "messages: broken JSON", path: "/v1/messages", key: aliceAPIKey, body: `{"model":`, status: 400, errType: "invalid_request_error", recorded: "ValidationException"},
		{name: "messages: no max_tokens", path: "/v1/messages", key: aliceAPIKey, body: `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"hi"}]}`, status: 400, errType: "invalid_request_error", message: "max_tokens: Field required", recorded: "ValidationException"},
		{name: "messages: unknown model", path: "/v1/messages", key: aliceAPIKey, body: `{"model":"claude-nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, status: 404, errType: "not_found_error", message: "model: claude-nope", recorded: "ResourceNotFoundException"},
		{name: "messages: budget over the model's limit", path: "/v1/messages", key: aliceAPIKey, body: `{"model":"claude-3-5-haiku-20241022","max_tokens":9000,"messages":[{"role":"user","content":"hi"}]}`, status: 400, errType: "invalid_request_error", message: "max_tokens: 9000 > 8192, which is the maximum allowed number of output tokens for claude-3-5-haiku-20241022", recorded: "ValidationException"},
		{name: "messages: throttled", path: "/v1/messages", key: aliceAPIKey, body: `{"model":"` + modelThrottled + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, status: 429, errType: "rate_limit_error", recorded: "ThrottlingException"},
		{name: "messages: model error", path: "/v1/messages", key: aliceAPIKey, body: `{"model":"` + modelModelError + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, status: 500, errType: "api_error", recorded: "ModelErrorException"},
		{name: "messages: body over the limit", path: "/v1/messages", key: aliceAPIKey, body: big, status: 413, errType: "request_too_large", message: "65536", recorded: "ValidationException"},
		{name: "messages: GET", method: http.MethodGet, path: "/v1/messages", key: aliceAPIKey, status: 405, errType: "invalid_request_error"},
		{name: "count_tokens: unknown model", path: "/v1/messages/count_tokens", key: aliceAPIKey, body: `{"model":"claude-nope","messages":[{"role":"user","content":"hi"}]}`, status: 404, errType: "not_found_error", message: "model: claude-nope"},
		{name: "responses: no key", path: "/v1/responses", body: `{}`, status: 401, errType: "authentication_error", recorded: "MissingAuthenticationTokenException"},
		{name: "responses: broken JSON", path: "/v1/responses", key: aliceAPIKey, body: `{"model":`, status: 400, errType: "invalid_request_error", recorded: "ValidationException"},
		{name: "responses: no input", path: "/v1/responses", key: aliceAPIKey, body: `{"model":"` + haiku + `"}`, status: 400, errType: "invalid_request_error", message: "input", recorded: "ValidationException"},
		{name: "responses: unknown model", path: "/v1/responses", key: aliceAPIKey, body: `{"model":"nope","input":"hi"}`, status: 404, errType: "invalid_request_error", message: "The model `nope` does not exist", recorded: "ResourceNotFoundException"},
		{name: "responses: previous_response_id", path: "/v1/responses", key: aliceAPIKey, body: `{"model":"` + haiku + `","input":"hi","previous_response_id":"resp_1"}`, status: 400, errType: "invalid_request_error", message: "does not store responses", recorded: "ValidationException"},
		{name: "responses: budget over the model's limit", path: "/v1/responses", key: aliceAPIKey, body: `{"model":"` + haiku + `","input":"hi","max_output_tokens":5000}`, status: 400, errType: "invalid_request_error", message: "'max_output_tokens' is too large: 5000", recorded: "ValidationException"},
		{name: "responses: throttled", path: "/v1/responses", key: aliceAPIKey, body: `{"model":"` + modelThrottled + `","input":"hi"}`, status: 429, errType: "requests", recorded: "ThrottlingException"},
		{name: "responses: stored response", method: http.MethodGet, path: "/v1/responses/resp_1", key: aliceAPIKey, status: 404, errType: "invalid_request_error", message: "does not store responses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, srv.URL()+tt.path, strings.NewReader(tt.body))
			if tt.key != "" {
				if strings.HasPrefix(tt.path, "/v1/messages") {
					req.Header.Set("X-Api-Key", tt.key)
				} else {
					req.Header.Set("Authorization", "Bearer "+tt.key)
				}
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s (%s): %s; want %d", res.Status, res.Header.Get("Content-Type"), body, tt.status)
			}
			var got struct {
				Type  string `json:"type"`
				Error struct {
					Type    string  `json:"type"`
					Message string  `json:"message"`
					Param   *string `json:"param"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			requestID := res.Header.Get("X-Request-Id")
			if strings.HasPrefix(tt.path, "/v1/messages") {
				if got.Type != "error" || got.RequestID != res.Header.Get("Request-Id") {
					t.Errorf("not Anthropic's error envelope (type %q, request_id %q, header %q): %s", got.Type, got.RequestID, res.Header.Get("Request-Id"), body)
				}
				requestID = res.Header.Get("Request-Id")
				if tt.recorded != "" {
					requestID = uuidOf(t, requestID)
				}
			}
			if got.Error.Type != tt.errType || !strings.Contains(got.Error.Message, tt.message) || got.Error.Message == "" {
				t.Errorf("error %q %q; want %q containing %q", got.Error.Type, got.Error.Message, tt.errType, tt.message)
			}
			if strings.Contains(got.Error.Message, "json:") || strings.Contains(got.Error.Message, "Exception") {
				t.Errorf("message leaks an internal error: %q", got.Error.Message)
			}
			if tt.recorded != "" {
				if inv := rec.byRequestID(t, requestID); inv.ErrorCode != tt.recorded || inv.Status != tt.status {
					t.Errorf("record: error %q status %d; want %q %d", inv.ErrorCode, inv.Status, tt.recorded, tt.status)
				}
			}
		})
	}
}

// TestBedrocksOwnOpenAIPathsServeTheOpenAIAPI calls the OpenAI API under
// /openai/v1, where Bedrock's runtime serves it, and the Anthropic API
// under /anthropic/v1, as Bedrock's Mantle endpoint does: the same doors,
// the same records.
func TestBedrocksOwnOpenAIPathsServeTheOpenAIAPI(t *testing.T) {
	srv, rec := startServer(t, withAlice)
	for _, c := range []struct{ path, body, header, want, op string }{
		{"/openai/v1/chat/completions", `{"model":"` + haiku + `","messages":[{"role":"user","content":"hi"}]}`, "X-Request-Id", `"object":"chat.completion"`, "ChatCompletions"},
		{"/openai/v1/responses", `{"model":"` + haiku + `","input":"hi"}`, "X-Request-Id", `"object":"response"`, "Responses"},
		{"/anthropic/v1/messages", `{"model":"claude-3-haiku-20240307","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, "Request-Id", `"type":"message"`, "Messages"},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Fatalf("%s: %s %s", c.path, res.Status, body)
		}
		id := res.Header.Get(c.header)
		if c.header == "Request-Id" {
			id = uuidOf(t, id)
		}
		if inv := rec.byRequestID(t, id); string(inv.Operation) != c.op || inv.PrincipalName != "alice" {
			t.Errorf("%s: recorded %s by %q", c.path, inv.Operation, inv.PrincipalName)
		}
	}
}
