package invocationlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/spool"
)

// LargeBodyBytes is the size above which a body is not inlined in a record
// but written to its own object under the data/ prefix (Bedrock: "up to
// 100 KB"; counted on the compacted JSON, in KiB). The output of an image
// model is binary data and goes there whatever its size.
const LargeBodyBytes = 100 << 10

// What to do with a record when the spool is full.
const (
	// OnFullReject refuses new calls with ServiceUnavailableException while
	// the spool is full, so that no served call goes unrecorded.
	OnFullReject = "reject"
	// OnFullDrop serves calls and drops their records, counting each in
	// modelwatch_invocation_log_records_dropped_total and logging it.
	OnFullDrop = "drop"
)

// Settings tune the delivery pipeline (config file section
// invocationLogging). Zero values take the defaults of the embedded
// configuration.
type Settings struct {
	// Store selects what an S3 destination writes to: auto (S3 when an S3
	// endpoint or AWS credentials are configured, else the local
	// directory), s3 or local.
	Store objectstore.Mode `yaml:"store"`
	// FlushInterval is the longest a record waits for its batch to fill.
	FlushInterval time.Duration `yaml:"flushInterval"`
	// MaxBatchRecords and MaxBatchBytes (uncompressed) close a batch early.
	MaxBatchRecords int `yaml:"maxBatchRecords"`
	MaxBatchBytes   int `yaml:"maxBatchBytes"`
	// RetryMin and RetryMax bound the backoff between delivery attempts.
	RetryMin time.Duration `yaml:"retryMin"`
	RetryMax time.Duration `yaml:"retryMax"`
	// CheckTimeout bounds the destination check made when a configuration
	// is put.
	CheckTimeout time.Duration `yaml:"checkTimeout"`
	Spool        SpoolSettings `yaml:"spool"`
}

