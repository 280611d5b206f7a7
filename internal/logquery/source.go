package logquery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// Source is where one account's and region's invocation logs were
// delivered.
type Source struct {
	// Store holds the bucket (S3, or a local directory).
	Store objectstore.Store
	// Bucket is the destination bucket of the logging configuration.
	Bucket string
	// LogsPrefix is invocationlog.LogsPrefix(keyPrefix, account, region):
	// the folder that holds the yyyy/mm/dd/hh/ hour folders.
	LogsPrefix string
	// Warn, when set, receives every *SkipError as it happens. When nil,
	// Query and Tail join them into the error they return at the end.
	Warn func(error)
	// Now is the clock Tail starts from; nil means time.Now.
	Now func() time.Time
}

// Stop, returned by the callback of Query or Tail, ends it early without an
// error.
var Stop = errors.New("logquery: stop")

// SkipError is a batch object, or a line of one, that could not be read and
// was skipped.
type SkipError struct {
	Bucket, Key string
	// Line is the 1-based line of the decompressed object, 0 for the
	// object as a whole.
	Line int
	Err  error
}

// Error names the object (and line) and the reason.
func (e *SkipError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("skipped s3://%s/%s line %d: %v", e.Bucket, e.Key, e.Line, e.Err)
	}
	return fmt.Sprintf("skipped s3://%s/%s: %v", e.Bucket, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *SkipError) Unwrap() error { return e.Err }

// TailLookback is how far back Tail keeps looking for batch objects that
// are delivered late: a delayed upload (a retried delivery, a spool drained
// after an outage) lands in the hour folder of its records, possibly behind
// keys Tail has already seen. Objects whose hour folder is older than this
// when they appear are missed.
const TailLookback = 3 * time.Hour

// hourLayout is how a batch key names its hour below LogsPrefix.
const hourLayout = "2006/01/02/15"

// batchHour returns the UTC hour of a batch object key, and false for keys
// that are not batch objects: offloaded bodies (…/hh/data/…), the
// permission-check object, anything else.
func (s Source) batchHour(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, s.LogsPrefix)
	if !ok || !strings.HasSuffix(rest, ".json.gz") {
		return time.Time{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || parts[4] == ".json.gz" {
		return time.Time{}, false
	}
	h, err := time.Parse(hourLayout, strings.Join(parts[:4], "/"))
	if err != nil {
		return time.Time{}, false
	}
	return h, true
}

// startAfter returns the listing position just before the hour folder of t
// (every key of that hour and later hours sorts after it).
func (s Source) startAfter(t time.Time) string {
	return strings.TrimSuffix(invocationlog.HourPrefix(s.LogsPrefix, t), "/")
}

// problems collects skipped objects for a Source without Warn.
type problems struct {
	warn func(error)
	errs []error
}

func (s Source) newProblems() *problems {
	return &problems{warn: s.Warn}
}

func (p *problems) add(err error) {
	if p.warn != nil {
		p.warn(err)
		return
	}
	p.errs = append(p.errs, err)
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// errEndList ends a listing from inside its callback.
var errEndList = errors.New("end of listing")

// Query calls fn, in key order (time order), for every record of the batch
// objects under LogsPrefix that f matches, with the record's line exactly
// as stored (without its newline) and the record decoded. Only hour folders
// that f's Since and Until can match are read. fn may keep raw but must not
// modify it; r is fresh for every call.
//
// An object or line that cannot be read is skipped (see SkipError and
// Warn); Query goes on with the rest. An error from listing or from fn ends
// the query and is returned (Stop: nil). Without Warn, the skipped objects
// are returned joined after the query completes.
func (s Source) Query(ctx context.Context, f Filter, fn func(raw []byte, r *invocationlog.Record) error) error {
	p := s.newProblems()
	after := ""
	if !f.Since.IsZero() {
		after = s.startAfter(f.Since)
	}
	var fnErr error
	err := s.Store.List(ctx, s.Bucket, s.LogsPrefix, after, func(o objectstore.Object) error {
		h, ok := s.batchHour(o.Key)
		if !ok {
			return nil
		}
		if !f.Until.IsZero() && !h.Before(f.Until) {
			return errEndList // every later key is in a later hour
		}
		if !f.hourInRange(h) {
			return nil
		}
		if _, err := s.read(ctx, o.Key, f, fn, p); err != nil {
			fnErr = err
			return errEndList
		}
		return nil
	})
	switch {
	case fnErr != nil:
		err = fnErr
	case errors.Is(err, errEndList):
		err = nil
	}
	if errors.Is(err, Stop) {
		err = nil
	}
	if err != nil {
		return err
	}
	return p.err()
}

// read reads one batch object and calls fn for its matching records. It
// returns whether the object was read (false: Get failed, reported to p) and
// the error of fn or of ctx, which end the caller's work.
func (s Source) read(ctx context.Context, key string, f Filter, fn func([]byte, *invocationlog.Record) error, p *problems) (bool, error) {
	b, err := s.Store.Get(ctx, s.Bucket, key)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		p.add(&SkipError{Bucket: s.Bucket, Key: key, Err: err})
		return false, nil
	}
	data, err := decompress(b)
	if err != nil {
		// Keep the complete lines before the damage.
		p.add(&SkipError{Bucket: s.Bucket, Key: key, Err: err})
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		} else {
			data = nil
		}
	}
	line := 0
	for len(data) > 0 {
		line++
		raw := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		r := new(invocationlog.Record)
		if err := json.Unmarshal(raw, r); err != nil {
			p.add(&SkipError{Bucket: s.Bucket, Key: key, Line: line, Err: err})
			continue
		}
		if !f.Match(r) {
			continue
		}
		if err := fn(raw, r); err != nil {
			return true, err
		}
	}
	return true, ctx.Err()
}

