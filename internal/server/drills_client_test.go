package server_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/config"
)

const invokePath = "/model/" + haiku + "/invoke"

// rawExchange writes raw to a new connection to addr (then, when
// halfClose, closes the writing side) and reads one response. A nil
// response means the server closed the connection without answering.
func rawExchange(t *testing.T, addr, raw string, halfClose bool) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	return readRaw(t, conn)
}

func readRaw(t *testing.T, conn net.Conn) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server neither answered nor closed the connection: %v", err)
		}
		return nil, nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// goErrorText are fragments of Go error strings that must never reach a
// caller.
var goErrorText = []string{"invalid character", "unexpected EOF", "json:", "http:", "runtime error", "goroutine", "exceeded max depth", "i/o timeout", "read tcp"}

// bedrockError asserts a Bedrock-shaped error: the status, the
// x-amzn-ErrorType and a {"message"} body free of Go error strings.
func bedrockError(t *testing.T, resp *http.Response, body []byte, status int, code string) string {
	t.Helper()
	if resp == nil {
		t.Fatalf("connection closed without a response, want %d %s", status, code)
	}
	if resp.StatusCode != status || resp.Header.Get("x-amzn-ErrorType") != code {
		t.Fatalf("answer %d %q, want %d %s: %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), status, code, body)
	}
	var e struct{ Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Fatalf("not a Bedrock error body: %q", body)
	}
	for _, frag := range goErrorText {
		if strings.Contains(e.Message, frag) {
			t.Errorf("a Go error string reached the caller: %q", e.Message)
		}
	}
	return e.Message
}

func expectHealthy(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz answered %d", resp.StatusCode)
	}
}

func post(path, contentType string, extra string, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n%s", path, contentType, len(body), extra, body)
}

