package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	dto "github.com/prometheus/client_model/go"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const logPrefix = "bedrock/invocation-logs"

// logObjects reads every object under prefix: batch objects decoded into
// records by request ID (a request ID seen twice is a duplicate), and the
// other objects' keys.
type logObjects struct {
	records map[string][]invocationlog.Record
	raw     map[string][]byte // request ID → raw line
	batches []string
	data    map[string][]byte // key → gunzipped content
	other   []string
}

var batchKey = regexp.MustCompile(`^bedrock/invocation-logs/AWSLogs/000000000000/BedrockModelInvocationLogs/us-east-1/\d{4}/\d{2}/\d{2}/\d{2}/\d{8}T\d{6}Z_[0-9a-f]{20}\.json\.gz$`)
var dataKey = regexp.MustCompile(`^bedrock/invocation-logs/AWSLogs/000000000000/BedrockModelInvocationLogs/us-east-1/\d{4}/\d{2}/\d{2}/\d{2}/data/[0-9a-f-]{36}_(input|output)\.json\.gz$`)

func readLogs(t *testing.T, store objectstore.Store, bucket string) *logObjects {
	t.Helper()
	ctx := context.Background()
	lo := &logObjects{records: map[string][]invocationlog.Record{}, raw: map[string][]byte{}, data: map[string][]byte{}}
	err := store.List(ctx, bucket, "", "", func(o objectstore.Object) error {
		switch {
		case batchKey.MatchString(o.Key):
			lo.batches = append(lo.batches, o.Key)
		case dataKey.MatchString(o.Key):
		default:
			lo.other = append(lo.other, o.Key)
			return nil
		}
		b, err := store.Get(ctx, bucket, o.Key)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		if dataKey.MatchString(o.Key) {
			lo.data[o.Key] = plain
			return nil
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(plain, []byte("\n")), []byte("\n")) {
			var r invocationlog.Record
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("%s: bad line %q: %w", o.Key, line, err)
			}
			lo.records[r.RequestID] = append(lo.records[r.RequestID], r)
			lo.raw[r.RequestID] = line
		}
		return nil
	})
	if err != nil && !errors.Is(err, objectstore.ErrNoSuchBucket) {
		t.Fatal(err)
	}
	return lo
}

// waitForRecords polls until every request ID has a record, and fails on
// duplicates.
func waitForRecords(t *testing.T, store objectstore.Store, bucket string, ids []string, timeout time.Duration) *logObjects {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lo := readLogs(t, store, bucket)
		missing := 0
		for _, id := range ids {
			switch n := len(lo.records[id]); {
			case n == 0:
				missing++
			case n > 1:
				t.Fatalf("request %s logged %d times", id, n)
			}
		}
		if missing == 0 {
			return lo
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls have no invocation log record after %v", missing, len(ids), timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errRequestID(t *testing.T, err error) string {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("not a response error: %v", err)
	}
	return re.RequestID
}

func s3Store(t *testing.T, m *miniotest.Server) objectstore.Store {
	return objectstore.NewS3(m.Client(t))
}

// startWithMinIO starts a real MinIO holding bucket and a server whose S3
// destinations go to it through the SDK's configuration chain.
func startWithMinIO(t *testing.T, bucket string) (*miniotest.Server, *server.Server) {
	t.Helper()
	m := miniotest.Start(t)
	m.SetEnv(t)
	m.CreateBucket(t, bucket)
	srv, _ := startServer(t, func(c *config.Config) { c.InvocationLogging.Store = objectstore.ModeS3 })
	return m, srv
}

