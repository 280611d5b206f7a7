package server_test

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// BenchmarkOpenAIUpstream is one chat completions call, plain and streamed
// (the 17-chunk recorded gpt-4o stream), and one 1,536-dimension embedding, through the server to an
// OpenAI-compatible upstream on loopback that answers at once with
// OpenAI's recorded bytes: the gateway's cost per proxied call, the
// upstream's HTTP included. The client, the server and the upstream share
// the process, so ns/op is the three together; allocs/op and B/op are the
// numbers to compare between versions.
func BenchmarkOpenAIUpstream(b *testing.B) {
	answer, err := os.ReadFile("../provider/openai/testdata/openai_chat.json")
	if err != nil {
		b.Fatal(err)
	}
	stream, err := os.ReadFile("../provider/openai/testdata/openai_chat_stream.sse")
	if err != nil {
		b.Fatal(err)
	}
	// One 1,536-dimension vector, as text-embedding-3-small answers.
	vec := make([]string, 1536)
	for i := range vec {
		vec[i] = strconv.FormatFloat(math.Sin(float64(i))/40, 'f', -1, 32)
	}
	embedding := []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[` + strings.Join(vec, ",") +
		`]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":6,"total_tokens":6}}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/embeddings" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(embedding)
			return
		}
		if bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(stream)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	b.Cleanup(up.Close)
	b.Setenv("TEST_OPENAI_KEY", "sk-upstream-test")
	srv, _ := startServer(b, func(c *config.Config) {
		withAlice(c)
		c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: "openai", Settings: map[string]any{"baseURL": up.URL + "/v1", "apiKeyEnv": "TEST_OPENAI_KEY"}})
		c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: "openai.gpt-4o-bench-v1", Family: "anthropic", Provider: "openai",
			UpstreamModel: "gpt-4o", MaxOutputTokens: 8192, Streaming: true, Tools: true, SystemPrompt: true}},
			config.Model{Model: catalog.Model{ID: "openai.embed-bench-v1", Family: "titan-embed", Provider: "openai",
				UpstreamModel: "text-embedding-3-small", OutputModalities: []string{"EMBEDDING"}}})
	})
	hc := http1Client(nil)
	for _, tc := range []struct{ name, body string }{
		{"embeddings", `{"model":"openai.embed-bench-v1","input":"Benchmark the gateway.","encoding_format":"float"}`},
		{"chat", `{"model":"openai.gpt-4o-bench-v1","max_tokens":50,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Benchmark the gateway."}]}`},
		{"stream", `{"model":"openai.gpt-4o-bench-v1","stream":true,"max_tokens":50,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Benchmark the gateway."}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				path := "/v1/chat/completions"
				if tc.name == "embeddings" {
					path = "/v1/embeddings"
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || len(out) == 0 {
					b.Fatalf("%d %s", resp.StatusCode, out)
				}
			}
		})
	}
}
