//go:build unix

package clientsuite_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// The pass-through model: a catalog model served by a provider of type
// openai whose server is the fake upstream below, so that the OpenAI-API
// clients' chat completions go upstream untranslated and the upstream's
// recorded answers come back byte for byte
// (tools/clients/test/openai-passthrough.test.mjs).
const (
	passthroughProvider = "openai-upstream"
	passthroughModel    = "openai.gpt-4o-passthrough-v1"
	// passthroughUpstreamModel is the upstream's name for it, the model the
	// recorded streams name; it is also the model's alias, so a caller
	// that says it sends a body the gateway need not rename.
	passthroughUpstreamModel = "gpt-4o-2024-05-13"
	// passthroughDefaultMaxTokens is the output budget the gateway adds
	// to a body that sets none.
	passthroughDefaultMaxTokens = 1000
	// upstreamKeyEnv is the variable the provider's apiKeyEnv names; it is
	// set for the serve process only.
	upstreamKeyEnv = "MW_SUITE_UPSTREAM_KEY"
	// lastRequestPath is the fake upstream's own GET endpoint: the last
	// body it was sent, byte for byte, with the number of chat calls so
	// far in X-Upstream-Requests.
	lastRequestPath = "/_fake/last-request"
)

// fakeUpstream is an OpenAI-compatible server on 127.0.0.1 that answers
// POST /v1/chat/completions with OpenAI's recorded answers
// (internal/provider/openai/testdata, whose README names their sources):
// openai_chat.json, or for "stream": true openai_chat_stream.sse
// (openai_tool_stream.sse when the request offers tools), one event per
// write and flush as OpenAI sends them. It answers only the provider's key
// (401 otherwise, as OpenAI does) and keeps every body it was sent.
type fakeUpstream struct {
	srv                        *httptest.Server
	key                        string
	answer, stream, toolStream []byte

	mu       sync.Mutex
	bodies   [][]byte
	problems []string
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{
		key:        "sk-fake-upstream-" + randomHex(t, 16),
		answer:     recorded(t, "openai_chat.json"),
		stream:     recorded(t, "openai_chat_stream.sse"),
		toolStream: recorded(t, "openai_tool_stream.sse"),
	}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// recordedDir holds the OpenAI provider's recorded answers.
var recordedDir = filepath.Join("..", "provider", "openai", "testdata")

// recorded reads one of the OpenAI provider's recorded answers.
func recorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(recordedDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// baseURL is the provider's baseURL, as for OpenAI's https://api.openai.com/v1.
func (u *fakeUpstream) baseURL() string { return u.srv.URL + "/v1" }

func (u *fakeUpstream) problem(format string, args ...any) {
	u.mu.Lock()
	u.problems = append(u.problems, fmt.Sprintf(format, args...))
	u.mu.Unlock()
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == lastRequestPath:
		u.mu.Lock()
		n := len(u.bodies)
		var last []byte
		if n > 0 {
			last = u.bodies[n-1]
		}
		u.mu.Unlock()
		w.Header().Set("X-Upstream-Requests", strconv.Itoa(n))
		if n == 0 {
			http.Error(w, "no chat completions request yet", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(last)
		return
	case r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions":
		u.problem("unexpected request %s %s", r.Method, r.URL.Path)
		openAIError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		u.problem("reading a request body: %v", err)
		return
	}
	u.mu.Lock()
	u.bodies = append(u.bodies, body)
	u.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Bearer "+u.key {
		u.problem("Authorization %q, want the provider's key (Bearer %s)", got, u.key)
		openAIError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	var req struct {
		Model  string            `json:"model"`
		Stream bool              `json:"stream"`
		Tools  []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		u.problem("a body that is not JSON (%v): %s", err, body)
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model != passthroughUpstreamModel {
		u.problem("model %q, want the upstream's name %q: %s", req.Model, passthroughUpstreamModel, body)
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(u.answer)
		return
	}
	stream := u.stream
	if len(req.Tools) > 0 {
		stream = u.toolStream
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	flusher := w.(http.Flusher)
	for _, ev := range bytes.SplitAfter(stream, []byte("\n\n")) {
		if len(ev) == 0 {
			continue
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		flusher.Flush()
	}
}

// openAIError writes OpenAI's error body.
func openAIError(w http.ResponseWriter, status int, typ, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var c any
	if code != "" {
		c = code
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": c}})
}

// check fails the test with whatever the upstream found wrong in what it
// was sent.
func (u *fakeUpstream) check(t *testing.T) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range u.problems {
		t.Errorf("fake upstream: %s", p)
	}
	t.Logf("fake upstream at %s answered %d chat completions request(s)", u.srv.URL, len(u.bodies))
}

// env is what the JavaScript tests are told about the pass-through model
// and its upstream.
func (u *fakeUpstream) env(t *testing.T) map[string]string {
	t.Helper()
	dir, err := filepath.Abs(recordedDir)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"MW_FAKE_UPSTREAM_TESTDATA":         dir,
		"MW_PASSTHROUGH_MODEL":              passthroughModel,
		"MW_PASSTHROUGH_PROVIDER":           passthroughProvider,
		"MW_PASSTHROUGH_UPSTREAM_MODEL":     passthroughUpstreamModel,
		"MW_PASSTHROUGH_DEFAULT_MAX_TOKENS": strconv.Itoa(passthroughDefaultMaxTokens),
		"MW_FAKE_UPSTREAM_URL":              u.srv.URL,
	}
}

// configYAML is the provider and the model, for the server's configuration.
func (u *fakeUpstream) configYAML() string {
	return fmt.Sprintf(`providers:
  - name: %s
    type: openai
    baseURL: %q
    apiKeyEnv: %s
models:
  - id: %s
    name: GPT-4o (pass-through)
    vendor: OpenAI
    provider: %s
    upstreamModel: %s
    aliases: [%s]
    streaming: true
    maxOutputTokens: 4096
    defaultMaxTokens: %d
`, passthroughProvider, u.baseURL(), upstreamKeyEnv, passthroughModel, passthroughProvider, passthroughUpstreamModel,
		passthroughUpstreamModel, passthroughDefaultMaxTokens)
}
