package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

// protoRecorder is a RoundTripper that remembers the protocol of every
// response, so a test can tell what a client really spoke.
type protoRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	protos map[string]int
}

func (p *protoRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		p.mu.Lock()
		p.protos[resp.Proto]++
		p.mu.Unlock()
	}
	return resp, err
}

func (p *protoRecorder) only(t *testing.T, want string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.protos) != 1 || p.protos[want] == 0 {
		t.Errorf("responses by protocol %v, want only %s", p.protos, want)
	}
}

// http2Client returns a client that speaks only HTTP/2: h2c with prior
// knowledge on http://, h2 by ALPN on https:// (pool trusts the server).
func http2Client(pool *x509.CertPool) (*http.Client, *protoRecorder) {
	var p http.Protocols
	if pool == nil {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP2(true)
	}
	tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}
	rec := &protoRecorder{next: tr, protos: map[string]int{}}
	return &http.Client{Transport: rec}, rec
}

// http1Client speaks only HTTP/1.1.
func http1Client(pool *x509.CertPool) *http.Client {
	var p http.Protocols
	p.SetHTTP1(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestEveryAPIServesHTTP2 calls each API with unmodified Go SDK clients
// and plain requests over cleartext HTTP/2 (prior knowledge, as the AWS SDK
// for JavaScript v3 does on http://) and over TLS with ALPN, with SigV4 and
// bearer principals, and checks that every response came over HTTP/2.
func TestEveryAPIServesHTTP2(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	for _, tt := range []struct {
		name string
		tls  bool
	}{{"h2c", false}, {"h2 over TLS", true}} {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := startServer(t, func(c *config.Config) {
				withTeam(c)
				if tt.tls {
					c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
				}
			})
			var clientPool *x509.CertPool
			if tt.tls {
				clientPool = pool
			}
			hc, protos := http2Client(clientPool)
			ctx := context.Background()
			rt := runtimeClient(srv.URL(), aliceKeyID, aliceSecret, func(o *bedrockruntime.Options) { o.HTTPClient = hc })

			conv, err := rt.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: []types.Message{{
				Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello over HTTP/2"}}}}})
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			if inv := rec.byRequestID(t, requestID(t, conv.ResultMetadata)); inv.PrincipalName != "alice" || inv.Usage.OutputTokens != int(*conv.Usage.OutputTokens) {
				t.Errorf("record principal %q output tokens %d, response %d", inv.PrincipalName, inv.Usage.OutputTokens, *conv.Usage.OutputTokens)
			}

			stream, err := rt.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: []types.Message{{
				Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello over HTTP/2"}}}}})
			if err != nil {
				t.Fatalf("ConverseStream: %v", err)
			}
			var text strings.Builder
			for ev := range stream.GetStream().Events() {
				if d, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
					if txt, ok := d.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
						text.WriteString(txt.Value)
					}
				}
			}
			if err := stream.GetStream().Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if want := conv.Output.(*types.ConverseOutputMemberMessage).Value.Content[0].(*types.ContentBlockMemberText).Value; text.String() != want {
				t.Errorf("streamed %q, Converse said %q", text.String(), want)
			}

			inv, err := rt.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody})
			if err != nil {
				t.Fatalf("InvokeModel: %v", err)
			}
			if !bytes.Contains(inv.Body, []byte(`"type":"message"`)) {
				t.Errorf("InvokeModel body %s", inv.Body)
			}
			ims, err := rt.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(haiku), Body: invokeBody})
			if err != nil {
				t.Fatalf("InvokeModelWithResponseStream: %v", err)
			}
			chunks := 0
			for range ims.GetStream().Events() {
				chunks++
			}
			if err := ims.GetStream().Err(); err != nil || chunks < 3 {
				t.Errorf("stream: %d chunks, %v", chunks, err)
			}

			ctl := bedrock.New(bedrock.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), HTTPClient: hc,
				Credentials: credentials.NewStaticCredentialsProvider(adminKeyID, adminSecret, ""), RetryMaxAttempts: 1})
			if _, err := ctl.GetModelInvocationLoggingConfiguration(ctx, nil); err != nil {
				t.Errorf("GetModelInvocationLoggingConfiguration: %v", err)
			}
			if _, err := ctl.ListFoundationModels(ctx, nil); err != nil {
				t.Errorf("ListFoundationModels: %v", err)
			}

			// The OpenAI API (with a bearer key), streamed and not, and the
			// pages and data APIs, through the same HTTP/2 client.
			chat := `{"model":"` + haiku + `","messages":[{"role":"user","content":"Hello over HTTP/2"}]}`
			for _, body := range []string{chat, strings.Replace(chat, `{"model"`, `{"stream":true,"model"`, 1)} {
				req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"chat.completion`)) {
					t.Errorf("chat completions: %d %s", resp.StatusCode, b)
				}
				if strings.Contains(body, `"stream"`) && !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
					t.Errorf("stream does not end with [DONE]: %q", b[max(0, len(b)-40):])
				}
			}
			// The Anthropic Messages API (x-api-key) and the Responses API,
			// streamed and not.
			msgs := `{"model":"claude-3-5-haiku-20241022","max_tokens":50,"messages":[{"role":"user","content":"Hello over HTTP/2"}]}`
			resps := `{"model":"` + haiku + `","input":"Hello over HTTP/2"}`
			for _, c := range []struct{ path, body, want, end string }{
				{"/v1/messages", msgs, `"type":"message"`, ""},
				{"/v1/messages", strings.Replace(msgs, `{"model"`, `{"stream":true,"model"`, 1), `event: message_start`, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
				{"/v1/messages/count_tokens", `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"Hello"}]}`, `"input_tokens":`, ""},
				{"/v1/responses", resps, `"object":"response"`, ""},
				{"/v1/responses", strings.Replace(resps, `{"model"`, `{"stream":true,"model"`, 1), `event: response.created`, ""},
			} {
				req, _ := http.NewRequest(http.MethodPost, srv.URL()+c.path, strings.NewReader(c.body))
				if strings.HasPrefix(c.path, "/v1/messages") {
					req.Header.Set("X-Api-Key", aliceAPIKey)
				} else {
					req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(b, []byte(c.want)) || !bytes.HasSuffix(b, []byte(c.end)) {
					t.Errorf("%s %s: %d %s", c.path, c.body, resp.StatusCode, b)
				}
			}
			for _, get := range []struct{ path, key string }{{"/healthz", ""}, {"/", ""}, {"/api/invocations", aliceAPIKey}, {"/metrics", scraperAPIKey}} {
				req, _ := http.NewRequest(http.MethodGet, srv.URL()+get.path, nil)
				if get.key != "" {
					req.Header.Set("Authorization", "Bearer "+get.key)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("GET %s: %d", get.path, resp.StatusCode)
				}
			}
			protos.only(t, "HTTP/2.0")
		})
	}
}

