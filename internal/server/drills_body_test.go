package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

const (
	bodyBytesInFlight = "modelwatch_request_body_bytes_in_flight"
	bodyRefusals      = "modelwatch_request_body_budget_refusals_total"
	junkSignature     = "0000000000000000000000000000000000000000000000000000000000000000"
	budgetMessage     = "The server is receiving more request data than it can hold at once. The call was not processed. Try again later."
)

// sigV4Headers are the headers of a SigV4-signed request for keyID signed
// at t with signature (for this server's region and service), without the
// body that would let it verify.
func sigV4Headers(keyID string, t time.Time, scopeDate, signature string) string {
	return fmt.Sprintf("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\nX-Amz-Date: %s\r\n",
		keyID, scopeDate, signature, t.UTC().Format("20060102T150405Z"))
}

func nowSigV4(keyID, signature string) string {
	now := time.Now()
	return sigV4Headers(keyID, now, now.UTC().Format("20060102"), signature)
}

// waitMetric waits until the metric has the value, failing after timeout.
func waitMetric(t *testing.T, srv *server.Server, name string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := metric(t, srv, name, nil)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDrillBodyAmplification reproduces finding 3 of issue 11 at a bounded
// scale: 200 connections, each with a SigV4 header naming a known access
// key and a junk signature, claim a 24 MB body, send 250 bytes and stall.
// The server used to allocate the claimed 24 MB for each (4.8 GB); now each
// costs its first 4 KB buffer, every connection gets its error at the read
// timeout, and a normal call still succeeds.
func TestDrillBodyAmplification(t *testing.T) {
	const (
		conns   = 200
		claimed = 24_000_000
		sent    = 250
	)
	srv, _ := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Limits.ReadHeaderTimeout = 2 * time.Second
		c.Limits.ReadTimeout = 5 * time.Second
	})
	addr := srv.Addr()
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	header := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
		invokePath, claimed, nowSigV4(aliceKeyID, junkSignature), strings.Repeat("{", sent))
	open := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, header); err != nil {
			t.Fatal(err)
		}
	}
	// Every handler holds exactly its first buffer: 200 × 4096 bytes.
	waitMetric(t, srv, bodyBytesInFlight, conns*4096, 4*time.Second)
	if n := srv.Gateway().InFlight(); n != conns {
		t.Fatalf("%d calls in flight, want %d", n, conns)
	}
	runtime.GC()
	runtime.ReadMemStats(&during)
	growth := int64(during.HeapInuse) - int64(before.HeapInuse)
	t.Logf("HeapInuse %d → %d (%+d bytes) with %d connections claiming %d bytes each", before.HeapInuse, during.HeapInuse, growth, conns, claimed)
	if growth > 32<<20 {
		t.Errorf("the heap grew by %d bytes, more than 32 MB, for bodies of %d bytes each", growth, sent)
	}

	// At the read timeout each connection gets its ValidationException
	// (or, where the server could not write it, is closed).
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, closed := 0, 0
	for _, c := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if isTimeout(err) {
					t.Errorf("a stalled connection was neither answered nor closed: %v", err)
				}
				closed++
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if msg := bedrockError(t, resp, body, 400, "ValidationException"); !strings.Contains(msg, "could not be read completely") {
				t.Errorf("message %q", msg)
			}
			answered++
		}()
	}
	wg.Wait()
	t.Logf("%d connections answered, %d closed", answered, closed)
	if answered+closed != conns {
		t.Errorf("%d answered + %d closed, want %d", answered, closed, conns)
	}
	waitMetric(t, srv, bodyBytesInFlight, 0, 5*time.Second)
	if got := metric(t, srv, bodyRefusals, nil); got != 0 {
		t.Errorf("%v calls refused by the body budget, want 0", got)
	}

	out, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).InvokeModel(context.Background(),
		&bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody})
	if err != nil || len(out.Body) == 0 {
		t.Fatalf("a normal call after the drill: %v", err)
	}
}

