package invocationlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/spool"
)

// permanentAttempts is how many consecutive attempts of a batch must fail
// with a permanent error (see objectstore.Classify and cwlogs.Classify)
// before its records are kept as undeliverable: the retries in between
// (RetryMin, then doubling: 0.5 s, 1 s, 2 s with the defaults) ride out
// IAM's and S3's eventual consistency right after a policy or bucket
// change. Once a destination has had a batch kept, its next permanent
// failure is kept at the first attempt, until a batch succeeds again.
const permanentAttempts = 4

// batchIDBytes is the length of a batch ID before hex encoding.
const batchIDBytes = 10

// A deliverer moves one destination's records from the spool to the
// destination, one batch at a time: read records from its cursor, deliver
// the batch (retrying with backoff for as long as the failure is
// retryable), then commit the cursor past it.
//
// A batch that fails permanently does not hold the cursor: after
// permanentAttempts its records are kept in UndeliverableDir, counted,
// logged, and the cursor moves on, so that a poison destination pins
// neither the spool nor the other destinations nor a newer configuration.
// Records of a configuration generation that logging/config.json no
// longer holds are kept there too (reason unknown_generation).
//
// Exactly-once for S3 follows from three facts: a batch's object key is
// derived from the destination and the spool position of its first record;
// a batch always starts at the committed cursor; and only one batch is in
// flight. A crash between upload and commit therefore re-uploads a batch
// with the same first record under the same key, replacing the object (the
// replay may hold more records than the original, never records of another
// object). The same holds for a batch kept as undeliverable (its file is
// named after the same ID) and for its redelivery, which reuses the key.
// CloudWatch Logs has no idempotent put: there a crash in that window can
// repeat one batch.
type deliverer struct {
	l     *Logger
	d     destination
	name  string
	state []byte // d as JSON: the consumer's state, kept with every commit
	pos   spool.Pos
	snd   *sender

	// Reused from batch to batch: the entries of one spool read, the
	// payloads of the batch's records (which the pending records' slices
	// alias), and the pending records themselves.
	ents           []spool.Entry
	buf            []byte
	batch, unknown []pending
	// read is how many payload bytes the current (or last) batch read.
	read int

	lastSkip time.Time
	// failing: the last batch was kept as undeliverable.
	failing bool
	// settled: a batch was delivered or kept since start (see forgetKept).
	settled bool
}

// pending is a record taken into a batch.
type pending struct {
	e   entry
	pos spool.Pos
	raw []byte // the spool entry e was decoded from
}

func newDeliverer(l *Logger, d destination, name string, pos spool.Pos) *deliverer {
	st, _ := json.Marshal(d)
	return &deliverer{l: l, d: d, name: name, state: st, pos: pos, snd: newSender(l.objects, l.cloudWatch, l.m, l.opts.AccountID, l.opts.Region, l.largeDataOf)}
}

func (dv *deliverer) run() {
	l := dv.l
	for {
		batch, unknown, next, err := dv.collect()
		if len(batch) > 0 && !dv.deliverWithRetry(batch) {
			return // shut down before it could be delivered: it stays in the spool
		}
		if len(unknown) > 0 && !dv.keepUnknown(unknown) {
			return
		}
		if next != dv.pos {
			dv.commit(next, len(batch) > 0 || len(unknown) > 0)
		}
		if cap(batch) > 0 { // done with them: reused by the next collect
			dv.batch = batch[:0]
		}
		if cap(unknown) > 0 {
			dv.unknown = unknown[:0]
		}
		if err != nil {
			return
		}
		select {
		case <-l.ctx.Done():
			return
		default:
		}
	}
}

