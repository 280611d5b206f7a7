package cwlogs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
)

const (
	group  = "/modelwatch/invocations"
	stream = "aws/bedrock/modelinvocations"
)

func newWriter(t *testing.T, s *cwlogsfake.Server) *cwlogs.Writer {
	t.Helper()
	return cwlogs.New(cwlogs.Options{
		Client:  s.Client(t),
		Backoff: time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// setup starts a fake with the group and stream already created.
func setup(t *testing.T) (*cwlogsfake.Server, *cwlogs.Writer) {
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
	return s, newWriter(t, s)
}

func noViolations(t *testing.T, s *cwlogsfake.Server) {
	t.Helper()
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("fake recorded violations: %q", v)
	}
}

func events(n, size int, at time.Time) []cwlogs.Event {
	evs := make([]cwlogs.Event, n)
	for i := range evs {
		msg := fmt.Sprintf("%06d", i)
		evs[i] = cwlogs.Event{Timestamp: at.Add(time.Duration(i) * time.Millisecond), Message: msg + strings.Repeat("x", max(size-len(msg), 0))}
	}
	return evs
}

func TestSplitByBytes(t *testing.T) {
	s, w := setup(t)
	evs := events(300, 10*1024, time.Now().Add(-time.Minute))
	if err := w.Put(context.Background(), group, stream, evs); err != nil {
		t.Fatal(err)
	}
	// 102 events of 10,266 bytes fit in 1,048,576.
	if got := s.Calls("PutLogEvents"); got != 3 {
		t.Fatalf("PutLogEvents calls = %d, want 3", got)
	}
	got := s.Events(group, stream)
	if len(got) != 300 || got[0].Message != evs[0].Message || got[299].Message != evs[299].Message {
		t.Fatalf("stored %d events", len(got))
	}
	if st := w.Stats(); st.Calls != 3 || st.Events != 300 || st.Retries != 0 || st.Rejected != 0 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestSplitByCount(t *testing.T) {
	s, w := setup(t)
	if err := w.Put(context.Background(), group, stream, events(25_000, 8, time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if got := s.Calls("PutLogEvents"); got != 3 {
		t.Fatalf("PutLogEvents calls = %d, want 3", got)
	}
	if got := len(s.Events(group, stream)); got != 25_000 {
		t.Fatalf("stored %d events", got)
	}
	noViolations(t, s)
}

func TestSplitBySpan(t *testing.T) {
	s, w := setup(t)
	start := time.Now().Add(-72 * time.Hour)
	var evs []cwlogs.Event
	for i := 0; i <= 72*2; i++ { // every 30 minutes over 72 hours
		evs = append(evs, cwlogs.Event{Timestamp: start.Add(time.Duration(i) * 30 * time.Minute), Message: fmt.Sprint(i)})
	}
	if err := w.Put(context.Background(), group, stream, evs); err != nil {
		t.Fatal(err)
	}
	// Batches are strictly shorter than 24h: [0h,23.5h] [24h,47.5h] [48h,71.5h] [72h].
	if got := s.Calls("PutLogEvents"); got != 4 {
		t.Fatalf("PutLogEvents calls = %d, want 4", got)
	}
	if got := len(s.Events(group, stream)); got != len(evs) {
		t.Fatalf("stored %d of %d events", got, len(evs))
	}
	noViolations(t, s)
}

func TestUnsortedInputIsSorted(t *testing.T) {
	s, w := setup(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var evs []cwlogs.Event
	for i := range 1000 {
		// Pairs share a millisecond to check the sort is stable.
		evs = append(evs, cwlogs.Event{Timestamp: base.Add(time.Duration(i/2) * time.Millisecond), Message: fmt.Sprintf("%04d", i)})
	}
	shuffled := append([]cwlogs.Event(nil), evs...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Restore input order within equal timestamps so stability is observable.
	for i := 0; i+1 < len(shuffled); i++ {
		for j := i + 1; j < len(shuffled); j++ {
			if shuffled[i].Timestamp.Equal(shuffled[j].Timestamp) && shuffled[i].Message > shuffled[j].Message {
				shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
			}
		}
	}
	if err := w.Put(context.Background(), group, stream, shuffled); err != nil {
		t.Fatal(err)
	}
	got := s.Events(group, stream)
	if len(got) != 1000 {
		t.Fatalf("stored %d events", len(got))
	}
	for i, e := range got {
		if e.Message != evs[i].Message || e.Timestamp != evs[i].Timestamp.UnixMilli() {
			t.Fatalf("event %d = %+v, want %q", i, e, evs[i].Message)
		}
	}
	if s.Calls("PutLogEvents") != 1 {
		t.Fatalf("PutLogEvents calls = %d", s.Calls("PutLogEvents"))
	}
	noViolations(t, s)
}

func TestOversizedAndEmptyRejectedRestDelivered(t *testing.T) {
	s, w := setup(t)
	now := time.Now()
	evs := []cwlogs.Event{
		{Timestamp: now, Message: "first"},
		{Timestamp: now, Message: strings.Repeat("x", cwlogs.MaxEventBytes+1)},
		{Timestamp: now, Message: ""},
		{Timestamp: now, Message: "last"},
		{Timestamp: now, Message: strings.Repeat("y", cwlogs.MaxEventBytes)}, // exactly a full batch
	}
	err := w.Put(context.Background(), group, stream, evs)
	var rej *cwlogs.RejectedError
	if !errors.As(err, &rej) || len(rej.Rejections) != 2 || rej.Count(cwlogs.ReasonTooLarge) != 1 || rej.Count(cwlogs.ReasonEmpty) != 1 {
		t.Fatalf("got %v, want a RejectedError for 1 too large + 1 empty", err)
	}
	for _, r := range rej.Rejections {
		if (r.Reason == cwlogs.ReasonTooLarge) != (r.Index == 1) {
			t.Fatalf("rejection %+v", r)
		}
	}
	got := s.Events(group, stream)
	if len(got) != 3 || got[0].Message != "first" || got[1].Message != "last" || len(got[2].Message) != cwlogs.MaxEventBytes {
		t.Fatalf("stored %d events", len(got))
	}
	if st := w.Stats(); st.Rejected != 2 || st.Events != 3 || st.Calls != 2 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestLegacyEventLimit(t *testing.T) {
	s, _ := setup(t)
	s.SetEventSizeLimit(cwlogsfake.LegacyEventSizeLimit)
	w := cwlogs.New(cwlogs.Options{Client: s.Client(t), Backoff: time.Millisecond, MaxEventBytes: cwlogs.LegacyMaxEventBytes})
	now := time.Now()
	err := w.Put(context.Background(), group, stream, []cwlogs.Event{
		{Timestamp: now, Message: strings.Repeat("a", cwlogs.LegacyMaxEventBytes)},
		{Timestamp: now, Message: strings.Repeat("b", cwlogs.LegacyMaxEventBytes+1)},
	})
	var rej *cwlogs.RejectedError
	if !errors.As(err, &rej) || rej.Count(cwlogs.ReasonTooLarge) != 1 {
		t.Fatalf("got %v", err)
	}
	if len(s.Events(group, stream)) != 1 {
		t.Fatal("the event at the legacy limit was not stored")
	}
	noViolations(t, s)
}

func TestCreatesGroupAndStream(t *testing.T) {
	s := cwlogsfake.New(t)
	w := newWriter(t, s)
	if err := w.Put(context.Background(), group, stream, events(3, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
	if !s.HasGroup(group) || !s.HasStream(group, stream) || len(s.Events(group, stream)) != 3 {
		t.Fatal("group/stream not created or events not stored")
	}
	// Put (RNF) → CreateLogStream (RNF: no group) → CreateLogGroup → CreateLogStream → Put.
	if s.Calls("PutLogEvents") != 2 || s.Calls("CreateLogGroup") != 1 || s.Calls("CreateLogStream") != 2 {
		t.Fatalf("calls: put %d group %d stream %d", s.Calls("PutLogEvents"), s.Calls("CreateLogGroup"), s.Calls("CreateLogStream"))
	}
	if st := w.Stats(); st.Retries != 1 || st.Events != 3 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestCreatesStreamInExistingGroup(t *testing.T) {
	s := cwlogsfake.New(t)
	if _, err := s.Client(t).CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, s)
	if err := w.Check(context.Background(), group, stream, "Permissions are correctly set for Amazon Bedrock logs."); err != nil {
		t.Fatal(err)
	}
	got := s.Events(group, stream)
	if len(got) != 1 || got[0].Message != "Permissions are correctly set for Amazon Bedrock logs." {
		t.Fatalf("stored %+v", got)
	}
	if s.Calls("CreateLogGroup") != 1 || s.Calls("CreateLogStream") != 1 {
		t.Fatalf("calls: group %d stream %d", s.Calls("CreateLogGroup"), s.Calls("CreateLogStream"))
	}
	noViolations(t, s)
}

func TestRetriesThrottling(t *testing.T) {
	s, w := setup(t)
	s.FailNext(2, "ThrottlingException", 400)
	if err := w.Put(context.Background(), group, stream, events(5, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Calls != 3 || st.Retries != 2 || st.Throttles != 2 || st.Events != 5 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestRetriesServiceUnavailable(t *testing.T) {
	s, w := setup(t)
	s.FailNext(2, "ServiceUnavailableException", 500)
	if err := w.Put(context.Background(), group, stream, events(5, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Calls != 3 || st.Retries != 2 || st.Throttles != 0 || st.Events != 5 {
		t.Fatalf("stats %+v", st)
	}
	if len(s.Events(group, stream)) != 5 {
		t.Fatal("events not stored")
	}
}

func TestRetriesTransportErrors(t *testing.T) {
	s, w := setup(t)
	s.SetDown(true)
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.SetDown(false)
	}()
	if err := w.Put(context.Background(), group, stream, events(5, 10, time.Now())); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Retries == 0 || st.Events != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNonRetryableErrorsReturned(t *testing.T) {
	for _, code := range []string{"InvalidParameterException", "DataAlreadyAcceptedException", "AccessDeniedException"} {
		t.Run(code, func(t *testing.T) {
			s, w := setup(t)
			s.FailNext(1, code, 400)
			err := w.Put(context.Background(), group, stream, events(5, 10, time.Now()))
			if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "5 of 5 events not delivered") {
				t.Fatalf("got %v", err)
			}
			if code == "InvalidParameterException" {
				var ip *types.InvalidParameterException
				if !errors.As(err, &ip) {
					t.Fatalf("not a *types.InvalidParameterException: %v", err)
				}
			}
			if st := w.Stats(); st.Calls != 1 || st.Retries != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestStopsAtFailedBatch(t *testing.T) {
	// A service still enforcing the legacy 256 KB event limit refuses the
	// second batch; the Writer reports it and sends nothing after it.
	s, w := setup(t)
	s.SetEventSizeLimit(cwlogsfake.LegacyEventSizeLimit)
	t0 := time.Now().Add(-time.Minute)
	evs := events(10_000, 8, t0)
	evs = append(evs, cwlogs.Event{Timestamp: t0.Add(20 * time.Second), Message: strings.Repeat("z", 300_000)})
	evs = append(evs, events(100, 8, t0.Add(30*time.Second))...)
	err := w.Put(context.Background(), group, stream, evs)
	var ip *types.InvalidParameterException
	if !errors.As(err, &ip) || !strings.Contains(err.Error(), "101 of 10101 events not delivered") {
		t.Fatalf("got %v", err)
	}
	// The error names the events not delivered, and is no use retrying.
	var ue *cwlogs.UndeliveredError
	if !errors.As(err, &ue) || len(ue.Indexes) != 101 || ue.Indexes[0] != 10_000 || ue.Indexes[100] != 10_100 {
		t.Fatalf("got %v, want the last 101 events undelivered", err)
	}
	if code, permanent := cwlogs.Classify(err); code != "InvalidParameterException" || !permanent {
		t.Fatalf("Classify = %q, %v", code, permanent)
	}
	if s.Calls("PutLogEvents") != 2 || len(s.Events(group, stream)) != 10_000 {
		t.Fatalf("PutLogEvents calls = %d, stored %d", s.Calls("PutLogEvents"), len(s.Events(group, stream)))
	}
	if st := w.Stats(); st.Events != 10_000 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestContextEndsDuringOutage(t *testing.T) {
	s, _ := setup(t)
	w := cwlogs.New(cwlogs.Options{Client: s.Client(t), Backoff: 20 * time.Millisecond})
	s.SetDown(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := w.Put(ctx, group, stream, events(5, 10, time.Now()))
	elapsed := time.Since(start)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("Put took %v after the deadline", elapsed)
	}
	if !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "connection") {
		t.Fatalf("the last transport error is not reported: %v", err)
	}
	t.Logf("outage error: %v", err)
	if st := w.Stats(); st.Retries == 0 || st.Events != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Cancelled during the backoff of a long outage.
	w2 := cwlogs.New(cwlogs.Options{Client: s.Client(t), Backoff: time.Hour})
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel2)
	start = time.Now()
	err = w2.Put(ctx2, group, stream, events(1, 10, time.Now()))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestServiceRejectedEvents(t *testing.T) {
	s, w := setup(t)
	now := time.Now()
	evs := []cwlogs.Event{
		{Timestamp: now.Add(3 * time.Hour), Message: "too new"},
		{Timestamp: now, Message: "ok"},
		{Timestamp: now.Add(-15 * 24 * time.Hour), Message: "too old"},
		{Timestamp: time.UnixMilli(-5), Message: "before 1970"},
	}
	err := w.Put(context.Background(), group, stream, evs)
	var rej *cwlogs.RejectedError
	if !errors.As(err, &rej) || rej.Count(cwlogs.ReasonTooNew) != 1 || rej.Count(cwlogs.ReasonTooOld) != 2 || len(rej.Rejections) != 3 {
		t.Fatalf("got %v", err)
	}
	for _, r := range rej.Rejections {
		want := map[int]cwlogs.Reason{0: cwlogs.ReasonTooNew, 2: cwlogs.ReasonTooOld, 3: cwlogs.ReasonTooOld}[r.Index]
		if r.Reason != want {
			t.Fatalf("rejection %+v, want reason %s", r, want)
		}
	}
	if got := s.Events(group, stream); len(got) != 1 || got[0].Message != "ok" {
		t.Fatalf("stored %+v", got)
	}
	if st := w.Stats(); st.Rejected != 3 || st.Events != 1 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	s, w := setup(t)
	if err := w.Put(context.Background(), group, stream, []cwlogs.Event{{Timestamp: time.Now(), Message: "a\xffb"}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Events(group, stream); len(got) != 1 || got[0].Message != "a\uFFFDb" {
		t.Fatalf("stored %+v", got)
	}
}

func TestConcurrentPuts(t *testing.T) {
	s, w := setup(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			evs := events(500, 100, time.Now().Add(time.Duration(g)*time.Second))
			if err := w.Put(context.Background(), group, stream, evs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(s.Events(group, stream)); got != 4000 {
		t.Fatalf("stored %d events", got)
	}
	if st := w.Stats(); st.Events != 4000 {
		t.Fatalf("stats %+v", st)
	}
	noViolations(t, s)
}

func TestLoadUsesConfigChain(t *testing.T) {
	s := cwlogsfake.New(t)
	s.SetEnv(t)
	ctx := context.Background()
	c, err := cwlogs.Load(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Options().Region != "us-east-1" {
		t.Fatalf("region %q: the chain's AWS_REGION must win", c.Options().Region)
	}
	w := cwlogs.New(cwlogs.Options{Client: c, Backoff: time.Millisecond})
	if err := w.Check(ctx, group, stream, "check"); err != nil {
		t.Fatal(err)
	}
	if len(s.Events(group, stream)) != 1 {
		t.Fatal("event not delivered through the configuration chain")
	}
	// The SDK's own retries are off: one injected throttle is one SDK call
	// and one Writer retry.
	s.FailNext(1, "ThrottlingException", 400)
	if err := w.Check(ctx, group, stream, "check"); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Throttles != 1 || st.Retries != 2 {
		t.Fatalf("stats %+v", st)
	}

	t.Setenv("AWS_REGION", "")
	c, err = cwlogs.Load(ctx, "eu-west-1")
	if err != nil || c.Options().Region != "eu-west-1" {
		t.Fatalf("fallback region: %v", err)
	}
	if _, err := cwlogs.Load(ctx, ""); err == nil {
		t.Fatal("Load without any region succeeded")
	}
	noViolations(t, s)
}

// TestClassify_DecidesWhatPutReturned classifies the errors Put returns for
// faults of the fake service.
func TestClassify_DecidesWhatPutReturned(t *testing.T) {
	for _, tc := range []struct {
		fault     string
		status    int
		permanent bool
	}{
		{"AccessDeniedException", 400, true},
		{"InvalidParameterException", 400, true},
		{"LimitExceededException", 400, true},
		{"KmsInvalidStateException", 400, true},
		{"UnrecognizedClientException", 400, false}, // modelwatch's own credentials
		{"ExpiredTokenException", 400, false},
		{"OperationAbortedException", 400, false},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			s, w := setup(t)
			s.FailNext(1, tc.fault, tc.status)
			err := w.Put(context.Background(), group, stream, events(5, 10, time.Now()))
			var ue *cwlogs.UndeliveredError
			if !errors.As(err, &ue) || len(ue.Indexes) != 5 || ue.Total != 5 {
				t.Fatalf("got %v, want an UndeliveredError for the 5 events", err)
			}
			if code, permanent := cwlogs.Classify(err); code != tc.fault || permanent != tc.permanent {
				t.Fatalf("Classify = %q, %v; want %q, %v", code, permanent, tc.fault, tc.permanent)
			}
		})
	}
	t.Run("outage until the context ends", func(t *testing.T) {
		s, w := setup(t)
		s.SetDown(true)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := w.Put(ctx, group, stream, events(1, 10, time.Now()))
		if code, permanent := cwlogs.Classify(err); code != "timeout" || permanent {
			t.Fatalf("Classify(%v) = %q, %v", err, code, permanent)
		}
	})
}