// TestBadInputGetsTheSameAnswerOnHTTP1AndHTTP2 sends the same bad
// requests over both protocols: the status, the error headers and the body
// must be byte-for-byte the same.
func TestBadInputGetsTheSameAnswerOnHTTP1AndHTTP2(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 1000 })
	h1 := http1Client(nil)
	h2, _ := http2Client(nil)
	big := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"malformed JSON", "POST", invokePath, `{"anthropic_version":`, 400},
		{"unknown model", "POST", "/model/no.such-model-v1:0/invoke", string(invokeBody), 400},
		{"body over the limit", "POST", invokePath, big, 400},
		{"converse validation", "POST", "/model/" + haiku + "/converse", `{"messages":[]}`, 400},
		{"openai bad request", "POST", "/v1/chat/completions", `{"model":"` + haiku + `","messages":"hi"}`, 400},
		{"openai body over the limit", "POST", "/v1/chat/completions", `{"model":"` + haiku + `","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 400},
		{"messages bad request", "POST", "/v1/messages", `{"model":"claude-3-5-haiku-20241022","messages":[{"role":"user","content":"hi"}]}`, 400},
		{"messages unknown model", "POST", "/v1/messages", `{"model":"claude-nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, 404},
		{"messages body over the limit", "POST", "/v1/messages", `{"model":"x","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 413},
		{"responses bad request", "POST", "/v1/responses", `{"model":"` + haiku + `","input":7}`, 400},
		{"responses stored response", "POST", "/v1/responses", `{"model":"` + haiku + `","input":"hi","previous_response_id":"resp_1"}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var answers [2]struct {
				status int
				hdr    http.Header
				body   []byte
			}
			for i, c := range []*http.Client{h1, h2} {
				req, _ := http.NewRequest(tt.method, srv.URL()+tt.path, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				answers[i].body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				answers[i].status, answers[i].hdr = resp.StatusCode, resp.Header
			}
			if answers[0].status != tt.status {
				t.Errorf("HTTP/1.1 status %d, want %d (%s)", answers[0].status, tt.status, answers[0].body)
			}
			// Anthropic's error bodies name their request; the rest must match.
			for i := range answers {
				answers[i].body = anthropicRequestID.ReplaceAll(answers[i].body, []byte(`"request_id":"req_…"`))
			}
			if answers[1].status != answers[0].status || !bytes.Equal(answers[1].body, answers[0].body) {
				t.Errorf("HTTP/2 answered %d %s\nHTTP/1.1 answered %d %s", answers[1].status, answers[1].body, answers[0].status, answers[0].body)
			}
			for _, h := range []string{"Content-Type", "X-Amzn-Errortype", "Content-Length"} {
				if a, b := answers[0].hdr.Get(h), answers[1].hdr.Get(h); a != b {
					t.Errorf("%s: HTTP/1.1 %q, HTTP/2 %q", h, a, b)
				}
			}
		})
	}
}

