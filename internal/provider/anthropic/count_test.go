package anthropic

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// countCapture is an upstream that answers Messages and count_tokens
// requests and keeps what it received.
type countCapture struct {
	mu       sync.Mutex
	requests map[string]capturedRequest // by path
	status   int
	body     string // the count_tokens answer
}

type capturedRequest struct {
	header http.Header
	body   map[string]json.RawMessage
}

func newCountCapture(t *testing.T, status int, body string) (*countCapture, *Provider) {
	t.Helper()
	c := &countCapture{requests: map[string]capturedRequest{}, status: status, body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Errorf("%s: body is not a JSON object: %s", r.URL.Path, raw)
		}
		c.mu.Lock()
		c.requests[r.Method+" "+r.URL.Path] = capturedRequest{header: r.Header.Clone(), body: fields}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_011CountTokensTest")
		if r.URL.Path == "/v1/messages" {
			io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"model":"claude-sonnet-4-5","stop_reason":"end_turn","usage":{"input_tokens":2095,"output_tokens":1}}`)
			return
		}
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
	}))
	t.Cleanup(srv.Close)
	p, err := New(Options{BaseURL: srv.URL, APIKey: testKey, Client: srv.Client(), Headers: map[string]string{"X-Team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// countedRequest uses every part of the translation: system with a cache
// point, tools with a tool choice, sampling parameters, and native fields
// (thinking, top_k, a beta) through additionalModelRequestFields.
func countedRequest() *converse.Request {
	maxTokens, temp, topP := 20000, 1.0, 0.9
	sys := "You are a weather assistant."
	return &converse.Request{
		System: []converse.SystemContentBlock{{Text: &sys}, {CachePoint: &converse.CachePointBlock{Type: "default"}}},
		Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{
			converse.TextBlock("What is the weather in Paris?"),
		}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens, Temperature: &temp, TopP: &topP, StopSequences: []string{"END"}},
		ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", Description: "Get the weather",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}},
			ToolChoice: &converse.ToolChoice{Auto: &struct{}{}},
		},
		AdditionalModelRequestFields: json.RawMessage(`{"thinking":{"type":"enabled","budget_tokens":16000},"top_k":5,"anthropic_beta":["interleaved-thinking-2025-05-14"]}`),
	}
}

func TestCountTokensSendsTheCallsBodyWithoutGenerationParameters(t *testing.T) {
	c, p := newCountCapture(t, http.StatusOK, `{"input_tokens":2095}`)
	req := countedRequest()
	if _, err := p.Converse(t.Context(), testCall, req); err != nil {
		t.Fatal(err)
	}
	n, err := p.CountTokens(t.Context(), testCall, req)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2095 {
		t.Errorf("CountTokens = %d, want the upstream's 2095", n)
	}
	call, count := c.requests["POST /v1/messages"], c.requests["POST /v1/messages/count_tokens"]
	if count.body == nil {
		t.Fatalf("no count_tokens request; received %v", c.requests)
	}
	// The count body is the call's body minus the generation parameters.
	want := map[string]json.RawMessage{}
	for k, v := range call.body {
		want[k] = v
	}
	for _, k := range []string{"max_tokens", "temperature", "top_p", "top_k", "stop_sequences"} {
		if _, ok := want[k]; !ok {
			t.Fatalf("the Messages body has no %s; the test does not exercise its removal", k)
		}
		delete(want, k)
	}
	if !reflect.DeepEqual(count.body, want) {
		t.Errorf("count_tokens body\n%v\nwant\n%v", keys(count.body), keys(want))
	}
	for _, k := range []string{"model", "messages", "system", "tools", "tool_choice", "thinking"} {
		if _, ok := count.body[k]; !ok {
			t.Errorf("count_tokens body lacks %s", k)
		}
	}
	for _, h := range []string{"X-Api-Key", "Anthropic-Version", "Anthropic-Beta", "Content-Type", "X-Team"} {
		if got, want := count.header.Get(h), call.header.Get(h); got == "" || got != want {
			t.Errorf("count_tokens header %s = %q, the call sends %q", h, got, want)
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+string(v))
	}
	return out
}

func TestCountTokensErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		status   int
		body     string
		wantCode apierror.Code
		wantMsg  string
	}{
		{"invalid request", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0.content: Field required"},"request_id":"req_1"}`,
			apierror.Validation, "messages.0.content: Field required"},
		{"rate limited", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			apierror.Throttling, ""},
		{"overloaded", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			apierror.ServiceUnavailable, ""},
		{"not JSON", 200, `<html>proxy</html>`, apierror.ModelError, ""},
		{"no count", 200, `{"tokens":3}`, apierror.ModelError, ""},
		{"negative count", 200, `{"input_tokens":-1}`, apierror.ModelError, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, p := newCountCapture(t, tt.status, tt.body)
			_, err := p.CountTokens(t.Context(), testCall, userRequest("Hi", 10))
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("error %v, want %s", err, tt.wantCode)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Message, tt.wantMsg)
			}
			if strings.Contains(e.Error(), testKey) {
				t.Error("the error mentions the API key")
			}
		})
	}
}

func TestCountTokensRefusesWhatTheCallRefuses(t *testing.T) {
	c, p := newCountCapture(t, http.StatusOK, `{"input_tokens":1}`)
	req := userRequest("Hi", 10)
	req.AdditionalModelRequestFields = json.RawMessage(`{"messages":[]}`)
	_, err := p.CountTokens(t.Context(), testCall, req)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation {
		t.Fatalf("error %v, want the translation's ValidationException", err)
	}
	if len(c.requests) != 0 {
		t.Errorf("a refused request reached the upstream: %v", c.requests)
	}
}

func FuzzDecodeCount(f *testing.F) {
	for _, s := range []string{`{"input_tokens":2095}`, `{"input_tokens":0}`, `{"input_tokens":-3}`, `{"input_tokens":1.5}`, `{}`, `null`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeCount(body)
		if err == nil && n < 0 {
			t.Fatalf("decodeCount(%q) = %d", body, n)
		}
	})
}
