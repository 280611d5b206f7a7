package cwlogsfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
)

const (
	group  = "/test/bedrock"
	stream = "aws/bedrock/modelinvocations"
)

func setup(t *testing.T) (*cwlogsfake.Server, *cloudwatchlogs.Client) {
	t.Helper()
	s := cwlogsfake.New(t)
	c := s.Client(t)
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	return s, c
}

func put(c *cloudwatchlogs.Client, g, st string, evs []types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return c.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(g), LogStreamName: aws.String(st), LogEvents: evs,
	})
}

func ev(ms int64, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(ms), Message: aws.String(msg)}
}

func status(t *testing.T, err error) int {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v: not an *awshttp.ResponseError", err)
	}
	return re.HTTPStatusCode()
}

func TestTypedErrors(t *testing.T) {
	s := cwlogsfake.New(t)
	c := s.Client(t)
	ctx := context.Background()
	now := time.Now().UnixMilli()

	_, err := put(c, group, stream, []types.InputLogEvent{ev(now, "x")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "The specified log group does not exist." || status(t, err) != 400 {
		t.Fatalf("missing group: %v", err)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	_, err = put(c, group, stream, []types.InputLogEvent{ev(now, "x")})
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "The specified log stream does not exist." {
		t.Fatalf("missing stream: %v", err)
	}
	_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second CreateLogGroup: %v", err)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String(stream)})
	if !errors.As(err, &rnf) {
		t.Fatalf("CreateLogStream in a missing group: %v", err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	if !errors.As(err, &exists) {
		t.Fatalf("second CreateLogStream: %v", err)
	}

	s.FailNext(1, "ThrottlingException", 400)
	_, err = put(c, group, stream, []types.InputLogEvent{ev(now, "x")})
	var thr *types.ThrottlingException
	if !errors.As(err, &thr) || status(t, err) != 400 {
		t.Fatalf("throttle: %v", err)
	}
	s.FailNext(1, "ServiceUnavailableException", 500)
	_, err = put(c, group, stream, []types.InputLogEvent{ev(now, "x")})
	var su *types.ServiceUnavailableException
	if !errors.As(err, &su) || status(t, err) != 500 || su.ErrorFault() != smithy.FaultServer {
		t.Fatalf("unavailable: %v", err)
	}
	s.FailNext(1, "SomethingNew", 400)
	_, err = put(c, group, stream, []types.InputLogEvent{ev(now, "x")})
	var generic *smithy.GenericAPIError
	if !errors.As(err, &generic) || generic.ErrorCode() != "SomethingNew" {
		t.Fatalf("unmodelled error: %v", err)
	}
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(now, "x")}); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Events(group, stream)); got != 1 {
		t.Fatalf("stored %d events, want 1", got)
	}
	if s.Calls("PutLogEvents") != 6 || s.Calls("CreateLogGroup") != 2 || s.Calls("CreateLogStream") != 3 {
		t.Fatalf("calls: put %d group %d stream %d", s.Calls("PutLogEvents"), s.Calls("CreateLogGroup"), s.Calls("CreateLogStream"))
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %q", v)
	}
}

func TestLimitViolations(t *testing.T) {
	now := time.Now().UnixMilli()
	many := func(n, size int) []types.InputLogEvent {
		evs := make([]types.InputLogEvent, n)
		for i := range evs {
			evs[i] = ev(now, strings.Repeat("a", size))
		}
		return evs
	}
	cases := []struct {
		name string
		evs  []types.InputLogEvent
		want string
	}{
		{"empty batch", []types.InputLogEvent{}, "length greater than or equal to 1"},
		{"too many events", many(10_001, 1), "less than or equal to 10000"},
		{"batch too large", many(5, 250_000), "Upload too large: 1250130 bytes exceeds limit of 1048576"},
		{"event too large", many(1, 1_048_551), "Log event too large: 1048577 bytes exceeds limit of 1048576"},
		{"empty message", []types.InputLogEvent{ev(now, "a"), ev(now, "")}, "at 'logEvents.2.member.message'"},
		{"unsorted", []types.InputLogEvent{ev(now, "b"), ev(now-1, "a")}, "must be in chronological order"},
		{"span over 24h", []types.InputLogEvent{ev(now-24*3600_000-1, "a"), ev(now, "b")}, "cannot span more than 24 hours"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := setup(t)
			_, err := put(c, group, stream, tc.evs)
			var ip *types.InvalidParameterException
			if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), tc.want) || status(t, err) != 400 {
				t.Fatalf("got %v, want InvalidParameterException containing %q", err, tc.want)
			}
			if v := s.Violations(); len(v) != 1 {
				t.Fatalf("violations: %q", v)
			}
			if n := len(s.Events(group, stream)); n != 0 {
				t.Fatalf("stored %d events from a rejected batch", n)
			}
		})
	}
}