// TestDrillBadClients sends a real server requests that are oversized,
// slow, truncated or malformed: each gets a clear error in Bedrock's shape
// (or a closed connection where HTTP leaves nothing else), never a 500 with
// a Go error string, and the server stays healthy.
func TestDrillBadClients(t *testing.T) {
	const limit = 1 << 20
	srv, _ := startServer(t, func(c *config.Config) {
		c.Limits.MaxRequestBytes = limit
		c.Limits.ReadHeaderTimeout = 300 * time.Millisecond
		c.Limits.ReadTimeout = time.Second
	})
	addr := srv.Addr()
	good := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	tooLarge := fmt.Sprintf("Member must have length less than or equal to %d", limit)

	t.Run("content-length over the limit", func(t *testing.T) {
		resp, body := rawExchange(t, addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", invokePath, 1<<30), false)
		if msg := bedrockError(t, resp, body, 400, "ValidationException"); !strings.Contains(msg, tooLarge) {
			t.Errorf("message %q", msg)
		}
		if !resp.Close {
			t.Error("the connection must close: the body stays unread")
		}
	})

	t.Run("chunked body growing past the limit", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", invokePath)
		var wg sync.WaitGroup
		wg.Add(1)
		sent := 0
		go func() {
			defer wg.Done()
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10))
			for sent < 8*limit { // far more than the limit; stops when the server closes
				if _, err := io.WriteString(conn, chunk); err != nil {
					return
				}
				sent += 64 << 10
			}
		}()
		resp, body := readRaw(t, conn)
		conn.Close()
		wg.Wait()
		if msg := bedrockError(t, resp, body, 400, "ValidationException"); !strings.Contains(msg, tooLarge) {
			t.Errorf("message %q", msg)
		}
		if sent >= 8*limit {
			t.Errorf("the server read all %d bytes of a body over its %d-byte limit", sent, limit)
		}
	})

	t.Run("headers slower than readHeaderTimeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n", invokePath)
		closed := false
		for range 100 { // 10 s of trickling at most
			if _, err := io.WriteString(conn, "X-Slow: a\r\n"); err != nil {
				closed = true
				break
			}
			time.Sleep(100 * time.Millisecond)
			_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				closed = true
				break
			}
		}
		if !closed {
			t.Fatal("the server kept a connection whose headers never ended")
		}
	})

	t.Run("body slower than readTimeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", invokePath, len(good))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < len(good); i++ {
				if _, err := io.WriteString(conn, good[i:i+1]); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		resp, body := readRaw(t, conn)
		conn.Close()
		<-done
		if resp != nil {
			t.Logf("answered %d: %s", resp.StatusCode, body)
			bedrockError(t, resp, body, 400, "ValidationException")
		} else {
			t.Log("connection closed")
		}
	})

	t.Run("truncated body", func(t *testing.T) {
		raw := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", invokePath, len(good)+500, good)
		resp, body := rawExchange(t, addr, raw, true)
		if resp != nil {
			t.Logf("answered %d: %s", resp.StatusCode, body)
			bedrockError(t, resp, body, 400, "ValidationException")
		} else {
			t.Log("connection closed")
		}
	})

	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, tc := range []struct {
		name, path, contentType, body string
	}{
		{"malformed JSON invoke", invokePath, "application/json", `{"anthropic_version":"bedrock-2023-05-31","messages":[`},
		{"malformed JSON converse", "/model/" + haiku + "/converse", "application/json", `{"messages":[{"role":"user",`},
		{"not JSON at all", "/model/" + haiku + "/converse", "application/json", "\x00\x01\x02 hello"},
		{"empty body", invokePath, "application/json", ""},
		{"wrong content type", "/model/" + haiku + "/converse", "text/plain", "just some text"},
		{"form content type", invokePath, "application/x-www-form-urlencoded", "a=b&c=d"},
		{"invalid UTF-8 in a string", "/model/" + haiku + "/converse", "application/json", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"\xff\xfe\xfd\"}]}],\"system\":[{\"text\":\"\xc3\x28\"}],\"inferenceConfig\":{\"maxTokens\":\"\xff\"}}"},
		{"deeply nested JSON invoke", invokePath, "application/json", nested},
		{"deeply nested JSON converse", "/model/" + haiku + "/converse", "application/json", nested},
		{"deeply nested inside a field", invokePath, "application/json", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":` + nested + `}`},
		{"deeply nested converse field", "/model/" + haiku + "/converse", "application/json", `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"additionalModelRequestFields":` + nested + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawExchange(t, addr, post(tc.path, tc.contentType, "", tc.body), false)
			bedrockError(t, resp, body, 400, "ValidationException")
		})
	}

	t.Run("invalid UTF-8 in a valid request", func(t *testing.T) {
		// JSON decoders replace invalid UTF-8; the call must not fail with a 500.
		resp, body := rawExchange(t, addr, post(invokePath, "application/json", "", "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"h\xffi\"}]}"), false)
		if resp == nil || resp.StatusCode >= 500 {
			t.Fatalf("answer %v: %s", resp, body)
		}
		if resp.StatusCode != 200 {
			bedrockError(t, resp, body, 400, "ValidationException")
		}
	})

	t.Run("many headers under the limit", func(t *testing.T) {
		var hdr strings.Builder
		for i := range 2000 {
			fmt.Fprintf(&hdr, "X-H%d: v\r\n", i)
		}
		resp, body := rawExchange(t, addr, post(invokePath, "application/json", hdr.String(), good), false)
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("answer %v: %s", resp, body)
		}
	})

	t.Run("headers over MaxHeaderBytes", func(t *testing.T) {
		var hdr strings.Builder
		for i := range 20000 {
			fmt.Fprintf(&hdr, "X-Header-%d: value\r\n", i)
		}
		resp, _ := rawExchange(t, addr, post(invokePath, "application/json", hdr.String(), good), false)
		// net/http refuses before any handler runs: 431, or a closed
		// connection.
		if resp != nil && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("answer %d, want 431", resp.StatusCode)
		}
	})

	// The OpenAI API refuses the same requests in OpenAI's shape.
	for _, tc := range []struct{ name, raw string }{
		{"openai oversized", fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 1<<30)},
		{"openai malformed", post("/v1/chat/completions", "application/json", "", `{"model":"gpt-4o-mini","messages":[`)},
		{"openai nested", post("/v1/chat/completions", "application/json", "", nested)},
		{"openai nested field", post("/v1/chat/completions", "application/json", "", `{"model":"`+haiku+`","messages":[{"role":"user","content":"hi"}],"metadata":`+nested+`}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawExchange(t, addr, tc.raw, false)
			if resp == nil || resp.StatusCode != 400 {
				t.Fatalf("answer %v: %s", resp, body)
			}
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
				t.Fatalf("not an OpenAI invalid_request_error: %s", body)
			}
			for _, frag := range goErrorText {
				if strings.Contains(e.Error.Message, frag) {
					t.Errorf("a Go error string reached the caller: %q", e.Error.Message)
				}
			}
		})
	}

	expectHealthy(t, srv.URL())

	// Fifty requests each claiming a 1 GB body, in parallel, must cost the
	// server almost nothing: none of them is read.
	t.Run("memory of oversized requests", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", invokePath, 1<<30, strings.Repeat("{", 32<<10))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 400 {
						mu.Lock()
						refused++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		runtime.ReadMemStats(&after)
		growth := int64(after.HeapInuse) - int64(before.HeapInuse)
		t.Logf("HeapInuse %d → %d (%+d bytes) for 50 requests claiming 1 GB each", before.HeapInuse, after.HeapInuse, growth)
		if refused != 50 {
			t.Errorf("%d of 50 oversized requests refused with 400", refused)
		}
		if growth > 64<<20 {
			t.Errorf("heap grew by %d bytes for requests that must not be read", growth)
		}
	})
	expectHealthy(t, srv.URL())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
