package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// bodyTransport answers every request with a fixed 200 response body, so a
// fuzz iteration exercises the stream parser without a server.
type bodyTransport struct{ body []byte }

func (t *bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: r}, nil
}

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
	tr := &bodyTransport{}
	p, err := New(Options{BaseURL: "http://upstream.invalid/v1", APIKey: "sk-fuzz", Client: &http.Client{Transport: tr}})
	if err != nil {
		f.Fatal(err)
	}
	req := &converse.Request{Messages: []converse.Message{{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("hi")}}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr.body = body
		st, err := p.ConverseStream(context.Background(), provider.Call{ModelID: "m", UpstreamModel: "m"}, req)
		if err == nil {
			var evs []converse.StreamEvent
			evs, err = provider.Collect(st)
			st.Close()
			if err == nil {
				var a converse.Assembler
				for i := range evs {
					a.Add(&evs[i])
				}
				if !a.Done() {
					t.Fatalf("stream ended without error and without metadata: %d events", len(evs))
				}
				if b, jerr := json.Marshal(a.Response()); jerr != nil || !json.Valid(b) {
					t.Fatalf("assembled response is not JSON: %v", jerr)
				}
			}
		}
		var e *apierror.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a Bedrock exception", err, err)
		}
	})
}