// commit persists the cursor, with the destination as its state (so that a
// restart can resume a past destination). Progress over records for other
// destinations only is committed at most once a second.
func (dv *deliverer) commit(next spool.Pos, delivered bool) {
	now := dv.l.opts.Now()
	if !delivered && now.Sub(dv.lastSkip) < time.Second {
		dv.pos = next
		return
	}
	dv.lastSkip = now
	if err := dv.l.spool.Commit(dv.name, next, dv.state); err != nil {
		dv.l.log.Error("cannot commit spool cursor; records may be delivered again after a restart", "destination", dv.d.String(), "err", err)
	}
	dv.pos = next
	dv.l.releaseIfIdle()
}

// collect reads the next batch: records for this destination, from one UTC
// hour, closed by count, size or the flush interval; and the records whose
// generation is unknown. It returns the position after the last record it
// consumed (which may be past records for other destinations). err is
// non-nil when the deliverer should stop after delivering the batch:
// Shutdown found it caught up, or the spool closed.
func (dv *deliverer) collect() (batch, unknown []pending, next spool.Pos, err error) {
	l := dv.l
	s := l.opts.Settings
	var (
		size     int
		deadline time.Time
		pos      = dv.pos
	)
	batch, unknown = dv.batch[:0], dv.unknown[:0]
	// The previous batch is done with: its payloads' buffer is reused,
	// unless it grew for a burst far larger than what the last batch read.
	if dv.read < cap(dv.buf)/4 && cap(dv.buf) > minReadBuffer {
		// What still points into it goes too, or it would stay reachable.
		clear(dv.ents[:cap(dv.ents)])
		clear(dv.batch[:cap(dv.batch)])
		clear(dv.unknown[:cap(dv.unknown)])
		dv.buf = nil
	}
	if dv.buf == nil {
		dv.buf = make([]byte, 0, minReadBuffer)
	}
	dv.buf, dv.read = dv.buf[:0], 0
	for {
		ctx, cancel := dv.readContext(batch, deadline, pos)
		var err error
		dv.ents, dv.buf, err = l.spool.ReadInto(ctx, pos, s.MaxBatchRecords-len(batch), s.MaxBatchBytes, dv.ents[:0], dv.buf)
		entries := dv.ents
		cancel()
		if err != nil {
			switch {
			case errors.Is(err, spool.ErrClosed), l.ctx.Err() != nil:
				return batch, unknown, pos, err
			case dv.draining():
				if len(batch) > 0 || len(unknown) > 0 {
					return batch, unknown, pos, nil
				}
				if pos == l.spool.End() || !pos.Less(l.spool.End()) {
					return nil, nil, pos, errDrained
				}
				continue
			case len(batch) > 0:
				return batch, unknown, pos, nil // flush interval reached
			}
			if pos != dv.pos {
				return nil, unknown, pos, nil // commit skipped records
			}
			continue
		}
		for _, en := range entries {
			dv.read += len(en.Data)
			e, derr := decodeEntry(en.Data)
			if derr != nil {
				l.log.Error("skipping malformed spool entry", "destination", dv.d.String(), "pos", en.Pos.String())
				pos = en.Next
				continue
			}
			g, ok := l.store.Get(e.gen)
			if !ok {
				unknown = append(unknown, pending{e: e, pos: en.Pos, raw: en.Data})
				pos = en.Next
				if len(unknown) >= s.MaxBatchRecords {
					return batch, unknown, pos, nil
				}
				continue
			}
			if !dv.d.wants(g.Config) {
				pos = en.Next
				continue
			}
			if len(batch) > 0 && !sameHour(batch[0].e.time, e.time) {
				return batch, unknown, pos, nil
			}
			if len(batch) == 0 {
				deadline = l.opts.Now().Add(s.FlushInterval)
			}
			batch = append(batch, pending{e: e, pos: en.Pos, raw: en.Data})
			size += len(en.Data)
			pos = en.Next
			if len(batch) >= s.MaxBatchRecords || size >= s.MaxBatchBytes {
				return batch, unknown, pos, nil
			}
		}
	}
}

// minReadBuffer is the initial size of a deliverer's read buffer.
const minReadBuffer = 64 << 10

var errDrained = errors.New("drained")

func (dv *deliverer) draining() bool { return dv.l.drain.Err() != nil }