func TestInvocationLoggingToMinIO(t *testing.T) {
	const bucket = "bedrock-logs"
	m, srv := startWithMinIO(t, bucket)
	ctx := context.Background()
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	runtime := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")

	got, err := control.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || got.LoggingConfig != nil {
		t.Fatalf("logging must be off by default: %+v, %v", got, err)
	}
	_, err = control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("no-such-bucket")}},
	})
	var ve *bedrocktypes.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "Failed to validate permissions for bucket no-such-bucket") {
		t.Fatalf("unwritable bucket: want ValidationException, got %v", err)
	}
	_, err = control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{},
	})
	if !errors.As(err, &ve) {
		t.Fatalf("no destination: want ValidationException, got %v", err)
	}
	want := &bedrocktypes.LoggingConfig{
		S3Config:                     &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)},
		TextDataDeliveryEnabled:      aws.Bool(true),
		EmbeddingDataDeliveryEnabled: aws.Bool(true),
		ImageDataDeliveryEnabled:     aws.Bool(false),
	}
	if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: want}); err != nil {
		t.Fatal(err)
	}
	got, err = control.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || aws.ToString(got.LoggingConfig.S3Config.BucketName) != bucket || aws.ToString(got.LoggingConfig.S3Config.KeyPrefix) != logPrefix ||
		!aws.ToBool(got.LoggingConfig.TextDataDeliveryEnabled) || aws.ToBool(got.LoggingConfig.ImageDataDeliveryEnabled) {
		t.Fatalf("Get after Put: %+v, %v", got.LoggingConfig, err)
	}

	type call struct {
		id, op, model string
		status        int
		errorCode     string
		in, out       int
		input         string
	}
	var calls []call
	invoke := func(model, body string) {
		out, err := runtime.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: []byte(body), ContentType: aws.String("application/json")})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		calls = append(calls, call{id: requestID(t, out.ResultMetadata), op: "InvokeModel", model: model, status: 200,
			in:  atoi(t, rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count")),
			out: atoi(t, rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count")), input: body})
	}
	invoke(haiku, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`)
	invoke("amazon.titan-text-express-v1", `{"inputText":"Hello","textGenerationConfig":{"maxTokenCount":50}}`)
	invoke("amazon.nova-lite-v1:0", `{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":50}}`)
	invoke("meta.llama3-8b-instruct-v1:0", `{"prompt":"Hello","max_gen_len":50}`)
	invoke("mistral.mistral-7b-instruct-v0:2", `{"prompt":"<s>[INST] Hello [/INST]","max_tokens":50}`)
	invoke("amazon.titan-embed-text-v2:0", `{"inputText":"vector me","dimensions":256}`)

	conv, err := runtime.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us.amazon.nova-lite-v1:0"),
		Messages:        []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "Hello there"}}}},
		RequestMetadata: map[string]string{"team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	calls = append(calls, call{id: requestID(t, conv.ResultMetadata), op: "Converse", model: "us.amazon.nova-lite-v1:0", status: 200,
		in: int(*conv.Usage.InputTokens), out: int(*conv.Usage.OutputTokens)})

	big := strings.Repeat("All work and no play makes Jack a dull boy. ", 3000) // ~132 KB
	bigOut, err := runtime.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: big}}}}})
	if err != nil {
		t.Fatal(err)
	}
	bigID := requestID(t, bigOut.ResultMetadata)
	calls = append(calls, call{id: bigID, op: "Converse", model: haiku, status: 200, in: int(*bigOut.Usage.InputTokens), out: int(*bigOut.Usage.OutputTokens)})

	_, err = runtime.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(modelThrottled), Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)})
	calls = append(calls, call{id: errRequestID(t, err), op: "InvokeModel", model: modelThrottled, status: 429, errorCode: "ThrottlingException"})
	_, err = runtime.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: []byte(`{"messages":`)})
	calls = append(calls, call{id: errRequestID(t, err), op: "InvokeModel", model: haiku, status: 400, errorCode: "ValidationException", input: `{"messages":`})

	store := s3Store(t, m)
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.id
	}
	lo := waitForRecords(t, store, bucket, ids, 20*time.Second)

	for _, c := range calls {
		r := lo.records[c.id][0]
		if r.SchemaType != "ModelInvocationLog" || r.SchemaVersion != "1.0" || r.AccountID != "000000000000" || r.Region != "us-east-1" ||
			r.Operation != c.op || r.ModelID != c.model || r.ErrorCode != c.errorCode || r.Identity.ARN != "arn:aws:iam::000000000000:user/anonymous" {
			t.Errorf("record for %s %s: %s", c.op, c.model, lo.raw[c.id])
		}
		if _, err := time.Parse(time.RFC3339, r.Timestamp); err != nil || !strings.HasSuffix(r.Timestamp, "Z") {
			t.Errorf("timestamp %q", r.Timestamp)
		}
		if c.status == 200 && (r.Input.InputTokenCount != c.in || r.Output.OutputTokenCount != c.out) {
			t.Errorf("%s %s: tokens in record %d/%d, response said %d/%d", c.op, c.model, r.Input.InputTokenCount, r.Output.OutputTokenCount, c.in, c.out)
		}
		if c.id != bigID && (len(r.Input.InputBodyJSON) == 0 || len(r.Output.OutputBodyJSON) == 0) {
			t.Errorf("%s %s: bodies missing: %s", c.op, c.model, lo.raw[c.id])
		}
		if c.input != "" && c.status == 200 {
			var a, b any
			_ = json.Unmarshal([]byte(c.input), &a)
			_ = json.Unmarshal(r.Input.InputBodyJSON, &b)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s: inputBodyJson %s, sent %s", c.model, r.Input.InputBodyJSON, c.input)
			}
		}
	}
	if md := lo.records[calls[6].id][0].RequestMetadata; md["team"] != "search" {
		t.Errorf("requestMetadata = %v", md)
	}
	if r := lo.records[calls[6].id][0]; r.InferenceRegion == "" {
		t.Errorf("a profile call must carry inferenceRegion: %s", lo.raw[calls[6].id])
	}
	if got := string(lo.records[calls[len(calls)-1].id][0].Input.InputBodyJSON); got != `"{\"messages\":"` {
		t.Errorf("a malformed body is recorded as a JSON string, got %s", got)
	}

	r := lo.records[bigID][0]
	if len(r.Input.InputBodyJSON) != 0 || !strings.HasPrefix(r.Input.InputBodyS3Path, "s3://"+bucket+"/"+logPrefix+"/") || len(r.Output.OutputBodyJSON) == 0 {
		t.Fatalf("large input must be offloaded, output inline: %s", lo.raw[bigID])
	}
	dataObj := strings.TrimPrefix(r.Input.InputBodyS3Path, "s3://"+bucket+"/")
	if !strings.HasSuffix(dataObj, "/data/"+bigID+"_input.json.gz") {
		t.Fatalf("offloaded path %s", r.Input.InputBodyS3Path)
	}
	var offloaded struct {
		Messages []struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(lo.data[dataObj], &offloaded); err != nil || offloaded.Messages[0].Content[0].Text != big {
		t.Fatalf("offloaded body does not hold the request (%v)", err)
	}
	if len(lo.other) != 1 || lo.other[0] != logPrefix+"/amazon-bedrock-logs-permission-check" {
		t.Errorf("unexpected objects besides batches: %v", lo.other)
	}

	// Delete turns logging off: Get answers {} and calls are no longer spooled.
	if _, err := control.DeleteModelInvocationLoggingConfiguration(ctx, &bedrock.DeleteModelInvocationLoggingConfigurationInput{}); err != nil {
		t.Fatal(err)
	}
	got, err = control.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || got.LoggingConfig != nil {
		t.Fatalf("after Delete: %+v, %v", got.LoggingConfig, err)
	}
	before := srv.Logging().Stats().Appended
	invoke(haiku, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`)
	if after := srv.Logging().Stats().Appended; after != before {
		t.Fatalf("logging off, yet %d records were spooled", after-before)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// loadCalls runs n InvokeModel calls from workers goroutines and returns the
// request IDs of those that succeeded.
func loadCalls(t *testing.T, client *bedrockruntime.Client, n, workers int, during func(i int)) []string {
	t.Helper()
	var (
		mu  sync.Mutex
		ids []string
		wg  sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku),
					Body: []byte(fmt.Sprintf(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"call %d"}]}`, i))})
				if err == nil {
					mu.Lock()
					ids = append(ids, requestID(t, out.ResultMetadata))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		if during != nil {
			during(i)
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

func TestNothingLostWhileMinIOIsDown(t *testing.T) {
	const bucket = "outage-logs"
	m, srv := startWithMinIO(t, bucket)
	ctx := context.Background()
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)}},
	}); err != nil {
		t.Fatal(err)
	}
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ids := loadCalls(t, client, 600, 8, func(i int) {
		switch i {
		case 150:
			m.Stop()
		case 450:
			// Long enough that delivery fails past the SDK's own retries.
			time.Sleep(3 * time.Second)
			m.Restart(t)
		}
	})
	if len(ids) != 600 {
		t.Fatalf("%d of 600 calls succeeded: an S3 outage must not fail calls", len(ids))
	}
	waitForRecords(t, s3Store(t, m), bucket, ids, 30*time.Second)
	var failures float64
	mfs, _ := srv.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "bedrock_model_invocation_logs_delivery_total" {
			for _, mm := range mf.GetMetric() {
				if labels(mm.GetLabel())["destination"] == "s3" && labels(mm.GetLabel())["result"] == "failure" {
					failures = mm.GetCounter().GetValue()
				}
			}
		}
	}
	if failures == 0 {
		t.Error("the outage did not show in bedrock_model_invocation_logs_delivery_total{destination=\"s3\",result=\"failure\"}")
	}
}

