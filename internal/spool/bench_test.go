package spool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// benchSpool opens a spool with default-sized segments and a consumer that
// commits the end every few milliseconds, so that the budget is recycled
// as in production.
func benchSpool(b *testing.B) *Spool {
	opts := Options{Logger: quietLogger(), MaxBytes: 2 << 30}
	s := openT(b, b.TempDir(), opts)
	s.Register("bench")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.Commit("bench", s.End(), nil)
			}
		}
	}()
	b.Cleanup(func() {
		close(stop)
		wg.Wait()
		st := s.Stats()
		b.ReportMetric(float64(st.SlowRotations), "slow-rotations")
	})
	waitSpare(b, s)
	return s
}

func appendRetry(b *testing.B, s *Spool, p []byte) {
	for {
		_, err := s.Append(p)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrFull) {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // the committer frees segments
	}
}

func BenchmarkAppend(b *testing.B) {
	s := benchSpool(b)
	p := payload(1, 2048)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		appendRetry(b, s, p)
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	s := benchSpool(b)
	p := payload(1, 2048)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			appendRetry(b, s, p)
		}
	})
}

// BenchmarkAppendPaced measures Append below saturation, as on a gateway's
// request path: after every 256 records (512 KiB) the timer stops until the
// background goroutine has prefaulted the pages ahead and the spare. At
// saturation (BenchmarkAppend) appends outrun the prefaulting and pay the
// kernel's page faults themselves.
func BenchmarkAppendPaced(b *testing.B) {
	s := benchSpool(b)
	p := payload(1, 2048)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		appendRetry(b, s, p)
		if n++; n%256 == 0 {
			b.StopTimer()
			waitPrefaulted(s)
			b.StartTimer()
		}
	}
}

func waitPrefaulted(s *Spool) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Microsecond) {
		s.mu.Lock()
		a, sp := s.active, s.spare
		ok := a != nil && a.prefaulted.Load() >= min(a.end+prefaultAhead/2, a.size) &&
			sp != nil && sp.prefaulted.Load() >= spareWindow(sp)
		s.mu.Unlock()
		if ok {
			return
		}
	}
}

// BenchmarkRead measures a consumer reading 1,000 records of 2 KiB per op:
// Read, which copies each payload into an allocation of its own, and
// ReadInto, which appends them to a buffer the consumer reuses.
func BenchmarkRead(b *testing.B) {
	s := openT(b, b.TempDir(), Options{Logger: quietLogger(), SyncInterval: -1})
	p := payload(1, 2048)
	for range 1000 {
		if _, err := s.Append(p); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.Run("Read", func(b *testing.B) {
		b.SetBytes(1000 * int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			if ents, err := s.Read(ctx, Pos{}, 1000, 0); err != nil || len(ents) != 1000 {
				b.Fatal(len(ents), err)
			}
		}
	})
	b.Run("ReadInto", func(b *testing.B) {
		var ents []Entry
		var buf []byte
		b.SetBytes(1000 * int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if ents, buf, err = s.ReadInto(ctx, Pos{}, 1000, 0, ents[:0], buf[:0]); err != nil || len(ents) != 1000 {
				b.Fatal(len(ents), err)
			}
		}
	})
}
