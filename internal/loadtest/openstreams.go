package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/minio"
)

// holdInterval is how often a held upstream stream sends another token;
// memory is measured after a few of them, and again 3 intervals after the
// streams were closed. Tests shorten it.
var holdInterval = time.Second

// openParallel bounds how many streams are being opened at once, so the
// listen backlog does not overflow.
const openParallel = 256

// runOpenStreams opens cfg.OpenStreams concurrent streams through a serve
// child against an upstream that holds them open, measures the child's
// memory with all of them open, then closes them.
func runOpenStreams(ctx context.Context, cfg Config, dir string, mio *minio.Server) (*OpenStreamsReport, error) {
	up, err := startUpstream(cfg.UpstreamLatency, holdInterval)
	if err != nil {
		return nil, err
	}
	defer up.close()
	gw, err := startGateway(ctx, cfg, cfg.OpenStreamsLogging, up.URL(), dir, mio)
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	rep := &OpenStreamsReport{Logging: cfg.OpenStreamsLogging, Requested: cfg.OpenStreams}
	h := holdStreams(ctx, gw.url+"/v1/chat/completions", streamBody, cfg.OpenStreams)
	defer h.release()
	rep.Opened, rep.Errors, rep.OpenSec = h.opened, h.errors, h.openSec
	// Let a few held tokens flow through every stream before measuring.
	sleepCtx(ctx, 2*holdInterval+holdInterval/2)
	if rep.PeakRSS, rep.RSSOpen, err = gw.memory(); err != nil {
		return nil, err
	}
	if m, err := gw.metrics(ctx); err == nil {
		rep.Goroutines, rep.StackBytes, rep.HeapBytes = m["go_goroutines"], m["go_memstats_stack_inuse_bytes"], m["go_memstats_heap_inuse_bytes"]
	}
	h.release()
	sleepCtx(ctx, 3*holdInterval)
	if _, rep.RSSClosed, err = gw.memory(); err != nil {
		return nil, err
	}
	if err := gw.stop(); err != nil {
		return nil, err
	}
	return rep, nil
}

// heldStreams are streams opened by holdStreams and kept open until
// release.
type heldStreams struct {
	// opened counts the streams that got their first token, errors the
	// others by kind, openSec the time until every stream was open or
	// failed.
	opened  int
	errors  map[string]int64
	openSec float64

	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
	once   sync.Once
}

// holdStreams POSTs body (a streamed chat completion) to url n times at
// once, at most openParallel being opened at a time, and returns when every
// stream got its first token or failed, or after 2 minutes. The streams
// stay open, reading what comes, until release.
func holdStreams(ctx context.Context, url string, body []byte, n int) *heldStreams {
	h := &heldStreams{}
	h.client = &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   -1,
		ResponseHeaderTimeout: time.Minute,
		DisableCompression:    true,
		ReadBufferSize:        4 << 10,
		WriteBufferSize:       4 << 10,
	}}
	hold, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	// The readers count into opened and errs; h gets a copy at return,
	// for a late failure must not race with the caller reading h.
	var (
		mu     sync.Mutex
		allIn  sync.WaitGroup
		opened int
		errs   = map[string]int64{}
	)
	fail := func(kind string) {
		mu.Lock()
		errs[kind]++
		mu.Unlock()
	}
	sem := make(chan struct{}, openParallel)
	begin := time.Now()
	allIn.Add(n)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			signalled := false
			signal := func() {
				if !signalled {
					signalled = true
					<-sem
					allIn.Done()
				}
			}
			defer signal()
			req, _ := http.NewRequestWithContext(hold, http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := h.client.Do(req)
			if err != nil {
				fail("transport")
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fail(fmt.Sprintf("status %d", resp.StatusCode))
				return
			}
			br := bufio.NewReaderSize(resp.Body, 1024)
			for {
				line, err := br.ReadSlice('\n')
				if bytes.Contains(line, contentField) && !bytes.Contains(line, emptyContent) {
					break
				}
				if err != nil && err != bufio.ErrBufferFull {
					fail("stream ended early")
					return
				}
			}
			mu.Lock()
			opened++
			mu.Unlock()
			signal()
			_, _ = io.Copy(io.Discard, br) // until release cancels the request
		}()
	}
	waited := make(chan struct{})
	go func() { allIn.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Minute):
		fail("not open after 2m")
	case <-ctx.Done():
	}
	h.openSec = time.Since(begin).Seconds()
	mu.Lock()
	defer mu.Unlock()
	h.opened, h.errors = opened, maps.Clone(errs)
	return h
}

// release closes every stream and waits until their readers are done.
func (h *heldStreams) release() {
	h.once.Do(func() {
		h.cancel()
		h.wg.Wait()
		h.client.CloseIdleConnections()
	})
}
