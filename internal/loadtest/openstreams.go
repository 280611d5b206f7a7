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
	n := cfg.OpenStreams
	rep := &OpenStreamsReport{Logging: cfg.OpenStreamsLogging, Requested: n, Errors: map[string]int64{}}
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   -1,
		ResponseHeaderTimeout: time.Minute,
		DisableCompression:    true,
		ReadBufferSize:        4 << 10,
		WriteBufferSize:       4 << 10,
	}}
	defer client.CloseIdleConnections()

	hold, release := context.WithCancel(ctx)
	defer release()
	var (
		mu     sync.Mutex
		opened int
		wg     sync.WaitGroup
		allIn  sync.WaitGroup
	)
	fail := func(kind string) {
		mu.Lock()
		rep.Errors[kind]++
		mu.Unlock()
	}
	sem := make(chan struct{}, openParallel)
	begin := time.Now()
	allIn.Add(n)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			signalled := false
			signal := func() {
				if !signalled {
					signalled = true
					<-sem
					allIn.Done()
				}
			}
			defer signal()
			req, _ := http.NewRequestWithContext(hold, http.MethodPost, gw.url+"/v1/chat/completions", bytes.NewReader(streamBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
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
	rep.OpenSec = time.Since(begin).Seconds()
	mu.Lock()
	rep.Opened = opened
	mu.Unlock()
	// Let a few held tokens flow through every stream before measuring.
	sleepCtx(ctx, 2*holdInterval+holdInterval/2)
	if rep.PeakRSS, rep.RSSOpen, err = gw.memory(); err != nil {
		return nil, err
	}
	if m, err := gw.metrics(ctx); err == nil {
		rep.Goroutines, rep.StackBytes, rep.HeapBytes = m["go_goroutines"], m["go_memstats_stack_inuse_bytes"], m["go_memstats_heap_inuse_bytes"]
	}
	release()
	wg.Wait()
	client.CloseIdleConnections()
	sleepCtx(ctx, 3*holdInterval)
	if _, rep.RSSClosed, err = gw.memory(); err != nil {
		return nil, err
	}
	if err := gw.stop(); err != nil {
		return nil, err
	}
	return rep, nil
}
