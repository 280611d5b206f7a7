package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func TestInvokeModel(t *testing.T) {
	ex := loadExchange(t, "invoke_anthropic")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)

	resp, err := p.InvokeModel(t.Context(), provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{
		Body:        []byte(ex.Request.Body),
		ContentType: "application/json",
		Accept:      "application/json",
		Headers: map[string]string{
			"X-Amzn-Bedrock-Trace":                     "ENABLED",
			"x-amzn-bedrock-performanceconfig-latency": "standard",
			// Not Bedrock headers: never forwarded, never override signing.
			"Authorization": "AWS4-HMAC-SHA256 forged",
			"X-Amz-Date":    "19700101T000000Z",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The body comes back exactly as Bedrock sent it.
	if want := compact(t, ex.Response.Body); !bytes.Equal(resp.Body, want) {
		t.Errorf("body = %s\nwant %s", resp.Body, want)
	}
	if resp.ContentType != "application/json" {
		t.Errorf("content type = %q", resp.ContentType)
	}
	if resp.InputTokens != 18 || resp.OutputTokens != 11 || resp.CacheReadInputTokens != 1024 || resp.CacheWriteInputTokens != 0 {
		t.Errorf("usage = %d in, %d out, %d cache read, %d cache write", resp.InputTokens, resp.OutputTokens, resp.CacheReadInputTokens, resp.CacheWriteInputTokens)
	}
	if got := rs.received(); len(got) != 1 || got[0].Header.Get("X-Amz-Date") == "19700101T000000Z" {
		t.Errorf("a caller header overrode the signing headers")
	}
}

func TestInvokeModelDefaultsContentTypes(t *testing.T) {
	ex := loadExchange(t, "invoke_anthropic")
	ex.Request.Headers = map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	if _, err := p.InvokeModel(t.Context(), provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{Body: []byte(ex.Request.Body)}); err != nil {
		t.Fatal(err)
	}
}

func TestInvokeModelRejectsBadHeaders(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1") // never reached
	tests := []*provider.NativeRequest{
		nil,
		{Body: []byte(`{}`), Headers: map[string]string{"X-Amzn-Bedrock-Trace": "ENABLED\r\nX-Injected: 1"}},
		{Body: []byte(`{}`), Headers: map[string]string{"X-Amzn-Bedrock-Bad Name": "x"}},
		{Body: []byte(`{}`), ContentType: "application/json\nX-Injected: 1"},
	}
	for i, req := range tests {
		_, err := p.InvokeModel(t.Context(), provider.Call{UpstreamModel: "m"}, req)
		if e := asAPIError(t, err); e.Code != apierror.Validation {
			t.Errorf("%d: InvokeModel: %v, want ValidationException", i, e)
		}
		_, err = p.InvokeModelWithResponseStream(t.Context(), provider.Call{UpstreamModel: "m"}, req)
		if e := asAPIError(t, err); e.Code != apierror.Validation {
			t.Errorf("%d: InvokeModelWithResponseStream: %v, want ValidationException", i, e)
		}
	}
}

func TestInvokeModelWithResponseStream(t *testing.T) {
	ex := loadExchange(t, "invoke_stream_anthropic")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)

	s, err := p.InvokeModelWithResponseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{
		Body: []byte(ex.Request.Body), Accept: "*/*",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ContentType() != "application/json" {
		t.Errorf("content type = %q", s.ContentType())
	}
	var chunks [][]byte
	for {
		b, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, b)
	}
	if len(chunks) != len(ex.Response.Frames) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(ex.Response.Frames))
	}
	for i, f := range ex.Response.Frames {
		if want := compact(t, f.Chunk); !bytes.Equal(chunks[i], want) {
			t.Errorf("chunk %d = %s\nwant %s", i, chunks[i], want)
		}
	}
	var last struct {
		Metrics struct {
			InputTokenCount, OutputTokenCount int
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal(chunks[len(chunks)-1], &last); err != nil || last.Metrics.InputTokenCount != 288 || last.Metrics.OutputTokenCount != 12 {
		t.Errorf("last chunk's invocation metrics = %+v (%v)", last.Metrics, err)
	}
	if got := rs.received(); len(got) != 1 || got[0].Header.Get("Accept") == "*/*" {
		t.Errorf("the stream's accept type must travel as X-Amzn-Bedrock-Accept only")
	}
}

func TestInvokeModelWithResponseStreamException(t *testing.T) {
	chunk := replayFrame{Headers: map[string]string{":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
		Chunk: json.RawMessage(`{"type":"message_start"}`)}
	throttle := replayFrame{Headers: map[string]string{":exception-type": "throttlingException", ":content-type": "application/json", ":message-type": "exception"},
		Payload: json.RawMessage(`{"message":"Too many tokens, please wait before trying again."}`)}
	tests := []struct {
		name   string
		frames []replayFrame
		// chunks before the error; -1 when InvokeModelWithResponseStream
		// itself must fail.
		chunks int
	}{
		{"first frame", []replayFrame{throttle}, -1},
		{"mid-stream", []replayFrame{chunk, chunk, throttle}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := exchange{Model: "anthropic.claude-3-haiku-20240307-v1:0", Response: replayResponse{Status: 200,
				Headers: map[string]string{"Content-Type": "application/vnd.amazon.eventstream"}, Frames: tt.frames}}
			rs := newReplay(t, ex)
			p := newTestProvider(t, rs.srv.URL)
			s, err := p.InvokeModelWithResponseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{Body: []byte(`{}`)})
			if tt.chunks < 0 {
				if e := asAPIError(t, err); e.Code != apierror.Throttling || e.Message != "Too many tokens, please wait before trying again." {
					t.Errorf("error = %+v", e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			for {
				_, err = s.Next()
				if err != nil {
					break
				}
				n++
			}
			if n != tt.chunks {
				t.Errorf("%d chunks before the exception, want %d", n, tt.chunks)
			}
			if e := asAPIError(t, err); e.Code != apierror.Throttling {
				t.Errorf("error = %+v", e)
			}
		})
	}
}

func TestInvokeModelWithResponseStreamCancel(t *testing.T) {
	ex := loadExchange(t, "invoke_stream_anthropic")
	ex.Response.Frames = ex.Response.Frames[:2]
	rs := newReplay(t, ex)
	rs.hold = func(r *http.Request) { <-r.Context().Done() }
	p := newTestProvider(t, rs.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := p.InvokeModelWithResponseStream(ctx, provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{Body: []byte(ex.Request.Body), Accept: "*/*"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	next := make(chan error, 1)
	go func() {
		_, err := s.Next()
		next <- err
	}()
	cancel()
	select {
	case err = <-next:
	case <-time.After(30 * time.Second):
		t.Fatal("Next did not return after the context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
}

// TestInvokeModelReportsTheTierThatServed: Bedrock answers with the tier
// and latency mode that served the call, which may not be the ones asked
// for (a priority request served on the default tier).
func TestInvokeModelReportsTheTierThatServed(t *testing.T) {
	ex := loadExchange(t, "invoke_anthropic")
	ex.Response.Headers["X-Amzn-Bedrock-Service-Tier"] = "default"
	ex.Response.Headers["X-Amzn-Bedrock-PerformanceConfig-Latency"] = "standard"
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	resp, err := p.InvokeModel(t.Context(), provider.Call{UpstreamModel: ex.Model}, &provider.NativeRequest{
		Body: []byte(ex.Request.Body), ContentType: "application/json", Accept: "application/json",
		Headers: map[string]string{"X-Amzn-Bedrock-Trace": "ENABLED", "X-Amzn-Bedrock-Performanceconfig-Latency": "standard"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ServiceTier != "default" || resp.PerformanceLatency != "standard" {
		t.Errorf("tier %q latency %q, want the upstream's default and standard", resp.ServiceTier, resp.PerformanceLatency)
	}
}
