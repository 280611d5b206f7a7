package cwlogs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// PutLogEvents limits, from the API reference
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html,
// also the doc comment of PutLogEvents in service/cloudwatchlogs v1.92.0).
const (
	// MaxBatchBytes is the largest PutLogEvents batch: the sum over its events
	// of the UTF-8 message size plus EventOverhead.
	MaxBatchBytes = 1_048_576
	// EventOverhead is what each event adds to the batch size.
	EventOverhead = 26
	// MaxBatchEvents is the largest number of events in one call.
	MaxBatchEvents = 10_000
	// MaxEventBytes is the largest message (UTF-8 bytes) of one event. The
	// API reference says "Each log event can be no larger than 1 MB" (raised
	// from 256 KB in April 2025: AWS What's New, "Amazon CloudWatch Logs
	// increases log event size to 1 MB"); like the old limit, which the
	// service enforced as "N bytes exceeds limit of 262144" with N = message +
	// 26, the 1 MB counts the 26-byte overhead. So it equals a whole batch.
	// Use Options.MaxEventBytes = LegacyMaxEventBytes to keep the old limit.
	MaxEventBytes = 1_048_576 - EventOverhead
	// LegacyMaxEventBytes is the pre-April-2025 message limit (256 KB
	// including the 26-byte overhead), still the figure in the invocation
	// logging spec and in older emulators.
	LegacyMaxEventBytes = 256*1024 - EventOverhead
	// MaxBatchSpan is the longest time span of one batch. The API rejects
	// more than 24 hours; the Writer keeps every batch strictly shorter.
	MaxBatchSpan = 24 * time.Hour
)

const (
	defaultBackoff = 200 * time.Millisecond
	maxBackoff     = 10 * time.Second
	// maxNotFound bounds how many times one batch may meet
	// ResourceNotFoundException (each followed by creating the stream).
	maxNotFound = 5
)

// Event is one log event: its message (one invocation log record as JSON)
// and its timestamp (the record's timestamp).
type Event struct {
	// Timestamp is the event time; the API keeps millisecond precision.
	Timestamp time.Time
	// Message is the event message, counted in UTF-8 bytes.
	Message string
}

// Options configures a Writer.
type Options struct {
	// Client is the CloudWatch Logs client (required); see Load. Its SDK
	// retries are disabled per call (RetryMaxAttempts 1): the Writer retries.
	Client *cloudwatchlogs.Client
	// Backoff is the first retry delay (default 200ms); it doubles per
	// attempt up to 10s, with jitter (each delay is uniform in [d/2, d]).
	Backoff time.Duration
	// Logger receives created streams/groups at Info and rejected events and
	// retries at Warn (default: discard).
	Logger *slog.Logger
	// MaxEventBytes overrides the per-event message limit (default and
	// maximum MaxEventBytes); e.g. LegacyMaxEventBytes.
	MaxEventBytes int
}

// Stats are a Writer's cumulative counters.
type Stats struct {
	// Calls is the number of PutLogEvents requests sent (attempts).
	Calls uint64
	// Events is the number of events the service accepted.
	Events uint64
	// Retries is the number of PutLogEvents attempts after the first for a
	// batch (after a retryable error or after creating a missing stream).
	Retries uint64
	// Throttles is the number of throttling errors received (any operation).
	Throttles uint64
	// Rejected is the number of events rejected, by the Writer (too large,
	// empty) or by the service (rejectedLogEventsInfo).
	Rejected uint64
}

// Writer delivers events to CloudWatch Logs with PutLogEvents. It is safe
// for concurrent use.
type Writer struct {
	client        *cloudwatchlogs.Client
	backoff       time.Duration
	log           *slog.Logger
	maxEventBytes int

	calls, events, retries, throttles, rejected atomic.Uint64
}

