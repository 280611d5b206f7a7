package server_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/mp4"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// reelInput is the AWS documentation's TEXT_VIDEO example with the
// prompt and seed given.
func reelInput(text string, seed int) document.Interface {
	return document.NewLazyDocument(map[string]any{
		"taskType":          "TEXT_VIDEO",
		"textToVideoParams": map[string]any{"text": text},
		"videoGenerationConfig": map[string]any{
			"durationSeconds": 6, "fps": 24, "dimension": "1280x720", "seed": seed,
		},
	})
}

func s3Output(uri string) types.AsyncInvokeOutputDataConfig {
	return &types.AsyncInvokeOutputDataConfigMemberS3OutputDataConfig{Value: types.AsyncInvokeS3OutputDataConfig{S3Uri: aws.String(uri)}}
}

// waitJob polls GetAsyncInvoke until the job leaves InProgress.
func waitJob(t *testing.T, c *bedrockruntime.Client, arn string) *bedrockruntime.GetAsyncInvokeOutput {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.GetAsyncInvoke(context.Background(), &bedrockruntime.GetAsyncInvokeInput{InvocationArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != types.AsyncInvokeStatusInProgress {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still InProgress after 60 s", arn)
	return nil
}

func asyncAPIError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae
}

// checkVideo checks an output.mp4 as players see it: H.264 in MP4,
// 1280x720, 24 fps, the requested length.
func checkVideo(t *testing.T, b []byte, seconds int) {
	t.Helper()
	info, err := mp4.Probe(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "avc1" || info.Width != 1280 || info.Height != 720 || info.FPS() != 24 ||
		info.Duration() != time.Duration(seconds)*time.Second || info.Samples != 24*seconds {
		t.Fatalf("video %+v", info)
	}
}

func TestAsyncInvokeLocalStandIn(t *testing.T) {
	srv, rec := startServer(t, nil)
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	before := time.Now().UTC().Add(-time.Second)
	start, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:0"), ModelInput: reelInput("waves at dusk", 7),
		OutputDataConfig: s3Output("s3://my-videos/reel/"), ClientRequestToken: aws.String("token-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(start.InvocationArn)
	prefix := "arn:aws:bedrock:" + srv.Config().Region + ":" + srv.Config().AccountID + ":async-invoke/"
	id := strings.TrimPrefix(arn, prefix)
	if !strings.HasPrefix(arn, prefix) || len(id) != 12 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("invocationArn %q", arn)
	}
	job := waitJob(t, c, arn)
	if job.Status != types.AsyncInvokeStatusCompleted || aws.ToString(job.InvocationArn) != arn ||
		aws.ToString(job.ModelArn) != "arn:aws:bedrock:"+srv.Config().Region+"::foundation-model/amazon.nova-reel-v1:0" ||
		aws.ToString(job.ClientRequestToken) != "token-1" || job.FailureMessage != nil || job.EndTime == nil ||
		job.SubmitTime.Before(before) || job.EndTime.Before(*job.SubmitTime) || !job.LastModifiedTime.Equal(*job.EndTime) {
		t.Fatalf("job %+v", job)
	}
	out := job.OutputDataConfig.(*types.AsyncInvokeOutputDataConfigMemberS3OutputDataConfig)
	if aws.ToString(out.Value.S3Uri) != "s3://my-videos/reel/" {
		t.Fatalf("s3Uri %q", aws.ToString(out.Value.S3Uri))
	}
	// The local stand-in: <dataDir>/s3/<bucket>/<key>.
	dir := filepath.Join(srv.Config().DataDir, "s3", "my-videos", "reel", id)
	video, err := os.ReadFile(filepath.Join(dir, "output.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	checkVideo(t, video, 6)
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || !strings.Contains(string(manifest), `"outputVideo":"s3://my-videos/reel/`+id+`/output.mp4"`) {
		t.Fatalf("manifest %s, %v", manifest, err)
	}

	// Idempotency: the same token and request give the same job; the same
	// token with another request is a ConflictException.
	again, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:0"), ModelInput: reelInput("waves at dusk", 7),
		OutputDataConfig: s3Output("s3://my-videos/reel/"), ClientRequestToken: aws.String("token-1"),
	})
	if err != nil || aws.ToString(again.InvocationArn) != arn {
		t.Fatalf("retry gave %v, %v", again, err)
	}
	_, err = c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:0"), ModelInput: reelInput("waves at dawn", 7),
		OutputDataConfig: s3Output("s3://my-videos/reel/"), ClientRequestToken: aws.String("token-1"),
	})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ConflictException" ||
		ae.ErrorMessage() != "The request with clientRequestToken token-1 is already in use with different parameters. Use a new clientRequestToken for a new request." {
		t.Fatalf("conflict: %v", err)
	}

	// One Invocation for the job, when it ended: the video's length for
	// cost, the output's location, and not counted as a runtime call.
	inv := rec.byRequestID(t, invocationRequestID(t, rec, arn))
	if inv.Operation != invocation.StartAsyncInvoke || inv.CatalogModelID != "amazon.nova-reel-v1:0" ||
		inv.Usage.OutputVideoSeconds != 6 || inv.Status != 200 || inv.ErrorCode != "" || inv.OutputModality != "VIDEO" ||
		!strings.Contains(string(inv.Output.Data), `"outputVideoS3Path":"s3://my-videos/reel/`+id+`/output.mp4"`) ||
		!strings.Contains(string(inv.Output.Data), `"outputVideoDurationSeconds":6,"outputVideoFramesPerSecond":24,"outputVideoWidth":1280,"outputVideoHeight":720`) {
		t.Fatalf("invocation %+v output %s", inv, inv.Output.Data)
	}
	if n := metric(t, srv, "bedrock_invocations_total", map[string]string{"model_id": "amazon.nova-reel-v1:0"}); n != 0 {
		t.Fatalf("StartAsyncInvoke counted in Invocations: %v", n)
	}
	// Cost: 6 seconds of video at $0.08 a second.
	if c := metric(t, srv, "modelwatch_cost_dollars_total", map[string]string{"model_id": "amazon.nova-reel-v1:0"}); math.Abs(c-0.48) > 1e-9 {
		t.Fatalf("cost %v, want 0.48", c)
	}
}

// invocationRequestID finds the request ID of the job's Invocation.
func invocationRequestID(t *testing.T, rec *recorder, arn string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		for _, inv := range rec.invs {
			if inv.Operation == invocation.StartAsyncInvoke && strings.Contains(string(inv.Output.Data), arn) {
				rec.mu.Unlock()
				return inv.RequestID
			}
		}
		rec.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no invocation recorded for %s", arn)
	return ""
}

func TestAsyncInvokeMultiShotToMinIO(t *testing.T) {
	const bucket = "reel-out"
	m := miniotest.Start(t)
	m.SetEnv(t)
	m.CreateBucket(t, bucket)
	srv, _ := startServer(t, func(c *config.Config) { c.AsyncInvoke.Store = objectstore.ModeS3 })
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	start, err := c.StartAsyncInvoke(context.Background(), &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:1"),
		ModelInput: document.NewLazyDocument(map[string]any{
			"taskType":                 "MULTI_SHOT_AUTOMATED",
			"multiShotAutomatedParams": map[string]any{"text": "a day in the city, from dawn to night"},
			"videoGenerationConfig":    map[string]any{"durationSeconds": 12, "fps": 24, "dimension": "1280x720", "seed": 3},
		}),
		OutputDataConfig: s3Output("s3://" + bucket),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(start.InvocationArn)
	if job := waitJob(t, c, arn); job.Status != types.AsyncInvokeStatusCompleted {
		t.Fatalf("job %+v", job)
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	s3c := m.Client(t)
	get := func(key string) []byte {
		t.Helper()
		o, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		defer o.Body.Close()
		b, _ := io.ReadAll(o.Body)
		if key[len(key)-4:] == ".mp4" && aws.ToString(o.ContentType) != "video/mp4" {
			t.Fatalf("%s content type %q", key, aws.ToString(o.ContentType))
		}
		return b
	}
	checkVideo(t, get(id+"/output.mp4"), 12)
	checkVideo(t, get(id+"/shot_0001.mp4"), 6)
	checkVideo(t, get(id+"/shot_0002.mp4"), 6)
	status := string(get(id + "/generation-status.json"))
	if !strings.Contains(status, `"location":"s3://`+bucket+`/`+id+`/shot_0002.mp4"`) || !strings.Contains(status, `"fullVideo":{"status":"SUCCESS"`) {
		t.Fatalf("generation-status.json %s", status)
	}

	// A bucket that does not exist fails the job, with the reason.
	start, err = c.StartAsyncInvoke(context.Background(), &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:1"), ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("s3://no-such-bucket/x"),
	})
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, c, aws.ToString(start.InvocationArn))
	if job.Status != types.AsyncInvokeStatusFailed ||
		aws.ToString(job.FailureMessage) != "Failed to write the output to s3://no-such-bucket/x/"+aws.ToString(start.InvocationArn)[len(aws.ToString(start.InvocationArn))-12:]+"/output.mp4: NoSuchBucket." {
		t.Fatalf("job %+v, failure %q", job, aws.ToString(job.FailureMessage))
	}
}

func TestAsyncInvokeSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	for i := range cfg.Models {
		if cfg.Models[i].ID == "amazon.nova-reel-v1:1" {
			cfg.Models[i].Simulator.TimeToFirstToken = 1500 * time.Millisecond
		}
	}
	srv, stop := runServer(t, cfg)
	waitHealthy(t, srv.URL(), http.DefaultClient)
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	start, err := c.StartAsyncInvoke(context.Background(), &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:1"), ModelInput: reelInput("a lighthouse", 11),
		OutputDataConfig: s3Output("s3://videos"), ClientRequestToken: aws.String("restart-token"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(start.InvocationArn)
	got, err := c.GetAsyncInvoke(context.Background(), &bedrockruntime.GetAsyncInvokeInput{InvocationArn: aws.String(arn)})
	if err != nil || got.Status != types.AsyncInvokeStatusInProgress || got.EndTime != nil {
		t.Fatalf("before restart: %+v, %v", got, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Listen = srv.Addr()
	srv2, stop2 := runServer(t, cfg)
	t.Cleanup(func() { _ = stop2() })
	waitHealthy(t, srv2.URL(), http.DefaultClient)
	c = runtimeClient(srv2.URL(), "AKIDEXAMPLE", "secret")
	job := waitJob(t, c, arn)
	if job.Status != types.AsyncInvokeStatusCompleted || !job.SubmitTime.Equal(*got.SubmitTime) {
		t.Fatalf("after restart: %+v", job)
	}
	// The token still names the job.
	again, err := c.StartAsyncInvoke(context.Background(), &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:1"), ModelInput: reelInput("a lighthouse", 11),
		OutputDataConfig: s3Output("s3://videos"), ClientRequestToken: aws.String("restart-token"),
	})
	if err != nil || aws.ToString(again.InvocationArn) != arn {
		t.Fatalf("token after restart: %v, %v", again, err)
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	video, err := os.ReadFile(filepath.Join(cfg.DataDir, "s3", "videos", id, "output.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	checkVideo(t, video, 6)
}

func TestListAsyncInvokes(t *testing.T) {
	srv, _ := startServer(t, nil)
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	var arns []string
	for i := range 5 {
		out, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{
			ModelId: aws.String("amazon.nova-reel-v1:1"), ModelInput: reelInput("shot", i), OutputDataConfig: s3Output("s3://videos/list"),
		})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.InvocationArn))
		time.Sleep(5 * time.Millisecond) // distinct submit times
	}
	for _, a := range arns {
		waitJob(t, c, a)
	}
	// Pages of two, newest first by default, then oldest first.
	var seen []string
	p := bedrockruntime.NewListAsyncInvokesPaginator(c, &bedrockruntime.ListAsyncInvokesInput{MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.AsyncInvokeSummaries {
			seen = append(seen, aws.ToString(s.InvocationArn))
			if s.Status != types.AsyncInvokeStatusCompleted || aws.ToString(s.ModelArn) == "" || s.SubmitTime == nil {
				t.Fatalf("summary %+v", s)
			}
		}
	}
	if pages != 3 || len(seen) != 5 || seen[0] != arns[4] || seen[4] != arns[0] {
		t.Fatalf("%d pages: %v, submitted %v", pages, seen, arns)
	}
	asc, err := c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{SortOrder: types.SortOrderAscending, SortBy: types.SortAsyncInvocationBySubmissionTime})
	if err != nil || len(asc.AsyncInvokeSummaries) != 5 || aws.ToString(asc.AsyncInvokeSummaries[0].InvocationArn) != arns[0] || asc.NextToken != nil {
		t.Fatalf("ascending: %v", err)
	}
	// Filters: status and submit time.
	none, err := c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{StatusEquals: types.AsyncInvokeStatusFailed})
	if err != nil || len(none.AsyncInvokeSummaries) != 0 {
		t.Fatalf("failed filter: %+v, %v", none, err)
	}
	third := waitJob(t, c, arns[2])
	after, err := c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{SubmitTimeAfter: third.SubmitTime, SortOrder: types.SortOrderAscending})
	if err != nil || len(after.AsyncInvokeSummaries) != 2 || aws.ToString(after.AsyncInvokeSummaries[0].InvocationArn) != arns[3] {
		t.Fatalf("submitTimeAfter: %+v, %v", after, err)
	}
	before, err := c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{SubmitTimeBefore: third.SubmitTime, StatusEquals: types.AsyncInvokeStatusCompleted})
	if err != nil || len(before.AsyncInvokeSummaries) != 2 || aws.ToString(before.AsyncInvokeSummaries[0].InvocationArn) != arns[1] {
		t.Fatalf("submitTimeBefore: %+v, %v", before, err)
	}
	_, err = c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{NextToken: aws.String("bogus")})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ValidationException" {
		t.Fatalf("bad token: %v", err)
	}
}