// SpoolSettings bound the on-disk spool.
type SpoolSettings struct {
	// MaxBytes is the disk budget of the spool.
	MaxBytes int64 `yaml:"maxBytes"`
	// SegmentBytes is the size of each preallocated segment file.
	SegmentBytes int64 `yaml:"segmentBytes"`
	// SyncInterval is how often the spool is fsynced (protection against
	// power loss; a killed process loses nothing either way).
	SyncInterval time.Duration `yaml:"syncInterval"`
	// OnFull is reject or drop.
	OnFull string `yaml:"onFull"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	switch s.Store {
	case objectstore.ModeAuto, objectstore.ModeS3, objectstore.ModeLocal:
	default:
		return fmt.Errorf("invocationLogging.store: %q is not auto, s3 or local", s.Store)
	}
	switch s.Spool.OnFull {
	case OnFullReject, OnFullDrop:
	default:
		return fmt.Errorf("invocationLogging.spool.onFull: %q is not reject or drop", s.Spool.OnFull)
	}
	switch {
	case s.FlushInterval <= 0:
		return errors.New("invocationLogging.flushInterval must be positive")
	case s.MaxBatchRecords <= 0 || s.MaxBatchBytes <= 0:
		return errors.New("invocationLogging.maxBatchRecords and maxBatchBytes must be positive")
	case s.RetryMin <= 0 || s.RetryMax < s.RetryMin:
		return errors.New("invocationLogging.retryMin must be positive and at most retryMax")
	case s.Spool.SegmentBytes < 64<<10 || s.Spool.MaxBytes < 2*s.Spool.SegmentBytes:
		return errors.New("invocationLogging.spool: segmentBytes must be at least 64 KiB and maxBytes at least two segments")
	}
	return nil
}

// Options configure a Logger.
type Options struct {
	DataDir   string
	AccountID string
	Region    string
	Settings  Settings
	// Store overrides the object store chosen by Settings.Store (tests).
	Store objectstore.Store
	// CloudWatch returns the CloudWatch Logs writer, created on first use;
	// nil loads one through the AWS SDK configuration chain.
	CloudWatch func(ctx context.Context) (*cwlogs.Writer, error)
	// Registerer receives the logging metrics; nil registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
	// Replica names this replica when several deliver to one bucket
	// (cluster.replica): its batch objects are named
	// <time>_<replica>-<id>.json.gz, so two replicas never write the same
	// key. Empty on a single node (<time>_<id>.json.gz).
	Replica string
}

// Logger is Bedrock's model invocation logging. It is an
// invocation.Observer (every call's record goes to the spool before the
// response is released), a gateway admitter (it refuses calls it could not
// record when the spool is full and the policy says so), and it owns the
// deliverers that move spooled records to their destinations.
type Logger struct {
	opts  Options
	log   *slog.Logger
	store *ConfigStore
	spool *spool.Spool
	kept  *keptStore
	m     *metrics
	cur   atomic.Pointer[Generation]
	bufs  sync.Pool
	// recent holds the last records taken, for the dashboard.
	recent recent

	objects       objectstore.Store
	cwOnce        sync.Once
	cw            *cwlogs.Writer
	cwErr         error
	putMu         sync.Mutex
	publisher     atomic.Pointer[Publisher]
	mu            sync.Mutex
	workers       map[string]*deliverer
	ctx           context.Context // delivery; cancelled at the end of Shutdown
	cancel        context.CancelFunc
	drain         context.Context // done when Shutdown begins
	drained       context.CancelFunc
	wg            sync.WaitGroup
	lastRejectLog atomic.Int64 // Unix second of the last "refusing calls" log line
	lastDropLog   atomic.Int64 // Unix second of the last "records of failed calls dropped" line
	closeOnce     sync.Once
}

// Open opens the configuration store and the spool under opts.DataDir and
// starts delivering whatever the spool holds.
func Open(opts Options) (*Logger, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.Settings.Validate(); err != nil {
		return nil, err
	}
	l := &Logger{opts: opts, log: opts.Logger.With("component", "invocationlog"), workers: map[string]*deliverer{}}
	l.drain, l.drained = context.WithCancel(context.Background())
	l.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	var err error
	if l.store, err = OpenConfigStore(opts.DataDir); err != nil {
		return nil, err
	}
	if l.objects = opts.Store; l.objects == nil {
		if l.objects, err = objectstore.Open(context.Background(), opts.Settings.Store, opts.DataDir, opts.Region, nil); err != nil {
			return nil, fmt.Errorf("invocation logging: %w", err)
		}
	}
	sp := opts.Settings.Spool
	// Lazy: while logging is off the spool creates, maps and prefaults no
	// segment (see prepareSpool and releaseIfIdle).
	l.spool, err = spool.Open(filepath.Join(opts.DataDir, "spool"), spool.Options{
		SegmentBytes: sp.SegmentBytes, MaxBytes: sp.MaxBytes, SyncInterval: sp.SyncInterval, Logger: l.log, Now: opts.Now,
		Lazy: true,
	})
	if err != nil {
		return nil, fmt.Errorf("invocation logging spool: %w", err)
	}
	l.kept = newKeptStore(opts.DataDir)
	l.m = newMetrics(opts.Registerer, l.spool, l.kept, opts.Now)
	g := l.store.Current()
	l.cur.Store(&g)
	if g.Config != nil {
		l.prepareSpool()
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())

	// Resume every destination that still has records to deliver, then
	// make sure the current configuration's destinations are served.
	current := map[string]bool{}
	if g.Config != nil {
		for _, d := range destinations(g.Config) {
			current[d.consumer()] = true
			l.startDeliverer(d)
		}
	}
	for _, name := range l.spool.Consumers() {
		if current[name] {
			continue
		}
		pos, state, _ := l.spool.Cursor(name)
		if pos == l.spool.End() {
			// A past destination with nothing left to deliver: forget it,
			// so it neither holds segments nor reads every new record.
			if err := l.spool.Unregister(name); err != nil {
				l.log.Warn("cannot retire spool consumer", "consumer", name, "err", err)
			}
			continue
		}
		var d destination
		if err := json.Unmarshal(state, &d); err != nil || d.consumer() != name {
			// Cursors committed before the state was kept with every
			// commit lost it: find the destination among the
			// generations by its consumer name.
			var ok bool
			if d, ok = l.pastDestination(name); !ok {
				// Its records cannot be told apart from other
				// destinations'; held for it, they would pin the spool.
				l.log.Error("spool consumer of an unknown destination retired: records still pending for it are not delivered there",
					"consumer", name, "cursor", pos.String())
				if err := l.spool.Unregister(name); err != nil {
					l.log.Warn("cannot retire spool consumer", "consumer", name, "err", err)
				}
				continue
			}
		}
		l.startDeliverer(d)
	}
	files, kept := l.kept.held()
	if kept > 0 {
		l.log.Warn("invocation log records that could not be delivered are kept; deliver them with `modelwatch logs redeliver`",
			"records", kept, "files", files, "dir", l.kept.dir)
	}
	l.log.Info("invocation logging ready", "enabled", g.Config != nil, "generation", g.Number,
		"store", l.objects.Kind(), "spool_pending_records", l.spool.Stats().PendingRecords)
	l.putMu.Lock()
	l.releaseLocked() // a spare left by an earlier run while logging is off, or the first records' mapping
	l.putMu.Unlock()
	return l, nil
}

// prepareSpool readies the spool for records, so that the first ones make
// no system call: logging is on (at start) or about to be (Put). If no
// segment can be made the spool is full, which it logs; Admit and Commit
// then refuse or drop as onFull says.
func (l *Logger) prepareSpool() {
	if err := l.spool.Prepare(); err != nil && !errors.Is(err, spool.ErrFull) {
		l.log.Error("cannot prepare the invocation log spool; the first records will try again", "err", err)
	}
}

// releaseLocked gives the spool's memory back while logging is off and
// every destination has all its records (spool.Release; nothing happens
// otherwise): nothing is kept mapped, prefaulted or preallocated for
// records that are not coming. Records after a Put (or, racing a Delete,
// the last records of calls served while logging was on) arm the spool
// again. The caller holds putMu, so that a Put cannot arm the spool
// between the check and the release.
func (l *Logger) releaseLocked() {
	if l.cur.Load().Config == nil {
		l.spool.Release()
	}
}

// releaseIfIdle is releaseLocked for the deliverers, after a commit that
// may have been the last one logging off waited for. A Put in progress
// (holding putMu) is about to arm the spool: it is not waited for.
func (l *Logger) releaseIfIdle() {
	if l.cur.Load().Config != nil || !l.putMu.TryLock() {
		return
	}
	defer l.putMu.Unlock()
	l.releaseLocked()
}

// pastDestination finds the destination of a spool consumer among the
// configuration generations.
func (l *Logger) pastDestination(consumer string) (destination, bool) {
	for _, g := range l.store.Generations() {
		if g.Config == nil {
			continue
		}
		for _, d := range destinations(g.Config) {
			if d.consumer() == consumer {
				return d, true
			}
		}
	}
	return destination{}, false
}

// destination is one place records are delivered to. It is persisted as the
// spool consumer's state so that a restart finds every destination that
// still has records pending, even if the configuration changed since.
type destination struct {
	Kind     string `json:"kind"` // destS3 or destCloudWatch
	Bucket   string `json:"bucket,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	LogGroup string `json:"logGroup,omitempty"`
}