func TestInvocationLoggingToCloudWatch(t *testing.T) {
	fake := cwlogsfake.New(t)
	fake.SetEnv(t)
	srv, _ := startServer(t, nil)
	ctx := context.Background()
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	const group = "/modelwatch/invocations"
	_, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{CloudWatchConfig: &bedrocktypes.CloudWatchConfig{
			LogGroupName:              aws.String(group),
			RoleArn:                   aws.String("arn:aws:iam::000000000000:role/bedrock-logging"),
			LargeDataDeliveryS3Config: &bedrocktypes.S3Config{BucketName: aws.String("large-data"), KeyPrefix: aws.String(logPrefix)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext(2, "ThrottlingException", 400)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ids := loadCalls(t, client, 50, 4, nil)
	big := strings.Repeat("x", 120<<10)
	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: big}}}}})
	if err != nil {
		t.Fatal(err)
	}
	bigID := requestID(t, out.ResultMetadata)
	ids = append(ids, bigID)

	deadline := time.Now().Add(20 * time.Second)
	var events []cwlogsfake.Event
	for {
		events = fake.Events(group, invocationlog.LogStream)
		if len(events) >= len(ids)+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Fatalf("PutLogEvents protocol violations: %v", v)
	}
	seen := map[string]invocationlog.Record{}
	for i, e := range events {
		if e.Message == invocationlog.PermissionCheckMessage {
			continue
		}
		var r invocationlog.Record
		if err := json.Unmarshal([]byte(e.Message), &r); err != nil {
			t.Fatalf("event %d is not a record: %v", i, err)
		}
		ts, _ := time.Parse(time.RFC3339, r.Timestamp)
		if e.Timestamp != ts.UnixMilli() {
			t.Errorf("event timestamp %d, record timestamp %s", e.Timestamp, r.Timestamp)
		}
		seen[r.RequestID] = r
	}
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			t.Fatalf("request %s not delivered to CloudWatch Logs (%d events)", id, len(events))
		}
	}
	r := seen[bigID]
	if !strings.HasPrefix(r.Input.InputBodyS3Path, "s3://large-data/"+logPrefix+"/AWSLogs/") {
		t.Fatalf("large body must go to largeDataDeliveryS3Config: %+v", r.Input)
	}
	local := objectstore.NewDir(srv.Config().DataDir + "/s3")
	if _, err := local.Get(ctx, "large-data", strings.TrimPrefix(r.Input.InputBodyS3Path, "s3://large-data/")); err != nil {
		t.Fatalf("offloaded body: %v", err)
	}
}

