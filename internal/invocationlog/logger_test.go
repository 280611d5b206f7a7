package invocationlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// switchable is a local object store that can be taken down, standing in
// for a destination outage in unit tests (the S3 outage itself is drilled
// against MinIO in package server).
type switchable struct {
	objectstore.Store
	down       atomic.Bool
	downBucket atomic.Pointer[string] // only this bucket is down
	puts       atomic.Int64
}

func (s *switchable) Put(ctx context.Context, bucket, key string, body []byte, meta objectstore.Meta) error {
	if b := s.downBucket.Load(); s.down.Load() || (b != nil && *b == bucket) {
		return errors.New("destination unavailable")
	}
	s.puts.Add(1)
	return s.Store.Put(ctx, bucket, key, body, meta)
}

func testSettings() Settings {
	return Settings{
		Store: objectstore.ModeLocal, FlushInterval: 50 * time.Millisecond, MaxBatchRecords: 1000, MaxBatchBytes: 8 << 20,
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, CheckTimeout: 5 * time.Second,
		Spool: SpoolSettings{MaxBytes: 256 << 10, SegmentBytes: 64 << 10, SyncInterval: -1, OnFull: OnFullReject},
	}
}

func openTestLogger(t testing.TB, s Settings, reg prometheus.Registerer) (*Logger, *switchable) {
	t.Helper()
	dir := t.TempDir()
	store := &switchable{Store: objectstore.NewDir(dir + "/s3")}
	l, err := Open(Options{DataDir: dir, AccountID: "000000000000", Region: "us-east-1", Settings: s, Store: store,
		Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.Shutdown(ctx)
	})
	if err := l.Put(context.Background(), &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}}); err != nil {
		t.Fatal(err)
	}
	return l, store
}

func bigInvocation(i int) *invocation.Invocation {
	inv := testInvocation()
	inv.RequestID = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
	inv.Input.Data = []byte(`{"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("a", 2000) + `"}]}]}`)
	inv.Start = time.Now()
	return inv
}

func TestFullSpoolRejectsCallsUntilDeliveryResumes(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, store := openTestLogger(t, testSettings(), reg)
	store.down.Store(true)
	for i := 0; l.Admit() == nil; i++ {
		if i > 10000 {
			t.Fatal("the spool never filled")
		}
		l.Observe(bigInvocation(i))
	}
	err := l.Admit()
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.ServiceUnavailable {
		t.Fatalf("a full spool must refuse calls with ServiceUnavailableException, got %v", err)
	}
	if n := testutil.ToFloat64(l.m.rejected); n < 1 {
		t.Fatalf("rejected calls not counted: %v", n)
	}
	if n := testutil.ToFloat64(l.m.dropped.WithLabelValues("spool_full")); n != 0 {
		t.Fatalf("reject policy dropped %v records", n)
	}
	store.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for l.Admit() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("spool still full after the destination came back: %+v", l.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFullSpoolDropPolicyCountsDrops(t *testing.T) {
	s := testSettings()
	s.Spool.OnFull = OnFullDrop
	l, store := openTestLogger(t, s, prometheus.NewRegistry())
	store.down.Store(true)
	for i := range 400 {
		if err := l.Admit(); err != nil {
			t.Fatalf("drop policy must not refuse calls: %v", err)
		}
		l.Observe(bigInvocation(i))
	}
	dropped := testutil.ToFloat64(l.m.dropped.WithLabelValues("spool_full"))
	spooled := testutil.ToFloat64(l.m.spooled)
	if dropped == 0 || dropped+spooled != 400 {
		t.Fatalf("dropped %v + spooled %v must account for all 400 records", dropped, spooled)
	}
}

// BenchmarkPipeline measures records per second through the whole
// pipeline: Observe (encode, spool append) and delivery (read, splice,
// gzip batch, write to the local store).
func BenchmarkPipeline(b *testing.B) {
	s := testSettings()
	s.MaxBatchRecords = 10000
	s.Spool = SpoolSettings{MaxBytes: 2 << 30, SegmentBytes: 64 << 20, SyncInterval: 200 * time.Millisecond, OnFull: OnFullReject}
	l, _ := openTestLogger(b, s, nil)
	invs := make([]*invocation.Invocation, 1000)
	for i := range invs {
		invs[i] = bigInvocation(i)
	}
	b.SetBytes(int64(len(invs[0].Input.Data) + len(invs[0].Output.Data)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		l.Observe(invs[i%len(invs)])
	}
	observed := time.Since(start)
	for l.Stats().PendingRecords > 0 {
		time.Sleep(time.Millisecond)
	}
	total := time.Since(start)
	b.ReportMetric(float64(b.N)/total.Seconds(), "records/s")
	b.ReportMetric(float64(observed.Nanoseconds())/float64(b.N), "observe-ns/record")
}

func TestPastDestinationsResumeThenRetire(t *testing.T) {
	s := testSettings()
	dir := t.TempDir()
	store := &switchable{Store: objectstore.NewDir(dir + "/s3")}
	open := func() *Logger {
		l, err := Open(Options{DataDir: dir, AccountID: "000000000000", Region: "us-east-1", Settings: s, Store: store,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	shutdown := func(l *Logger) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = l.Shutdown(ctx)
	}
	l := open()
	if err := l.Put(context.Background(), &LoggingConfig{S3Config: &S3Config{BucketName: "old"}}); err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	l.Observe(bigInvocation(1))
	if err := l.Put(context.Background(), &LoggingConfig{S3Config: &S3Config{BucketName: "new"}}); err == nil {
		t.Fatal("the check must fail while the store is down")
	}
	shutdown(l)

	// Restart with the record for "old" pending, after switching to "new":
	// the old destination still gets its record.
	store.down.Store(false)
	l = open()
	if err := l.Put(context.Background(), &LoggingConfig{S3Config: &S3Config{BucketName: "new"}}); err != nil {
		t.Fatal(err)
	}
	var objects int
	deadline := time.Now().Add(5 * time.Second)
	for objects == 0 && time.Now().Before(deadline) {
		_ = store.List(context.Background(), "old", "AWSLogs/", "", func(objectstore.Object) error { objects++; return nil })
		time.Sleep(10 * time.Millisecond)
	}
	if objects != 1 {
		t.Fatalf("the record spooled for the old destination was not delivered after the restart (%d objects)", objects)
	}
	old := (destination{Kind: destS3, Bucket: "old"}).consumer()
	for pos, _, _ := l.spool.Cursor(old); pos != l.spool.End(); pos, _, _ = l.spool.Cursor(old) {
		if time.Now().After(deadline) {
			t.Fatal("the old destination's cursor never reached the end of the spool")
		}
		time.Sleep(10 * time.Millisecond)
	}
	shutdown(l)
	l = open()
	defer shutdown(l)
	for _, c := range l.spool.Consumers() {
		if c == old {
			t.Fatal("a past destination with nothing pending must be retired at start")
		}
	}
}