func destinations(c *LoggingConfig) []destination {
	var ds []destination
	if c.S3Config != nil {
		ds = append(ds, destination{Kind: destS3, Bucket: c.S3Config.BucketName, Prefix: c.S3Config.KeyPrefix})
	}
	if c.CloudWatchConfig != nil {
		ds = append(ds, destination{Kind: destCloudWatch, LogGroup: c.CloudWatchConfig.LogGroupName})
	}
	return ds
}

// consumer is the destination's spool consumer name: stable, and valid as a
// file name whatever the bucket or group is called.
func (d destination) consumer() string {
	h := sha256.Sum256([]byte(d.Kind + "\x00" + d.Bucket + "\x00" + d.Prefix + "\x00" + d.LogGroup))
	return d.Kind + "-" + hex.EncodeToString(h[:8])
}

// wants reports whether records of a call served under c go to d.
func (d destination) wants(c *LoggingConfig) bool {
	if c == nil {
		return false
	}
	switch d.Kind {
	case destS3:
		return c.S3Config != nil && c.S3Config.BucketName == d.Bucket && c.S3Config.KeyPrefix == d.Prefix
	case destCloudWatch:
		return c.CloudWatchConfig != nil && c.CloudWatchConfig.LogGroupName == d.LogGroup
	}
	return false
}