func TestAsyncInvokeBadInput(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) {
		c.AsyncInvoke.MaxInProgress = 1
		for i := range c.Models {
			if c.Models[i].ID == "amazon.nova-reel-v1:0" {
				c.Models[i].Simulator.TimeToFirstToken = time.Minute
			}
		}
	})
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		in    *bedrockruntime.StartAsyncInvokeInput
		code  string
		words string
	}{
		{"chat model", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
			ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("s3://videos")},
			"ValidationException", "This action doesn't support the model that you provided."},
		{"unknown model", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v9:0"),
			ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("s3://videos")},
			"ValidationException", "The provided model identifier is invalid."},
		{"s3Uri", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:1"),
			ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("https://videos")},
			"ValidationException", "1 validation error detected: Value 'https://videos' at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?"},
		{"token", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:1"), ClientRequestToken: aws.String(strings.Repeat("t", 257)),
			ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("s3://videos")},
			"ValidationException", "1 validation error detected: Value '" + strings.Repeat("t", 257) + "' at 'clientRequestToken' failed to satisfy constraint: Member must have length between 1 and 256"},
		{"duration", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:1"),
			ModelInput: document.NewLazyDocument(map[string]any{"taskType": "MULTI_SHOT_AUTOMATED",
				"multiShotAutomatedParams": map[string]any{"text": "x"}, "videoGenerationConfig": map[string]any{"durationSeconds": 15}}),
			OutputDataConfig: s3Output("s3://videos")},
			"ValidationException", "Malformed input request: #/videoGenerationConfig/durationSeconds must be an integer evenly divisible by 6 and within the range of 12 through 120. Provide a valid duration and try again."},
		{"text", &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:1"),
			ModelInput: reelInput(strings.Repeat("a", 676), 1), OutputDataConfig: s3Output("s3://videos")},
			"ValidationException", "Malformed input request: #/textToVideoParams/text: expected maxLength: 512, actual: 676, reformat your input and try again."},
	} {
		_, err := c.StartAsyncInvoke(ctx, tc.in)
		if ae := asyncAPIError(t, err); ae.ErrorCode() != tc.code || ae.ErrorMessage() != tc.words {
			t.Errorf("%s: %s: %s", tc.name, ae.ErrorCode(), ae.ErrorMessage())
		}
	}
	// 201 tags.
	tags := make([]types.Tag, 201)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String("k"), Value: aws.String("v")}
	}
	_, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:1"),
		ModelInput: reelInput("x", 1), OutputDataConfig: s3Output("s3://videos"), Tags: tags})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ValidationException" ||
		ae.ErrorMessage() != "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200" {
		t.Errorf("tags: %v", err)
	}
	// One job in progress is this server's quota: the next is refused.
	if _, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:0"),
		ModelInput: reelInput("slow", 1), OutputDataConfig: s3Output("s3://videos")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{ModelId: aws.String("amazon.nova-reel-v1:0"),
		ModelInput: reelInput("another", 1), OutputDataConfig: s3Output("s3://videos")})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ServiceQuotaExceededException" ||
		ae.ErrorMessage() != "You have reached the maximum number of asynchronous invocations in progress (1). Wait for one to end and try again." {
		t.Errorf("quota: %v", err)
	}
	// Nova Reel through InvokeModel.
	_, err = c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("amazon.nova-reel-v1:1"),
		Body: []byte(`{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x"}}`), ContentType: aws.String("application/json")})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != "This action doesn't support the model that you provided." {
		t.Errorf("InvokeModel: %v", err)
	}
	// An unknown ARN, a malformed one.
	_, err = c.GetAsyncInvoke(ctx, &bedrockruntime.GetAsyncInvokeInput{InvocationArn: aws.String("arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefabcdef")})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("unknown ARN: %v", err)
	}
	_, err = c.GetAsyncInvoke(ctx, &bedrockruntime.GetAsyncInvokeInput{InvocationArn: aws.String("not-an-arn")})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ValidationException" {
		t.Errorf("malformed ARN: %v", err)
	}
	_, err = c.ListAsyncInvokes(ctx, &bedrockruntime.ListAsyncInvokesInput{MaxResults: aws.Int32(1001)})
	if ae := asyncAPIError(t, err); ae.ErrorCode() != "ValidationException" ||
		ae.ErrorMessage() != "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000" {
		t.Errorf("maxResults: %v", err)
	}
}

