package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/loadtest"
)

func TestBenchSideBySideFlags(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--side-by-side", "--modes", "off"}, "--side-by-side takes --targets"},
		{[]string{"--targets", "nginx"}, "go with --side-by-side"},
		{[]string{"--side-by-side", "--rates", "1000,fast"}, `"fast" is not a positive number`},
		{[]string{"--side-by-side", "--skip", "haproxy"}, `--skip "haproxy"`},
		{[]string{"--side-by-side", "--targets", "haproxy"}, `unknown target "haproxy"`},
		{[]string{loadtest.ReverseProxyChildFlag}, "usage: modelwatch bench --reverse-proxy-child"},
		{[]string{loadtest.ReverseProxyChildFlag, "not a url"}, "want an absolute URL"},
	} {
		var out, errb bytes.Buffer
		err := bench(ctx, tc.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestSideConfigFromFlags(t *testing.T) {
	var side loadtest.SideConfig
	side.StreamRate, side.WrkThreads, side.WrkConnections = 1000, 2, 64
	cfg := loadtest.Config{Binary: "/bin/mw", Duration: 3 * time.Second, Concurrency: 64, UpstreamLatency: 20 * time.Millisecond}
	// --concurrency not given: the side-by-side default stays; --open-streams 0: none.
	set := map[string]bool{"open-streams": true}
	if err := sideConfig(&side, cfg, set, " direct, go-proxy ,s3", "5000, 1000", "wrk"); err != nil {
		t.Fatal(err)
	}
	if side.Binary != "/bin/mw" || side.Duration != 3*time.Second || side.Concurrency != 0 || side.OpenStreams != -1 ||
		strings.Join(side.Targets, ",") != "direct,go-proxy,s3" || len(side.Rates) != 2 || side.Rates[0] != 5000 ||
		len(side.Skip) != 1 || side.Skip[0] != "wrk" {
		t.Fatalf("%+v", side)
	}
	cfg.Concurrency, cfg.OpenStreams = 32, 500
	if err := sideConfig(&side, cfg, map[string]bool{"concurrency": true, "open-streams": true}, "", "1000", ""); err != nil {
		t.Fatal(err)
	}
	if side.Concurrency != 32 || side.OpenStreams != 500 || side.Targets != nil || side.Skip != nil {
		t.Fatalf("%+v", side)
	}
	if err := sideConfig(&side, cfg, nil, "", ",", ""); err == nil {
		t.Fatal("no rates taken")
	}
}

// TestReverseProxyChildMode runs the hidden mode in process: it prints its
// address, proxies a POST, and ends with its context.
func TestReverseProxyChildMode(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"path":"` + r.URL.Path + `","got":` + string(b) + `}`))
	}))
	defer up.Close()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bench(ctx, []string{loadtest.ReverseProxyChildFlag, up.URL}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(addr, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	resp, err := http.Post(addr+"/v1/chat/completions", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"path":"/v1/chat/completions","got":{"a":1}}` {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not stop with its context")
	}
}
