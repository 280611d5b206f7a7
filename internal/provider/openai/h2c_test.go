package openai

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// With UnencryptedHTTP2, calls and streams to an http:// upstream that
// speaks h2c go over HTTP/2 and share a connection instead of holding one
// each.
func TestUnencryptedHTTP2SharesOneConnection(t *testing.T) {
	answer, err := os.ReadFile("testdata/openai_chat_stream.sse")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	var protoMu sync.Mutex
	protos := map[string]int{}
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protoMu.Lock()
		protos[r.Proto]++
		protoMu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(answer)
	}))
	up.Config.Protocols = new(http.Protocols)
	up.Config.Protocols.SetHTTP1(true)
	up.Config.Protocols.SetUnencryptedHTTP2(true)
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)

	p, err := New(Options{BaseURL: up.URL + "/v1", UnencryptedHTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	// The first call opens the connection; the others, at once, share it.
	run := func() {
		st, err := p.ChatCompletionsStream(context.Background(), provider.Call{ModelID: "gpt-4o"},
			&provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true}`), Model: "gpt-4o", IncludeUsage: true})
		if err != nil {
			t.Error(err)
			return
		}
		defer st.Close()
		for {
			if _, err := st.Next(); err != nil {
				if err != io.EOF {
					t.Error(err)
				}
				return
			}
		}
	}
	run()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(run)
	}
	wg.Wait()
	if n := conns.Load(); n != 1 || protos["HTTP/2.0"] != 21 {
		t.Errorf("%d connections, protocols %v; want 1 connection and 21 HTTP/2.0 requests", n, protos)
	}
}