// New returns a Writer. It panics if opts.Client is nil.
func New(opts Options) *Writer {
	if opts.Client == nil {
		panic("cwlogs: Options.Client is required")
	}
	w := &Writer{client: opts.Client, backoff: opts.Backoff, log: opts.Logger, maxEventBytes: opts.MaxEventBytes}
	if w.backoff <= 0 {
		w.backoff = defaultBackoff
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.maxEventBytes <= 0 || w.maxEventBytes > MaxEventBytes {
		w.maxEventBytes = MaxEventBytes
	}
	return w
}

// Stats returns the counters so far.
func (w *Writer) Stats() Stats {
	return Stats{
		Calls:     w.calls.Load(),
		Events:    w.events.Load(),
		Retries:   w.retries.Load(),
		Throttles: w.throttles.Load(),
		Rejected:  w.rejected.Load(),
	}
}

// noSDKRetry disables the SDK's retryer for one call.
func noSDKRetry(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 }

type item struct {
	index int // in the caller's slice
	ts    time.Time
	ms    int64
	msg   string
	size  int // len(msg) + EventOverhead
}

// Put delivers events to group/stream.
//
// Events need not be sorted: Put sorts them by timestamp (stable, at
// millisecond precision, the API's) and sends them in as many PutLogEvents
// calls as the limits require, one after another. A message that is not
// valid UTF-8 is sent (and measured) with invalid bytes replaced by U+FFFD.
// Events with an empty message, a message over the size limit or a timestamp
// before 1970 are not sent; events the service rejects (rejectedLogEventsInfo:
// too old, too new, expired) are logged at Warn. Either way Put delivers the
// rest and returns a *RejectedError describing them.
//
// A ResourceNotFoundException makes Put create the stream (CreateLogStream)
// and, if the group is missing too, the group (CreateLogGroup), then resend;
// ResourceAlreadyExistsException from either is success. Throttling,
// ServiceUnavailableException, other 5xx responses and transport errors are
// retried with backoff until ctx is done; Put then returns the last such
// error (wrapped together with ctx.Err()). Any other error
// (InvalidParameterException, AccessDeniedException, ...) is returned at
// once. Put stops at the first batch that fails; the returned error is an
// *UndeliveredError naming the events not delivered, joined with any
// *RejectedError. Classify tells a caller whether to retry it.
func (w *Writer) Put(ctx context.Context, group, stream string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	items := make([]item, 0, len(events))
	var rejected []Rejection
	for i, e := range events {
		msg := e.Message
		if !utf8.ValidString(msg) {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
		}
		ms := e.Timestamp.UnixMilli()
		var reason Reason
		switch {
		case msg == "":
			reason = ReasonEmpty
		case len(msg) > w.maxEventBytes:
			reason = ReasonTooLarge
		case ms < 0:
			reason = ReasonTooOld
		default:
			items = append(items, item{index: i, ts: e.Timestamp, ms: ms, msg: msg, size: len(msg) + EventOverhead})
			continue
		}
		rejected = append(rejected, Rejection{Index: i, Timestamp: e.Timestamp, Reason: reason})
	}
	if len(rejected) > 0 {
		w.rejected.Add(uint64(len(rejected)))
		w.log.Warn("cwlogs: log events not sent",
			"group", group, "stream", stream, "rejected", len(rejected),
			"tooLarge", countReason(rejected, ReasonTooLarge), "empty", countReason(rejected, ReasonEmpty),
			"beforeEpoch", countReason(rejected, ReasonTooOld), "maxEventBytes", w.maxEventBytes)
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.ms, b.ms) })

	var deliveryErr error
	for start := 0; start < len(items); {
		end := nextBatch(items, start)
		rej, err := w.putBatch(ctx, group, stream, items[start:end])
		rejected = append(rejected, rej...)
		if err != nil {
			ue := &UndeliveredError{Group: group, Stream: stream, Total: len(events), Err: err}
			for _, it := range items[start:] {
				ue.Indexes = append(ue.Indexes, it.index)
			}
			deliveryErr = ue
			break
		}
		start = end
	}
	var rejErr error
	if len(rejected) > 0 {
		rejErr = &RejectedError{Rejections: rejected}
	}
	if deliveryErr == nil {
		return rejErr
	}
	return errors.Join(deliveryErr, rejErr)
}

// Check writes one event with the given message, timestamped now, creating
// the stream (and group) if needed; it is the put-time permission check.
func (w *Writer) Check(ctx context.Context, group, stream, message string) error {
	return w.Put(ctx, group, stream, []Event{{Timestamp: time.Now(), Message: message}})
}

// nextBatch returns the end of the batch starting at start: the longest run
// within MaxBatchEvents, MaxBatchBytes and strictly under MaxBatchSpan.
func nextBatch(items []item, start int) int {
	spanMs := MaxBatchSpan.Milliseconds()
	end, size := start, 0
	for end < len(items) &&
		end-start < MaxBatchEvents &&
		size+items[end].size <= MaxBatchBytes &&
		items[end].ms-items[start].ms < spanMs {
		size += items[end].size
		end++
	}
	return end
}

func countReason(rs []Rejection, r Reason) int {
	n := 0
	for _, x := range rs {
		if x.Reason == r {
			n++
		}
	}
	return n
}