// readContext bounds a spool read: by the batch's flush deadline, by a
// second when records for other destinations were skipped (so the cursor
// moves on), and, once Shutdown began, to a short poll.
func (dv *deliverer) readContext(batch []pending, deadline time.Time, pos spool.Pos) (context.Context, context.CancelFunc) {
	l := dv.l
	if dv.draining() {
		return context.WithTimeout(l.ctx, 20*time.Millisecond)
	}
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	switch {
	case len(batch) > 0:
		ctx, cancel = context.WithDeadline(l.ctx, deadline)
	case pos != dv.pos:
		ctx, cancel = context.WithTimeout(l.ctx, time.Second)
	default:
		ctx, cancel = context.WithCancel(l.ctx)
	}
	// A deliverer waiting for records notices Shutdown at once.
	stop := context.AfterFunc(l.drain, cancel)
	return ctx, func() { stop(); cancel() }
}

func sameHour(a, b time.Time) bool { return a.Truncate(time.Hour).Equal(b.Truncate(time.Hour)) }

// deliverWithRetry delivers batch, retrying retryable failures for as long
// as they last, or keeps its records as undeliverable once the failure is
// found permanent; it returns false if the Logger shut down first.
func (dv *deliverer) deliverWithRetry(batch []pending) bool {
	l := dv.l
	s := l.opts.Settings
	backoff := s.RetryMin
	id := batchID(dv.name, batch[0].pos)
	if l.opts.Replica != "" {
		id = l.opts.Replica + "-" + id
	}
	permanentRun := 0
	for attempt := 1; ; attempt++ {
		f := dv.snd.send(l.ctx, dv.d, id, batch)
		if f == nil {
			l.m.batches.WithLabelValues(dv.d.Kind, "success").Inc()
			l.m.delivered.WithLabelValues(dv.d.Kind, "success").Add(float64(len(batch)))
			if attempt > 1 || dv.failing {
				l.log.Info("invocation log delivery recovered", "destination", dv.d.String(), "attempts", attempt, "records", len(batch))
			}
			dv.failing = false
			if !dv.settled {
				dv.forgetKept(batch[0], id)
			}
			dv.settled = true
			return true
		}
		l.m.batches.WithLabelValues(dv.d.Kind, "failure").Inc()
		if f.partial != nil {
			l.m.delivered.WithLabelValues(dv.d.Kind, "success").Add(float64(len(batch) - len(f.partial)))
			l.m.delivered.WithLabelValues(dv.d.Kind, "failure").Add(float64(len(f.partial)))
		} else {
			l.m.delivered.WithLabelValues(dv.d.Kind, "failure").Add(float64(len(batch)))
		}
		if l.ctx.Err() != nil {
			return false
		}
		if f.permanent {
			permanentRun++
		} else {
			permanentRun = 0
		}
		// Retrying a batch that was delivered in part would repeat that
		// part; a destination already failing need not be waited for.
		if f.permanent && (f.partial != nil || dv.failing || permanentRun >= permanentAttempts) {
			err := dv.keepFailed(batch, id, f)
			if err == nil {
				dv.failing, dv.settled = true, true
				return true
			}
			l.log.Error("invocation log records refused by their destination cannot be kept either; they stay in the spool and are retried",
				"destination", dv.d.String(), "records", len(batch), "first_request_id", batch[0].e.requestID, "err", err)
		} else {
			l.log.Error("invocation log records could not be delivered; they stay in the spool and are retried",
				"destination", dv.d.String(), "records", len(batch), "first_request_id", batch[0].e.requestID,
				"attempt", attempt, "error_code", f.code, "permanent", f.permanent, "retry_in", backoff.String(), "err", f.err)
		}
		if !dv.sleep(backoff) {
			return false
		}
		backoff = min(backoff*2, s.RetryMax)
	}
}

