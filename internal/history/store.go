package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/compression"
)

// Defaults of Options.
const (
	DefaultInterval     = 15 * time.Second
	DefaultRetention    = 15 * 24 * time.Hour
	DefaultQueryTimeout = 30 * time.Second
	// DefaultMaxSamples bounds the samples a single query may hold in
	// memory. Prometheus defaults to 50 million; an embedded store inside a
	// gateway gets a tenth of that (about 100 MB at worst).
	DefaultMaxSamples = 5_000_000
	// MaxPointsPerSeries is the most points a range query may return per
	// series, as in Prometheus (one week at one-minute resolution).
	MaxPointsPerSeries = 11_000
	// lookbackDelta is PromQL's staleness window, Prometheus's default.
	lookbackDelta = 5 * time.Minute
)

// Options configure a Store.
type Options struct {
	// Dir holds the TSDB (normally <data-dir>/history); created if missing.
	Dir string
	// Gatherer is where samples come from: the server's registry.
	Gatherer prometheus.Gatherer
	// Interval is the sampling interval; 0 means DefaultInterval.
	Interval time.Duration
	// Retention is how long samples are kept; 0 means DefaultRetention.
	Retention time.Duration
	// Include selects the metric families kept, by name; nil keeps names
	// starting "bedrock_" or "modelwatch_".
	Include func(name string) bool
	// Logger receives sampling failures; nil discards them.
	Logger *slog.Logger
	// Registerer, if set, receives the store's own health metrics.
	Registerer prometheus.Registerer
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time

	// QueryTimeout bounds every query; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may load; 0 means
	// DefaultMaxSamples.
	MaxSamples int
}

// DefaultInclude is the Include used when Options.Include is nil: the
// Bedrock metric set and modelwatch's own metrics, not Go runtime noise.
func DefaultInclude(name string) bool {
	return strings.HasPrefix(name, "bedrock_") || strings.HasPrefix(name, "modelwatch_")
}

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("history: store is closed")

// Store samples a prometheus.Gatherer into an on-disk Prometheus TSDB and
// answers PromQL over it. It is safe for concurrent use.
type Store struct {
	db      *tsdb.DB
	engine  *promql.Engine
	parser  parser.Parser
	gather  prometheus.Gatherer
	include func(string) bool
	log     *slog.Logger
	now     func() time.Time

	interval     time.Duration
	queryTimeout time.Duration

	// life guards db against Close while queries run: queries hold it
	// for reading, Close for writing.
	life   sync.RWMutex
	closed bool

	// mu serialises sampling (the periodic loop, SampleNow and Close).
	mu      sync.Mutex
	sampler sampler
	// liveAt is when (by the clock) the last live sample was taken, to
	// space them liveSpacing apart.
	liveAt time.Time

	// meta is the metadata of the families last sampled, for
	// /api/v1/metadata.
	metaMu sync.RWMutex
	meta   map[string][]metadata

	// previousEnd is the newest sample time the history held when it was
	// opened: the end of the server's previous run (math.MinInt64 for a
	// new history).
	previousEnd int64

	startOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	health health
}

// health is the store's own instrumentation.
type health struct {
	appended prometheus.Counter
	rejected prometheus.Counter
	failures prometheus.Counter
	series   prometheus.Gauge
	last     prometheus.Gauge
	live     prometheus.Counter
}

func newHealth(reg prometheus.Registerer) (health, error) {
	h := health{
		appended: prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_history_samples_appended_total", Help: "Samples written to the metric history."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_history_samples_rejected_total", Help: "Samples the metric history refused (out of order, out of bounds, duplicate)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_history_sample_failures_total", Help: "Sampling rounds of the metric history that failed."}),
		series:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "modelwatch_history_series", Help: "Series written by the last sampling round of the metric history."}),
		last:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "modelwatch_history_last_sample_timestamp_seconds", Help: "Time of the last successful sampling round of the metric history."}),
		live:     prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_history_live_samples_total", Help: "Samples of the metric history taken for a query whose end was later than the last sample (besides the periodic ones)."}),
	}
	if reg == nil {
		return h, nil
	}
	for _, c := range []prometheus.Collector{h.appended, h.rejected, h.failures, h.series, h.last, h.live} {
		if err := reg.Register(c); err != nil {
			return h, fmt.Errorf("history: registering health metrics: %w", err)
		}
	}
	return h, nil
}

