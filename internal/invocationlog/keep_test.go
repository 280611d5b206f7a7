package invocationlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// testLogger opens a Logger on dir with store (and the CloudWatch Logs
// fake, when given), registering its metrics in reg; tune adjusts
// testSettings.
func testLogger(t testing.TB, dir string, store objectstore.Store, cw *cwlogsfake.Server, reg prometheus.Registerer, tune ...func(*Settings)) *Logger {
	t.Helper()
	s := testSettings()
	for _, f := range tune {
		f(&s)
	}
	opts := Options{DataDir: dir, AccountID: "000000000000", Region: "us-east-1", Settings: s, Store: store,
		Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if cw != nil {
		client := cw.Client(t)
		opts.CloudWatch = func(context.Context) (*cwlogs.Writer, error) {
			return cwlogs.New(cwlogs.Options{Client: client, Backoff: 10 * time.Millisecond}), nil
		}
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdownTestLogger(l) })
	return l
}

func shutdownTestLogger(l *Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_ = l.Shutdown(ctx)
}

func mustPut(t testing.TB, l *Logger, c *LoggingConfig) {
	t.Helper()
	if err := l.Put(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// observeWaves spools n records per wave for waves waves, starting at
// request number first, waiting after each wave until the spool has
// delivered or kept everything; every call must be admitted.
func observeWaves(t testing.TB, l *Logger, first, waves, n int) {
	t.Helper()
	for w := range waves {
		for i := range n {
			if err := l.Admit(); err != nil {
				t.Fatalf("wave %d, call %d refused: %v (spool %+v)", w, i, err, l.Stats())
			}
			l.Observe(bigInvocation(first + w*n + i))
		}
		waitFor(t, "the spool to drain", func() bool { return l.Stats().PendingRecords == 0 })
	}
}

// bucketRecords returns the request IDs of every record in the bucket's
// batch objects (not data/ bodies), sorted.
func bucketRecords(t testing.TB, store objectstore.Store, bucket string) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := store.List(ctx, bucket, "", "", func(o objectstore.Object) error {
		if !strings.HasSuffix(o.Key, ".json.gz") || strings.Contains(o.Key, "/data/") {
			return nil
		}
		b, err := store.Get(ctx, bucket, o.Key)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return err
			}
			ids = append(ids, r.RequestID)
		}
		return sc.Err()
	})
	if err != nil && !errors.Is(err, objectstore.ErrNoSuchBucket) {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// distinct counts the distinct strings of a sorted slice.
func distinct(s []string) int {
	n := 0
	for i := range s {
		if i == 0 || s[i] != s[i-1] {
			n++
		}
	}
	return n
}

func undeliverable(l *Logger, dest, reason string) float64 {
	return testutil.ToFloat64(l.m.undeliverable.WithLabelValues(dest, reason))
}

func heldRecords(l *Logger) int { _, n := l.kept.held(); return n }

// TestPermanentFailure_KeepsRecordsAndDeliveryMovesOn breaks a local bucket
// after the Put (its directory replaced by a file: an operator's mistake
// no retry can mend) and pushes three times the spool's budget through it.
func TestPermanentFailure_KeepsRecordsAndDeliveryMovesOn(t *testing.T) {
	dir := t.TempDir()
	store := objectstore.NewDir(filepath.Join(dir, "s3"))
	reg := prometheus.NewRegistry()
	l := testLogger(t, dir, store, nil, reg)
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "broken"}})
	if err := os.RemoveAll(filepath.Join(dir, "s3", "broken")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s3", "broken"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// 400 records of 2 KB, in waves that fit: three times the 256 KiB spool.
	observeWaves(t, l, 0, 10, 40)
	if n := undeliverable(l, destS3, "InvalidKey"); n != 400 {
		t.Fatalf("modelwatch_invocation_log_records_undeliverable_total{s3,InvalidKey} = %v, want 400", n)
	}
	if n := testutil.ToFloat64(l.m.rejected); n != 0 {
		t.Fatalf("%v calls refused", n)
	}
	// A newer configuration is served at once.
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}})
	observeWaves(t, l, 1000, 1, 10)
	waitFor(t, "the new destination's records", func() bool { return len(bucketRecords(t, store, "logs")) == 10 })

	// The kept records survive a restart, and show in the gauge.
	shutdownTestLogger(l)
	reg = prometheus.NewRegistry()
	l = testLogger(t, dir, store, nil, reg)
	if got := gaugeValue(t, reg, "modelwatch_invocation_log_undeliverable_records"); got != 400 {
		t.Fatalf("modelwatch_invocation_log_undeliverable_records = %v after a restart, want 400", got)
	}

	// Redelivered elsewhere while the Logger runs: exactly once.
	var results []RedeliverResult
	o := RedeliverOptions{DataDir: dir, Store: store, Bucket: "rescue", Prefix: "kept", MaxBatchRecords: 1000, MaxBatchBytes: 8 << 20}
	if err := Redeliver(context.Background(), o, func(r RedeliverResult) { results = append(results, r) }); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for _, r := range results {
		if r.Err != nil || r.Reason != "InvalidKey" || r.From != "s3://broken/" || r.To != "s3://rescue/kept" || r.Delivered != r.Records {
			t.Fatalf("result %+v", r)
		}
		delivered += r.Delivered
	}
	ids := bucketRecords(t, store, "rescue")
	if delivered != 400 || len(ids) != 400 || distinct(ids) != 400 || ids[0] != "00000000-0000-0000-0000-000000000000" || ids[399] != "00000000-0000-0000-0000-000000000399" {
		t.Fatalf("redelivered %d records; the bucket holds %d (%d distinct)", delivered, len(ids), distinct(ids))
	}
	if got := gaugeValue(t, reg, "modelwatch_invocation_log_undeliverable_records"); got != 0 {
		t.Fatalf("gauge = %v after redelivery", got)
	}
	if err := Redeliver(context.Background(), o, func(r RedeliverResult) { t.Errorf("second run: %+v", r) }); err != nil {
		t.Fatal(err)
	}
}