func TestLoggingConfigSurvivesRestart(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.InvocationLogging.Store = objectstore.ModeLocal
	srv, stop := runServer(t, cfg)
	waitHealthy(t, srv.URL(), http.DefaultClient)
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	in := &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("local-logs")}, TextDataDeliveryEnabled: aws.Bool(false)}
	if _, err := control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: in}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	srv, stop = runServer(t, cfg)
	defer stop()
	waitHealthy(t, srv.URL(), http.DefaultClient)
	control = controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	got, err := control.GetModelInvocationLoggingConfiguration(context.Background(), &bedrock.GetModelInvocationLoggingConfigurationInput{})
	if err != nil || got.LoggingConfig == nil || aws.ToString(got.LoggingConfig.S3Config.BucketName) != "local-logs" || aws.ToBool(got.LoggingConfig.TextDataDeliveryEnabled) {
		t.Fatalf("after restart: %+v, %v", got.LoggingConfig, err)
	}
}

func TestLoggingConfigValidation(t *testing.T) {
	srv, _ := startServer(t, nil)
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	tests := []struct {
		name string
		cfg  *bedrocktypes.LoggingConfig
		want string
	}{
		{"no destination", &bedrocktypes.LoggingConfig{TextDataDeliveryEnabled: aws.Bool(true)}, "at least one destination"},
		{"bucket too short", &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("ab")}}, "loggingConfig.s3Config.bucketName"},
		{"bad role", &bedrocktypes.LoggingConfig{CloudWatchConfig: &bedrocktypes.CloudWatchConfig{LogGroupName: aws.String("g"), RoleArn: aws.String("role")}}, "loggingConfig.cloudWatchConfig.roleArn"},
		{"bad group", &bedrocktypes.LoggingConfig{CloudWatchConfig: &bedrocktypes.CloudWatchConfig{LogGroupName: aws.String("a b"), RoleArn: aws.String("arn:aws:iam::000000000000:role/r")}}, "loggingConfig.cloudWatchConfig.logGroupName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: tt.cfg})
			var ve *bedrocktypes.ValidationException
			if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tt.want) {
				t.Fatalf("want ValidationException mentioning %q, got %v", tt.want, err)
			}
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() != "ValidationException" {
				t.Fatalf("error code %s", ae.ErrorCode())
			}
		})
	}
}

func labels(pairs []*dto.LabelPair) map[string]string {
	m := map[string]string{}
	for _, p := range pairs {
		m[p.GetName()] = p.GetValue()
	}
	return m
}
