package anthropic

import (
	"bufio"
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

// bodyTransport answers every request with a fixed 200 event stream, so a
// fuzz iteration exercises the parser without a server.
type bodyTransport struct{ body []byte }

func (t *bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: r}, nil
}

// FuzzStream feeds arbitrary bytes to the Messages SSE parser: no panic,
// and either a Bedrock exception or a complete stream that assembles into
// valid JSON.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.http", "stream_tool_use.http", "stream_thinking.http", "stream_error.http"} {
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
	tr := &bodyTransport{}
	p, err := New(Options{BaseURL: "http://upstream.invalid", APIKey: "sk-ant-fuzz", Client: &http.Client{Transport: tr}})
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