func gaugeValue(t testing.TB, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestUnknownGeneration_KeptOnceAndCounted hand-edits logging/config.json
// (generation 1 renumbered 5) under records still in the spool for both
// destinations of generation 1: both deliverers meet them, they are kept
// and counted once.
func TestUnknownGeneration_KeptOnceAndCounted(t *testing.T) {
	dir := t.TempDir()
	store := &switchable{Store: objectstore.NewDir(filepath.Join(dir, "s3"))}
	cw := cwlogsfake.New(t)
	l := testLogger(t, dir, store, cw, nil)
	cfg := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"},
		CloudWatchConfig: &CloudWatchConfig{LogGroupName: "group", RoleArn: "arn:aws:iam::000000000000:role/r"}}
	mustPut(t, l, cfg)
	store.down.Store(true)
	cw.SetDown(true)
	for i := range 3 {
		l.Observe(bigInvocation(i))
	}
	shutdownTestLogger(l)

	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"generation": 1,`, `"generation": 5,`, 1)
	if edited == string(b) {
		t.Fatalf("generation 1 not found in %s", b)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	store.down.Store(false)
	cw.SetDown(false)
	l = testLogger(t, dir, store, cw, nil)
	observeWaves(t, l, 100, 1, 2) // served under generation 5: delivered
	waitFor(t, "both destinations", func() bool {
		return len(bucketRecords(t, store, "logs")) == 2 && len(cw.Events("group", LogStream)) == 3 // + the permission check
	})
	if n := undeliverable(l, destUnknown, reasonUnknownGeneration); n != 3 {
		t.Fatalf("undeliverable{unknown,unknown_generation} = %v, want 3", n)
	}
	if n := heldRecords(l); n != 3 {
		t.Fatalf("%d records held, want 3", n)
	}

	// Without a destination they cannot be redelivered; with one they are.
	o := RedeliverOptions{DataDir: dir, Store: store, MaxBatchRecords: 1000, MaxBatchBytes: 8 << 20}
	err = Redeliver(context.Background(), o, func(r RedeliverResult) {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "pass --bucket") || r.Records != 3 || r.Delivered != 0 {
			t.Errorf("without --bucket: %+v", r)
		}
	})
	if err == nil {
		t.Fatal("redelivery without a destination succeeded")
	}
	o.Bucket = "rescue"
	if err := Redeliver(context.Background(), o, func(RedeliverResult) {}); err != nil {
		t.Fatal(err)
	}
	if ids := bucketRecords(t, store, "rescue"); len(ids) != 3 || distinct(ids) != 3 {
		t.Fatalf("rescue holds %q", ids)
	}
	if n := heldRecords(l); n != 0 {
		t.Fatalf("%d records still held", n)
	}
}

// TestPastDestination_ResumesAfterRestart checks that a destination whose
// cursor moved (and so was committed) is still known after a restart when
// the configuration changed meanwhile.
func TestPastDestination_ResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	store := &switchable{Store: objectstore.NewDir(filepath.Join(dir, "s3"))}
	l := testLogger(t, dir, store, nil, nil)
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "old"}})
	observeWaves(t, l, 0, 1, 1)
	store.down.Store(true)
	l.Observe(bigInvocation(1))
	store.down.Store(false)
	store.downBucket.Store(ptr("old"))
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "new"}})
	shutdownTestLogger(l)

	store.downBucket.Store(nil)
	l = testLogger(t, dir, store, nil, nil)
	waitFor(t, "the past destination's second record", func() bool { return len(bucketRecords(t, store, "old")) == 2 })
}

// cloudWatchLogger returns a Logger delivering to log group "group" of the
// CloudWatch Logs fake.
func cloudWatchLogger(t *testing.T) (*Logger, *cwlogsfake.Server) {
	t.Helper()
	dir := t.TempDir()
	cw := cwlogsfake.New(t)
	l := testLogger(t, dir, objectstore.NewDir(filepath.Join(dir, "s3")), cw, nil)
	mustPut(t, l, &LoggingConfig{CloudWatchConfig: &CloudWatchConfig{LogGroupName: "group", RoleArn: "arn:aws:iam::000000000000:role/r"}})
	return l, cw
}

// TestCloudWatchPermanentFailure_KeptAfterQuickRetries: AccessDenied for
// four attempts keeps the batch; the next batch is delivered.
func TestCloudWatchPermanentFailure_KeptAfterQuickRetries(t *testing.T) {
	l, cw := cloudWatchLogger(t)
	base := cw.Calls("PutLogEvents") // the permission check's
	cw.FailNext(permanentAttempts, "AccessDeniedException", 400)
	observeWaves(t, l, 0, 1, 5)
	if n := undeliverable(l, destCloudWatch, "AccessDeniedException"); n != 5 {
		t.Fatalf("undeliverable{cloudwatch,AccessDeniedException} = %v, want 5", n)
	}
	observeWaves(t, l, 10, 1, 2)
	if got := len(cw.Events("group", LogStream)); got != 3 {
		t.Fatalf("%d events, want the permission check and 2 records", got)
	}
	if got := cw.Calls("PutLogEvents") - base; got != permanentAttempts+1 {
		t.Fatalf("%d PutLogEvents calls, want %d attempts and one for the next batch", got, permanentAttempts)
	}
}

// TestCloudWatchRejectedEvents_KeptWithoutRetry: records more than 14 days
// old are refused one by one while the service stores the others of the
// batch; they are kept at once (retrying would repeat the others).
func TestCloudWatchRejectedEvents_KeptWithoutRetry(t *testing.T) {
	l, cw := cloudWatchLogger(t)
	// One hour's records, delivered 14 days and 20 minutes later (after a
	// long outage): the first 20 minutes' are too old.
	base := cw.Calls("PutLogEvents") // the permission check's
	hour := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	cw.SetClock(func() time.Time { return hour.Add(14*24*time.Hour + 20*time.Minute) })
	for i, minute := range []int{0, 10, 40, 41, 59} {
		inv := bigInvocation(i)
		inv.Start = hour.Add(time.Duration(minute) * time.Minute)
		l.Observe(inv)
	}
	waitFor(t, "the spool to drain", func() bool { return l.Stats().PendingRecords == 0 })
	if n := undeliverable(l, destCloudWatch, string(cwlogs.ReasonTooOld)); n != 2 {
		t.Fatalf("undeliverable{cloudwatch,tooOld} = %v, want 2", n)
	}
	if got := len(cw.Events("group", LogStream)); got != 1+3 {
		t.Fatalf("%d events, want the permission check and 3 records", got)
	}
	if got := cw.Calls("PutLogEvents") - base; got != 1 {
		t.Fatalf("%d PutLogEvents calls for the batch, want 1", got)
	}
}

// TestKeptThenDelivered_KeptCopyForgotten stands in for a crash between
// keeping a batch and committing the cursor: at the next start the batch is
// delivered under its key, and the kept copy, whose redelivery would
// overwrite that object with a subset, is removed.
func TestKeptThenDelivered_KeptCopyForgotten(t *testing.T) {
	dir := t.TempDir()
	store := &switchable{Store: objectstore.NewDir(filepath.Join(dir, "s3"))}
	l := testLogger(t, dir, store, nil, nil)
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}})
	store.down.Store(true)
	for i := range 3 {
		l.Observe(bigInvocation(i))
	}
	shutdownTestLogger(l)

	l = testLogger(t, dir, store, nil, nil)
	d := destination{Kind: destS3, Bucket: "logs"}
	pos, _, _ := l.spool.Cursor(d.consumer())
	entries, err := l.spool.Read(context.Background(), pos, 2, 1<<20)
	if err != nil || len(entries) != 2 {
		t.Fatalf("read %d entries: %v", len(entries), err)
	}
	var first []pending
	for _, en := range entries {
		e, err := decodeEntry(en.Data)
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, pending{e: e, pos: en.Pos, raw: en.Data})
	}
	name := keptBatchName(d.consumer(), first[0].e.time, batchID(d.consumer(), first[0].pos), "NoSuchBucket")
	h := keptHeader{Destination: &d, Consumer: d.consumer(), Reason: "NoSuchBucket", AccountID: "000000000000", Region: "us-east-1"}
	if added, err := l.keep(name, h, first); added != 2 || err != nil {
		t.Fatalf("keep: %d, %v", added, err)
	}
	store.down.Store(false)
	waitFor(t, "the batch", func() bool { return len(bucketRecords(t, store, "logs")) == 3 })
	waitFor(t, "the kept copy to go", func() bool { return heldRecords(l) == 0 })
}
