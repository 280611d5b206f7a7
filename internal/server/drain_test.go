package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// probe is one /healthz answer seen during the drain.
type probe struct {
	at     time.Time
	status int // 0: connection refused
	body   string
}

// A load balancer must see the instance leave (503 on /healthz) before its
// connections are refused, and calls in flight must finish.
func TestDrainAnswersHealthz503UntilInFlightCallsFinish(t *testing.T) {
	const drainModel = "modelwatch.drain-v1"
	const delay = 1500 * time.Millisecond
	cfg := testConfig(t)
	d := delay
	cfg.Limits.DrainDelay = &d
	// 60 tokens at 40 ms: a stream of about 2.4 s, longer than the delay.
	cfg.Models = append(cfg.Models, config.Model{Model: catalog.Model{ID: drainModel, Name: drainModel, Vendor: "modelwatch", Family: "anthropic",
		Provider: "simulator", MaxOutputTokens: 1000, DefaultMaxTokens: 100, Streaming: true},
		Simulator: simulator.ModelSettings{TimePerOutputToken: 40 * time.Millisecond, MinReplyTokens: 60, MaxReplyTokens: 60}})
	srv, stop := runServer(t, cfg)
	base := srv.URL()
	waitHealthy(t, base, http.DefaultClient)
	ctx := context.Background()
	client := runtimeClient(base, "AKIDEXAMPLE", "secret")

	// A stream in flight when SIGTERM comes.
	out, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(drainModel),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "go on"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	events := out.GetStream().Events()
	<-events // the first event: the call is in flight
	var streamEnd time.Time
	var deltas int
	var stopped bool
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		for ev := range events {
			switch ev.(type) {
			case *rttypes.ConverseStreamOutputMemberContentBlockDelta:
				deltas++
			case *rttypes.ConverseStreamOutputMemberMessageStop:
				stopped = true
			}
		}
		streamEnd = time.Now()
	}()

	readyz := func() (int, map[string]string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		v := map[string]string{}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, v := readyz(); code != http.StatusOK || v["status"] != "ok" || v["replica"] == "" || v["sharedConfig"] != "" {
		t.Errorf("GET /readyz while serving: %d %v, want 200 ok naming the replica, and no shared parts on a single node", code, v)
	}

	drainStart := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- stop() }()

	// Poll /healthz as a load balancer does, on fresh connections.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	var (
		mu     sync.Mutex
		probes []probe
	)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for {
			p := probe{at: time.Now()}
			resp, err := hc.Get(base + "/healthz")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				p.status, p.body = resp.StatusCode, strings.TrimSpace(string(b))
			}
			mu.Lock()
			probes = append(probes, p)
			mu.Unlock()
			if err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// A new call during the drain is refused, in Bedrock's shape, and a
	// load balancer's readiness probe says draining.
	time.Sleep(200 * time.Millisecond)
	if code, v := readyz(); code != http.StatusServiceUnavailable || v["status"] != "draining" {
		t.Errorf("GET /readyz while draining: %d %v, want 503 draining", code, v)
	}
	_, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody})
	apiErrorExact(t, err, "ServiceUnavailableException", 503,
		"The server is shutting down and takes no new calls. Retry the request; it will be served by another instance.")

	<-streamDone
	if err := out.GetStream().Err(); err != nil || !stopped || deltas == 0 {
		t.Errorf("the in-flight stream did not finish cleanly: err %v, messageStop %v, %d deltas", err, stopped, deltas)
	}
	select {
	case <-pollDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the listener never closed")
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	last := probes[len(probes)-1]
	if last.status != 0 {
		t.Fatalf("last probe %+v, want connection refused", last)
	}
	answered := probes[:len(probes)-1]
	// Probes sent before stop's goroutine began the drain still see the
	// server up; from the first draining answer on, every one must.
	for len(answered) > 0 && answered[0].status == http.StatusOK && answered[0].body == `{"status":"ok"}` && answered[0].at.Sub(drainStart) < 100*time.Millisecond {
		answered = answered[1:]
	}
	for _, p := range answered {
		if p.status != http.StatusServiceUnavailable || p.body != `{"status":"draining"}` {
			t.Errorf("probe at +%v: %d %q, want 503 {\"status\":\"draining\"}", p.at.Sub(drainStart), p.status, p.body)
		}
	}
	if len(answered) < 10 {
		t.Errorf("only %d probes answered draining before the listener closed", len(answered))
	}
	// The server counts the call finished once its last frame is written;
	// the client reads that frame a moment later, more so on a loaded CI
	// machine. A listener that ignored the call would close at the delay,
	// about 0.9 s before the stream ends, so a quarter second tells the two
	// apart without racing the socket.
	const readLag = 250 * time.Millisecond
	if closed := last.at; closed.Before(streamEnd.Add(-readLag)) || closed.Sub(drainStart) < delay {
		t.Errorf("listener closed %v after SIGTERM, stream ended %v after; want both before it and at least %v",
			closed.Sub(drainStart), streamEnd.Sub(drainStart), delay)
	}
}