func (d destination) String() string {
	if d.Kind == destCloudWatch {
		return "cloudwatch:" + d.LogGroup
	}
	return "s3://" + d.Bucket + "/" + d.Prefix
}

// startDeliverer registers d's spool consumer (at the oldest record kept when new, or where it stopped if it was retired)
// and starts its goroutine, once.
func (l *Logger) startDeliverer(d destination) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := d.consumer()
	if l.workers[name] != nil {
		return
	}
	pos := l.spool.Register(name)
	if _, state, _ := l.spool.Cursor(name); len(state) == 0 {
		st, _ := json.Marshal(d)
		if err := l.spool.Commit(name, pos, st); err != nil {
			l.log.Error("cannot persist spool consumer", "destination", d.String(), "err", err)
		}
	}
	dv := newDeliverer(l, d, name, pos)
	l.workers[name] = dv
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		dv.run()
	}()
}

// Observe writes inv's record to the spool when logging is on. It does no
// system call: the spool copies into memory-mapped, preallocated segments,
// which survive the process being killed.
func (l *Logger) Observe(inv *invocation.Invocation) { _ = l.Commit(inv) }

// Commit is Observe for the gateway's Committer contract: under onFull
// reject, a successful call whose record does not fit in the spool (calls
// admitted while there was room can fill it before they finish) is refused
// with ServiceUnavailableException, so that nothing is served unlogged.
// Under onFull drop, and for calls that failed anyway, the record is
// dropped, counted and logged instead.
func (l *Logger) Commit(inv *invocation.Invocation) error {
	g := l.cur.Load()
	if g.Config == nil {
		return nil
	}
	bp := l.bufs.Get().(*[]byte)
	defer l.bufs.Put(bp)
	buf, err := encodeEntry((*bp)[:0], g.Number, g.Config, l.opts.AccountID, l.opts.Region, inv)
	*bp = buf[:0]
	if err == nil {
		_, err = l.spool.Append(buf)
	}
	if err == nil {
		l.m.spooled.Inc()
		l.recent.add(inv, g)
		return nil
	}
	if errors.Is(err, spool.ErrFull) && l.opts.Settings.Spool.OnFull == OnFullReject && inv.ErrorCode == "" {
		l.m.rejected.Inc()
		l.logRefusal()
		return errSpoolFull()
	}
	reason := "error"
	switch {
	case errors.Is(err, spool.ErrFull):
		reason = "spool_full"
	case errors.Is(err, spool.ErrTooLarge):
		reason = "too_large"
	case errors.Is(err, spool.ErrClosed):
		reason = "closed"
	}
	if reason == "spool_full" && l.opts.Settings.Spool.OnFull == OnFullReject {
		// The record of a call that failed (most often one refused because
		// the spool is full): counted apart from the records of served
		// calls, and said once a second, not per call.
		l.m.dropped.WithLabelValues("failed_call_spool_full").Inc()
		if now := l.opts.Now().Unix(); l.lastDropLog.Swap(now) != now {
			l.log.Error("invocation log records of failed calls dropped: the spool is full", "reason", "failed_call_spool_full")
		}
		return nil
	}
	l.m.dropped.WithLabelValues(reason).Inc()
	l.log.Error("invocation log record dropped: it will not be delivered", "request_id", inv.RequestID,
		"operation", inv.Operation, "model_id", inv.ModelID, "reason", reason, "err", err)
	return nil
}