var anthropicRequestID = regexp.MustCompile(`"request_id":"req_[0-9a-f]{32}"`)

// h2Conn is a raw cleartext HTTP/2 connection, for tests that must send
// what no well-behaved client would.
type h2Conn struct {
	net.Conn
	fr *http2.Framer
}

func dialH2(t *testing.T, srv *server.Server) *h2Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, bufio.NewReader(c))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &h2Conn{Conn: c, fr: fr}
}

// settings reads frames until the server's first SETTINGS frame.
func (c *h2Conn) settings(t *testing.T) map[http2.SettingID]uint32 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			out := map[http2.SettingID]uint32{}
			sf.ForeachSetting(func(s http2.Setting) error { out[s.ID] = s.Val; return nil })
			return out
		}
	}
}

func requestHeaders(path string, extra ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return buf.Bytes()
}

// stillServes checks a fresh HTTP/2 client gets /healthz and a model call.
func stillServes(t *testing.T, srv *server.Server) {
	t.Helper()
	hc, _ := http2Client(nil)
	hc.Timeout = 10 * time.Second
	resp, err := hc.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatalf("server no longer answers: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+invokePath, bytes.NewReader(invokeBody))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatalf("model call after the attack: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("model call after the attack: %d", resp.StatusCode)
	}
}

// TestHTTP2AnnouncesItsLimits checks the server's SETTINGS: the configured
// bound on concurrent streams and the header-list limit of HTTP/1.1.
func TestHTTP2AnnouncesItsLimits(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) { c.Limits.MaxConcurrentStreams = 7 })
	s := dialH2(t, srv).settings(t)
	if s[http2.SettingMaxConcurrentStreams] != 7 {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 7", s[http2.SettingMaxConcurrentStreams])
	}
	if got := s[http2.SettingMaxHeaderListSize]; got < 64<<10 || got > 65<<10 {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE = %d, want the 64 KiB header limit", got)
	}
}

// TestHTTP2ConcurrentStreamsAreBounded opens more streams than allowed
// on one connection: the server refuses the excess with REFUSED_STREAM
// (or the client waits), and never runs more handlers at once.
func TestHTTP2ConcurrentStreamsAreBounded(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) { c.Limits.MaxConcurrentStreams = 4 })
	c := dialH2(t, srv)
	c.settings(t)
	// Ten POSTs whose bodies never come: their handlers wait for them.
	for i := range 10 {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", invokePath}, {"content-type", "application/json"}} {
			enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: buf.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	refused := 0
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for refused < 6 {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d refusals: %v", refused, err)
		}
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			if rst.ErrCode != http2.ErrCodeRefusedStream && rst.ErrCode != http2.ErrCodeProtocol {
				t.Errorf("stream %d reset with %v", rst.StreamID, rst.ErrCode)
			}
			refused++
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			t.Logf("GOAWAY %v after %d refusals (the server closed the abusive connection)", ga.ErrCode, refused)
			break
		}
	}
	stillServes(t, srv)
}

// TestHTTP2RapidResetLeavesTheServerResponsive mounts the rapid reset
// attack (CVE-2023-44487): a client opens streams and resets each at once,
// thousands of times, on one connection. The server stays responsive and
// keeps no handler goroutines of the reset streams.
func TestHTTP2RapidResetLeavesTheServerResponsive(t *testing.T) {
	srv, _ := startServer(t, nil)
	baseline := runtime.NumGoroutine()
	c := dialH2(t, srv)
	c.settings(t)
	hdr := requestHeaders(invokePath)
	var sent int
	deadline := time.Now().Add(5 * time.Second)
	for i := range 20000 {
		id := uint32(2*i + 1)
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hdr, EndHeaders: true}); err != nil {
			break // the server closed the connection: the mitigation at work
		}
		if err := c.fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
		sent++
		if time.Now().After(deadline) {
			break
		}
	}
	t.Logf("sent %d HEADERS+RST_STREAM pairs", sent)
	stillServes(t, srv)
	c.Close()
	// The reset streams' handlers end: the goroutine count comes back.
	var now int
	for range 100 {
		if now = runtime.NumGoroutine(); now <= baseline+20 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("%d goroutines after the attack, %d before", now, baseline)
}

