package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/spool"
)

// Defaults of Options.
const (
	DefaultTrailName        = "modelwatch"
	DefaultDeliveryInterval = 5 * time.Minute
	DefaultDigestInterval   = time.Hour
	DefaultMaxSpoolBytes    = 256 << 20
	// maxFileRecords and maxFileBytes close a log file early.
	maxFileRecords = 10000
	maxFileBytes   = 16 << 20
	// consumer is the delivery's spool consumer; indexConsumer feeds the
	// LookupEvents index.
	consumer      = "s3"
	indexConsumer = "index"
)

// Options configure a Trail.
type Options struct {
	// Dir holds the trail's spool, signing key, delivery state and
	// LookupEvents index (e.g. <data-dir>/cloudtrail). Created if missing.
	Dir string
	// Store, Bucket and Prefix are where log and digest files go.
	Store  objectstore.Store
	Bucket string
	Prefix string
	// AccountID and Region name the files and fill awsRegion and
	// recipientAccountId.
	AccountID string
	Region    string
	// TrailName appears in digest file names (default "modelwatch").
	TrailName string
	// DeliveryInterval is how often pending events are delivered as a log
	// file (default 5 min).
	DeliveryInterval time.Duration
	// DigestInterval is how often a digest file is written (default 1 h).
	DigestInterval time.Duration
	// MaxSpoolBytes is the spool's disk budget (default 256 MiB).
	MaxSpoolBytes int64
	// RetryMin and RetryMax bound the backoff between delivery attempts
	// (default 1 s and 1 min).
	RetryMin, RetryMax time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives delivery errors (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Trail records events and delivers them as CloudTrail log files and
// signed digest files.
type Trail struct {
	opts  Options
	log   *slog.Logger
	sp    *spool.Spool
	sig   *signer
	m     *metrics
	index *index

	mu    sync.Mutex // delivery state; held by the delivery goroutine while it works
	pos   spool.Pos
	state deliveryState

	ctx      context.Context // cancelled by Close (after the final delivery)
	cancel   context.CancelFunc
	kick     chan struct{}
	done     chan struct{}
	started  atomic.Bool
	closed   atomic.Bool
	lastDrop atomic.Int64
	idxDone  chan struct{}
	idxPos   spool.Pos // where indexLoop starts
}

// deliveryState is kept with the delivery cursor in the spool (one atomic
// commit): the digest chain's head, the log files of the current digest
// window and the log file being delivered.
type deliveryState struct {
	Prev        *chainHead `json:"prev,omitempty"`
	WindowStart time.Time  `json:"windowStart"`
	Logs        []LogFile  `json:"logs,omitempty"`
	Intent      *intent    `json:"intent,omitempty"`
}

// chainHead is the last digest written.
type chainHead struct {
	Bucket    string    `json:"bucket"`
	Object    string    `json:"object"`
	Hash      string    `json:"hash"`
	Signature string    `json:"signature"`
	End       time.Time `json:"end"`
}

// intent is a log file about to be put: after a crash it is put again
// with the same key and the same records.
type intent struct {
	Start spool.Pos `json:"start"`
	Count int       `json:"count"`
	Key   string    `json:"key"`
}

// Open opens (or creates) the trail in opts.Dir. Call Start to begin
// delivery.
func Open(opts Options) (*Trail, error) {
	if opts.Dir == "" || opts.Store == nil || opts.Bucket == "" || opts.AccountID == "" || opts.Region == "" {
		return nil, errors.New("cloudtrail: Dir, Store, Bucket, AccountID and Region are required")
	}
	if opts.TrailName == "" {
		opts.TrailName = DefaultTrailName
	}
	if opts.DeliveryInterval <= 0 {
		opts.DeliveryInterval = DefaultDeliveryInterval
	}
	if opts.DigestInterval <= 0 {
		opts.DigestInterval = DefaultDigestInterval
	}
	if opts.MaxSpoolBytes <= 0 {
		opts.MaxSpoolBytes = DefaultMaxSpoolBytes
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(time.Minute, opts.RetryMin)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cloudtrail: %w", err)
	}
	t := &Trail{opts: opts, log: opts.Logger.With("component", "cloudtrail"), kick: make(chan struct{}, 1), done: make(chan struct{}), idxDone: make(chan struct{})}
	var err error
	if t.sig, err = loadOrCreateKey(opts.Dir); err != nil {
		return nil, err
	}
	seg := int64(4 << 20)
	if opts.MaxSpoolBytes < 4*seg {
		seg = max(64<<10, opts.MaxSpoolBytes/4&^4095)
	}
	// Lazy: events are rare, so the spool creates, maps and prefaults no
	// segment until the first one, and the delivery loop releases it again
	// once every event is delivered and indexed (Spool.Release).
	t.sp, err = spool.Open(filepath.Join(opts.Dir, "spool"), spool.Options{
		SegmentBytes: seg, MaxBytes: opts.MaxSpoolBytes, Logger: t.log, Now: opts.Now, Lazy: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cloudtrail spool: %w", err)
	}
	t.pos = t.sp.Register(consumer)
	// Both consumers exist before any event is recorded: each reads every
	// event, and neither lets the other's commits delete segments it has
	// not read.
	t.idxPos = t.sp.Register(indexConsumer)
	if _, st, ok := t.sp.Cursor(consumer); ok && len(st) > 0 {
		if err := json.Unmarshal(st, &t.state); err != nil {
			t.log.Error("cloudtrail: delivery state unreadable; starting a new digest chain", "err", err)
			t.state = deliveryState{}
		}
	}
	if t.state.WindowStart.IsZero() {
		t.state.WindowStart = opts.Now().UTC().Truncate(time.Second)
	}
	if t.index, err = openIndex(filepath.Join(opts.Dir, "index"), opts.Now); err != nil {
		t.sp.Close()
		return nil, err
	}
	t.m = newMetrics(opts.Registerer, t)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// Start begins background delivery and indexing.
func (t *Trail) Start() {
	if t.started.Swap(true) {
		return
	}
	go t.indexLoop()
	go t.run()
}

// Record adds an event to the trail: it fills eventID, eventVersion,
// awsRegion and recipientAccountId when empty and appends the record to
// the spool. It never waits for I/O, except that the first event after
// Open or after the spool was released (see run) maps the spool's segment,
// and the very first creates it; when the spool is full the event is
// counted in modelwatch_audit_events_dropped_total and logged.
func (t *Trail) Record(e *Event) {
	e.fill(t.opts.Region, t.opts.AccountID, t.opts.Now())
	b, err := json.Marshal(e)
	if err == nil {
		_, err = t.sp.Append(b)
	}
	if err != nil {
		t.m.dropped.Inc()
		now := time.Now().Unix()
		if last := t.lastDrop.Load(); now != last && t.lastDrop.CompareAndSwap(last, now) {
			t.log.Error("audit event dropped: it could not be spooled", "event_id", e.EventID, "event_name", e.EventName, "request_id", e.RequestID, "err", err)
		}
		return
	}
	t.m.recorded.Inc()
}

// Flush asks the delivery goroutine to deliver pending events now (and
// does not wait).
func (t *Trail) Flush() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Close delivers what is pending and writes a final digest (bounded by
// ctx), then closes the spool. Events not delivered stay in the spool for
// the next Open.
func (t *Trail) Close(ctx context.Context) error {
	if t.closed.Swap(true) {
		return nil
	}
	var err error
	if t.started.Load() {
		t.cancel() // stops the loop between steps
		<-t.done
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.mu.Lock()
	err = t.deliverPending(fctx)
	if err == nil {
		err = t.writeDigest(fctx, true)
	}
	t.mu.Unlock()
	if t.started.Load() {
		<-t.idxDone
	}
	if cerr := t.sp.Close(); err == nil {
		err = cerr
	}
	t.index.close()
	return err
}

// run is the delivery loop.
func (t *Trail) run() {
	defer close(t.done)
	tick := time.NewTicker(t.opts.DeliveryInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		case <-t.kick:
		}
		t.mu.Lock()
		if err := t.deliverPending(t.ctx); err == nil {
			if t.opts.Now().Sub(t.state.WindowStart) >= t.opts.DigestInterval {
				if err := t.writeDigest(t.ctx, false); err != nil && t.ctx.Err() == nil {
					t.log.Error("cloudtrail: digest delivery failed; retrying at the next delivery", "err", err)
				}
			}
			// Everything delivered: once it is indexed too, give back
			// the spool's spare and mappings until the next event
			// (Release does nothing while a consumer is behind).
			t.sp.Release()
		}
		t.mu.Unlock()
	}
}

// deliverPending delivers log files until the spool is caught up,
// retrying store errors with backoff until ctx ends.
func (t *Trail) deliverPending(ctx context.Context) error {
	for {
		if !t.pos.Less(t.sp.End()) && t.state.Intent == nil {
			return nil
		}
		more, err := t.deliverOne(ctx)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// deliverOne delivers the next log file; more is false when nothing was
// pending.
func (t *Trail) deliverOne(ctx context.Context) (more bool, err error) {
	maxRec, key := maxFileRecords, ""
	if in := t.state.Intent; in != nil && in.Start == t.pos {
		maxRec, key = in.Count, in.Key
	}
	rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	ents, err := t.sp.Read(rctx, t.pos, maxRec, maxFileBytes)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.state.Intent = nil
			return false, nil
		}
		return false, err
	}
	if len(ents) == 0 {
		return false, nil
	}
	next := ents[len(ents)-1].Next
	var body bytes.Buffer
	body.WriteString(`{"Records":[`)
	var lf LogFile
	for i, en := range ents {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(en.Data)
		var et struct {
			EventTime Time `json:"eventTime"`
		}
		if json.Unmarshal(en.Data, &et) == nil && !et.EventTime.IsZero() {
			if lf.OldestEventTime.IsZero() || et.EventTime.Before(lf.OldestEventTime.Time) {
				lf.OldestEventTime = et.EventTime
			}
			if et.EventTime.After(lf.NewestEventTime.Time) {
				lf.NewestEventTime = et.EventTime
			}
		}
	}
	body.WriteString("]}")
	if key == "" {
		key = LogKey(t.opts.Prefix, t.opts.AccountID, t.opts.Region, t.opts.Now(), uniqueString())
		t.state.Intent = &intent{Start: t.pos, Count: len(ents), Key: key}
		if err := t.commit(t.pos); err != nil {
			return false, err
		}
	}
	sum := sha256.Sum256(body.Bytes())
	gz := gzipBytes(body.Bytes())
	backoff := t.opts.RetryMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := t.opts.Store.Put(ctx, t.opts.Bucket, key, gz, objectstore.Meta{ContentType: "application/json", ContentEncoding: "gzip"})
		if err == nil {
			t.m.latency.Observe(time.Since(start).Seconds())
			break
		}
		t.m.errors.Inc()
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		t.log.Error("cloudtrail: log file delivery failed; events stay in the spool and are retried",
			"key", key, "events", len(ents), "attempt", attempt, "retry_in", backoff.String(), "err", err)
		timer := time.NewTimer(backoff/2 + mrand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false, ctx.Err()
		case <-timer.C:
		}
		backoff = min(backoff*2, t.opts.RetryMax)
	}
	lf.S3Bucket, lf.S3Object, lf.HashValue, lf.HashAlgorithm = t.opts.Bucket, key, hex.EncodeToString(sum[:]), HashAlgorithm
	t.state.Logs = append(t.state.Logs, lf)
	t.state.Intent = nil
	if err := t.commit(next); err != nil {
		return false, err
	}
	t.pos = next
	t.m.files.Inc()
	t.m.delivered.Add(float64(len(ents)))
	return true, nil
}

// commit persists the cursor p with the delivery state.
func (t *Trail) commit(p spool.Pos) error {
	st, err := json.Marshal(&t.state)
	if err != nil {
		return err
	}
	if err := t.sp.Commit(consumer, p, st); err != nil {
		return fmt.Errorf("cloudtrail: commit delivery state: %w", err)
	}
	return nil
}

// writeDigest writes the digest of the current window and starts the
// next. A digest's end time is whole seconds and after the previous one's:
// final (Close) waits for the next second when needed.
func (t *Trail) writeDigest(ctx context.Context, final bool) error {
	end := t.opts.Now().UTC().Truncate(time.Second)
	if !end.After(t.state.WindowStart) || (t.state.Prev != nil && !end.After(t.state.Prev.End)) {
		if !final {
			return nil
		}
		wait := t.state.WindowStart.Add(time.Second)
		if t.state.Prev != nil && t.state.Prev.End.After(t.state.WindowStart) {
			wait = t.state.Prev.End.Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(wait) + 10*time.Millisecond):
		}
		end = t.opts.Now().UTC().Truncate(time.Second)
		if !end.After(wait.Add(-time.Second)) {
			end = wait
		}
	}
	key := DigestKey(t.opts.Prefix, t.opts.AccountID, t.opts.Region, t.opts.TrailName, end)
	d := &Digest{
		AWSAccountID: t.opts.AccountID, DigestStartTime: Time{t.state.WindowStart}, DigestEndTime: Time{end},
		DigestS3Bucket: t.opts.Bucket, DigestS3Object: key,
		DigestPublicKeyFingerprint: t.sig.fingerprint, DigestSignatureAlgorithm: SignatureAlgorithm,
		LogFiles: t.state.Logs,
	}
	for _, lf := range t.state.Logs {
		if !lf.OldestEventTime.IsZero() && (d.OldestEventTime.IsZero() || lf.OldestEventTime.Before(d.OldestEventTime.Time)) {
			d.OldestEventTime = lf.OldestEventTime
		}
		if lf.NewestEventTime.After(d.NewestEventTime.Time) {
			d.NewestEventTime = lf.NewestEventTime
		}
	}
	if p := t.state.Prev; p != nil {
		alg := HashAlgorithm
		d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &p.Bucket, &p.Object
		d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = &p.Hash, &alg, &p.Signature
	}
	raw, err := marshalDigest(d)
	if err != nil {
		return err
	}
	sig, err := t.sig.sign(SigningString(d, raw))
	if err != nil {
		return err
	}
	meta := objectstore.Meta{ContentType: "application/json", ContentEncoding: "gzip",
		UserMetadata: map[string]string{MetaSignature: sig, MetaSignatureAlgorithm: SignatureAlgorithm}}
	if err := t.opts.Store.Put(ctx, t.opts.Bucket, key, gzipBytes(raw), meta); err != nil {
		t.m.errors.Inc()
		return fmt.Errorf("cloudtrail: put digest %s: %w", key, err)
	}
	h := sha256.Sum256(raw)
	t.state.Prev = &chainHead{Bucket: t.opts.Bucket, Object: key, Hash: hex.EncodeToString(h[:]), Signature: sig, End: end}
	t.state.WindowStart = end
	t.state.Logs = nil
	t.m.digests.Inc()
	return t.commit(t.pos)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

const uniqueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// uniqueString returns CloudTrail's 16 meaningless characters.
func uniqueString() string {
	b := make([]byte, 16)
	n := big.NewInt(int64(len(uniqueAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			b[i] = uniqueAlphabet[mrand.IntN(len(uniqueAlphabet))]
			continue
		}
		b[i] = uniqueAlphabet[v.Int64()]
	}
	return string(b)
}

// PublicKeys returns the trail's digest public keys.
func (t *Trail) PublicKeys() []PublicKey {
	k := t.sig.pub
	k.ValidityEndTime = t.opts.Now().UTC().Truncate(time.Second)
	return []PublicKey{k}
}

// metrics are the trail's Prometheus metrics.
type metrics struct {
	recorded, dropped, delivered, files, errors, digests prometheus.Counter
	latency                                              prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, t *Trail) *metrics {
	m := &metrics{
		recorded:  prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_events_recorded_total", Help: "Audit events appended to the trail's spool."}),
		dropped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_events_dropped_total", Help: "Audit events that could not be spooled (spool full) and are lost."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_events_delivered_total", Help: "Audit events delivered in log files."}),
		files:     prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_log_files_delivered_total", Help: "CloudTrail log files delivered."}),
		errors:    prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_delivery_errors_total", Help: "Failed log or digest file puts (each retried)."}),
		digests:   prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_audit_digest_files_delivered_total", Help: "CloudTrail digest files delivered."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "modelwatch_audit_delivery_put_seconds", Help: "Time to put one log file.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
	if reg != nil {
		backlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelwatch_audit_spool_backlog_bytes", Help: "Bytes of spooled audit events not yet delivered and indexed."},
			func() float64 { return float64(t.sp.Stats().PendingBytes) })
		backlogEvents := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelwatch_audit_spool_backlog_events", Help: "Spooled audit events not yet delivered and indexed."},
			func() float64 { return float64(t.sp.Stats().PendingRecords) })
		for _, c := range []prometheus.Collector{m.recorded, m.dropped, m.delivered, m.files, m.errors, m.digests, m.latency, backlog, backlogEvents} {
			if err := reg.Register(c); err != nil {
				t.log.Warn("cloudtrail: metric not registered", "err", err)
			}
		}
	}
	return m
}