// putBatch sends one batch, creating the stream and retrying as needed.
func (w *Writer) putBatch(ctx context.Context, group, stream string, batch []item) ([]Rejection, error) {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(stream),
		LogEvents:     make([]types.InputLogEvent, len(batch)),
	}
	for i, it := range batch {
		in.LogEvents[i] = types.InputLogEvent{Timestamp: aws.Int64(it.ms), Message: aws.String(it.msg)}
	}

	var lastErr error
	notFound, backoffs := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			w.retries.Add(1)
		}
		w.calls.Add(1)
		out, err := w.client.PutLogEvents(ctx, in, noSDKRetry)
		if err == nil {
			return w.accepted(group, stream, batch, out.RejectedLogEventsInfo), nil
		}
		if ctx.Err() != nil {
			return nil, giveUp(cmp.Or(lastErr, err), ctx)
		}
		lastErr = err

		var rnf *types.ResourceNotFoundException
		if errors.As(err, &rnf) {
			if notFound++; notFound > maxNotFound {
				return nil, err
			}
			cerr := w.ensureStream(ctx, group, stream)
			switch {
			case cerr == nil && notFound == 1:
				continue // resend at once after creating the stream
			case cerr == nil:
				// The stream exists but PutLogEvents still does not see it
				// (eventual consistency): back off below.
			case ctx.Err() != nil:
				return nil, giveUp(lastErr, ctx)
			case w.retryable(cerr):
				lastErr = cerr
			default:
				return nil, cerr
			}
		} else if !w.retryable(err) {
			return nil, err
		}

		d := w.delay(backoffs)
		backoffs++
		w.log.Warn("cwlogs: PutLogEvents failed; retrying", "group", group, "stream", stream,
			"attempt", attempt+1, "delay", d, "err", lastErr)
		if err := sleep(ctx, d); err != nil {
			return nil, giveUp(lastErr, ctx)
		}
	}
}

// accepted accounts for a successful PutLogEvents and maps the service's
// rejectedLogEventsInfo back to the caller's indexes.
func (w *Writer) accepted(group, stream string, batch []item, info *types.RejectedLogEventsInfo) []Rejection {
	var rejected []Rejection
	if info != nil {
		idx := func(p *int32, def int) int {
			if p == nil {
				return def
			}
			return int(*p)
		}
		expiredEnd := idx(info.ExpiredLogEventEndIndex, 0)
		tooOldEnd := idx(info.TooOldLogEventEndIndex, 0)
		tooNewStart := idx(info.TooNewLogEventStartIndex, len(batch))
		for i, it := range batch {
			var reason Reason
			switch {
			case i < tooOldEnd:
				reason = ReasonTooOld
			case i < expiredEnd:
				reason = ReasonExpired
			case i >= tooNewStart:
				reason = ReasonTooNew
			default:
				continue
			}
			rejected = append(rejected, Rejection{Index: it.index, Timestamp: it.ts, Reason: reason})
		}
		if len(rejected) > 0 {
			w.log.Warn("cwlogs: CloudWatch Logs rejected log events",
				"group", group, "stream", stream, "rejected", len(rejected),
				"tooOld", countReason(rejected, ReasonTooOld), "expired", countReason(rejected, ReasonExpired),
				"tooNew", countReason(rejected, ReasonTooNew),
				"tooOldLogEventEndIndex", info.TooOldLogEventEndIndex, "expiredLogEventEndIndex", info.ExpiredLogEventEndIndex,
				"tooNewLogEventStartIndex", info.TooNewLogEventStartIndex)
		}
	}
	w.events.Add(uint64(len(batch) - len(rejected)))
	w.rejected.Add(uint64(len(rejected)))
	return rejected
}

// ensureStream creates group/stream, creating the group first if needed.
func (w *Writer) ensureStream(ctx context.Context, group, stream string) error {
	err := w.createStream(ctx, group, stream)
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		return err
	}
	_, err = w.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}, noSDKRetry)
	var exists *types.ResourceAlreadyExistsException
	switch {
	case err == nil:
		w.log.Info("cwlogs: created log group", "group", group)
	case errors.As(err, &exists):
	default:
		w.retryable(err) // count throttles
		return fmt.Errorf("create log group %q: %w", group, err)
	}
	return w.createStream(ctx, group, stream)
}

func (w *Writer) createStream(ctx context.Context, group, stream string) error {
	_, err := w.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(stream),
	}, noSDKRetry)
	var exists *types.ResourceAlreadyExistsException
	switch {
	case err == nil:
		w.log.Info("cwlogs: created log stream", "group", group, "stream", stream)
		return nil
	case errors.As(err, &exists):
		return nil
	}
	var rnf *types.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return err // the group is missing: the caller creates it
	}
	w.retryable(err) // count throttles
	return fmt.Errorf("create log stream %q in %q: %w", stream, group, err)
}

// retryable reports whether err is worth retrying within Put, counting
// throttles: see transient.
func (w *Writer) retryable(err error) bool {
	_, ok, throttle := transient(err)
	if throttle {
		w.throttles.Add(1)
	}
	return ok
}

// delay returns the n-th backoff delay: Backoff*2^n capped at 10s, jittered
// uniformly into [d/2, d].
func (w *Writer) delay(n int) time.Duration {
	d := w.backoff
	for i := 0; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func giveUp(last error, ctx context.Context) error {
	return fmt.Errorf("%w (gave up: %w)", last, context.Cause(ctx))
}