// sleep waits about d (jittered into [d/2, d]); false if the Logger shut
// down meanwhile.
func (dv *deliverer) sleep(d time.Duration) bool {
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-dv.l.ctx.Done():
		return false
	}
}

// keepFailed keeps the records of batch that f says were not delivered,
// one file per reason, and counts and logs each file once.
func (dv *deliverer) keepFailed(batch []pending, id string, f *failure) error {
	l := dv.l
	groups := map[string][]pending{}
	if f.partial == nil {
		groups[f.code] = batch
	} else {
		for i, r := range batch {
			if reason, ok := f.partial[i]; ok {
				groups[reason] = append(groups[reason], r)
			}
		}
	}
	reasons := make([]string, 0, len(groups))
	for r := range groups {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		recs := groups[reason]
		h := keptHeader{
			Destination: &dv.d, Consumer: dv.name, Reason: reason, Error: f.err.Error(),
			KeptAt: l.opts.Now().UTC(), AccountID: l.opts.AccountID, Region: l.opts.Region,
		}
		if dv.d.Kind == destCloudWatch {
			h.LargeData = map[uint32]*S3Config{}
			for _, r := range recs {
				h.LargeData[r.e.gen] = l.largeDataOf(r.e.gen)
			}
		}
		name := keptBatchName(dv.name, batch[0].e.time, id, reason)
		added, err := l.keep(name, h, recs)
		if err != nil {
			return err
		}
		if added == 0 {
			continue // kept before a restart
		}
		l.m.undeliverable.WithLabelValues(dv.d.Kind, reason).Add(float64(added))
		l.log.Error("invocation log records refused permanently by their destination are kept for `modelwatch logs redeliver`; delivery moves on",
			"destination", dv.d.String(), "error_code", reason, "records", added, "first_request_id", recs[0].e.requestID,
			"file", filepath.Join(l.kept.dir, name), "err", f.err)
	}
	return nil
}

// keepUnknown keeps records whose configuration generation is unknown, one
// file per spool segment, retrying until it succeeds; false if the Logger
// shut down first. Every deliverer meets these records; the first keeps
// them and counts them, the others find them kept.
func (dv *deliverer) keepUnknown(recs []pending) bool {
	l := dv.l
	backoff := l.opts.Settings.RetryMin
	for {
		err := dv.keepUnknownOnce(recs)
		if err == nil {
			return true
		}
		l.log.Error("cannot keep invocation log records of an unknown configuration generation; retrying",
			"records", len(recs), "first_request_id", recs[0].e.requestID, "err", err)
		if !dv.sleep(backoff) {
			return false
		}
		backoff = min(backoff*2, l.opts.Settings.RetryMax)
	}
}

func (dv *deliverer) keepUnknownOnce(recs []pending) error {
	l := dv.l
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].pos.Seg == recs[start].pos.Seg {
			end++
		}
		seg := recs[start:end]
		start = end
		var gens []uint32
		for _, r := range seg {
			if !slices.Contains(gens, r.e.gen) {
				gens = append(gens, r.e.gen)
			}
		}
		h := keptHeader{
			Reason: reasonUnknownGeneration, KeptAt: l.opts.Now().UTC(), AccountID: l.opts.AccountID, Region: l.opts.Region,
			Error: fmt.Sprintf("configuration generation %v is not in %s", gens, ConfigFile),
		}
		name := keptUnknownName(seg[0].pos.Seg)
		added, err := l.keep(name, h, seg)
		if err != nil {
			return err
		}
		if added > 0 {
			l.m.undeliverable.WithLabelValues(destUnknown, reasonUnknownGeneration).Add(float64(added))
			l.log.Error("invocation log records name a configuration generation that "+ConfigFile+" does not hold, so their destination is unknown; they are kept for `modelwatch logs redeliver --bucket`",
				"generations", fmt.Sprint(gens), "records", added, "first_request_id", seg[0].e.requestID, "file", filepath.Join(l.kept.dir, name))
		}
	}
	return nil
}

