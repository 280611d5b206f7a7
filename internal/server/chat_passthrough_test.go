package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// openAIReplay reads one of the OpenAI provider's recorded answers
// (internal/provider/openai/testdata, whose README names their sources).
func openAIReplay(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../provider/openai/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChatCompletionsPassThroughToOpenAI sends chat completions calls for a
// model served by an OpenAI-compatible provider: the caller's body reaches
// the upstream with only what must change rewritten in place (the model
// name, the output budget, the stream's usage request), and the upstream's
// answer and stream come back byte for byte (its id, model,
// system_fingerprint, usage details and service_tier, which a round trip
// through Converse dropped), while the call is recorded with the
// upstream's usage. Embeddings pass through the same way.
func TestChatCompletionsPassThroughToOpenAI(t *testing.T) {
	answer, stream := openAIReplay(t, "openai_chat.json"), openAIReplay(t, "openai_chat_stream.sse")
	embeddings := openAIReplay(t, "openai_embeddings.json")
	var mu sync.Mutex
	var gotBody []byte
	var gotAuth string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBody, gotAuth = body, r.Header.Get("Authorization")
		mu.Unlock()
		if r.URL.Path == "/v1/embeddings" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(embeddings)
			return
		}
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		// One event per write and flush, as OpenAI sends them.
		for _, ev := range bytes.SplitAfter(stream, []byte("\n\n")) {
			_, _ = w.Write(ev)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(up.Close)
	t.Setenv("TEST_OPENAI_KEY", "sk-upstream-test")
	srv, rec := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: "openai", Settings: map[string]any{"baseURL": up.URL + "/v1", "apiKeyEnv": "TEST_OPENAI_KEY"}})
		c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: "openai.gpt-4-1-v1", Provider: "openai",
			UpstreamModel: "gpt-4.1-2025-04-14", Aliases: []string{"gpt-4.1-2025-04-14"}, MaxOutputTokens: 8192, DefaultMaxTokens: 700, Streaming: true}},
			config.Model{Model: catalog.Model{ID: "openai.text-embedding-3-small-v1", Provider: "openai", UpstreamModel: "text-embedding-3-small",
				OutputModalities: []string{"EMBEDDING"}}})
	})
	post := func(t *testing.T, body string) (*http.Response, []byte) {
		t.Helper()
		path := "/v1/chat/completions"
		if strings.Contains(body, `"input"`) {
			path = "/v1/embeddings"
		}
		return postOK(t, srv.URL()+path, http.Header{"Authorization": {"Bearer " + aliceAPIKey}, "Content-Type": {"application/json"}}, body)
	}
	upstreamGot := func(t *testing.T) string {
		mu.Lock()
		defer mu.Unlock()
		if gotAuth != "Bearer sk-upstream-test" {
			t.Errorf("upstream Authorization %q, want the provider's key", gotAuth)
		}
		return string(gotBody)
	}

	t.Run("answer byte for byte", func(t *testing.T) {
		// Spaces, member order, a system message, a tool and a member
		// unknown to this code: all kept.
		body := `{"model": "gpt-4.1-2025-04-14", "max_tokens": 50, "messages": [{"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hello"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
  "future_member": {"x": [1, 2]}}`
		res, out := post(t, body)
		if !bytes.Equal(out, answer) {
			t.Errorf("client got\n%s\nwant the upstream's answer as sent\n%s", out, answer)
		}
		if got := upstreamGot(t); got != body {
			t.Errorf("upstream got\n%s\nwant the caller's body\n%s", got, body)
		}
		inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
		if inv.Provider != "openai" || inv.UpstreamModel != "gpt-4.1-2025-04-14" || inv.Usage.InputTokens != 19 || inv.Usage.OutputTokens != 10 ||
			inv.StopReason != "end_turn" || !bytes.Equal(inv.Output.Data, answer) {
			t.Errorf("record: provider %s upstream %s usage %+v stop %s output %s", inv.Provider, inv.UpstreamModel, inv.Usage, inv.StopReason, inv.Output.Data)
		}
	})

	t.Run("renamed model and default budget edited in place", func(t *testing.T) {
		post(t, `{"model": "openai.gpt-4-1-v1", "messages": [{"role": "user", "content": "Hello"}], "future_member": true}`)
		want := `{"model": "gpt-4.1-2025-04-14", "messages": [{"role": "user", "content": "Hello"}], "future_member": true,"max_tokens":700}`
		if got := upstreamGot(t); got != want {
			t.Errorf("upstream got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("stream without the usage chunk asked for", func(t *testing.T) {
		res, out := post(t, `{"model":"gpt-4.1-2025-04-14","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}`)
		if got := upstreamGot(t); !strings.HasSuffix(got, `"stream_options":{"include_usage":true}}`) {
			t.Errorf("upstream got %s, want include_usage asked for", got)
		}
		// The caller gets the upstream's bytes but the usage chunk.
		var want []byte
		for _, ev := range bytes.SplitAfter(stream, []byte("\n\n")) {
			if !bytes.Contains(ev, []byte(`"choices":[]`)) {
				want = append(want, ev...)
			}
		}
		if !bytes.Equal(out, want) {
			t.Errorf("client got\n%s\nwant\n%s", out, want)
		}
		inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
		if !inv.Streamed || inv.Usage.InputTokens != 24 || inv.Usage.OutputTokens != 12 || inv.FirstByte.IsZero() {
			t.Errorf("stream record: streamed %v usage %+v", inv.Streamed, inv.Usage)
		}
	})

	t.Run("stream with the usage chunk, through the openai SDK", func(t *testing.T) {
		client := oai.NewClient(option.WithBaseURL(srv.URL()+"/v1"), option.WithAPIKey(aliceAPIKey), option.WithMaxRetries(0))
		var res *http.Response
		st := client.Chat.Completions.NewStreaming(context.Background(), oai.ChatCompletionNewParams{
			Model:         "gpt-4.1-2025-04-14",
			Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Hello")},
			StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
		}, option.WithResponseInto(&res))
		var acc oai.ChatCompletionAccumulator
		var fingerprint string
		for st.Next() {
			acc.AddChunk(st.Current())
			fingerprint = st.Current().SystemFingerprint
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
		if acc.ID != "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF" || fingerprint != "fp_157b3831f5" ||
			acc.Usage.PromptTokens != int64(inv.Usage.InputTokens) || acc.Usage.CompletionTokens != int64(inv.Usage.OutputTokens) {
			t.Errorf("SDK saw id %s fingerprint %s usage %+v; recorded %+v", acc.ID, fingerprint, acc.Usage, inv.Usage)
		}
		if got := acc.Choices[0].Message.Content; !strings.HasPrefix(got, "Let's take a journey") || inv.Output.Data == nil ||
			!bytes.Contains(inv.Output.Data, []byte(got[:20])) {
			t.Errorf("content %q; recorded output %s", got, inv.Output.Data)
		}
	})

	t.Run("embeddings byte for byte", func(t *testing.T) {
		res, out := post(t, `{"model": "openai.text-embedding-3-small-v1", "input": ["one", "two"], "encoding_format": "float"}`)
		if !bytes.Equal(out, embeddings) {
			t.Errorf("client got\n%s\nwant the upstream's answer as sent\n%s", out, embeddings)
		}
		if got, want := upstreamGot(t), `{"model": "text-embedding-3-small", "input": ["one", "two"], "encoding_format": "float"}`; got != want {
			t.Errorf("upstream got\n%s\nwant\n%s", got, want)
		}
		inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
		if inv.Operation != "Embeddings" || inv.Usage.InputTokens != 8 || !bytes.Equal(inv.Output.Data, embeddings) {
			t.Errorf("record: %s usage %+v output %s", inv.Operation, inv.Usage, inv.Output.Data)
		}
	})
}
