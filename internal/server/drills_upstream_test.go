package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// badUpstream is a local HTTP server that misbehaves on purpose, speaking
// just enough of OpenAI's chat completions (/chat/completions) and
// Anthropic's Messages (/v1/messages) to get a first stream event out
// before it fails. Its behaviour is switched between calls.
type badUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	mode     string
	requests int
}

// Misbehaviours.
const (
	upHang          = "hang"           // no response until the caller gives up
	upResetResponse = "reset-response" // headers and half a body, then a TCP reset
	upResetStream   = "reset-stream"   // a stream's first event, then a TCP reset
	upGarbage       = "garbage"        // 200 application/json with a body that is not JSON
	upGarbageStream = "garbage-stream" // 200 text/event-stream whose events are not JSON
	upBadSSE        = "bad-sse"        // a stream's first event, then malformed JSON
	upWrongType     = "wrong-type"     // 200 text/html to a JSON or streamed request
	up500           = "500"
	up503           = "503"
	up429           = "429"
)

func newBadUpstream(t *testing.T) *badUpstream {
	u := &badUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *badUpstream) set(mode string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mode, u.requests = mode, 0
}

func (u *badUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests
}

func (u *badUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	mode := u.mode
	u.requests++
	u.mu.Unlock()
	var req struct {
		Stream bool `json:"stream"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	anthropic := r.URL.Path == "/v1/messages"
	first := openAIFirstChunk
	if anthropic {
		first = anthropicFirstEvents
	}
	switch mode {
	case upHang:
		<-r.Context().Done()
	case upResetResponse:
		rawReset(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"id\":\"chatcmpl-1\",\"choices\":[")
	case upResetStream:
		rawReset(w, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
			fmt.Sprintf("%x\r\n%s\r\n", len(first), first))
	case upGarbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "this is not JSON at all {{{")
	case upGarbageStream:
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"choices":[{"message":`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {not json\n\ndata: }}}\n\n")
	case upBadSSE:
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, first)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\n\n")
	case upWrongType:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>Welcome to nginx!</body></html>")
	case up500, up503, up429:
		status := map[string]int{up500: 500, up503: 503, up429: 429}[mode]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if anthropic {
			_, _ = fmt.Fprintf(w, `{"type":"error","error":{"type":"api_error","message":"drill %d"}}`, status)
		} else {
			_, _ = fmt.Fprintf(w, `{"error":{"message":"drill %d","type":"server_error"}}`, status)
		}
	default:
		http.Error(w, "no mode", http.StatusTeapot)
	}
}

const openAIFirstChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-drill","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}` + "\n\n"

const anthropicFirstEvents = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-drill","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}` + "\n\n" +
	"event: content_block_start\n" +
	`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
	"event: content_block_delta\n" +
	`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}` + "\n\n"

// rawReset hijacks the connection, writes raw, then resets the connection
// (SO_LINGER 0 sends an RST rather than a FIN).
func rawReset(w http.ResponseWriter, raw string) {
	conn, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = bw.WriteString(raw)
	_ = bw.Flush()
	time.Sleep(20 * time.Millisecond) // let the first bytes be read before the reset
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

const (
	drillOpenAI    = "drill.openai-v1"
	drillAnthropic = "drill.anthropic-v1"
)

// drillModels routes one model to each misbehaving upstream through a
// provider of the real type, with one retry and a short timeout.
func drillModels(up *badUpstream) func(*config.Config) {
	return func(c *config.Config) {
		one := 1
		c.Providers = append(c.Providers,
			config.Provider{Name: "badopenai", Type: "openai", Settings: map[string]any{"baseURL": up.URL}, Retries: &one, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond},
			config.Provider{Name: "badanthropic", Type: "anthropic", Settings: map[string]any{"baseURL": up.URL, "apiKeyEnv": "DRILL_ANTHROPIC_KEY"}, Retries: &one, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
		for _, m := range []struct{ id, provider, upstream, alias string }{
			{drillOpenAI, "badopenai", "gpt-drill", "drill-gpt"},
			{drillAnthropic, "badanthropic", "claude-drill", "drill-claude"},
		} {
			c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: m.id, Name: m.id, Vendor: "modelwatch", Family: "anthropic",
				Provider: m.provider, UpstreamModel: m.upstream, Aliases: []string{m.alias}, MaxOutputTokens: 1000, DefaultMaxTokens: 100,
				Timeout: 300 * time.Millisecond, Streaming: true, Tools: true, SystemPrompt: true}})
		}
	}
}

// TestDrillUpstreamMisbehaves sends calls through a real server to
// providers of type openai and anthropic whose upstream hangs, resets the
// connection, sends garbage or answers with errors. Every call gets a clear
// error in the API's shape, is recorded exactly once with that error, and
// every goroutine it started is gone afterwards.
func TestDrillUpstreamMisbehaves(t *testing.T) {
	t.Setenv("DRILL_ANTHROPIC_KEY", "sk-ant-drill")
	up := newBadUpstream(t)
	srv, rec := startServer(t, drillModels(up))
	hc := &http.Client{Transport: &http.Transport{}}
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret", func(o *bedrockruntime.Options) { o.HTTPClient = hc })
	release := func() {
		hc.CloseIdleConnections()
		up.CloseClientConnections()
	}
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello")}}}

	// Warm up (lazily started machinery is not a leak), then take the
	// baseline.
	up.set(up503)
	_, _ = client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(drillOpenAI), Messages: msgs})
	release()
	time.Sleep(100 * time.Millisecond)
	baseline := goroutines()

	type expect struct {
		code     string // the Bedrock exception, and the recorded ErrorCode
		status   int    // its HTTP status (0: sent as a stream event)
		attempts int    // upstream attempts (retries counted)
	}
	cases := []struct {
		mode   string
		stream bool
		model  string // "" for both
		expect
	}{
		{upHang, false, "", expect{"ModelTimeoutException", 408, 2}},
		{upHang, true, "", expect{"ModelTimeoutException", 408, 2}},
		{upResetResponse, false, "", expect{"ServiceUnavailableException", 503, 2}},
		{upResetStream, true, "", expect{"ModelStreamErrorException", 0, 1}},
		{upGarbage, false, "", expect{"ModelErrorException", 424, 1}},
		{upBadSSE, true, "", expect{"ModelStreamErrorException", 0, 1}},
		{upWrongType, false, "", expect{"ModelErrorException", 424, 1}},
		{up500, false, "", expect{"ModelErrorException", 424, 2}},
		{up500, true, "", expect{"ModelErrorException", 424, 2}},
		{up503, false, "", expect{"ServiceUnavailableException", 503, 2}},
		{up503, true, "", expect{"ServiceUnavailableException", 503, 2}},
		{up429, false, "", expect{"ThrottlingException", 429, 2}},
		{up429, true, "", expect{"ThrottlingException", 429, 2}},
		// A stream that never produces a readable first event: both are
		// clear 424s before the stream starts, but the providers differ (the
		// OpenAI provider says ModelStreamErrorException and does not retry;
		// the Anthropic provider says ModelErrorException and retries).
		{upGarbageStream, true, drillOpenAI, expect{"ModelStreamErrorException", 424, 1}},
		{upWrongType, true, drillOpenAI, expect{"ModelStreamErrorException", 424, 1}},
		{upGarbageStream, true, drillAnthropic, expect{"ModelErrorException", 424, 2}},
		{upWrongType, true, drillAnthropic, expect{"ModelErrorException", 424, 2}},
	}
	for _, model := range []string{drillOpenAI, drillAnthropic} {
		for _, tc := range cases {
			if tc.model != "" && tc.model != model {
				continue
			}
			name := fmt.Sprintf("%s/%s/stream=%v", model, tc.mode, tc.stream)
			t.Run(name, func(t *testing.T) {
				up.set(tc.mode)
				attemptsBefore := metric(t, srv, "modelwatch_upstream_attempts_total", map[string]string{"model_id": model})
				var id string
				if tc.stream {
					var s streamed
					for try := 0; ; try++ {
						attemptsBefore = metric(t, srv, "modelwatch_upstream_attempts_total", map[string]string{"model_id": model})
						up.set(tc.mode)
						s = converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs})
						if !sdkClosedItsConnection(s.err) || try == 4 {
							break
						}
						// The SDK dropped its own connection mid-stream (see
						// sdkClosedItsConnection); the server records that call as
						// ClientClosedRequest. Wait for that record, then try again.
						t.Logf("SDK closed its own connection (%v); retrying", s.err)
						waitRecorded(t, rec, s.requestID)
					}
					if s.err == nil {
						t.Fatalf("stream succeeded against a %s upstream", tc.mode)
					}
					if tc.status == 0 {
						// After the first event: an exception event ends the stream.
						id = s.requestID
						if s.text != "Hello" {
							t.Errorf("text before the failure %q, want the first event's", s.text)
						}
						apiError(t, s.err, tc.code, 0, "")
					} else {
						id = errRequestID(t, s.err)
						apiError(t, s.err, tc.code, tc.status, "")
					}
				} else {
					_, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs})
					if err == nil {
						t.Fatalf("call succeeded against a %s upstream", tc.mode)
					}
					id = errRequestID(t, err)
					apiError(t, err, tc.code, tc.status, "")
				}
				inv := rec.byRequestID(t, id)
				if inv.ErrorCode != tc.code {
					t.Errorf("recorded error %q, want %q", inv.ErrorCode, tc.code)
				}
				if len(inv.Attempts) != tc.attempts || up.count() != tc.attempts {
					t.Errorf("%d attempts recorded, upstream saw %d, want %d", len(inv.Attempts), up.count(), tc.attempts)
				}
				if n := metric(t, srv, "modelwatch_upstream_attempts_total", map[string]string{"model_id": model}) - attemptsBefore; int(n) != tc.attempts {
					t.Errorf("modelwatch_upstream_attempts_total grew by %v, want %d", n, tc.attempts)
				}
			})
		}
	}

	// The OpenAI API gets the same failures in OpenAI's shape.
	openaiCases := []struct {
		mode   string
		stream bool
		status int
		code   string
	}{
		{upHang, false, 504, "timeout"},
		{upResetResponse, false, 503, "service_unavailable"},
		{upGarbage, false, 502, "model_error"},
		{up503, false, 503, "service_unavailable"},
		{up429, false, 429, "rate_limit_exceeded"},
		{up500, false, 502, "model_error"},
		{upHang, true, 504, "timeout"},
		{upResetStream, true, 200, "model_error"}, // failed mid-stream: an error frame after the first chunk
		{upBadSSE, true, 200, "model_error"},
	}
	for _, tc := range openaiCases {
		t.Run(fmt.Sprintf("openai-api/%s/stream=%v", tc.mode, tc.stream), func(t *testing.T) {
			up.set(tc.mode)
			body := fmt.Sprintf(`{"model":"drill-gpt","stream":%v,"messages":[{"role":"user","content":"Hello"}]}`, tc.stream)
			resp, err := hc.Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			payload := raw
			if tc.status == 200 {
				// The error is the stream's last frame, and [DONE] is not sent.
				frames := strings.Split(strings.TrimSpace(string(raw)), "\n\n")
				last := frames[len(frames)-1]
				if !strings.HasPrefix(last, "data: ") || strings.Contains(string(raw), "[DONE]") || len(frames) < 2 {
					t.Fatalf("stream did not end with an error frame: %q", raw)
				}
				payload = []byte(strings.TrimPrefix(last, "data: "))
			}
			var e struct {
				Error struct {
					Message, Type string
					Code          string
				}
			}
			if err := json.Unmarshal(payload, &e); err != nil || e.Error.Message == "" {
				t.Fatalf("not an OpenAI error body: %q (%v)", payload, err)
			}
			if e.Error.Code != tc.code {
				t.Errorf("error code %q, want %q (%s)", e.Error.Code, tc.code, payload)
			}
			rec.byRequestID(t, resp.Header.Get("x-request-id"))
		})
	}

	expectNoGoroutineLeak(t, baseline, release)
}

// sdkClosedItsConnection reports the AWS SDK's event-stream reader failing
// because the SDK's own HTTP connection was closed under it ("decode event:
// ... use of closed network connection"). It happens now and then to an
// SDK ConverseStream whose next event comes after a pause; plain net/http
// reading the same responses never sees it, and the server records such
// calls as ClientClosedRequest (499), so it is a client-side fault (compare
// aws/aws-sdk-go-v2#2737), not the drill's subject.
func sdkClosedItsConnection(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "decode event:") && strings.Contains(err.Error(), "use of closed network connection")
}

// waitRecorded waits until the call with the request ID has been recorded.
func waitRecorded(t *testing.T, rec *recorder, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		for _, inv := range rec.invs {
			if inv.RequestID == id {
				rec.mu.Unlock()
				return
			}
		}
		rec.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("call %s never recorded", id)
}
