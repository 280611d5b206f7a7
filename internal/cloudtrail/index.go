package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/spool"
)

// Retention is how long the LookupEvents index keeps events.
const Retention = 90 * 24 * time.Hour

// index is the LookupEvents index: one file of JSON lines (the records, as
// spooled) per UTC day of eventTime, <dir>/YYYY-MM-DD.jsonl, fed from the
// spool by its own consumer. Lines repeated by a crash between a write and
// the cursor commit are dropped at lookup (same eventID).
type index struct {
	dir string
	now func() time.Time

	mu      sync.Mutex
	files   map[string]*os.File
	pruned  string // the day retention last ran
	posMu   sync.Mutex
	indexed spool.Pos
}

func openIndex(dir string, now func() time.Time) (*index, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cloudtrail index: %w", err)
	}
	return &index{dir: dir, now: now, files: map[string]*os.File{}}, nil
}

func (ix *index) close() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k, f := range ix.files {
		f.Close()
		delete(ix.files, k)
	}
}

func (ix *index) setIndexed(p spool.Pos) {
	ix.posMu.Lock()
	ix.indexed = p
	ix.posMu.Unlock()
}

func (ix *index) indexedPos() spool.Pos {
	ix.posMu.Lock()
	defer ix.posMu.Unlock()
	return ix.indexed
}

// add appends records to their day files and fsyncs them.
func (ix *index) add(ents []spool.Entry) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	touched := map[*os.File]bool{}
	for _, en := range ents {
		var et struct {
			EventTime Time `json:"eventTime"`
		}
		if json.Unmarshal(en.Data, &et) != nil || et.EventTime.IsZero() {
			et.EventTime = Time{en.Time.UTC()}
		}
		day := et.EventTime.UTC().Format(time.DateOnly)
		f := ix.files[day]
		if f == nil {
			var err error
			f, err = os.OpenFile(filepath.Join(ix.dir, day+".jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			ix.files[day] = f
		}
		line := append(bytes.TrimSpace(en.Data), '\n')
		if _, err := f.Write(line); err != nil {
			return err
		}
		touched[f] = true
	}
	for f := range touched {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	ix.pruneLocked()
	return nil
}

// pruneLocked deletes day files older than Retention, once a day.
func (ix *index) pruneLocked() {
	today := ix.now().UTC().Format(time.DateOnly)
	if ix.pruned == today {
		return
	}
	ix.pruned = today
	cutoff := ix.now().UTC().Add(-Retention).Format(time.DateOnly)
	des, _ := os.ReadDir(ix.dir)
	for _, de := range des {
		day, ok := strings.CutSuffix(de.Name(), ".jsonl")
		if ok && day < cutoff {
			if f := ix.files[day]; f != nil {
				f.Close()
				delete(ix.files, day)
			}
			_ = os.Remove(filepath.Join(ix.dir, de.Name()))
		}
	}
}

// indexed is one event of the index with its place in it.
type indexed struct {
	ev   Event
	raw  []byte
	day  string
	line int
}

// scan returns the events with eventTime in [start, end] that match,
// newest first (ties: later in the index first), without duplicates.
func (ix *index) scan(start, end time.Time, match func(*Event) bool) ([]indexed, error) {
	des, err := os.ReadDir(ix.dir)
	if err != nil {
		return nil, err
	}
	first, last := start.UTC().Format(time.DateOnly), end.UTC().Format(time.DateOnly)
	var out []indexed
	seen := map[string]bool{}
	for i := len(des) - 1; i >= 0; i-- {
		day, ok := strings.CutSuffix(des[i].Name(), ".jsonl")
		if !ok || day < first || day > last {
			continue
		}
		f, err := os.Open(filepath.Join(ix.dir, des[i].Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for n := 0; sc.Scan(); n++ {
			var it indexed
			if json.Unmarshal(sc.Bytes(), &it.ev) != nil {
				continue // a line torn by a crash
			}
			if it.ev.EventTime.Before(start) || it.ev.EventTime.After(end) || seen[it.ev.EventID] || !match(&it.ev) {
				continue
			}
			seen[it.ev.EventID] = true
			it.raw, it.day, it.line = bytes.Clone(sc.Bytes()), day, n
			out = append(out, it)
		}
		f.Close()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].after(&out[j]) })
	return out, nil
}

// after reports whether a comes before b in LookupEvents' order (newest
// first).
func (a *indexed) after(b *indexed) bool {
	if !a.ev.EventTime.Equal(b.ev.EventTime.Time) {
		return a.ev.EventTime.After(b.ev.EventTime.Time)
	}
	if a.day != b.day {
		return a.day > b.day
	}
	return a.line > b.line
}

// indexLoop feeds the index from the spool until Close, then catches up.
func (t *Trail) indexLoop() {
	defer close(t.idxDone)
	pos := t.idxPos
	t.index.setIndexed(pos)
	for {
		ctx := t.ctx
		var cancel context.CancelFunc = func() {}
		if t.ctx.Err() != nil { // closing: catch up without waiting
			ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
		}
		ents, err := t.sp.Read(ctx, pos, 1000, 4<<20)
		cancel()
		if err != nil {
			if errors.Is(err, spool.ErrClosed) || t.ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				return
			}
			if t.ctx.Err() != nil {
				continue
			}
			t.log.Error("cloudtrail index: spool read failed", "err", err)
			time.Sleep(time.Second)
			continue
		}
		if len(ents) == 0 {
			continue
		}
		for {
			err := t.index.add(ents)
			if err == nil {
				break
			}
			t.log.Error("cloudtrail index: write failed; retrying", "err", err)
			select {
			case <-time.After(time.Second):
			case <-t.ctx.Done():
				return
			}
		}
		pos = ents[len(ents)-1].Next
		if err := t.sp.Commit(indexConsumer, pos, nil); err != nil {
			t.log.Error("cloudtrail index: commit failed", "err", err)
		}
		t.index.setIndexed(pos)
	}
}

// waitIndexed waits (up to d) until every event recorded before the call
// is in the index, so that a lookup sees the caller's own events.
func (t *Trail) waitIndexed(ctx context.Context, d time.Duration) {
	end := t.sp.End()
	deadline := time.Now().Add(d)
	for t.index.indexedPos().Less(end) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}
