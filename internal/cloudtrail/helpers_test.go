package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
	testBucket  = "audit"
)

// flaky is a store whose Puts fail while down is set.
type flaky struct {
	objectstore.Store
	down  atomic.Bool
	fails atomic.Int64
}

func (f *flaky) Put(ctx context.Context, bucket, key string, body []byte, meta objectstore.Meta) error {
	if f.down.Load() {
		f.fails.Add(1)
		return errors.New("simulated outage: connection refused")
	}
	return f.Store.Put(ctx, bucket, key, body, meta)
}

func (f *flaky) Head(ctx context.Context, bucket, key string) (objectstore.Meta, error) {
	return objectstore.Head(ctx, f.Store, bucket, key)
}

func testOptions(t testing.TB, dir string, store objectstore.Store) Options {
	return Options{
		Dir: dir, Store: store, Bucket: testBucket, AccountID: testAccount, Region: testRegion,
		DeliveryInterval: 50 * time.Millisecond, DigestInterval: time.Hour,
		MaxSpoolBytes: 1 << 20, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func openTrail(t testing.TB, opts Options) *Trail {
	t.Helper()
	tr, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func testEvent(i int, op string, readOnly bool) *Event {
	return NewEvent(Call{
		Operation: op,
		Principal: Principal{Name: "alice", ARN: "arn:aws:iam::" + testAccount + ":user/alice", AccessKeyID: "AKIAEXAMPLE"},
		SourceIP:  "198.51.100.7", UserAgent: "test-agent", RequestID: "req-" + string(rune('a'+i%26)),
		Time:              time.Now(),
		RequestParameters: map[string]any{"modelId": "amazon.nova-lite-v1:0", "i": i},
		ReadOnly:          readOnly,
	})
}

// logFiles returns the keys and records of the log files in the bucket.
func logFiles(t testing.TB, st objectstore.Store, prefix string) (keys []string, records []map[string]any) {
	t.Helper()
	ctx := context.Background()
	err := st.List(ctx, testBucket, LogsPrefix(prefix, testAccount, testRegion), "", func(o objectstore.Object) error {
		keys = append(keys, o.Key)
		b, err := st.Get(ctx, testBucket, o.Key)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		var f struct{ Records []map[string]any }
		if err := json.Unmarshal(raw, &f); err != nil {
			return err
		}
		records = append(records, f.Records...)
		return nil
	})
	if err != nil && !errors.Is(err, objectstore.ErrNoSuchBucket) {
		t.Fatal(err)
	}
	return keys, records
}

// digestFiles returns the digest keys in the bucket.
func digestFiles(t testing.TB, st objectstore.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := st.List(context.Background(), testBucket, DigestsPrefix(prefix, testAccount, testRegion), "", func(o objectstore.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil && !errors.Is(err, objectstore.ErrNoSuchBucket) {
		t.Fatal(err)
	}
	return keys
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func localStore(t testing.TB) *objectstore.Dir {
	return objectstore.NewDir(filepath.Join(t.TempDir(), "s3"))
}

func closeTrail(t testing.TB, tr *Trail) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func countLines(s, substr string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
