package invocationlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/spool"
)

// A deliverer moves one destination's records from the spool to the
// destination, one batch at a time: read records from its cursor, deliver
// the batch (retrying with backoff for as long as it takes), then commit
// the cursor past it.
//
// Exactly-once for S3 follows from three facts: a batch's object key is
// derived from the destination and the spool position of its first record;
// a batch always starts at the committed cursor; and only one batch is in
// flight. A crash between upload and commit therefore re-uploads a batch
// with the same first record under the same key, replacing the object (the
// replay may hold more records than the original, never records of another
// object). CloudWatch Logs has no idempotent put: there a crash in that
// window can repeat one batch.
type deliverer struct {
	l    *Logger
	d    destination
	name string
	pos  spool.Pos

	gz       *gzip.Writer
	gzBuf    bytes.Buffer
	line     []byte
	compact  bytes.Buffer
	lastSkip time.Time
}

// pending is a record taken into a batch.
type pending struct {
	e   entry
	pos spool.Pos
}

func newDeliverer(l *Logger, d destination, name string, pos spool.Pos) *deliverer {
	dv := &deliverer{l: l, d: d, name: name, pos: pos}
	dv.gz, _ = gzip.NewWriterLevel(&dv.gzBuf, gzip.BestSpeed)
	return dv
}

func (dv *deliverer) run() {
	l := dv.l
	for {
		batch, next, err := dv.collect()
		if len(batch) > 0 {
			if !dv.deliverWithRetry(batch) {
				return // shut down before it could be delivered: it stays in the spool
			}
		}
		if next != dv.pos {
			dv.commit(next, len(batch) > 0)
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

// commit persists the cursor. Progress over records for other destinations
// only is committed at most once a second.
func (dv *deliverer) commit(next spool.Pos, delivered bool) {
	now := dv.l.opts.Now()
	if !delivered && now.Sub(dv.lastSkip) < time.Second {
		dv.pos = next
		return
	}
	dv.lastSkip = now
	if err := dv.l.spool.Commit(dv.name, next, nil); err != nil {
		dv.l.log.Error("cannot commit spool cursor; records may be delivered again after a restart", "destination", dv.d.String(), "err", err)
	}
	dv.pos = next
}

// collect reads the next batch: records for this destination, from one UTC
// hour, closed by count, size or the flush interval. It returns the
// position after the last record it consumed (which may be past records for
// other destinations). err is non-nil when the deliverer should stop after
// delivering the batch: Shutdown found it caught up, or the spool closed.
func (dv *deliverer) collect() ([]pending, spool.Pos, error) {
	l := dv.l
	s := l.opts.Settings
	var (
		batch    []pending
		size     int
		deadline time.Time
		pos      = dv.pos
	)
	for {
		ctx, cancel := dv.readContext(batch, deadline, pos)
		entries, err := l.spool.Read(ctx, pos, s.MaxBatchRecords-len(batch), s.MaxBatchBytes)
		cancel()
		if err != nil {
			switch {
			case errors.Is(err, spool.ErrClosed), l.ctx.Err() != nil:
				return batch, pos, err
			case dv.draining():
				if len(batch) > 0 {
					return batch, pos, nil
				}
				if pos == l.spool.End() || !pos.Less(l.spool.End()) {
					return nil, pos, errDrained
				}
				continue
			case len(batch) > 0:
				return batch, pos, nil // flush interval reached
			}
			if pos != dv.pos {
				return nil, pos, nil // commit skipped records
			}
			continue
		}
		for _, en := range entries {
			e, derr := decodeEntry(en.Data)
			if derr != nil {
				l.log.Error("skipping malformed spool entry", "destination", dv.d.String(), "pos", en.Pos.String())
				pos = en.Next
				continue
			}
			g, ok := l.store.Get(e.gen)
			if !ok || !dv.d.wants(g.Config) {
				pos = en.Next
				continue
			}
			if len(batch) > 0 && !sameHour(batch[0].e.time, e.time) {
				return batch, pos, nil
			}
			if len(batch) == 0 {
				deadline = l.opts.Now().Add(s.FlushInterval)
			}
			batch = append(batch, pending{e: e, pos: en.Pos})
			size += len(en.Data)
			pos = en.Next
			if len(batch) >= s.MaxBatchRecords || size >= s.MaxBatchBytes {
				return batch, pos, nil
			}
		}
	}
}

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

// deliverWithRetry delivers batch until it succeeds; it returns false if
// the Logger shut down first.
func (dv *deliverer) deliverWithRetry(batch []pending) bool {
	l := dv.l
	s := l.opts.Settings
	backoff := s.RetryMin
	for attempt := 1; ; attempt++ {
		err := dv.deliver(batch)
		if err == nil {
			l.m.batches.WithLabelValues(dv.d.Kind, "success").Inc()
			l.m.delivered.WithLabelValues(dv.d.Kind, "success").Add(float64(len(batch)))
			if attempt > 1 {
				l.log.Info("invocation log delivery recovered", "destination", dv.d.String(), "attempts", attempt, "records", len(batch))
			}
			return true
		}
		l.m.batches.WithLabelValues(dv.d.Kind, "failure").Inc()
		l.m.delivered.WithLabelValues(dv.d.Kind, "failure").Add(float64(len(batch)))
		if l.ctx.Err() != nil {
			return false
		}
		l.log.Error("invocation log records could not be delivered; they stay in the spool and are retried",
			"destination", dv.d.String(), "records", len(batch), "first_request_id", batch[0].e.requestID,
			"attempt", attempt, "retry_in", backoff.String(), "err", err)
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(backoff*2, s.RetryMax)
	}
}

func (dv *deliverer) deliver(batch []pending) error {
	if dv.d.Kind == destCloudWatch {
		return dv.deliverCloudWatch(batch)
	}
	return dv.deliverS3(batch)
}

// batchID names a batch after its destination and first record.
func (dv *deliverer) batchID(first spool.Pos) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], first.Seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(first.Off))
	h := sha256.Sum256(append([]byte(dv.name), b[:]...))
	return hex.EncodeToString(h[:10])
}