// Open opens (creating if needed) the history in opts.Dir. The store does
// not sample until Start or SampleNow is called.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("history: Options.Dir is required")
	}
	if opts.Gatherer == nil {
		return nil, errors.New("history: Options.Gatherer is required")
	}
	for name, d := range map[string]time.Duration{"Interval": opts.Interval, "Retention": opts.Retention, "QueryTimeout": opts.QueryTimeout} {
		if d < 0 {
			return nil, fmt.Errorf("history: Options.%s must not be negative, got %s", name, d)
		}
	}
	if opts.MaxSamples < 0 {
		return nil, fmt.Errorf("history: Options.MaxSamples must not be negative, got %d", opts.MaxSamples)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Retention < opts.Interval {
		return nil, fmt.Errorf("history: Options.Retention (%s) is shorter than Options.Interval (%s)", opts.Retention, opts.Interval)
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.MaxSamples == 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.Include == nil {
		opts.Include = DefaultInclude
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("history: creating %s: %w", opts.Dir, err)
	}
	h, err := newHealth(opts.Registerer)
	if err != nil {
		return nil, err
	}

	db, err := tsdb.Open(opts.Dir, opts.Logger, nil, tsdbOptions(opts.Retention), nil)
	if err != nil {
		return nil, fmt.Errorf("history: opening %s: %w", opts.Dir, err)
	}
	p := parser.NewParser(parser.Options{})
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:        opts.Logger,
		MaxSamples:    opts.MaxSamples,
		Timeout:       opts.QueryTimeout,
		LookbackDelta: lookbackDelta,
		// As in Prometheus since v2.33: the same queries must run here and
		// against a real Prometheus.
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               p,
		// The default subquery step is Prometheus's global evaluation
		// interval; ours is the sampling interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return opts.Interval.Milliseconds() },
	})
	return &Store{
		previousEnd:  newestSample(db),
		db:           db,
		engine:       engine,
		parser:       p,
		gather:       opts.Gatherer,
		include:      opts.Include,
		log:          opts.Logger,
		now:          opts.Now,
		interval:     opts.Interval,
		queryTimeout: opts.QueryTimeout,
		sampler:      newSampler(),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		health:       h,
	}, nil
}

// tsdbOptions are Prometheus's defaults with the retention applied the way
// the prometheus binary applies it: blocks grow to at most a tenth of the
// retention (and 31 days), so that expired data is dropped in small steps.
func tsdbOptions(retention time.Duration) *tsdb.Options {
	o := tsdb.DefaultOptions()
	o.RetentionDuration = retention.Milliseconds()
	o.WALCompression = compression.Snappy
	maxBlock := min(retention/10, 31*24*time.Hour).Milliseconds()
	o.MaxBlockDuration = max(maxBlock, o.MinBlockDuration)
	return o
}

// Start begins sampling every Interval in a goroutine, with a first sample
// at once. It does nothing after the first call or after Close.
func (s *Store) Start() {
	s.startOnce.Do(func() {
		go s.loop()
	})
}

func (s *Store) loop() {
	defer close(s.done)
	s.sampleAndLog()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sampleAndLog()
		}
	}
}

func (s *Store) sampleAndLog() {
	if err := s.SampleNow(); err != nil && !errors.Is(err, ErrClosed) {
		s.log.Warn("metric history: sampling failed", "err", err)
	}
}

