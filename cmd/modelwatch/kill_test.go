package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/cmdtest"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/logquery"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// TestKill9UnderLoadLosesNothing is the durability drill of issue 3: with
// logging to a real MinIO, `modelwatch serve` is killed with SIGKILL in the
// middle of a load and started again on the same data directory. Every call
// that got a 2xx must be delivered, and none twice.
func TestKill9UnderLoadLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	m := miniotest.Start(t)
	const bucket = "kill-logs"
	m.CreateBucket(t, bucket)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte("invocationLogging:\n  store: s3\n  flushInterval: 100ms\n  maxBatchRecords: 50\n  retryMin: 50ms\n  retryMax: 500ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(m.Env(), "MODELWATCH_LISTEN=127.0.0.1:0", "MODELWATCH_DATA_DIR="+filepath.Join(dir, "data"), "MODELWATCH_CONFIG="+cfgFile)

	srv := cmdtest.Serve(t, bin, nil, env...)
	url := srv.URL
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	control := bedrock.New(bedrock.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds})
	if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String("drill")}},
	}); err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})

	var (
		mu      sync.Mutex
		served  []string
		stop    atomic.Bool
		wg      sync.WaitGroup
		failed  atomic.Int64
		counter atomic.Int64
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := counter.Add(1)
				out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
					Body: []byte(fmt.Sprintf(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"call %d"}]}`, i))})
				if err != nil {
					failed.Add(1)
					continue
				}
				id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				mu.Lock()
				served = append(served, id)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	ids := append([]string(nil), served...)
	mu.Unlock()
	if len(ids) < 100 {
		t.Fatalf("only %d calls were served before the kill; the drill needs a real load", len(ids))
	}
	t.Logf("%d calls served before SIGKILL, %d failed after it", len(ids), failed.Load())

	srv2 := cmdtest.Serve(t, bin, nil, env...)
	startup := srv2.Startup()
	pendingRE := regexp.MustCompile(`invocation logging ready.* spool_pending_records=(\d+)`)
	pending := -1
	for _, l := range startup {
		if m := pendingRE.FindStringSubmatch(l); m != nil {
			pending, _ = strconv.Atoi(m[1])
		}
	}
	if pending <= 0 {
		t.Fatalf("the restart found %d records pending in the spool: the kill did not interrupt delivery, so the drill proved nothing:\n%s",
			pending, strings.Join(startup, "\n"))
	}
	t.Logf("restart found %d records pending in the spool", pending)
	src := logquery.Source{Store: objectstore.NewS3(m.Client(t)), Bucket: bucket,
		LogsPrefix: invocationlog.LogsPrefix("drill", "000000000000", "us-east-1")}
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]int{}
		err := src.Query(ctx, logquery.Filter{}, func(_ []byte, r *invocationlog.Record) error {
			seen[r.RequestID]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for id, n := range seen {
			if n > 1 {
				t.Fatalf("request %s delivered %d times", id, n)
			}
		}
		missing := 0
		for _, id := range ids {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			t.Logf("all %d served calls delivered once (%d records in all)", len(ids), len(seen))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d served calls were never delivered after the restart", missing, len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := srv2.Stop(); err != nil {
		t.Errorf("the restarted serve exited with %v after SIGTERM; log:\n%s", err, srv2.Log())
	}
}