func (dv *deliverer) deliverS3(batch []pending) error {
	l := dv.l
	logs := LogsPrefix(dv.d.Prefix, l.opts.AccountID, l.opts.Region)
	dv.gzBuf.Reset()
	dv.gz.Reset(&dv.gzBuf)
	for i := range batch {
		e := &batch[i].e
		in, err := dv.body(e, e.in, "input", dv.d.Bucket, logs)
		if err != nil {
			return err
		}
		in = bodyRef{json: append([]byte(nil), in.json...), s3Path: in.s3Path}
		out, err := dv.body(e, e.out, "output", dv.d.Bucket, logs)
		if err != nil {
			return err
		}
		dv.line = appendRecord(dv.line[:0], e, in, out)
		dv.line = append(dv.line, '\n')
		if _, err := dv.gz.Write(dv.line); err != nil {
			return err
		}
	}
	if err := dv.gz.Close(); err != nil {
		return err
	}
	key := BatchKey(logs, batch[0].e.time, dv.batchID(batch[0].pos))
	return l.objects.Put(l.ctx, dv.d.Bucket, key, dv.gzBuf.Bytes(), objectstore.Meta{ContentType: "application/x-gzip"})
}

// body returns how body appears in the record: inline compact JSON, or,
// above LargeBodyBytes, the path of the object it was written to in bucket
// (nil bucket: left out).
func (dv *deliverer) body(e *entry, body []byte, part, bucket, logs string) (bodyRef, error) {
	js := compactBody(&dv.compact, body)
	if len(js) <= LargeBodyBytes {
		return bodyRef{json: js}, nil
	}
	l := dv.l
	if bucket == "" {
		l.m.omitted.WithLabelValues(dv.d.Kind).Inc()
		return bodyRef{}, nil
	}
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
	_, _ = zw.Write(js)
	_ = zw.Close()
	key := DataKey(logs, e.time, e.requestID, part)
	if err := l.objects.Put(l.ctx, bucket, key, zb.Bytes(), objectstore.Meta{ContentType: "application/x-gzip"}); err != nil {
		l.m.delivered.WithLabelValues(destLargeData, "failure").Inc()
		return bodyRef{}, err
	}
	l.m.delivered.WithLabelValues(destLargeData, "success").Inc()
	return bodyRef{s3Path: "s3://" + bucket + "/" + key}, nil
}

func (dv *deliverer) deliverCloudWatch(batch []pending) error {
	l := dv.l
	w, err := l.cloudWatch(l.ctx)
	if err != nil {
		return err
	}
	events := make([]cwlogs.Event, 0, len(batch))
	for i := range batch {
		e := &batch[i].e
		var bucket, logs string
		if g, ok := l.store.Get(e.gen); ok {
			if ld := largeData(g.Config); ld != nil {
				bucket, logs = ld.BucketName, LogsPrefix(ld.KeyPrefix, l.opts.AccountID, l.opts.Region)
			}
		}
		in, err := dv.body(e, e.in, "input", bucket, logs)
		if err != nil {
			return err
		}
		in = bodyRef{json: append([]byte(nil), in.json...), s3Path: in.s3Path}
		out, err := dv.body(e, e.out, "output", bucket, logs)
		if err != nil {
			return err
		}
		dv.line = appendRecord(dv.line[:0], e, in, out)
		events = append(events, cwlogs.Event{Timestamp: e.time, Message: string(dv.line)})
	}
	return w.Put(l.ctx, dv.d.LogGroup, LogStream, events)
}