// SampleNow gathers the metrics and appends them at the current time. A
// second sample in the same millisecond (or with the clock behind the last
// sample) is skipped, as two values at one timestamp cannot be stored. If
// the gatherer fails, what it did return is still written and the error is
// returned (a Prometheus scrape would drop the whole sample).
func (s *Store) SampleNow() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.sampleLocked(timestamp.FromTime(s.now()), false)
}

// liveSpacing is the least time between two live samples, whoever asks.
// A query in it is answered from the newest sample: the dozens of queries
// of one refresh (or a client querying in a loop) cost one sample, and
// queries cannot make the history grow by more than five samples a
// second.
const liveSpacing = 200 * time.Millisecond

// liveFuture bounds how far past the server's clock a query's evaluation
// time may be for a live sample to be stamped there (a client's clock a
// little ahead); further out, a sample would hold back the periodic ones
// until the clock caught up.
const liveFuture = time.Second

// live makes the end of a query current: it returns the evaluation time
// for a query ending at end (zero: "now"), after taking a sample stamped
// exactly there when the history has none yet. A query's answer then
// reflects the counters as they are, not as they were at the last
// periodic sample, and increase() over a range that covers a series' life
// is exact: the series starts with a zero sample at its creation and ends
// with a sample at the range's end, so PromQL has nothing to extrapolate.
//
// Without end, the sample is stamped now (a millisecond after the last
// one if that is in the same millisecond) and the query is evaluated
// there. With an end after the last sample and no later than liveFuture
// past the clock, the sample is stamped at end (millisecond precision),
// holding the values of now. An end at or before the last sample, or a
// whole interval or more before now, is history: nothing is taken. Within
// liveSpacing of the last live sample nothing is taken either: a query
// without end is evaluated at the newest sample, one with an end at its
// end.
func (s *Store) live(end time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.life.RLock()
	defer s.life.RUnlock()
	now := s.now()
	last := s.sampler.lastT
	t := max(timestamp.FromTime(now), last+1)
	if !end.IsZero() {
		t = timestamp.FromTime(end)
		if t <= last || end.Sub(now) > liveFuture || now.Sub(end) >= s.interval {
			return end
		}
	}
	if since := now.Sub(s.liveAt); s.closed || (!s.liveAt.IsZero() && since >= 0 && since < liveSpacing) {
		switch {
		case !end.IsZero():
			return end
		case last != math.MinInt64:
			return timestamp.Time(last)
		}
		return now
	}
	s.liveAt = now
	if err := s.sampleLocked(t, false); err != nil {
		s.log.Warn("metric history: live sample failed", "err", err)
	}
	s.health.live.Inc()
	return timestamp.Time(t)
}

// LiveSample makes the history current (see live) and returns the time of
// the sample to evaluate at. Queries evaluated at that time (the
// dashboard's, through /api/history) see the counters as they are,
// exactly, and agree with each other whatever samples come after.
func (s *Store) LiveSample() time.Time { return s.live(time.Time{}) }

// sampleLocked takes one sample at t (ms); final marks the series stale
// right after it (the process is going away). Callers hold mu and life.
func (s *Store) sampleLocked(t int64, final bool) error {
	res, err := s.sampler.sample(s.db, s.gather, s.include, t, final)
	s.health.appended.Add(float64(res.appended))
	s.health.rejected.Add(float64(res.rejected))
	if res.meta != nil {
		s.metaMu.Lock()
		s.meta = res.meta
		s.metaMu.Unlock()
	}
	if err != nil {
		s.health.failures.Inc()
		return err
	}
	if res.skipped {
		return nil
	}
	s.health.series.Set(float64(res.series))
	s.health.last.Set(float64(t) / 1000)
	if res.rejected > 0 {
		s.log.Warn("metric history: samples rejected", "count", res.rejected, "first_err", res.firstReject)
	}
	return nil
}