// Admit refuses a call while logging is on, the spool is full and the
// policy is reject: the call could not be recorded, so it is not served.
func (l *Logger) Admit() error {
	if l.opts.Settings.Spool.OnFull != OnFullReject || l.cur.Load().Config == nil || !l.spool.Full() {
		return nil
	}
	l.m.rejected.Inc()
	l.logRefusal()
	return errSpoolFull()
}

// logRefusal says, at most once a second, that calls are being refused.
func (l *Logger) logRefusal() {
	if now := l.opts.Now().Unix(); l.lastRejectLog.Swap(now) != now {
		l.log.Error("refusing calls: invocation logging is on and its spool is full (destination down?)",
			"spool_bytes", l.spool.Stats().Bytes, "max_bytes", l.opts.Settings.Spool.MaxBytes)
	}
}

// errSpoolFull is the refusal of a call the log cannot record.
func errSpoolFull() error {
	return apierror.New(apierror.ServiceUnavailable,
		"The invocation log cannot record this call because its spool is full. The call was not processed. Try again later.")
}

// Config returns the logging configuration in force, or nil when logging
// is off.
func (l *Logger) Config() *LoggingConfig { return l.cur.Load().Config }

// Put validates c (Validate, and ValidateKeys for this account and region),
// checks that every destination of c can be written (as Bedrock does,
// writing a permission-check object or event) and makes c the
// configuration in force. An invalid configuration or a destination that
// cannot be written fails the Put with a *ValidationError. With a
// publisher set (SetPublisher), c is published before it applies here,
// and a failed publication fails the Put with nothing changed.
func (l *Logger) Put(ctx context.Context, c *LoggingConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.validateKeys(l.opts.AccountID, l.opts.Region, l.opts.Replica); err != nil {
		return err
	}
	l.putMu.Lock()
	defer l.putMu.Unlock()
	checkCtx, cancel := context.WithTimeout(ctx, l.opts.Settings.CheckTimeout)
	defer cancel()
	if err := l.check(checkCtx, c); err != nil {
		return err
	}
	if err := l.publishLocked(ctx, c); err != nil {
		return err
	}
	return l.setLocked(c)
}

// setLocked makes c (non-nil) the configuration in force; putMu is held.
func (l *Logger) setLocked(c *LoggingConfig) error {
	// Consumers first, then the generation: a record appended under the
	// new generation must find its destination's consumer registered, and
	// a segment ready to take it.
	for _, d := range destinations(c) {
		l.startDeliverer(d)
	}
	l.prepareSpool()
	g, err := l.store.Set(c, l.opts.Now())
	if err != nil {
		l.releaseLocked()
		return err
	}
	l.cur.Store(&g)
	l.log.Info("invocation logging configured", "generation", g.Number, "destinations", fmt.Sprint(destinations(c)))
	return nil
}

// Delete turns logging off. Records already spooled are still delivered.
func (l *Logger) Delete(ctx context.Context) error {
	l.putMu.Lock()
	defer l.putMu.Unlock()
	if l.cur.Load().Config == nil {
		return nil
	}
	if err := l.publishLocked(ctx, nil); err != nil {
		return err
	}
	return l.offLocked()
}

// offLocked turns logging off; putMu is held.
func (l *Logger) offLocked() error {
	g, err := l.store.Set(nil, l.opts.Now())
	if err != nil {
		return err
	}
	l.cur.Store(&g)
	l.log.Info("invocation logging turned off", "generation", g.Number)
	l.releaseLocked() // or, with records still to deliver, the deliverers' last commit
	return nil
}

// Publisher shares a logging configuration Put or Deleted on this server
// (nil: logging off) with the other replicas of a cluster.
type Publisher func(ctx context.Context, c *LoggingConfig) error

// SetPublisher makes Put and Delete publish the new configuration before
// applying it (nil: no publication, a single node).
func (l *Logger) SetPublisher(p Publisher) { l.publisher.Store(&p) }

