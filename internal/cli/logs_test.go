package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const (
	logsBucket  = "my-logs"
	logsKeyPfx  = "bedrock/invocation-logs"
	logsAccount = "000000000000" // the defaults
	logsRegion  = "us-east-1"
)

// logsLine is a stored record line; fields not used by the filters are kept
// in a fixed, non-alphabetical order to check output is the line as stored.
func logsLine(at time.Time, id, op, model, user, errorCode string) string {
	l := fmt.Sprintf(`{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":%q,"accountId":%q,"identity":{"arn":"arn:aws:iam::%s:user/%s"},"region":%q,"requestId":%q,"operation":%q,"modelId":%q,"input":{"inputContentType":"application/json","inputBodyJson":{"z":1,"a":"<b>"},"inputTokenCount":1,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0},"output":{"outputContentType":"application/json","outputBodyJson":{"ok":true},"outputTokenCount":2}`,
		at.UTC().Format(time.RFC3339), logsAccount, logsAccount, user, logsRegion, id, op, model)
	if errorCode != "" {
		l += fmt.Sprintf(`,"errorCode":%q`, errorCode)
	}
	return l + "}"
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type logsFixture struct {
	dataDir string
	store   *objectstore.Dir
	prefix  string // logs prefix
	lines   map[string]string
}

// newLogsFixture makes a data directory with the given logging
// configuration (nil: none).
func newLogsFixture(t *testing.T, c *invocationlog.LoggingConfig) *logsFixture {
	t.Helper()
	fx := &logsFixture{
		dataDir: t.TempDir(),
		prefix:  invocationlog.LogsPrefix(logsKeyPfx, logsAccount, logsRegion),
		lines:   map[string]string{},
	}
	fx.store = objectstore.NewDir(filepath.Join(fx.dataDir, "s3"))
	if c != nil {
		cs, err := invocationlog.OpenConfigStore(fx.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Set(c, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func s3Logging() *invocationlog.LoggingConfig {
	return &invocationlog.LoggingConfig{S3Config: &invocationlog.S3Config{BucketName: logsBucket, KeyPrefix: logsKeyPfx}}
}

// batch writes lines (id → line) as one batch object of hour at.
func (fx *logsFixture) batch(t *testing.T, at time.Time, name string, lines ...string) {
	t.Helper()
	key := invocationlog.BatchKey(fx.prefix, at, name)
	if err := fx.store.Put(context.Background(), logsBucket, key, gzipped(t, strings.Join(lines, "\n")+"\n"), objectstore.Meta{}); err != nil {
		t.Fatal(err)
	}
}

func (fx *logsFixture) rec(at time.Time, id, op, model, user, errorCode string) string {
	l := logsLine(at, id, op, model, user, errorCode)
	fx.lines[id] = l
	return l
}

func (fx *logsFixture) env() map[string]string {
	return map[string]string{"MODELWATCH_DATA_DIR": fx.dataDir}
}

// ids returns the request IDs of stdout's lines, checking each is exactly
// the stored line.
func (fx *logsFixture) ids(t *testing.T, stdout string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		found := ""
		for id, want := range fx.lines {
			if l == want {
				found = id
			}
		}
		if found == "" {
			t.Errorf("output line is not a stored line: %s", l)
		}
		ids = append(ids, found)
	}
	return ids
}

func TestLogsQuery(t *testing.T) {
	fx := newLogsFixture(t, s3Logging())
	now := time.Now().UTC().Truncate(time.Second)
	old := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	fx.batch(t, old, "a",
		fx.rec(old, "o1", "Converse", "amazon.nova-lite-v1:0", "alice", ""),
		fx.rec(old.Add(time.Minute), "o2", "InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0", "bob", "ThrottlingException"))
	fx.batch(t, old.Add(time.Hour), "b",
		fx.rec(old.Add(time.Hour), "o3", "ChatCompletions", "gpt-x", "alice", "ValidationException"))
	fx.batch(t, now.Add(-time.Hour), "c",
		fx.rec(now.Add(-time.Hour), "n1", "ConverseStream", "amazon.nova-lite-v1:0", "bob", ""))
	fx.batch(t, now.Add(-time.Minute), "d",
		fx.rec(now.Add(-time.Minute), "n2", "Converse", "us.amazon.nova-lite-v1:0", "carol", ""))

	tests := []struct {
		args []string
		want string
	}{
		{nil, "o1 o2 o3 n1 n2"},
		{[]string{"--model", "amazon.nova-lite-v1:0"}, "o1 o2 n1"},
		{[]string{"--principal", "alice"}, "o1 o3"},
		{[]string{"--principal", "arn:aws:iam::000000000000:user/bob"}, "o2 n1"},
		{[]string{"--operation", "converse"}, "o1 n2"},
		{[]string{"--request-id", "o3"}, "o3"},
		{[]string{"--errors"}, "o2 o3"},
		{[]string{"--error-code", "ThrottlingException"}, "o2"},
		{[]string{"--since", "2025-03-11T10:01:00Z", "--until", "2025-03-11T11:00:01Z"}, "o2 o3"},
		{[]string{"--until", "2025-03-11"}, ""},
		{[]string{"--since", "2h"}, "n1 n2"},
		{[]string{"--since", "30m"}, "n2"},
		{[]string{"--since", "1000d", "--until", "1d"}, "o1 o2 o3"},
		{[]string{"--limit", "2"}, "o1 o2"},
		{[]string{"--limit", "1", "--errors"}, "o2"},
		{[]string{"--store", "local", "--bucket", logsBucket, "--prefix", logsKeyPfx}, "o1 o2 o3 n1 n2"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := run(t, fx.env(), append([]string{"logs", "query"}, tt.args...)...)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if got := strings.Join(fx.ids(t, out), " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// Another prefix or account finds nothing.
	for _, args := range [][]string{{"--prefix", ""}, {"--account-id", "111111111111"}, {"--region", "us-west-2"}} {
		code, out, errs := run(t, fx.env(), append([]string{"logs", "query"}, args...)...)
		if code != 0 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

func TestLogsQueryStoreSelection(t *testing.T) {
	fx := newLogsFixture(t, s3Logging())
	at := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	fx.batch(t, at, "a", fx.rec(at, "r1", "Converse", "m", "alice", ""))
	// The server's configured store wins over auto's guess.
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("invocationLogging:\n  store: local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := fx.env()
	env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
	env["MODELWATCH_CONFIG"] = cfg
	if code, out, errs := run(t, env, "logs", "query"); code != 0 || strings.Join(fx.ids(t, out), " ") != "r1" {
		t.Errorf("configured local store: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run(t, fx.env(), "logs", "query", "--store", "tape"); code != 1 || !strings.Contains(errs, "tape") {
		t.Errorf("bad store: exit %d, stderr %q", code, errs)
	}
}

func TestLogsQueryResolve(t *testing.T) {
	fx := newLogsFixture(t, s3Logging())
	at := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	dataKey := invocationlog.DataKey(fx.prefix, at, "big", "output")
	if err := fx.store.Put(context.Background(), logsBucket, dataKey, gzipped(t, `{"text":"<lots>"}`), objectstore.Meta{}); err != nil {
		t.Fatal(err)
	}
	path := "s3://" + logsBucket + "/" + dataKey
	line := fmt.Sprintf(`{"timestamp":"2025-03-11T10:00:00Z","requestId":"big","operation":"Converse","output":{"outputContentType":"application/json","outputBodyS3Path":%q,"outputTokenCount":9}}`, path)
	fx.batch(t, at, "a", line)

	code, out, errs := run(t, fx.env(), "logs", "query")
	if code != 0 || out != line+"\n" {
		t.Errorf("without --resolve: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = run(t, fx.env(), "logs", "query", "--resolve")
	want := strings.Replace(line, path+`"`, path+`","outputBodyJson":{"text":"<lots>"}`, 1) + "\n"
	if code != 0 || out != want {
		t.Errorf("--resolve: exit %d, stderr %q\n got %s\nwant %s", code, errs, out, want)
	}
}

func TestLogsQueryCorrupt(t *testing.T) {
	fx := newLogsFixture(t, s3Logging())
	at := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	fx.batch(t, at, "a", fx.rec(at, "r1", "Converse", "m", "alice", ""))
	bad := invocationlog.BatchKey(fx.prefix, at.Add(time.Second), "b")
	if err := fx.store.Put(context.Background(), logsBucket, bad, []byte("\x1f\x8bgarbage"), objectstore.Meta{}); err != nil {
		t.Fatal(err)
	}
	fx.batch(t, at.Add(2*time.Second), "c", fx.rec(at.Add(2*time.Second), "r2", "Converse", "m", "alice", ""), "{broken")
	code, out, errs := run(t, fx.env(), "logs", "query")
	if code != 0 || strings.Join(fx.ids(t, out), " ") != "r1 r2" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "warning: skipped s3://my-logs/"+bad) || !strings.Contains(errs, "line 2") {
		t.Errorf("stderr %q", errs)
	}
}

func TestLogsDestinationErrors(t *testing.T) {
	t.Run("not configured", func(t *testing.T) {
		fx := newLogsFixture(t, nil)
		code, out, errs := run(t, fx.env(), "logs", "query")
		if code != 1 || out != "" || !strings.Contains(errs, "invocation logging is not configured: put a configuration with PutModelInvocationLoggingConfiguration (see README) or pass --bucket") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
		// --bucket is enough.
		at := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
		fx.batch(t, at, "a", fx.rec(at, "r1", "Converse", "m", "alice", ""))
		code, out, errs = run(t, fx.env(), "logs", "query", "--bucket", logsBucket, "--prefix", logsKeyPfx)
		if code != 0 || strings.Join(fx.ids(t, out), " ") != "r1" {
			t.Errorf("--bucket: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("CloudWatch only", func(t *testing.T) {
		fx := newLogsFixture(t, &invocationlog.LoggingConfig{CloudWatchConfig: &invocationlog.CloudWatchConfig{
			LogGroupName: "bedrock-logs", RoleArn: "arn:aws:iam::000000000000:role/logs",
			LargeDataDeliveryS3Config: &invocationlog.S3Config{BucketName: "large-data"},
		}})
		code, _, errs := run(t, fx.env(), "logs", "tail")
		if code != 1 || !strings.Contains(errs, "CloudWatch Logs") || !strings.Contains(errs, "aws logs tail bedrock-logs") || strings.Contains(errs, "large-data") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		fx := newLogsFixture(t, s3Logging())
		cs, _ := invocationlog.OpenConfigStore(fx.dataDir)
		if _, err := cs.Set(nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
		fx.batch(t, at, "a", fx.rec(at, "r1", "Converse", "m", "alice", ""))
		code, out, errs := run(t, fx.env(), "logs", "query")
		if code != 0 || strings.Join(fx.ids(t, out), " ") != "r1" || !strings.Contains(errs, "turned off") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("no bucket yet", func(t *testing.T) {
		fx := newLogsFixture(t, s3Logging())
		code, _, errs := run(t, fx.env(), "logs", "query")
		if code != 1 || !strings.Contains(errs, "bucket my-logs does not exist") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
	t.Run("flags", func(t *testing.T) {
		fx := newLogsFixture(t, s3Logging())
		for _, args := range [][]string{
			{"query", "--since", "yesterday"},
			{"query", "--since", "1h", "--until", "2h"},
			{"query", "--limit", "-1"},
			{"query", "extra"},
			{"query", "--poll", "1s"}, // tail only
		} {
			if code, _, errs := run(t, fx.env(), append([]string{"logs"}, args...)...); code != 1 || errs == "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errs)
			}
		}
		if code, _, _ := run(t, fx.env(), "logs"); code != 2 {
			t.Errorf("logs without a subcommand: exit %d", code)
		}
		if code, out, _ := run(t, fx.env(), "logs", "--help"); code != 0 || !strings.Contains(out, "logs tail") {
			t.Errorf("logs --help: exit %d %q", code, out)
		}
		if code, _, errs := run(t, fx.env(), "logs", "query", "-h"); code != 0 || !strings.Contains(errs, "--principal") && !strings.Contains(errs, "-principal") {
			t.Errorf("logs query -h: exit %d %q", code, errs)
		}
	})
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                          {},
		"2025-03-01T08:30:00Z":      time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC),
		"2025-03-01T09:30:00+01:00": time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC),
		"2025-03-01":                time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		"15m":                       now.Add(-15 * time.Minute),
		"2h":                        now.Add(-2 * time.Hour),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"1d12h":                     now.Add(-36 * time.Hour),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "7", "-1h", "1.5d", "3dd", "x"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsTail(t *testing.T) {
	fx := newLogsFixture(t, s3Logging())
	now := time.Now().UTC().Truncate(time.Second)
	fx.batch(t, now.Add(-time.Minute), "before", fx.rec(now.Add(-time.Minute), "before", "Converse", "m", "alice", ""))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"logs", "tail", "--poll", "10ms", "--principal", "alice"}, &out, &errb, envOf(fx.env()))
	}()
	var base string // what the probes printed
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for out.String() != base+want {
			if time.Now().After(deadline) {
				t.Fatalf("stdout %q, want %q (stderr %q)", out.String(), base+want, errb.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The first listing marks what is there ("before") as seen, silently.
	// Probe batches, written until one is printed, show that it is over
	// however slow the machine (a fixed sleep was not enough under load).
	for i := 0; ; i++ {
		id := fmt.Sprintf("probe-%d", i)
		fx.batch(t, now, id, fx.rec(now, id, "Converse", "m", "alice", ""))
		time.Sleep(50 * time.Millisecond)
		if strings.Contains(out.String(), fx.lines[id]) {
			time.Sleep(100 * time.Millisecond) // the rest of that scan
			base = out.String()
			break
		}
		if i == 200 {
			t.Fatalf("tail printed none of %d probes (stderr %q)", i+1, errb.String())
		}
	}
	fx.batch(t, now, "new", fx.rec(now, "new", "Converse", "m", "alice", ""), fx.rec(now, "other", "Converse", "m", "bob", ""))
	waitFor(fx.lines["new"] + "\n")
	fx.batch(t, now.Add(-30*time.Minute), "late", fx.rec(now.Add(-30*time.Minute), "late", "Converse", "m", "alice", ""))
	waitFor(fx.lines["new"] + "\n" + fx.lines["late"] + "\n")
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not stop")
	}
	if got, want := out.String(), base+fx.lines["new"]+"\n"+fx.lines["late"]+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// keepRecords runs a Logger on dataDir whose S3 destination fails
// permanently after the Put, so that the n records served are kept as
// undeliverable; it returns the Logger, still running.
func keepRecords(t *testing.T, dataDir string, store objectstore.Store, bucket string, breakIt func(), n int) *invocationlog.Logger {
	t.Helper()
	cfg := config.Default()
	s := cfg.InvocationLogging
	s.FlushInterval, s.RetryMin, s.RetryMax = 20*time.Millisecond, 5*time.Millisecond, 20*time.Millisecond
	l, err := invocationlog.Open(invocationlog.Options{DataDir: dataDir, AccountID: logsAccount, Region: logsRegion,
		Settings: s, Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = l.Shutdown(ctx)
	})
	if err := l.Put(context.Background(), &invocationlog.LoggingConfig{S3Config: &invocationlog.S3Config{BucketName: bucket}}); err != nil {
		t.Fatal(err)
	}
	breakIt()
	for i := range n {
		l.Observe(&invocation.Invocation{
			RequestID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Operation: invocation.Converse, ModelID: "amazon.nova-lite-v1:0",
			PrincipalARN: "arn:aws:iam::000000000000:user/alice", Start: time.Now(), Status: 200,
			Input:  invocation.Body{ContentType: "application/json", Data: []byte(`{"messages":[]}`)},
			Output: invocation.Body{ContentType: "application/json", Data: []byte(`{"stopReason":"end_turn"}`)},
		})
	}
	// Kept means both: the cursor passed the records, and their batch file
	// is in the undeliverable directory (the spool's count alone can read
	// zero before the deliverer has taken the records up).
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dataDir, invocationlog.UndeliverableDir, "*.batch"))
		st := l.Stats()
		if st.PendingRecords == 0 && st.Appended >= uint64(n) && len(files) > 0 {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("records not kept: %+v, kept files %q", st, files)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLogsRedeliver_Local(t *testing.T) {
	fx := newLogsFixture(t, nil)
	l := keepRecords(t, fx.dataDir, fx.store, "broken", func() {
		// The bucket's directory replaced by a file: no retry mends that.
		p := filepath.Join(fx.dataDir, "s3", "broken")
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}, 5)
	files, _ := filepath.Glob(filepath.Join(fx.dataDir, invocationlog.UndeliverableDir, "*.batch"))
	if len(files) != 1 {
		t.Fatalf("kept files %q, want 1", files)
	}

	code, out, errs := run(t, fx.env(), "logs", "redeliver", "--dry-run")
	if want := "would redeliver 5 records kept for s3://broken/ (InvalidKey) to s3://broken/: " + files[0] + "\n5 records in 1 file\n"; code != 0 || out != want || errs != "" {
		t.Fatalf("--dry-run: exit %d, stderr %q\n got %q\nwant %q", code, errs, out, want)
	}
	code, out, errs = run(t, fx.env(), "logs", "redeliver")
	if code != 1 || out != "redelivered 0 records; 5 records in 1 file remain\n" ||
		!strings.HasPrefix(errs, "modelwatch: "+files[0]+": 0 of 5 records kept for s3://broken/ (InvalidKey) redelivered to s3://broken/: ") ||
		!strings.HasSuffix(errs, "modelwatch: 1 of 1 files of kept records were not redelivered in full\n") {
		t.Fatalf("to the still broken bucket: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run(t, fx.env(), "logs", "redeliver", "--prefix", "x"); code != 1 || errs != "modelwatch: --prefix needs --bucket\n" {
		t.Fatalf("--prefix alone: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, fx.env(), "logs", "redeliver", "--bucket", "a..b"); code != 1 || !strings.Contains(errs, "must not contain two adjacent periods") {
		t.Fatalf("bad --bucket: exit %d, stderr %q", code, errs)
	}

	// To another bucket, while the server's Logger runs.
	code, out, errs = run(t, fx.env(), "logs", "redeliver", "--bucket", logsBucket, "--prefix", logsKeyPfx)
	if want := "redelivered 5 records kept for s3://broken/ (InvalidKey) to s3://" + logsBucket + "/" + logsKeyPfx + "\nredelivered 5 records; 0 records in 0 files remain\n"; code != 0 || out != want || errs != "" {
		t.Fatalf("--bucket: exit %d, stderr %q\n got %q\nwant %q", code, errs, out, want)
	}
	code, out, _ = run(t, fx.env(), "logs", "query", "--bucket", logsBucket, "--prefix", logsKeyPfx)
	if n := strings.Count(out, `"schemaType":"ModelInvocationLog"`); code != 0 || n != 5 {
		t.Fatalf("query finds %d records (exit %d)", n, code)
	}
	if code, out, _ := run(t, fx.env(), "logs", "redeliver"); code != 0 || out != "no kept invocation log records to redeliver\n" {
		t.Fatalf("second run: exit %d, stdout %q", code, out)
	}
	if st := l.Stats(); st.PendingRecords != 0 {
		t.Fatalf("the running Logger has %d records pending", st.PendingRecords)
	}
}

// TestLogsRedeliver_MinIO: records refused with NoSuchBucket are put into
// another bucket by the command, exactly once, while the server runs.
func TestLogsRedeliver_MinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "doomed")
	srv.CreateBucket(t, "rescue")
	client := srv.Client(t)
	fx := newLogsFixture(t, nil)
	keepRecords(t, fx.dataDir, objectstore.NewS3(client), "doomed", func() {
		ctx := context.Background()
		client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("doomed"), Key: aws.String(invocationlog.PermissionCheckKey(""))})
		if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("doomed")}); err != nil {
			t.Fatal(err)
		}
		// A write that raced the deletion (the Logger's own permission
		// check, seen under -race) brings the bucket back in MinIO, and
		// the records would then be delivered, not refused: delete it
		// until it has stayed gone for half a second.
		gone := 0
		for deadline := time.Now().Add(10 * time.Second); gone < 10; time.Sleep(50 * time.Millisecond) {
			if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("doomed")}); err != nil {
				gone++
				continue
			}
			gone = 0
			if time.Now().After(deadline) {
				t.Fatal("the bucket doomed keeps coming back")
			}
			objs, _ := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("doomed")})
			if objs != nil {
				for _, o := range objs.Contents {
					client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("doomed"), Key: o.Key})
				}
			}
			client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("doomed")})
		}
	}, 25)
	srv.SetEnv(t) // the command loads the AWS configuration chain
	env := fx.env()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for run2 := range 2 {
		code, out, errs := run(t, env, "logs", "redeliver", "--store", "s3", "--bucket", "rescue")
		want := "redelivered 25 records kept for s3://doomed/ (NoSuchBucket) to s3://rescue/\nredelivered 25 records; 0 records in 0 files remain\n"
		if run2 == 1 {
			want = "no kept invocation log records to redeliver\n"
		}
		if code != 0 || out != want || errs != "" {
			t.Fatalf("run %d: exit %d, stderr %q\n got %q\nwant %q", run2, code, errs, out, want)
		}
	}
	// What MinIO holds: one object with the 25 records, each once.
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("rescue")})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, o := range out.Contents {
		obj, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("rescue"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(obj.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		obj.Body.Close()
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r invocationlog.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			seen[r.RequestID]++
		}
	}
	if len(out.Contents) != 1 || len(seen) != 25 {
		t.Fatalf("%d objects with %d distinct records, want 1 with 25", len(out.Contents), len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
}