// TestHTTP2ContinuationFloodIsCut mounts the CONTINUATION flood
// (CVE-2023-45288): a HEADERS frame without END_HEADERS followed by endless
// CONTINUATION frames. The server must stop reading at its header limit and
// close the connection, not buffer without bound, and keep serving others.
func TestHTTP2ContinuationFloodIsCut(t *testing.T) {
	srv, _ := startServer(t, nil)
	c := dialH2(t, srv)
	c.settings(t)
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: requestHeaders("/healthz"), EndHeaders: false}); err != nil {
		t.Fatal(err)
	}
	// Each CONTINUATION carries 16 KiB of literal header fields.
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; buf.Len() < 16<<10; i++ {
		enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-flood-%d", i), Value: strings.Repeat("a", 200)})
	}
	frag := buf.Bytes()[:16<<10]
	written := 0
	closed := make(chan error, 1)
	go func() {
		// The server's answer: GOAWAY, then EOF.
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				closed <- err
				return
			}
			if _, ok := f.(*http2.GoAwayFrame); ok {
				closed <- nil
				return
			}
		}
	}()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for written < 64<<20 {
		if err := c.fr.WriteContinuation(1, false, frag); err != nil {
			break // the server hung up
		}
		written += len(frag)
		select {
		case <-closed:
			written = -written
		default:
			continue
		}
		break
	}
	if written > 0 {
		select {
		case err := <-closed:
			if err != nil && !errors.Is(err, io.EOF) && !isConnReset(err) {
				t.Logf("connection ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the server read %d MiB of CONTINUATION frames without closing the connection", written>>20)
		}
	} else {
		written = -written
	}
	// net/http parses (without keeping) a bounded excess past the 64 KiB
	// limit before it closes, and the kernel's socket buffers take more:
	// a few MiB is the mitigation working, 64 MiB would be no limit.
	if written > 16<<20 {
		t.Errorf("the server accepted %d KiB of header block before closing", written>>10)
	}
	t.Logf("connection closed after %d KiB of CONTINUATION frames", written>>10)
	stillServes(t, srv)
}

func isConnReset(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || strings.Contains(err.Error(), "reset by peer")
}

// TestHTTP2SlowClientsMeetTheTimeouts trickles a request over HTTP/2 as
// TestDrillBadClients does over HTTP/1.1: a body slower than readTimeout
// ends its stream with Bedrock's error or a reset, and a header block that
// never ends does not hold the connection past readHeaderTimeout's bound.
func TestHTTP2SlowClientsMeetTheTimeouts(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) {
		c.Limits.ReadHeaderTimeout = 300 * time.Millisecond
		c.Limits.ReadTimeout = time.Second
		c.Limits.IdleTimeout = 2 * time.Second
	})
	good := string(invokeBody)

	t.Run("body slower than readTimeout", func(t *testing.T) {
		c := dialH2(t, srv)
		c.settings(t)
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", invokePath},
			{"content-type", "application/json"}, {"content-length", fmt.Sprint(len(good))}} {
			enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := 0; i < len(good); i++ {
				if c.fr.WriteData(1, i == len(good)-1, []byte{good[i]}) != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var status string
		var body []byte
	read:
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				break // the server closed the connection
			}
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				if f.StreamID == 1 {
					status = f.PseudoValue("status")
				}
			case *http2.DataFrame:
				if f.StreamID == 1 {
					body = append(body, f.Data()...)
					if f.StreamEnded() {
						break read
					}
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == 1 {
					break read
				}
			case *http2.GoAwayFrame:
				break read
			}
		}
		elapsed := time.Since(start)
		t.Logf("after %v: status %q body %s", elapsed.Round(time.Millisecond), status, body)
		if elapsed > 8*time.Second {
			t.Errorf("the stream lasted %v: readTimeout (1s) did not end it", elapsed)
		}
		if status != "" && (status != "400" || !bytes.Contains(body, []byte(`"message"`))) {
			t.Errorf("answered %s %s, want Bedrock's 400 or a reset", status, body)
		}
	})

	t.Run("header block that never ends", func(t *testing.T) {
		c := dialH2(t, srv)
		c.settings(t)
		hdr := requestHeaders("/healthz")
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hdr[:1], EndHeaders: false}); err != nil {
			t.Fatal(err)
		}
		closed := make(chan time.Duration, 1)
		start := time.Now()
		go func() {
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for {
				if _, err := c.fr.ReadFrame(); err != nil {
					closed <- time.Since(start)
					return
				}
			}
		}()
		// One byte of header block every 200 ms: never complete.
		for i := 1; i < len(hdr); i++ {
			if c.fr.WriteContinuation(1, false, hdr[i:i+1]) != nil {
				break
			}
			select {
			case d := <-closed:
				t.Logf("connection closed after %v", d.Round(time.Millisecond))
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		select {
		case d := <-closed:
			t.Logf("connection closed after %v", d.Round(time.Millisecond))
		case <-time.After(15 * time.Second):
			t.Fatal("the server kept a connection whose header block never ended")
		}
	})
	stillServes(t, srv)
}