// TestDrillRefusedBeforeTheBody shows that what can be checked without the
// body is checked before a byte of it is read: each request claims 24 MB,
// sends none of it and asks for 100-continue, which Go's server sends only
// when the handler starts reading. The answer is the final error, never
// 100 Continue.
func TestDrillRefusedBeforeTheBody(t *testing.T) {
	srv, _ := startServer(t, withAlice)
	now := time.Now().UTC()
	old := now.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name, auth, code string
		status           int
		message          string
	}{
		{"unknown access key", nowSigV4("AKIAUNKNOWN000EXAMPLE", junkSignature), "UnrecognizedClientException", 403, "The security token included in the request is invalid."},
		{"date two hours old", sigV4Headers(aliceKeyID, old, old.Format("20060102"), junkSignature), "InvalidSignatureException", 403, "Signature expired"},
		{"scope date not the signing date", sigV4Headers(aliceKeyID, now, "20200101", junkSignature), "InvalidSignatureException", 403, "Date in Credential scope does not match"},
		{"signature not 64 hex digits", nowSigV4(aliceKeyID, "junk"), "InvalidSignatureException", 403, "The request signature we calculated does not match"},
		{"unknown API key", "Authorization: Bearer mw-not-a-key\r\n", "UnrecognizedClientException", 403, "The API key included in the request is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24000000\r\nExpect: 100-continue\r\n%s\r\n", invokePath, tc.auth)
			resp, body := rawExchange(t, srv.Addr(), raw, false)
			if resp == nil {
				t.Fatal("connection closed without an answer")
			}
			if resp.StatusCode == http.StatusContinue {
				t.Fatal("the server asked for the body (100 Continue): it started reading before refusing")
			}
			if msg := bedrockError(t, resp, body, tc.status, tc.code); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not contain %q", msg, tc.message)
			}
		})
	}
	if got := metric(t, srv, bodyBytesInFlight, nil); got != 0 {
		t.Errorf("%v body bytes charged after refusals that read nothing", got)
	}
}

// TestDrillBodyBudget fills the body budget with four legitimate 1 MB
// bodies held one byte short of complete, then sends three more large
// calls (two Bedrock, one OpenAI): each is refused in its API's shape with
// the budget's error, the refusals metric counts exactly 3, and the held
// calls, once finished, succeed and return their charge.
func TestDrillBodyBudget(t *testing.T) {
	const (
		bodySize = 1_000_000
		charge   = bodySize + 1 // the buffer of a declared body: its length and a spare byte
		held     = 4
	)
	srv, _ := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Limits.MaxRequestBytes = bodySize
		c.Limits.MaxBodyBytesInFlight = held * charge
	})
	addr := srv.Addr()
	pad := func(body string) string { return body + strings.Repeat(" ", bodySize-len(body)) }
	invoke := pad(string(invokeBody))
	request := func(path, body string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			path, aliceAPIKey, len(body), body)
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}

	// Four bodies, sent concurrently, all but their last byte.
	conns := make([]net.Conn, held)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := request(invokePath, invoke)
			if _, err := io.WriteString(conns[i], raw[:len(raw)-1]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitMetric(t, srv, bodyBytesInFlight, held*charge, 10*time.Second)

	// Three more large calls find the budget full.
	for _, tc := range []struct{ name, path, body string }{
		{"InvokeModel", invokePath, invoke},
		{"ConverseStream", "/model/" + haiku + "/converse-stream", pad(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)},
		{"OpenAI chat", "/v1/chat/completions", pad(`{"model":"` + haiku + `","messages":[{"role":"user","content":"hi"}]}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial()
			raw := request(tc.path, tc.body)
			// The refusal comes before the body is read: send a part.
			if _, err := io.WriteString(c, raw[:len(raw)-len(tc.body)+4096]); err != nil {
				t.Fatal(err)
			}
			resp, body := readRaw(t, c)
			if resp == nil {
				t.Fatal("connection closed without an answer")
			}
			if !resp.Close {
				t.Error("the connection must close: the body stays unread")
			}
			if strings.HasPrefix(tc.path, "/v1/") {
				var e struct {
					Error struct{ Message, Type, Code string }
				}
				if resp.StatusCode != 503 || json.Unmarshal(body, &e) != nil || e.Error.Type != "server_error" || e.Error.Code != "service_unavailable" || e.Error.Message != budgetMessage {
					t.Fatalf("answer %d %s, want 503 server_error service_unavailable", resp.StatusCode, body)
				}
				return
			}
			if msg := bedrockError(t, resp, body, 503, "ServiceUnavailableException"); msg != budgetMessage {
				t.Errorf("message %q", msg)
			}
		})
	}
	if got := metric(t, srv, bodyRefusals, nil); got != 3 {
		t.Errorf("%v refusals counted, want 3", got)
	}
	if got := metric(t, srv, bodyBytesInFlight, nil); got != held*charge {
		t.Errorf("refused calls changed the charge: %v, want %d", got, held*charge)
	}

	// The held calls finish and succeed; their charge is returned.
	for _, c := range conns {
		if _, err := io.WriteString(c, " "); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		resp, body := readRaw(t, c)
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("a held call: %v %s", resp, body)
		}
	}
	waitMetric(t, srv, bodyBytesInFlight, 0, 5*time.Second)
	if _, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).InvokeModel(context.Background(),
		&bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody}); err != nil {
		t.Fatalf("a call after the budget emptied: %v", err)
	}
}