// TestAsyncInvokeLogged checks the invocation log record of a job: one
// record, written when the job ended, with Bedrock's fields for the video.
func TestAsyncInvokeLogged(t *testing.T) {
	srv, _ := startServer(t, nil)
	ctx := context.Background()
	const bucket = "logs"
	if err := os.MkdirAll(filepath.Join(srv.Config().DataDir, "s3", bucket), 0o700); err != nil {
		t.Fatal(err)
	}
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{
			S3Config:                 &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)},
			TextDataDeliveryEnabled:  aws.Bool(true),
			VideoDataDeliveryEnabled: aws.Bool(true),
		},
	}); err != nil {
		t.Fatal(err)
	}
	c := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	start, err := c.StartAsyncInvoke(ctx, &bedrockruntime.StartAsyncInvokeInput{
		ModelId: aws.String("amazon.nova-reel-v1:1"), ModelInput: reelInput("a kite over the dunes", 9),
		OutputDataConfig: s3Output("s3://videos/logged"),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(start.InvocationArn)
	waitJob(t, c, arn)
	rid, _ := middleware.GetRequestIDMetadata(start.ResultMetadata)
	lo := waitForRecords(t, objectstore.NewDir(filepath.Join(srv.Config().DataDir, "s3")), bucket, []string{rid}, 10*time.Second)
	t.Logf("record %s", lo.raw[rid])
	r := lo.records[rid][0]
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if r.Operation != "StartAsyncInvoke" || r.ModelID != "amazon.nova-reel-v1:1" || r.Status != "Completed" ||
		r.Output.OutputVideoS3Path != "s3://videos/logged/"+id+"/output.mp4" || r.Output.OutputVideoDurationSeconds != 6 ||
		r.Output.OutputVideoFramesPerSecond != 24 || r.Output.OutputVideoWidth != 1280 || r.Output.OutputVideoHeight != 720 ||
		!strings.Contains(string(r.Input.InputBodyJSON), `"text":"a kite over the dunes"`) || r.ErrorCode != "" {
		t.Fatalf("record %s", lo.raw[rid])
	}
}
