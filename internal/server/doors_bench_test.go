package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkDoors is the same small chat call through each front door,
// plain and streamed, over HTTP/1.1 against the zero-latency simulator: the
// cost of each wire's decoding and encoding around the one request loop
// they share (authentication by API key, routing, the record, observers).
func BenchmarkDoors(b *testing.B) {
	srv, _ := startServer(b, withAlice)
	hc := http1Client(nil)
	for _, d := range []struct {
		name, path, body, header string
	}{
		{"bedrock-converse", "/model/" + haiku + "/converse", `{"messages":[{"role":"user","content":[{"text":"Benchmark the door."}]}],"inferenceConfig":{"maxTokens":50}}`, ""},
		{"bedrock-invoke", "/model/" + haiku + "/invoke", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"Benchmark the door."}]}`, ""},
		{"openai-chat", "/v1/chat/completions", `{"model":"` + haiku + `","max_tokens":50,"messages":[{"role":"user","content":"Benchmark the door."}]}`, ""},
		{"openai-responses", "/v1/responses", `{"model":"` + haiku + `","max_output_tokens":50,"input":"Benchmark the door."}`, ""},
		{"anthropic-messages", "/v1/messages", `{"model":"claude-3-haiku-20240307","max_tokens":50,"messages":[{"role":"user","content":"Benchmark the door."}]}`, "x-api-key"},
	} {
		for _, stream := range []bool{false, true} {
			name, path, body := d.name, d.path, d.body
			if stream {
				name += "/stream"
				switch {
				case strings.HasPrefix(path, "/model/"):
					path = strings.Replace(strings.Replace(path, "/converse", "/converse-stream", 1), "/invoke", "/invoke-with-response-stream", 1)
				default:
					body = `{"stream":true,` + body[1:]
				}
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(body))
					if d.header != "" {
						req.Header.Set(d.header, aliceAPIKey)
					} else {
						req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || len(bytes.TrimSpace(out)) == 0 {
						b.Fatalf("%s: %d %s", name, resp.StatusCode, out)
					}
				}
			})
		}
	}
}
