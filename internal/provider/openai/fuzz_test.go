package openai

import (
	"net/http"
	"os"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

// FuzzStream feeds arbitrary upstream bytes to the SSE stream parser: it
// must never panic, and must end either with a Bedrock exception or with a
// complete stream whose assembled response is valid JSON.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"openai_chat_stream.sse", "openai_tool_stream.sse", "openai_stream_error.sse", "ollama_chat_stream.sse", "ollama_tool_stream.sse"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"error\":{\"message\":\"boom\"}}\n\n"))
	tr := &providertest.BodyTransport{ContentType: "text/event-stream"}
	p, err := New(Options{BaseURL: "http://upstream.invalid/v1", APIKey: "sk-fuzz", Client: &http.Client{Transport: tr}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr.Body = body
		providertest.CheckStream(t, p)
	})
}