func TestLimitsAccepted(t *testing.T) {
	s, c := setup(t)
	now := time.Now().UnixMilli()
	// One event of 1,048,550 bytes + 26 = exactly the batch and event limit.
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(now, strings.Repeat("x", 1_048_550))}); err != nil {
		t.Fatal(err)
	}
	evs := make([]types.InputLogEvent, 10_000)
	for i := range evs {
		evs[i] = ev(now, "y")
	}
	if _, err := put(c, group, stream, evs); err != nil {
		t.Fatal(err)
	}
	// Exactly 24 hours is allowed.
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(now-24*3600_000, "a"), ev(now, "b")}); err != nil {
		t.Fatal(err)
	}
	// Multi-byte UTF-8 counts bytes: 4 bytes per rune.
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(now, strings.Repeat("😀", 262_137))}); err != nil {
		t.Fatal(err)
	}
	_, err := put(c, group, stream, []types.InputLogEvent{ev(now, strings.Repeat("😀", 262_138))})
	var ip *types.InvalidParameterException
	if !errors.As(err, &ip) {
		t.Fatalf("1,048,552-byte message accepted: %v", err)
	}
	s.SetEventSizeLimit(cwlogsfake.LegacyEventSizeLimit)
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(now, strings.Repeat("x", 256*1024-26))}); err != nil {
		t.Fatal(err)
	}
	_, err = put(c, group, stream, []types.InputLogEvent{ev(now, strings.Repeat("x", 256*1024-25))})
	if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "262145 bytes exceeds limit of 262144") {
		t.Fatalf("legacy limit: %v", err)
	}
	if got := len(s.Events(group, stream)); got != 10_005 {
		t.Fatalf("stored %d events, want 10005", got)
	}
	if v := s.Violations(); len(v) != 2 {
		t.Fatalf("violations: %q", v)
	}
}

