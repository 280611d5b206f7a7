package anthropic

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

// FuzzStream feeds arbitrary bytes to the Messages SSE parser: no panic,
// and either a Bedrock exception or a complete stream that assembles into
// valid JSON.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.http", "stream_tool_use.http", "stream_thinking.http", "stream_error.http", "stream_structured.http"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		f.Add(body)
	}
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\n"))
	tr := &providertest.BodyTransport{ContentType: "text/event-stream"}
	p, err := New(Options{BaseURL: "http://upstream.invalid", APIKey: "sk-ant-fuzz", Client: &http.Client{Transport: tr}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr.Body = body
		providertest.CheckStream(t, p)
	})
}
