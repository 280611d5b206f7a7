package openai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const testKey = "sk-test-0123456789abcdefghijklmnopqrstuvwxyz"

// exchange is one replayed upstream exchange: what the provider must send
// and what the upstream answers.
type exchange struct {
	// path is the expected request path.
	path string
	// auth is the expected Authorization header ("" for none).
	auth string
	// header lists further headers the request must carry.
	header map[string]string
	// check inspects the decoded request body.
	check func(t *testing.T, body map[string]json.RawMessage)
	// status and fixture are the answer; contentType defaults from the
	// fixture's extension.
	status      int
	fixture     string
	contentType string
}

// replay serves ex and fails the test when the provider's request is not
// what it should be. It returns the server and a function reporting how
// many requests it answered.
func replay(t *testing.T, ex exchange) (*httptest.Server, func() int) {
	t.Helper()
	answer, err := os.ReadFile(filepath.Join("testdata", ex.fixture))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != ex.path {
			t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, ex.path)
		}
		if got := r.Header.Get("Authorization"); got != ex.auth {
			t.Errorf("Authorization %q, want %q", redactKey(got), redactKey(ex.auth))
		}
		for k, v := range ex.header {
			if got := r.Header.Get(k); got != v {
				t.Errorf("header %s = %q, want %q", k, got, v)
			}
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body is not a JSON object: %v", err)
		} else if ex.check != nil {
			ex.check(t, body)
		}
		ct := ex.contentType
		if ct == "" {
			ct = "application/json"
			if strings.HasSuffix(ex.fixture, ".sse") {
				ct = "text/event-stream; charset=utf-8"
			}
		}
		w.Header().Set("Content-Type", ct)
		status := ex.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if !strings.HasSuffix(ex.fixture, ".sse") {
			_, _ = w.Write(answer)
			return
		}
		// Frame by frame, flushed, as a streaming upstream writes.
		rc := http.NewResponseController(w)
		for _, frame := range bytes.SplitAfter(answer, []byte("\n\n")) {
			if _, err := w.Write(frame); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

func redactKey(s string) string { return strings.ReplaceAll(s, testKey, "<key>") }

// wantJSON compares a request member with the expected JSON.
func wantJSON(t *testing.T, body map[string]json.RawMessage, member, want string) {
	t.Helper()
	got, ok := body[member]
	if !ok {
		if want != "" {
			t.Errorf("request has no %q, want %s", member, want)
		}
		return
	}
	if want == "" {
		t.Errorf("request has %q = %s, want none", member, got)
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("request %q = %s, want %s", member, gb, wb)
	}
}