// Close stops sampling, takes a final sample (so that nothing counted since
// the last one is lost), marks every series stale and closes the TSDB. The
// history survives: Open on the same Dir continues it. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Stop the loop (started or not) and wait for it.
		close(s.stop)
		started := true
		s.startOnce.Do(func() { started = false })
		if started {
			<-s.done
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.life.Lock()
		defer s.life.Unlock()
		var errs []error
		if err := s.sampleLocked(timestamp.FromTime(s.now()), true); err != nil {
			errs = append(errs, fmt.Errorf("history: final sample: %w", err))
		}
		s.closed = true
		errs = append(errs, s.engine.Close())
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("history: closing TSDB: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Sample is one element of an instant query's result.
type Sample struct {
	// Labels of the series (empty for a scalar result).
	Labels map[string]string
	Time   time.Time
	Value  float64
}

// Point is one value of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is one series of a range query's result.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Error is a failed query, classified as Prometheus's HTTP API classifies
// it. Type is one of the ErrorType constants.
type Error struct {
	Type string
	Err  error
}

// Error types, as in Prometheus's HTTP API ("errorType").
const (
	ErrorBadData      = "bad_data"
	ErrorExec         = "execution"
	ErrorTimeout      = "timeout"
	ErrorCanceled     = "canceled"
	ErrorInternal     = "internal"
	ErrorUnavailable  = "unavailable"
	ErrorNotFound     = "not_found"
	ErrorUnauthorized = "unauthorized"
	ErrorForbidden    = "forbidden"
)

// Error returns the underlying error's message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func badData(err error) *Error { return &Error{Type: ErrorBadData, Err: err} }

// classify maps an engine error to its API error type, as Prometheus does.
func classify(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	switch {
	case errors.Is(err, ErrClosed):
		return &Error{Type: ErrorUnavailable, Err: err}
	case isType[promql.ErrQueryCanceled](err), errors.Is(err, context.Canceled):
		return &Error{Type: ErrorCanceled, Err: err}
	case isType[promql.ErrQueryTimeout](err), errors.Is(err, context.DeadlineExceeded):
		return &Error{Type: ErrorTimeout, Err: err}
	case isType[promql.ErrStorage](err):
		return &Error{Type: ErrorInternal, Err: err}
	}
	return &Error{Type: ErrorExec, Err: err}
}

func isType[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// run executes a query over [start, end] (an instant query when step is
// 0) and hands the result to use before the query's memory is released.
func (s *Store) run(ctx context.Context, q string, start, end time.Time, step time.Duration, use func(*promql.Result)) *Error {
	if step < 0 {
		return badData(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	if end.Before(start) {
		return badData(errors.New("end timestamp must not be before start time"))
	}
	if step > 0 && end.Sub(start)/step > MaxPointsPerSeries {
		return badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	if step == 0 && start.IsZero() {
		start = s.live(time.Time{})
		end = start
	} else {
		s.live(end)
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return classify(ErrClosed)
	}
	opts := promql.NewPrometheusQueryOpts(false, 0, nil)
	var (
		qry promql.Query
		err error
	)
	if step == 0 {
		qry, err = s.engine.NewInstantQuery(ctx, s.db, opts, q, start)
	} else {
		qry, err = s.engine.NewRangeQuery(ctx, s.db, opts, q, start, end, step)
	}
	if err != nil {
		if isType[promql.ErrQueryTimeout](err) || isType[promql.ErrQueryCanceled](err) {
			return classify(err)
		}
		return badData(fmt.Errorf("invalid parameter %q: %w", "query", err))
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return classify(res.Err)
	}
	use(res)
	return nil
}

// Query evaluates an instant query at ts. A zero ts means now: the query
// is evaluated at a live sample (see live), so increase() over a range
// that covers a series' whole life is exact. A scalar result is returned
// as one Sample without labels; a range-vector or string result is an
// error. Errors are *Error.
func (s *Store) Query(ctx context.Context, q string, ts time.Time) ([]Sample, error) {
	var (
		out    []Sample
		useErr error
	)
	if err := s.run(ctx, q, ts, ts, 0, func(res *promql.Result) {
		switch v := res.Value.(type) {
		case promql.Vector:
			out = make([]Sample, 0, len(v))
			for _, smp := range v {
				if smp.H != nil {
					continue // native histograms are never written here
				}
				out = append(out, Sample{Labels: smp.Metric.Map(), Time: timestamp.Time(smp.T).UTC(), Value: smp.F})
			}
		case promql.Scalar:
			out = []Sample{{Labels: map[string]string{}, Time: timestamp.Time(v.T).UTC(), Value: v.V}}
		default:
			useErr = badData(fmt.Errorf("query result is a %s, not an instant vector or scalar; use QueryRange", res.Value.Type()))
		}
	}); err != nil {
		return nil, err
	}
	if useErr != nil {
		return nil, useErr
	}
	return out, nil
}

// QueryRange evaluates a range query from start to end every step. A
// scalar result is returned as one Series without labels. Errors are
// *Error.
func (s *Store) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]Series, error) {
	if step <= 0 {
		return nil, badData(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	var out []Series
	if err := s.run(ctx, q, start, end, step, func(res *promql.Result) {
		m, ok := res.Value.(promql.Matrix)
		if !ok {
			return // a range query always yields a matrix
		}
		out = make([]Series, 0, len(m))
		for _, ser := range m {
			pts := make([]Point, 0, len(ser.Floats))
			for _, p := range ser.Floats {
				pts = append(pts, Point{Time: timestamp.Time(p.T).UTC(), Value: p.F})
			}
			out = append(out, Series{Labels: ser.Metric.Map(), Points: pts})
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// metadata describes one metric family, as /api/v1/metadata reports it.
type metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// Span returns the times of the oldest and the newest sample the history
// holds; ok is false while it holds none. The dashboard draws its charts
// from first on when that is later than the start of the range it shows.
func (s *Store) Span() (first, last time.Time, ok bool) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return time.Time{}, time.Time{}, false
	}
	lo, err := s.db.StartTime()
	hi := newestSample(s.db)
	if err != nil || lo == math.MaxInt64 || hi == math.MinInt64 || hi < lo {
		return time.Time{}, time.Time{}, false
	}
	return timestamp.Time(lo).UTC(), timestamp.Time(hi).UTC(), true
}

// newestSample is the time of the newest sample in db (math.MinInt64 when
// it holds none): the head's, or a block's when the head is empty.
func newestSample(db *tsdb.DB) int64 {
	t := db.Head().MaxTime()
	for _, b := range db.Blocks() {
		t = max(t, b.Meta().MaxTime-1) // a block's MaxTime is exclusive
	}
	return t
}

// PreviousSeries returns the series the server's previous run was still
// writing when it stopped (a sample in its last two sampling intervals),
// each as its labels with the metric name under "__name__". A restarted
// server creates its counters of those series again, at zero, before the
// first sample: a counter that its new run has not touched yet then goes
// on in the history (reset to zero, as PromQL expects of a restarted
// target) instead of ending, and increase() over a range that covers
// both runs counts each run's calls exactly, where an ended series would
// be extrapolated past its last sample. Nil for a new history.
func (s *Store) PreviousSeries(ctx context.Context) ([]map[string]string, error) {
	if s.previousEnd == math.MinInt64 {
		return nil, nil
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	from := s.previousEnd - 2*s.interval.Milliseconds()
	q, err := s.db.Querier(from, s.previousEnd)
	if err != nil {
		return nil, fmt.Errorf("history: reading the previous run's series: %w", err)
	}
	defer q.Close()
	set := q.Select(ctx, false, &storage.SelectHints{Start: from, End: s.previousEnd}, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	var (
		out []map[string]string
		it  chunkenc.Iterator
	)
	for set.Next() {
		ser := set.At()
		it = ser.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			if _, v := it.At(); !value.IsStaleNaN(v) {
				out = append(out, ser.Labels().Map())
				break
			}
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("history: reading the previous run's series: %w", err)
	}
	return out, nil
}
