package invocationlog

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// longPrefix returns a key prefix of n bytes in segments MinIO accepts
// (at most 255 bytes each).
func longPrefix(n int) string {
	b := []byte(strings.Repeat(strings.Repeat("p", 99)+"/", n/100+1)[:n])
	b[n-1] = 'q' // not a "/", which LogsPrefix would trim
	return string(b)
}

// TestPoisonDestination_MinIO is finding 2 against a real S3: a prefix
// whose keys would be too long is refused at Put, and the longest one
// allowed writes keys of exactly 1024 bytes; a bucket deleted after the Put
// fails every batch with NoSuchBucket while calls keep being admitted, the
// CloudWatch Logs destination beside it and a newer configuration get
// their records, the refused records are kept and counted exactly, survive
// a restart and are redelivered exactly once once the bucket exists again;
// an outage (MinIO stopped) is still retried until it ends.
func TestPoisonDestination_MinIO(t *testing.T) {
	srv := miniotest.Start(t)
	for _, b := range []string{"good", "doomed"} {
		srv.CreateBucket(t, b)
	}
	client := srv.Client(t)
	store := objectstore.NewS3(client)
	cw := cwlogsfake.New(t)
	dir := t.TempDir()
	// Segments that hold a record with a large body.
	tune := func(s *Settings) { s.Spool.SegmentBytes, s.Spool.MaxBytes = 128<<10, 384<<10 }
	l := testLogger(t, dir, store, cw, prometheus.NewRegistry(), tune)
	ctx := context.Background()

	room := MaxKeyBytes - LongestKey("", "000000000000", "us-east-1") - 1
	var ve *ValidationError
	err := l.Put(ctx, &LoggingConfig{S3Config: &S3Config{BucketName: "good", KeyPrefix: longPrefix(room + 1)}})
	if !errors.As(err, &ve) || !strings.Contains(ve.Message, "at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must have length less than or equal to 895:") {
		t.Fatalf("a prefix of %d bytes: %v", room+1, err)
	}
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "good", KeyPrefix: longPrefix(room)}})
	inv := bigInvocation(0)
	inv.Output.Data = []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"` + strings.Repeat("b", LargeBodyBytes) + `"}]}}}`)
	l.Observe(inv)
	waitFor(t, "the offloaded body", func() bool { return len(bucketRecords(t, store, "good")) == 1 })
	longest := 0
	_ = store.List(ctx, "good", "", "", func(o objectstore.Object) error { longest = max(longest, len(o.Key)); return nil })
	if want := LongestKey(longPrefix(room), "000000000000", "us-east-1"); longest != want || want != MaxKeyBytes {
		t.Fatalf("longest key written %d bytes, computed bound %d, S3's limit %d", longest, want, MaxKeyBytes)
	}

	// The S3 destination breaks after the Put; CloudWatch Logs beside it
	// works.
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "doomed"},
		CloudWatchConfig: &CloudWatchConfig{LogGroupName: "group", RoleArn: "arn:aws:iam::000000000000:role/r"}})
	emptyAndDelete(t, client, "doomed")
	observeWaves(t, l, 100, 10, 40) // three times the spool's 384 KiB
	// Wait for the count rather than read it once: the spool may read
	// empty a moment before the last refusal is counted. Then it must be
	// exact.
	waitFor(t, "400 records counted undeliverable", func() bool { return undeliverable(l, destS3, "NoSuchBucket") >= 400 })
	if n := undeliverable(l, destS3, "NoSuchBucket"); n != 400 {
		t.Fatalf("undeliverable{s3,NoSuchBucket} = %v, want 400", n)
	}
	if n := testutil.ToFloat64(l.m.rejected); n != 0 {
		t.Fatalf("%v calls refused", n)
	}
	waitFor(t, "the CloudWatch Logs records", func() bool { return len(cw.Events("group", LogStream)) == 1+400 })

	// A newer configuration; then an outage of it, which is retried.
	mustPut(t, l, &LoggingConfig{S3Config: &S3Config{BucketName: "good"}})
	observeWaves(t, l, 1000, 1, 10)
	srv.Stop()
	failures := testutil.ToFloat64(l.m.batches.WithLabelValues(destS3, "failure"))
	for i := range 5 {
		l.Observe(bigInvocation(2000 + i))
	}
	waitFor(t, "failed attempts during the outage", func() bool {
		return testutil.ToFloat64(l.m.batches.WithLabelValues(destS3, "failure")) >= failures+3
	})
	srv.Restart(t)
	waitFor(t, "the spool to drain after the outage", func() bool { return l.Stats().PendingRecords == 0 })
	if ids := bucketRecords(t, store, "good"); len(ids) != 1+10+5 || distinct(ids) != 16 {
		t.Fatalf("good holds %d records (%d distinct), want 16", len(ids), distinct(ids))
	}
	if n := undeliverable(l, destS3, "NoSuchBucket"); n != 400 {
		t.Fatalf("the outage made records undeliverable: %v", n)
	}

	// Kept across a restart; redelivered to the re-created bucket while
	// the Logger runs, exactly once.
	shutdownTestLogger(l)
	reg := prometheus.NewRegistry()
	l = testLogger(t, dir, store, cw, reg, tune)
	if n := gaugeValue(t, reg, "modelwatch_invocation_log_undeliverable_records"); n != 400 {
		t.Fatalf("%v records held after a restart, want 400", n)
	}
	srv.CreateBucket(t, "doomed")
	o := RedeliverOptions{DataDir: dir, Store: store, MaxBatchRecords: 1000, MaxBatchBytes: 8 << 20}
	for run := range 2 {
		if err := Redeliver(ctx, o, func(r RedeliverResult) {
			if run > 0 || r.Err != nil || r.To != "s3://doomed/" || r.Delivered != r.Records {
				t.Errorf("run %d: %+v", run, r)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if ids := bucketRecords(t, store, "doomed"); len(ids) != 400 || distinct(ids) != 400 {
		t.Fatalf("doomed holds %d records (%d distinct), want 400", len(ids), distinct(ids))
	}
	if n := gaugeValue(t, reg, "modelwatch_invocation_log_undeliverable_records"); n != 0 {
		t.Fatalf("%v records held after redelivery", n)
	}
}

func emptyAndDelete(t testing.TB, client *s3.Client, bucket string) {
	t.Helper()
	ctx := context.Background()
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
}