func (l *Logger) publishLocked(ctx context.Context, c *LoggingConfig) error {
	p := l.publisher.Load()
	if p == nil || *p == nil {
		return nil
	}
	return (*p)(ctx, c)
}

// Apply makes c (nil: logging off) the configuration in force without
// checking its destinations or publishing it: it is a configuration
// another replica of the cluster put, checked there. Applying the
// configuration already in force does nothing. Like a Put, it starts a new
// generation: records taken from now on go where c says, records taken
// before go where logging pointed when they were.
func (l *Logger) Apply(c *LoggingConfig) error {
	if c != nil {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	l.putMu.Lock()
	defer l.putMu.Unlock()
	if SameConfig(l.cur.Load().Config, c) {
		return nil
	}
	if c == nil {
		return l.offLocked()
	}
	return l.setLocked(c)
}

// SameConfig reports whether a and b are the same configuration (nil:
// logging off).
func SameConfig(a, b *LoggingConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func (l *Logger) check(ctx context.Context, c *LoggingConfig) error {
	for _, s3c := range []*S3Config{c.S3Config, largeData(c)} {
		if s3c == nil {
			continue
		}
		err := l.objects.Put(ctx, s3c.BucketName, PermissionCheckKey(s3c.KeyPrefix), nil, objectstore.Meta{ContentType: "text/plain"})
		if err != nil {
			l.log.Warn("invocation logging destination check failed", "bucket", s3c.BucketName, "store", l.objects.Describe(s3c.BucketName), "err", err)
			return &ValidationError{fmt.Sprintf("Failed to validate permissions for bucket %s, verify the S3 bucket policy", s3c.BucketName)}
		}
	}
	if cw := c.CloudWatchConfig; cw != nil {
		w, err := l.cloudWatch(ctx)
		if err == nil {
			err = w.Check(ctx, cw.LogGroupName, LogStream, PermissionCheckMessage)
		}
		if err != nil {
			l.log.Warn("invocation logging destination check failed", "log_group", cw.LogGroupName, "err", err)
			return &ValidationError{fmt.Sprintf("Failed to validate permissions for log group: %s, with role: %s. Verify the IAM role permissions.", cw.LogGroupName, cw.RoleArn)}
		}
	}
	return nil
}

func largeData(c *LoggingConfig) *S3Config {
	if c == nil || c.CloudWatchConfig == nil {
		return nil
	}
	return c.CloudWatchConfig.LargeDataDeliveryS3Config
}

// largeDataOf returns the largeDataDeliveryS3Config of generation gen.
func (l *Logger) largeDataOf(gen uint32) *S3Config {
	g, _ := l.store.Get(gen)
	return largeData(g.Config)
}

func (l *Logger) cloudWatch(ctx context.Context) (*cwlogs.Writer, error) {
	l.cwOnce.Do(func() {
		if l.opts.CloudWatch != nil {
			l.cw, l.cwErr = l.opts.CloudWatch(ctx)
			return
		}
		client, err := cwlogs.Load(ctx, l.opts.Region)
		if err != nil {
			l.cwErr = err
			return
		}
		l.cw = cwlogs.New(cwlogs.Options{Client: client, Logger: l.log})
	})
	return l.cw, l.cwErr
}

// Stats returns the spool's statistics.
func (l *Logger) Stats() spool.Stats { return l.spool.Stats() }

// Shutdown delivers what is pending (bounded by ctx), then closes the
// spool. What could not be delivered stays in the spool and is delivered at
// the next start.
func (l *Logger) Shutdown(ctx context.Context) error {
	var err error
	l.closeOnce.Do(func() {
		l.drained()
		done := make(chan struct{})
		go func() { l.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			l.cancel()
			<-done
		}
		l.cancel()
		st := l.spool.Stats()
		if st.PendingRecords > 0 {
			l.log.Warn("invocation log records not yet delivered stay in the spool and will be delivered at the next start",
				"records", st.PendingRecords, "oldest", st.Oldest)
		}
		err = l.spool.Close()
	})
	return err
}