func TestRejectedLogEventsInfo(t *testing.T) {
	s, c := setup(t)
	now := time.Now()
	old := now.Add(-15 * 24 * time.Hour).UnixMilli()
	future := now.Add(3 * time.Hour).UnixMilli()
	out, err := put(c, group, stream, []types.InputLogEvent{
		ev(old, "old1"), ev(old+1, "old2"), ev(now.UnixMilli(), "ok"), ev(future, "new"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ri := out.RejectedLogEventsInfo
	if ri == nil || aws.ToInt32(ri.TooOldLogEventEndIndex) != 2 || aws.ToInt32(ri.TooNewLogEventStartIndex) != 3 || ri.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejectedLogEventsInfo = %+v", ri)
	}
	got := s.Events(group, stream)
	if len(got) != 1 || got[0].Message != "ok" {
		t.Fatalf("stored %+v", got)
	}
	// The 24-hour span applies to the valid events only.
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(old, "old"), ev(now.UnixMilli(), "ok2")}); err != nil {
		t.Fatal(err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %q", v)
	}
}

func TestReadOperations(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	var evs []types.InputLogEvent
	for i := range 25 {
		evs = append(evs, ev(base+int64(i), "m"+string(rune('a'+i))))
	}
	if _, err := put(c, group, stream, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := put(c, group, "other", []types.InputLogEvent{ev(base+5, "other-hello")}); err != nil {
		t.Fatal(err)
	}

	// GetLogEvents from the head, paged by the forward token until it repeats.
	var msgs []string
	token := (*string)(nil)
	for range 10 {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), Limit: aws.Int32(10), NextToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		if token != nil && aws.ToString(out.NextForwardToken) == *token {
			break
		}
		token = out.NextForwardToken
	}
	if len(msgs) != 25 || msgs[0] != "ma" || msgs[24] != "my" {
		t.Fatalf("GetLogEvents: %q", msgs)
	}
	// Without startFromHead: the latest events.
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(2),
	})
	if err != nil || len(out.Events) != 2 || aws.ToString(out.Events[1].Message) != "my" {
		t.Fatalf("GetLogEvents latest: %v %+v", err, out)
	}

	fo, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	if err != nil || len(fo.Events) != 26 {
		t.Fatalf("FilterLogEvents all: %v %d", err, len(fo.Events))
	}
	fo, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(group), LogStreamNames: []string{"other"},
	})
	if err != nil || len(fo.Events) != 1 || aws.ToString(fo.Events[0].Message) != "other-hello" || aws.ToString(fo.Events[0].EventId) == "" {
		t.Fatalf("FilterLogEvents by stream: %v %+v", err, fo)
	}
	fo, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(group), FilterPattern: aws.String(`"hello"`),
	})
	if err != nil || len(fo.Events) != 1 {
		t.Fatalf("FilterLogEvents pattern: %v %+v", err, fo)
	}

	do, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group), LogStreamNamePrefix: aws.String("aws/")})
	if err != nil || len(do.LogStreams) != 1 || aws.ToString(do.LogStreams[0].LogStreamName) != stream ||
		aws.ToInt64(do.LogStreams[0].LastEventTimestamp) != base+24 || !strings.HasSuffix(aws.ToString(do.LogStreams[0].Arn), ":log-stream:"+stream) {
		t.Fatalf("DescribeLogStreams: %v %+v", err, do)
	}
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("nope")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("GetLogEvents missing stream: %v", err)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %q", v)
	}
}

func TestWireShape(t *testing.T) {
	s := cwlogsfake.New(t)
	post := func(auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(`{"logGroupName":"g"}`))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		if auth != "" {
			req.Header.Set("Authorization", auth)
			req.Header.Set("X-Amz-Date", "20260101T000000Z")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	decode := func(resp *http.Response) map[string]string {
		var m map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	resp := post("")
	body := decode(resp)
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" ||
		body["__type"] != "MissingAuthenticationTokenException" || body["message"] == "" ||
		resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Fatalf("unsigned: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	resp = post("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	if body := decode(resp); resp.StatusCode != 400 || body["__type"] != "IncompleteSignatureException" {
		t.Fatalf("wrong service: %d %v", resp.StatusCode, body)
	}
	resp = post("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	if resp.StatusCode != 200 || !s.HasGroup("g") {
		t.Fatalf("well-formed signature: %d", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 2 {
		t.Fatalf("violations: %q", v)
	}
	if s.Calls("CreateLogGroup") != 1 {
		t.Fatalf("unauthenticated requests counted: %d", s.Calls("CreateLogGroup"))
	}
}

func TestSetDown(t *testing.T) {
	s, c := setup(t)
	s.SetDown(true)
	_, err := put(c, group, stream, []types.InputLogEvent{ev(time.Now().UnixMilli(), "x")})
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("down: got %v, want a transport error", err)
	}
	s.SetDown(false)
	if _, err := put(c, group, stream, []types.InputLogEvent{ev(time.Now().UnixMilli(), "x")}); err != nil {
		t.Fatal(err)
	}
	if s.Calls("PutLogEvents") != 1 {
		t.Fatalf("PutLogEvents calls = %d, want 1", s.Calls("PutLogEvents"))
	}
}

func TestEnvConfigChain(t *testing.T) {
	s := cwlogsfake.New(t)
	s.SetEnv(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := cloudwatchlogs.NewFromConfig(cfg)
	if _, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if !s.HasGroup(group) || len(s.Violations()) != 0 {
		t.Fatalf("group not created through the config chain; violations %q", s.Violations())
	}
}