// forgetKept removes what an earlier run kept of the batch that starts at
// first: it crashed between keeping the batch and committing the cursor,
// and the batch has now been delivered under the same key, which a
// redelivery of the kept subset would overwrite. Only the first batch after
// start can be such a batch.
func (dv *deliverer) forgetKept(first pending, id string) {
	l := dv.l
	stale, _ := filepath.Glob(filepath.Join(l.kept.dir, keptBatchStem(dv.name, first.e.time, id)+"*"+keptSuffix))
	if len(stale) == 0 {
		return
	}
	unlock, err := l.kept.lock(l.ctx)
	if err != nil {
		return
	}
	defer unlock()
	for _, p := range stale {
		if err := l.kept.remove(filepath.Base(p)); err == nil {
			l.log.Info("removed kept invocation log records that have now been delivered", "file", p)
		}
	}
}

// batchID names a batch after its destination's consumer and first record.
func batchID(consumer string, first spool.Pos) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], first.Seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(first.Off))
	h := sha256.Sum256(append([]byte(consumer), b[:]...))
	return hex.EncodeToString(h[:batchIDBytes])
}

// sender renders batches of spool entries as Bedrock delivers them and
// writes them to a destination; deliverers and Redeliver share it.
type sender struct {
	objects    objectstore.Store
	cloudWatch func(context.Context) (*cwlogs.Writer, error)
	accountID  string
	region     string
	// largeData returns the largeDataDeliveryS3Config of a generation.
	largeData func(gen uint32) *S3Config
	m         *metrics

	// line is the record being rendered, reused from record to record.
	line []byte
}

// maxKeptLine bounds the record buffer a sender keeps between batches: a
// larger one (a huge body inlined for CloudWatch Logs, or compacted before
// it was offloaded) is left to the garbage collector.
const maxKeptLine = 1 << 20

// gzipBuffer is a gzip writer (BestSpeed) and the buffer it writes to.
// A writer's compression state is about a megabyte: pooled, batches and
// offloaded bodies reuse them instead of allocating one per object, and a
// destination with nothing to deliver holds none.
type gzipBuffer struct {
	w   *gzip.Writer
	buf bytes.Buffer
}

var gzipPool = sync.Pool{New: func() any {
	g := &gzipBuffer{}
	g.w, _ = gzip.NewWriterLevel(&g.buf, gzip.BestSpeed)
	return g
}}

// getGzip returns a pooled gzip writer, reset, writing to its empty buffer.
func getGzip() *gzipBuffer {
	g := gzipPool.Get().(*gzipBuffer)
	g.buf.Reset()
	g.w.Reset(&g.buf)
	return g
}

func putGzip(g *gzipBuffer) { gzipPool.Put(g) }

// failure is a failed delivery attempt, classified.
type failure struct {
	err       error
	code      string
	permanent bool
	// partial maps the indexes of the records that were not delivered to
	// why, when the others were (CloudWatch Logs stores a batch's events
	// call by call, and refuses some events alone); nil when nothing was.
	partial map[int]string
}

func storeFailure(err error) *failure {
	code, permanent := objectstore.Classify(err)
	return &failure{err: err, code: code, permanent: permanent}
}

// cloudWatchFailure classifies what cwlogs.Writer.Put returned.
func cloudWatchFailure(err error) *failure {
	f := &failure{err: err}
	var ue *cwlogs.UndeliveredError
	var re *cwlogs.RejectedError
	hasUE, hasRE := errors.As(err, &ue), errors.As(err, &re)
	if !hasUE {
		if !hasRE {
			f.code, f.permanent = cwlogs.Classify(err)
			return f
		}
		f.code = string(re.Rejections[0].Reason)
	} else {
		f.code, f.permanent = cwlogs.Classify(ue.Err)
		if !f.permanent || (!hasRE && len(ue.Indexes) == ue.Total) {
			return f // retried whole, or (permanent) nothing was delivered
		}
	}
	f.permanent = true
	f.partial = map[int]string{}
	if hasRE {
		for _, r := range re.Rejections {
			f.partial[r.Index] = string(r.Reason)
		}
	}
	if hasUE {
		for _, i := range ue.Indexes {
			f.partial[i] = f.code
		}
	}
	return f
}

