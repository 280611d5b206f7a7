package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the latency samples kept per run (per metric).
const maxSamples = 1 << 20

// maxIDs bounds the request IDs kept to check the invocation log.
const maxIDs = 4 << 20

var (
	plainBody  = []byte(`{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32}`)
	streamBody = []byte(`{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32,"stream":true,"stream_options":{"include_usage":true}}`)
	// fastBody is plainBody for the model the upstream answers at once.
	fastBody = []byte(`{"model":"` + fastModel + `","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32}`)
	// holdBody is streamBody for the model whose streams the upstream holds.
	holdBody = []byte(`{"model":"` + holdModel + `","messages":[{"role":"user","content":"Say hello."}],"max_tokens":32,"stream":true,"stream_options":{"include_usage":true}}`)
)

// loadSpec is one run of load against one URL.
type loadSpec struct {
	url         string // the chat completions URL
	stream      bool
	duration    time.Duration
	requests    int // 0: bounded by duration only
	concurrency int
	rate        float64 // requests/s, 0: closed loop
	collectIDs  bool    // keep the x-request-id of every answer
	body        []byte  // nil: plainBody, or streamBody with stream
}

// loadResult is what a run measured.
type loadResult struct {
	total     int64 // requests that completed (answered or failed)
	ok        int64 // 200 and a complete body
	answered  int64 // got an HTTP status (the gateway served them)
	errors    map[string]int64
	elapsed   time.Duration
	latency   []time.Duration
	ttft      []time.Duration
	ids       []string
	idsCapped bool
}

// newClient is a keep-alive HTTP client sized for conc connections.
func newClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}}
}

// worker state, merged at the end.
type workerStats struct {
	total, ok, answered int64
	errors              map[string]int64
	lat, ttft           *reservoir
	ids                 []string
}

// runLoad drives spec's load and returns the measurements.
func runLoad(ctx context.Context, client *http.Client, spec loadSpec) *loadResult {
	conc := max(spec.concurrency, 1)
	ctx, cancel := context.WithTimeout(ctx, spec.duration)
	defer cancel()
	var issued atomic.Int64
	claim := func() bool {
		if ctx.Err() != nil {
			return false
		}
		return spec.requests <= 0 || issued.Add(1) <= int64(spec.requests)
	}
	// Open loop: due times come from the scheduler, latency counts from them.
	var due chan time.Time
	if spec.rate > 0 {
		due = make(chan time.Time, conc)
		go schedule(ctx, due, spec.rate, claim)
	}
	stats := make([]*workerStats, conc)
	var wg sync.WaitGroup
	start := time.Now()
	var lastDone atomic.Int64
	for w := range stats {
		ws := &workerStats{errors: map[string]int64{}, lat: newReservoir(maxSamples / conc), ttft: newReservoir(maxSamples / conc)}
		stats[w] = ws
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var t0 time.Time
				if due != nil {
					t, ok := <-due
					if !ok {
						return
					}
					t0 = t
				} else {
					if !claim() {
						return
					}
					t0 = time.Now()
				}
				oneRequest(client, spec, t0, ws)
				lastDone.Store(int64(time.Since(start)))
			}
		}()
	}
	wg.Wait()
	res := &loadResult{errors: map[string]int64{}, elapsed: time.Duration(lastDone.Load())}
	for _, ws := range stats {
		res.total += ws.total
		res.ok += ws.ok
		res.answered += ws.answered
		for k, v := range ws.errors {
			res.errors[k] += v
		}
		res.latency = append(res.latency, ws.lat.vals...)
		res.ttft = append(res.ttft, ws.ttft.vals...)
		if len(res.ids)+len(ws.ids) <= maxIDs {
			res.ids = append(res.ids, ws.ids...)
		} else {
			res.idsCapped = true
		}
	}
	return res
}

// schedule sends the due time of request i, start + i/rate, until ctx ends
// or claim refuses; then it closes due. A due time that cannot be handed to
// a worker in time waits in the channel, and its latency includes the wait.
func schedule(ctx context.Context, due chan<- time.Time, rate float64, claim func() bool) {
	defer close(due)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := int64(0); ; i++ {
		t := start.Add(time.Duration(i) * interval)
		if d := time.Until(t); d > 50*time.Microsecond {
			if !sleepCtx(ctx, d) {
				return
			}
		}
		if !claim() {
			return
		}
		select {
		case due <- t:
		case <-ctx.Done():
			return
		}
	}
}

// oneRequest sends one chat completion and records it in ws.
func oneRequest(client *http.Client, spec loadSpec, t0 time.Time, ws *workerStats) {
	body := spec.body
	switch {
	case body != nil:
	case spec.stream:
		body = streamBody
	default:
		body = plainBody
	}
	// Requests already sent finish even after the run's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, spec.url, bytes.NewReader(body))
	req.Header["Content-Type"] = []string{"application/json"}
	ws.total++
	resp, err := client.Do(req)
	if err != nil {
		ws.errors["transport"]++
		return
	}
	defer resp.Body.Close()
	ws.answered++
	if spec.collectIDs {
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			ws.ids = append(ws.ids, id)
		}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		ws.errors[fmt.Sprintf("status %d", resp.StatusCode)]++
		return
	}
	if spec.stream {
		first, err := readStream(resp.Body)
		if err != nil {
			ws.errors["stream: "+err.Error()]++
			return
		}
		ws.ttft.add(first.Sub(t0))
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		ws.errors["body"]++
		return
	}
	ws.lat.add(time.Since(t0))
	ws.ok++
}

var (
	doneLine     = []byte("data: [DONE]")
	contentField = []byte(`"content":"`)
	emptyContent = []byte(`"content":""`)
	errorField   = []byte(`"error"`)
)

// readStream reads server-sent events to data: [DONE], returning when the
// first non-empty content arrived.
func readStream(r io.Reader) (time.Time, error) {
	var first time.Time
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, doneLine):
				if first.IsZero() {
					return first, errStreamNoToken
				}
				_, _ = io.Copy(io.Discard, br)
				return first, nil
			case first.IsZero() && bytes.Contains(line, contentField) && !bytes.Contains(line, emptyContent):
				first = time.Now()
			case bytes.HasPrefix(line, []byte("data: {\"error\"")) || (bytes.HasPrefix(line, []byte("data:")) && bytes.Contains(line, errorField) && !bytes.Contains(line, []byte("choices"))):
				return first, fmt.Errorf("error event")
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return first, fmt.Errorf("ended without [DONE]")
		}
	}
}