// decompress gunzips b (all members of a multi-member stream). Bytes that
// do not start with the gzip magic number are returned as they are, so a
// store or proxy that already decoded the object still works. On error it
// returns what was decoded before the damage.
func decompress(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return data, fmt.Errorf("gzip: %w", err)
	}
	return data, nil
}

// Tail follows the log: it calls fn, like Query, for the matching records
// of every batch object that is delivered after Tail starts, polling the
// store every poll (at most 1s when poll is not positive), until ctx ends
// (nil) or fn returns an error (returned; Stop: nil).
//
// With f.Since set, Tail first reads the objects already there from Since
// on, then follows. Every new object is read whole, whatever its records'
// times (a late delivery of older calls shows up when it lands); only
// f.Since and f.Until, when set, hold records back by time.
//
// Each poll lists the hour folders of the last TailLookback and reads the
// objects not seen before, so a delayed upload whose key sorts before keys
// already read is still picked up, exactly once. An object that cannot be
// fetched is retried at the next poll; one that cannot be decoded is
// skipped (SkipError). A listing that fails after the first is reported as
// a warning and retried; the first listing's error is returned. Without
// Warn, the skipped objects are returned joined when Tail ends.
func (s Source) Tail(ctx context.Context, f Filter, poll time.Duration, fn func(raw []byte, r *invocationlog.Record) error) error {
	if poll <= 0 {
		poll = time.Second
	}
	p := s.newProblems()
	t := &tailer{s: s, f: f, fn: fn, p: p, seen: map[string]time.Time{}, failed: map[string]bool{}}
	from := s.now().Add(-TailLookback)
	emit := !f.Since.IsZero()
	if emit && f.Since.Before(from) {
		from = f.Since
	}
	if err := t.scan(ctx, from, emit); err != nil {
		if ctx.Err() != nil || errors.Is(err, Stop) {
			return p.err()
		}
		return err
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.err()
		case <-tick.C:
		}
		from := s.now().Add(-TailLookback)
		if err := t.scan(ctx, from, true); err != nil {
			switch {
			case ctx.Err() != nil, errors.Is(err, Stop):
				return p.err()
			case errors.Is(err, errList):
				p.add(err)
			default:
				return err
			}
		}
		t.forget(from.UTC().Truncate(time.Hour))
	}
}

// errList marks a listing error in Tail's polls (retried).
var errList = errors.New("listing failed")

type tailer struct {
	s      Source
	f      Filter
	fn     func([]byte, *invocationlog.Record) error
	p      *problems
	seen   map[string]time.Time // key → hour, of objects read (or present at start)
	failed map[string]bool      // keys whose Get failed and was reported
}

// scan lists the hour folders from from's on and reads (emit) or just marks
// (!emit) the objects not seen yet.
func (t *tailer) scan(ctx context.Context, from time.Time, emit bool) error {
	s := t.s
	var fnErr error
	err := s.Store.List(ctx, s.Bucket, s.LogsPrefix, s.startAfter(from), func(o objectstore.Object) error {
		h, ok := s.batchHour(o.Key)
		if !ok {
			return nil
		}
		if _, ok := t.seen[o.Key]; ok {
			return nil
		}
		if !emit {
			t.seen[o.Key] = h
			return nil
		}
		if !t.f.Until.IsZero() && !h.Before(t.f.Until) {
			t.seen[o.Key] = h
			return nil
		}
		p := t.p
		if t.failed[o.Key] {
			p = &problems{warn: func(error) {}} // reported once already
		}
		read, err := s.read(ctx, o.Key, t.f, t.fn, p)
		if !read {
			t.failed[o.Key] = true
		} else {
			t.seen[o.Key] = h
			delete(t.failed, o.Key)
		}
		if err != nil {
			fnErr = err
			return errEndList
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: list s3://%s/%s: %w", errList, s.Bucket, s.LogsPrefix, err)
	}
	return err
}

// forget drops the keys of hours before cutoff: they are not listed again.
func (t *tailer) forget(cutoff time.Time) {
	for k, h := range t.seen {
		if h.Before(cutoff) {
			delete(t.seen, k)
		}
	}
	for k := range t.failed {
		if h, ok := t.s.batchHour(k); ok && h.Before(cutoff) {
			delete(t.failed, k)
		}
	}
}

func (s Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
