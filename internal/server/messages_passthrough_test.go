package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// sseEvents splits a server-sent event stream into its events' name and
// data lines.
func sseEvents(t *testing.T, b []byte) [][2]string {
	t.Helper()
	var out [][2]string
	for _, block := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		var ev [2]string
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev[0] = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev[1] += v
			}
		}
		if ev != ([2]string{}) {
			out = append(out, ev)
		}
	}
	return out
}

// TestMessagesPassThroughToAnthropic sends Messages API calls for a model
// served by the Anthropic provider: the caller's body (with a member this
// code does not know) and anthropic-beta values reach Anthropic untouched,
// and Anthropic's answer and its stream's events come back as Anthropic
// sent them, while the call is recorded with Anthropic's usage.
func TestMessagesPassThroughToAnthropic(t *testing.T) {
	replay := func(name string) (http.Header, []byte) {
		hdr, _, body := anthropicReplay(t, name)
		return hdr, body
	}
	var mu sync.Mutex
	var gotBody []byte
	var gotBeta string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBody, gotBeta = body, r.Header.Get("Anthropic-Beta")
		mu.Unlock()
		name := "message.http"
		if bytes.Contains(body, []byte(`"stream":true`)) {
			name = "stream_text.http"
		}
		hdr, payload := replay(name)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		_, _ = w.Write(payload)
	}))
	t.Cleanup(up.Close)
	t.Setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
	srv, rec := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Providers = append(c.Providers, config.Provider{Name: "anthropic", Type: "anthropic", Settings: map[string]any{"baseURL": up.URL, "apiKeyEnv": "TEST_ANTHROPIC_KEY"}})
		setModels(c, config.Model{Model: catalog.Model{ID: "anthropic.claude-sonnet-4-5-20250929-v1:0", Provider: "anthropic",
			UpstreamModel: "claude-sonnet-4-5-20250929", MaxOutputTokens: 8192, Streaming: true, Tools: true, SystemPrompt: true}})
	})
	post := func(body string) (*http.Response, []byte) {
		return postOK(t, srv.URL()+"/v1/messages?beta=true", http.Header{
			"X-Api-Key":         {aliceAPIKey},
			"Anthropic-Version": {"2023-06-01"},
			"Anthropic-Beta":    {"context-1m-2025-08-07, interleaved-thinking-2025-05-14", "future-beta-2027-01-01"},
		}, body)
	}
	const wantBeta = "context-1m-2025-08-07,interleaved-thinking-2025-05-14,future-beta-2027-01-01"

	// Spaces, member order and a member unknown to this code: all kept.
	body := `{"model": "claude-sonnet-4-5-20250929", "max_tokens": 100,
  "messages": [{"role": "user", "content": "Hello, Claude"}], "future_member": {"x": [1, 2]}}`
	res, out := post(body)
	_, want := replay("message.http")
	if !bytes.Equal(out, want) {
		t.Errorf("client got\n%s\nwant Anthropic's answer as sent\n%s", out, want)
	}
	mu.Lock()
	if string(gotBody) != body || gotBeta != wantBeta {
		t.Errorf("Anthropic got body %s beta %q; want the caller's body and %q", gotBody, gotBeta, wantBeta)
	}
	mu.Unlock()
	inv := rec.byRequestID(t, uuidOf(t, res.Header.Get("Request-Id")))
	if inv.Operation != "Messages" || inv.Provider != "anthropic" || inv.ModelID != "claude-sonnet-4-5-20250929" || inv.Usage.OutputTokens != 503 || inv.Usage.CacheReadInputTokens != 2051 {
		t.Errorf("record: operation %s provider %s model %s usage %+v", inv.Operation, inv.Provider, inv.ModelID, inv.Usage)
	}

	// Named by its catalog ID, the model differs from the upstream's name:
	// only the model member's value changes, in place; every other byte is
	// the caller's.
	post(`{"model": "anthropic.claude-sonnet-4-5-20250929-v1:0", "max_tokens": 100, "future_member": {"x": [1, 2]},
  "messages": [{"role": "user", "content": "Hello, Claude"}]}`)
	mu.Lock()
	if want := `{"model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "future_member": {"x": [1, 2]},
  "messages": [{"role": "user", "content": "Hello, Claude"}]}`; string(gotBody) != want {
		t.Errorf("Anthropic got %s\nwant %s", gotBody, want)
	}
	mu.Unlock()

	body = `{"model":"claude-sonnet-4-5-20250929","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hello, Claude"}]}`
	res, out = post(body)
	_, wantStream := replay("stream_text.http")
	if got, want := sseEvents(t, out), sseEvents(t, wantStream); len(got) != len(want) || !equalEvents(got, want) {
		t.Errorf("client's events\n%q\nwant Anthropic's as sent\n%q", got, want)
	}
	inv = rec.byRequestID(t, uuidOf(t, res.Header.Get("Request-Id")))
	if inv.Provider != "anthropic" || !inv.Streamed || inv.Usage.InputTokens != 25 || inv.Usage.OutputTokens != 15 || inv.FirstByte.IsZero() {
		t.Errorf("stream record: provider %s streamed %v usage %+v", inv.Provider, inv.Streamed, inv.Usage)
	}
}

func equalEvents(a, b [][2]string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// uuidOf is the request ID inside Anthropic's "req_" form.
func uuidOf(t *testing.T, id string) string {
	t.Helper()
	h, ok := strings.CutPrefix(id, "req_")
	if !ok || len(h) != 32 {
		t.Fatalf("request-id %q is not req_ and 32 hex digits", id)
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// postOK posts body with the headers and returns the response and its
// body, failing the test unless the status is 200.
func postOK(t *testing.T, url string, header http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", res.Status, out)
	}
	return res, out
}
