package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// anthropicReplay reads one of the Anthropic provider's recorded responses
// (internal/provider/anthropic/testdata).
func anthropicReplay(t *testing.T, name string) (http.Header, int, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../provider/anthropic/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.Header, resp.StatusCode, body
}

// anthropicUpstream replays the Anthropic provider's recorded exchanges
// (internal/provider/anthropic/testdata, whose README names their sources):
// a streamed request gets stream_text.http, any other message.http. It
// keeps the bodies it received.
func anthropicUpstream(t *testing.T) (*httptest.Server, func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" || r.Header.Get("x-api-key") != "sk-ant-test" || r.Header.Get("anthropic-version") == "" {
			http.Error(w, `{"type":"error","error":{"type":"authentication_error","message":"bad request line or key"}}`, 401)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		name := "message.http"
		if body["stream"] == true {
			name = "stream_text.http"
		}
		hdr, status, payload := anthropicReplay(t, name)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(payload)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]any { mu.Lock(); defer mu.Unlock(); return append([]map[string]any(nil), got...) }
}

// TestAnthropicUpstream serves a Bedrock model from Anthropic's Messages
// API: Converse and ConverseStream are translated to Messages requests, the
// answers back to Bedrock's shapes, with Anthropic's usage.
func TestAnthropicUpstream(t *testing.T) {
	up, received := anthropicUpstream(t)
	t.Setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
	const model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	srv, rec := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "anthropic", Type: "anthropic", Settings: map[string]any{"baseURL": up.URL, "apiKeyEnv": "TEST_ANTHROPIC_KEY"}})
		setModels(c, config.Model{Model: catalog.Model{ID: model, Provider: "anthropic", UpstreamModel: "claude-sonnet-4-5-20250929",
			MaxOutputTokens: 8192, Streaming: true, Tools: true, SystemPrompt: true}})
	})
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello, Claude")}}}

	out, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs,
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Be kind."}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := responseText(t, out); got != "Hi! My name is Claude." || out.StopReason != types.StopReasonEndTurn {
		t.Errorf("Converse answered %q (%s)", got, out.StopReason)
	}
	if aws.ToInt32(out.Usage.InputTokens) != 2095 || aws.ToInt32(out.Usage.OutputTokens) != 503 || aws.ToInt32(out.Usage.CacheReadInputTokens) != 2051 {
		t.Errorf("usage %+v", out.Usage)
	}
	sent := received()[0]
	if sent["model"] != "claude-sonnet-4-5-20250929" || sent["system"] == nil || sent["max_tokens"] == nil {
		t.Errorf("upstream request %v", sent)
	}

	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs})
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.text != "Hello!" || aws.ToInt32(s.usage.InputTokens) != 25 || aws.ToInt32(s.usage.OutputTokens) != 15 {
		t.Errorf("stream text %q usage %+v", s.text, s.usage)
	}
	inv := rec.byRequestID(t, s.requestID)
	if inv.Provider != "anthropic" || inv.Usage.InputTokens != 25 || inv.Usage.OutputTokens != 15 {
		t.Errorf("record provider %q usage %+v", inv.Provider, inv.Usage)
	}

	// A native Anthropic body streamed from Anthropic comes back as
	// Bedrock's chunks with Anthropic's counts in the invocation metrics.
	_, chunks, _, err := invokeStream(t, client, model, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"Hello, Claude"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var textOut strings.Builder
	for _, c := range chunks {
		if d, ok := c["delta"].(map[string]any); ok && d["type"] == "text_delta" {
			textOut.WriteString(d["text"].(string))
		}
	}
	m := chunks[len(chunks)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)
	if textOut.String() != "Hello!" || m["inputTokenCount"].(float64) != 25 || m["outputTokenCount"].(float64) != 15 {
		t.Errorf("chunks text %q metrics %v", textOut.String(), m)
	}
}
