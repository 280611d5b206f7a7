package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// callResults are the outcomes of a batch of InvokeModel calls.
type callResults struct {
	served   []string // request IDs of calls answered 200
	rejected []string // request IDs of calls refused with ServiceUnavailableException
	other    []error
}

// spoolCalls runs n InvokeModel calls from 4 workers.
func spoolCalls(t *testing.T, client *bedrockruntime.Client, n int) callResults {
	t.Helper()
	var (
		mu  sync.Mutex
		res callResults
		wg  sync.WaitGroup
	)
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku),
					Body: []byte(fmt.Sprintf(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"spool drill call %d"}]}`, i))})
				mu.Lock()
				var ae smithy.APIError
				switch {
				case err == nil:
					res.served = append(res.served, requestID(t, out.ResultMetadata))
				case errors.As(err, &ae) && ae.ErrorCode() == "ServiceUnavailableException":
					res.rejected = append(res.rejected, errRequestID(t, err))
				default:
					res.other = append(res.other, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}

// startSpoolDrill starts a server logging to bucket on m with a tiny spool
// (128 KiB) under the policy, and turns logging on.
func startSpoolDrill(t *testing.T, m *miniotest.Server, bucket, onFull string) (*server.Server, *syncBuffer) {
	t.Helper()
	m.CreateBucket(t, bucket)
	srv, _, logs := startServerLogged(t, func(c *config.Config) {
		c.InvocationLogging.Store = objectstore.ModeS3
		c.InvocationLogging.Spool.SegmentBytes = 64 << 10
		c.InvocationLogging.Spool.MaxBytes = 128 << 10
		c.InvocationLogging.Spool.OnFull = onFull
	})
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	if _, err := control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)}},
	}); err != nil {
		t.Fatal(err)
	}
	return srv, logs
}

// TestDrillSpoolFull exhausts the spool's disk budget under load while the
// S3 destination (a real MinIO) is down, under both policies. reject:
// calls are refused with ServiceUnavailableException, counted and logged,
// and once S3 is back every served call is delivered exactly once. drop:
// every call is served, each lost record is counted and logged with its
// request ID, and every other served call is delivered exactly once.
func TestDrillSpoolFull(t *testing.T) {
	m := miniotest.Start(t)
	m.SetEnv(t)

	t.Run("reject", func(t *testing.T) {
		const bucket = "spool-reject"
		srv, logs := startSpoolDrill(t, m, bucket, invocationlog.OnFullReject)
		client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
		m.Stop()
		var all callResults
		for batch := 0; len(all.rejected) < 20; batch++ {
			if batch == 20 {
				t.Fatalf("the spool never filled: %d calls served, none refused", len(all.served))
			}
			r := spoolCalls(t, client, 100)
			all.served = append(all.served, r.served...)
			all.rejected = append(all.rejected, r.rejected...)
			all.other = append(all.other, r.other...)
		}
		if len(all.other) > 0 {
			t.Fatalf("%d calls failed otherwise, first: %v", len(all.other), all.other[0])
		}
		t.Logf("destination down: %d calls served, %d refused", len(all.served), len(all.rejected))
		if n := metric(t, srv, "modelwatch_invocation_log_calls_rejected_total", nil); int(n) < len(all.rejected) {
			t.Errorf("modelwatch_invocation_log_calls_rejected_total = %v, %d calls refused", n, len(all.rejected))
		}
		if n := metric(t, srv, "modelwatch_invocation_log_spool_full", nil); n != 1 {
			t.Errorf("modelwatch_invocation_log_spool_full = %v while full", n)
		}
		if len(logs.lines("refusing calls", "spool is full")) == 0 {
			t.Errorf("the refusals were not logged:\n%s", logs.String())
		}

		m.Restart(t)
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := spoolCalls(t, client, 4)
			all.served = append(all.served, r.served...)
			if len(r.rejected) == 0 && len(r.other) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("calls still refused 30 s after the destination came back")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Every served call is delivered: a call admitted while the spool had
		// room whose record no longer fits when it finishes is refused at
		// its end (gateway Committer), never served unlogged.
		lo := waitForRecords(t, s3Store(t, m), bucket, all.served, 30*time.Second)
		if raced := droppedIDs(t, logs); len(raced) > 0 {
			for id := range raced {
				if slices.Contains(all.served, id) {
					t.Errorf("served call %s was logged as a dropped record", id)
				}
			}
		}
		t.Logf("after recovery: %d served calls delivered exactly once (%d records in S3)", len(all.served), len(lo.records))
		rejectedLogged := 0
		for _, id := range all.rejected {
			if len(lo.records[id]) > 0 {
				rejectedLogged++
			}
		}
		// Under reject no served call's record is dropped; the records of
		// refused calls that did not fit are counted apart.
		if n := metric(t, srv, "modelwatch_invocation_log_records_dropped_total", map[string]string{"reason": "spool_full"}); n != 0 {
			t.Errorf("records_dropped_total{spool_full} = %v under onFull: reject, want 0", n)
		}
		t.Logf("%d of %d refused calls also have a record; records of failed calls dropped: %v", rejectedLogged, len(all.rejected),
			metric(t, srv, "modelwatch_invocation_log_records_dropped_total", map[string]string{"reason": "failed_call_spool_full"}))
	})

	t.Run("drop", func(t *testing.T) {
		const bucket = "spool-drop"
		srv, logs := startSpoolDrill(t, m, bucket, invocationlog.OnFullDrop)
		client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
		m.Stop()
		var served []string
		for batch := 0; metric(t, srv, "modelwatch_invocation_log_records_dropped_total", map[string]string{"reason": "spool_full"}) < 20; batch++ {
			if batch == 20 {
				t.Fatalf("the spool never filled after %d calls", len(served))
			}
			r := spoolCalls(t, client, 100)
			if len(r.rejected)+len(r.other) > 0 {
				t.Fatalf("onFull: drop refused or failed %d calls", len(r.rejected)+len(r.other))
			}
			served = append(served, r.served...)
		}
		dropped := droppedIDs(t, logs)
		n := metric(t, srv, "modelwatch_invocation_log_records_dropped_total", map[string]string{"reason": "spool_full"})
		t.Logf("destination down: %d calls served, %v records dropped", len(served), n)
		if int(n) != len(dropped) {
			t.Errorf("%v drops counted, %d logged with their request IDs", n, len(dropped))
		}

		m.Restart(t)
		var kept []string
		for _, id := range served {
			if !dropped[id] {
				kept = append(kept, id)
			}
		}
		lo := waitForRecords(t, s3Store(t, m), bucket, kept, 30*time.Second)
		for id := range dropped {
			if len(lo.records[id]) > 0 {
				t.Errorf("request %s was counted as dropped yet delivered", id)
			}
		}
		t.Logf("after recovery: %d served calls delivered exactly once, %d dropped and accounted for", len(kept), len(dropped))
	})
}

// droppedIDs returns the request IDs the logger logged as dropped because
// the spool was full.
func droppedIDs(t *testing.T, logs *syncBuffer) map[string]bool {
	t.Helper()
	dropped := map[string]bool{}
	for _, l := range logs.lines("invocation log record dropped") {
		var rec struct {
			RequestID string `json:"request_id"`
			Reason    string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec.Reason == "spool_full" {
			dropped[rec.RequestID] = true
		}
	}
	return dropped
}