func newSender(objects objectstore.Store, cloudWatch func(context.Context) (*cwlogs.Writer, error), m *metrics,
	accountID, region string, largeData func(gen uint32) *S3Config) *sender {
	return &sender{objects: objects, cloudWatch: cloudWatch, m: m, accountID: accountID, region: region, largeData: largeData}
}

// send delivers batch to d; id names the batch (its S3 key).
func (s *sender) send(ctx context.Context, d destination, id string, batch []pending) *failure {
	defer func() {
		if cap(s.line) > maxKeptLine {
			s.line = nil
		}
	}()
	if d.Kind == destCloudWatch {
		return s.sendCloudWatch(ctx, d, batch)
	}
	return s.sendS3(ctx, d, id, batch)
}

func (s *sender) sendS3(ctx context.Context, d destination, id string, batch []pending) *failure {
	logs := LogsPrefix(d.Prefix, s.accountID, s.region)
	o := offload{ctx: ctx, s: s, kind: d.Kind, bucket: d.Bucket, logs: logs}
	gz := getGzip()
	defer putGzip(gz)
	for i := range batch {
		var err error
		if s.line, err = appendRecord(s.line[:0], &batch[i].e, o); err != nil {
			return storeFailure(err)
		}
		s.line = append(s.line, '\n')
		if _, err := gz.w.Write(s.line); err != nil {
			return storeFailure(err)
		}
	}
	if err := gz.w.Close(); err != nil {
		return storeFailure(err)
	}
	key := BatchKey(logs, batch[0].e.time, id)
	if err := s.objects.Put(ctx, d.Bucket, key, gz.buf.Bytes(), objectstore.Meta{ContentType: "application/x-gzip"}); err != nil {
		return storeFailure(err)
	}
	return nil
}

// offload writes the compact JSON js of a body over LargeBodyBytes to its
// own gzip object in o.bucket and returns its s3:// path; without a
// bucket the body is left out ("") and counted.
func (s *sender) offload(o offload, e *entry, part string, js []byte) (string, error) {
	if o.bucket == "" {
		s.m.omitted.WithLabelValues(o.kind).Inc()
		return "", nil
	}
	gz := getGzip()
	defer putGzip(gz)
	_, _ = gz.w.Write(js)
	_ = gz.w.Close()
	key := DataKey(o.logs, e.time, e.requestID, part)
	if err := s.objects.Put(o.ctx, o.bucket, key, gz.buf.Bytes(), objectstore.Meta{ContentType: "application/x-gzip"}); err != nil {
		s.m.delivered.WithLabelValues(destLargeData, "failure").Inc()
		return "", err
	}
	s.m.delivered.WithLabelValues(destLargeData, "success").Inc()
	return "s3://" + o.bucket + "/" + key, nil
}

func (s *sender) sendCloudWatch(ctx context.Context, d destination, batch []pending) *failure {
	w, err := s.cloudWatch(ctx)
	if err != nil {
		return &failure{err: err, code: "cloudwatch_client"}
	}
	events := make([]cwlogs.Event, 0, len(batch))
	for i := range batch {
		e := &batch[i].e
		o := offload{ctx: ctx, s: s, kind: d.Kind}
		if ld := s.largeData(e.gen); ld != nil {
			o.bucket, o.logs = ld.BucketName, LogsPrefix(ld.KeyPrefix, s.accountID, s.region)
		}
		if s.line, err = appendRecord(s.line[:0], e, o); err != nil {
			return storeFailure(err)
		}
		events = append(events, cwlogs.Event{Timestamp: e.time, Message: string(s.line)})
	}
	if err := w.Put(ctx, d.LogGroup, LogStream, events); err != nil {
		return cloudWatchFailure(err)
	}
	return nil
}
