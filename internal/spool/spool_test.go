package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestPos(t *testing.T) {
	tests := []struct {
		p, q Pos
		less bool
	}{
		{Pos{1, 16}, Pos{1, 24}, true},
		{Pos{1, 24}, Pos{1, 16}, false},
		{Pos{1, 1 << 20}, Pos{2, 16}, true},
		{Pos{2, 16}, Pos{2, 16}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Less(tt.q); got != tt.less {
			t.Errorf("%v.Less(%v) = %v, want %v", tt.p, tt.q, got, tt.less)
		}
	}
	if got, want := (Pos{3, 4096}).String(), "00000000000000000003:4096"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestRoundTripAcrossRotations(t *testing.T) {
	tests := []struct {
		name string
		n    int
		size func(i int) int
	}{
		{"small", 3000, func(int) int { return 40 }},
		{"2KB", 200, func(int) int { return 2048 }},
		{"varied", 600, func(i int) int { return 12 + (i*7919)%5000 }},
		{"segment-sized", 6, func(int) int { return testSeg - segHeaderSize - frameHeaderSize }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, testOpts())
			var pos []Pos
			for i := range tt.n {
				p, err := s.Append(payload(uint64(i), tt.size(i)))
				if err != nil {
					t.Fatalf("Append %d: %v", i, err)
				}
				pos = append(pos, p)
			}
			check := func(s *Spool) {
				t.Helper()
				ents, end := readAll(t, s, Pos{})
				if len(ents) != tt.n {
					t.Fatalf("read %d records, want %d", len(ents), tt.n)
				}
				for i, e := range ents {
					id, ok := checkPayload(e.Data)
					if !ok || id != uint64(i) || e.Pos != pos[i] {
						t.Fatalf("record %d: id %d ok %v pos %v (appended at %v)", i, id, ok, e.Pos, pos[i])
					}
				}
				if end != s.End() {
					t.Fatalf("read up to %v, End() = %v", end, s.End())
				}
				if segs := pos[len(pos)-1].Seg - pos[0].Seg; segs < 2 {
					t.Fatalf("records span %d segment boundaries, want several", segs)
				}
			}
			check(s)
			closeT(t, s)
			check(openT(t, dir, testOpts())) // and after a clean reopen
		})
	}
}

func TestEmptyPayloadAndLimits(t *testing.T) {
	s := openT(t, t.TempDir(), testOpts())
	if _, err := s.Append(nil); err != nil {
		t.Fatalf("Append(nil): %v", err)
	}
	if _, err := s.Append(make([]byte, testSeg)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append(segment-sized) = %v, want ErrTooLarge", err)
	}
	for range 5 {
		if _, err := s.Append(make([]byte, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	ents, err := s.Read(ctx, Pos{}, 10, 0)
	if err != nil || len(ents) != 6 || len(ents[0].Data) != 0 {
		t.Fatalf("Read = %d entries, %v", len(ents), err)
	}
	// maxBytes bounds the batch, but the first record always comes.
	if ents, _ := s.Read(ctx, ents[0].Next, 10, 5000); len(ents) != 1 {
		t.Fatalf("maxBytes 5000 over 3000-byte records: %d entries, want 1", len(ents))
	}
	if ents, _ := s.Read(ctx, ents[0].Next, 10, 100); len(ents) != 1 {
		t.Fatalf("maxBytes 100: %d entries, want the first one alone", len(ents))
	}
	if ents, _ := s.Read(ctx, Pos{}, 3, 0); len(ents) != 3 {
		t.Fatalf("maxRecords 3: %d entries", len(ents))
	}
}

func TestConcurrentAppendersOneReader(t *testing.T) {
	const producers, perProducer = 8, 2000
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	start := s.Register("reader")

	var wg sync.WaitGroup
	defer wg.Wait() // before the cleanup closes the spool, even on failure
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				id := uint64(g)<<32 | uint64(i)
				if _, err := s.Append(payload(id, 12+(i*31+g*7)%700)); err != nil {
					t.Errorf("producer %d Append %d: %v", g, i, err)
					return
				}
			}
		}()
	}

	next := make([]int, producers) // next index expected per producer
	pos := start
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := 0
	for got < producers*perProducer {
		ents, err := s.Read(ctx, pos, 256, 64<<10)
		if err != nil {
			t.Fatalf("Read after %d records: %v", got, err)
		}
		for _, e := range ents {
			id, ok := checkPayload(e.Data)
			if !ok {
				t.Fatalf("record at %v is not intact", e.Pos)
			}
			g, i := int(id>>32), int(id&0xffffffff)
			if g >= producers || i != next[g] {
				t.Fatalf("record %d of producer %d at %v, want %d (duplicate, lost or out of order)", i, g, e.Pos, next[g])
			}
			next[g]++
			got++
			pos = e.Next
		}
		if got%1000 < len(ents) {
			if err := s.Commit("reader", pos, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	if pos != s.End() {
		t.Fatalf("reader at %v after every record, End() = %v", pos, s.End())
	}
	if err := s.Commit("reader", pos, nil); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Appended != producers*perProducer || st.PendingRecords != 0 || st.PendingBytes != 0 || st.Torn != 0 {
		t.Fatalf("stats after reading everything: %+v", st)
	}
	if st.Segments > 2 || len(segFiles(t, dir)) > 2 {
		t.Fatalf("%d segments (files %v) left after committing everything, want active+spare", st.Segments, segFiles(t, dir))
	}
}

func TestCommitReopenAndSegmentDeletion(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	s.Register("fast")
	s.Register("slow")
	var appended []Pos
	for i := range 300 {
		p, err := s.Append(payload(uint64(i), 1000))
		if err != nil {
			t.Fatal(err)
		}
		appended = append(appended, p)
	}
	fastPos, _, _ := s.Cursor("fast")
	ents, end := readAll(t, s, fastPos)
	if len(ents) != 300 {
		t.Fatalf("fast read %d records", len(ents))
	}
	if err := s.Commit("fast", end, []byte("state-fast")); err != nil {
		t.Fatal(err)
	}
	// The slow consumer has committed nothing: every segment is kept.
	if files := segFiles(t, dir); files[0] != segName(appended[0].Seg) {
		t.Fatalf("segments deleted while the slow consumer still needs them: %v", files)
	}
	slowCommit := ents[99].Next
	if err := s.Commit("slow", slowCommit, []byte("state-slow")); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	if files[0] != segName(ents[100].Pos.Seg) {
		t.Fatalf("after the slow consumer committed %v the oldest segment is %s, want %s", slowCommit, files[0], segName(ents[100].Pos.Seg))
	}
	if err := s.Commit("nobody", end, nil); err == nil {
		t.Fatal("Commit of an unregistered consumer succeeded")
	}
	if err := s.Commit("fast", Pos{end.Seg + 5, 16}, nil); err == nil {
		t.Fatal("Commit past the end succeeded")
	}
	closeT(t, s)

	s = openT(t, dir, testOpts())
	if got := s.Consumers(); !slices.Equal(got, []string{"fast", "slow"}) {
		t.Fatalf("Consumers() = %v", got)
	}
	for _, c := range []struct {
		name  string
		pos   Pos
		state string
	}{{"fast", end, "state-fast"}, {"slow", slowCommit, "state-slow"}} {
		p, st, ok := s.Cursor(c.name)
		if !ok || p != c.pos || string(st) != c.state {
			t.Fatalf("Cursor(%s) = %v %q %v, want %v %q", c.name, p, st, ok, c.pos, c.state)
		}
		if rp := s.Register(c.name); rp != c.pos {
			t.Fatalf("Register(%s) = %v, want the committed %v", c.name, rp, c.pos)
		}
	}
	rest, _ := readAll(t, s, slowCommit)
	if len(rest) != 200 {
		t.Fatalf("slow consumer reads %d records after reopening, want 200", len(rest))
	}
	if id, ok := checkPayload(rest[0].Data); !ok || id != 100 {
		t.Fatalf("slow consumer resumes at record %d", id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(ctx, end, 10, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("fast consumer has nothing to read, got %v", err)
	}

	// Without the slow consumer, everything before the fast one goes.
	if err := s.Unregister("slow"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "consumers", "slow.cursor")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("slow.cursor still exists: %v", err)
	}
	if files := segFiles(t, dir); files[0] != segName(end.Seg) {
		t.Fatalf("after Unregister the oldest segment is %s, want %s", files[0], segName(end.Seg))
	}
	if err := s.Unregister("slow"); err == nil {
		t.Fatal("Unregister of an unknown consumer succeeded")
	}
	closeT(t, s)
	s = openT(t, dir, testOpts())
	if got := s.Consumers(); !slices.Equal(got, []string{"fast"}) {
		t.Fatalf("Consumers() after Unregister and reopen = %v", got)
	}
}

func TestNoConsumersKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	for i := range 200 {
		if _, err := s.Append(payload(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	before := segFiles(t, dir)
	closeT(t, s)
	s = openT(t, dir, testOpts())
	after := segFiles(t, dir)
	for _, f := range before {
		if !slices.Contains(after, f) {
			t.Fatalf("segment %s deleted with no consumer: %v -> %v", f, before, after)
		}
	}
	if ents, _ := readAll(t, s, Pos{}); len(ents) != 200 {
		t.Fatalf("read %d records, want 200", len(ents))
	}
	if st := s.Stats(); st.PendingRecords != 200 {
		t.Fatalf("PendingRecords = %d with no consumer, want 200", st.PendingRecords)
	}
}

func TestCorruptCursorRedelivers(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	s.Register("c")
	for i := range 100 {
		if _, err := s.Append(payload(uint64(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit("c", s.End(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	path := filepath.Join(dir, "consumers", "c.cursor")
	b, _ := os.ReadFile(path)
	b[10] ^= 0xff
	os.WriteFile(path, b, 0o600)

	s = openT(t, dir, testOpts())
	p, state, ok := s.Cursor("c")
	if !ok || state != nil {
		t.Fatalf("Cursor = %v %q %v", p, state, ok)
	}
	if ents, _ := readAll(t, s, p); len(ents) != 100 {
		t.Fatalf("a corrupt cursor must re-deliver from the oldest record: got %d records, want 100", len(ents))
	}
}

func TestTornRecordRecovery(t *testing.T) {
	const n = 10
	tests := []struct {
		name     string
		victim   int
		damage   func(b []byte, off int64)
		torn     uint64
		readable []int // record ids readable after reopening
	}{
		{"payload flipped mid-spool", 5, func(b []byte, off int64) { b[off+frameHeaderSize+3] ^= 0x55 }, 1, without(n, 5)},
		{"payload flipped in the last record", n - 1, func(b []byte, off int64) { b[off+frameHeaderSize] ^= 1 }, 1, without(n, n-1)},
		{"appender killed mid-copy (busy, no checksum)", 3, func(b []byte, off int64) {
			binary.LittleEndian.PutUint32(b[off:], binary.LittleEndian.Uint32(b[off:])|busyBit)
			binary.LittleEndian.PutUint32(b[off+4:], 0)
			clear(b[off+frameHeaderSize : off+frameHeaderSize+20])
		}, 1, without(n, 3)},
		{"killed after the checksum (busy, data complete)", 3, func(b []byte, off int64) {
			binary.LittleEndian.PutUint32(b[off:], binary.LittleEndian.Uint32(b[off:])|busyBit)
		}, 0, without(n, -1)},
		{"time flipped", 0, func(b []byte, off int64) { b[off+8] ^= 0x80 }, 1, without(n, 0)},
		// Resynchronisation finds record 8 (a corrupt range, not torn).
		{"length not a frame", 7, func(b []byte, off int64) { binary.LittleEndian.PutUint32(b[off:], 3) }, 0, without(n, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, testOpts())
			var pos []Pos
			for i := range n {
				p, err := s.Append(payload(uint64(i), 500))
				if err != nil {
					t.Fatal(err)
				}
				pos = append(pos, p)
			}
			closeT(t, s)
			path := filepath.Join(dir, segName(pos[tt.victim].Seg))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(b, pos[tt.victim].Off)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}

			s = openT(t, dir, testOpts())
			if st := s.Stats(); st.Torn != tt.torn {
				t.Fatalf("Torn = %d, want %d", st.Torn, tt.torn)
			}
			if got := readIDs(t, s); !slices.Equal(got, tt.readable) {
				t.Fatalf("readable records %v, want %v", got, tt.readable)
			}
			// Appending continues after the damage; the new records are
			// readable, now and after another reopen.
			for i := 100; i < 103; i++ {
				if _, err := s.Append(payload(uint64(i), 500)); err != nil {
					t.Fatal(err)
				}
			}
			want := append(slices.Clone(tt.readable), 100, 101, 102)
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("after appending: %v, want %v", got, want)
			}
			if st := s.Stats(); st.Torn != tt.torn {
				t.Fatalf("reading counted torn records again: Torn = %d, want %d", st.Torn, tt.torn)
			}
			closeT(t, s)
			s = openT(t, dir, testOpts())
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("after reopening: %v, want %v", got, want)
			}
		})
	}
}

// waitSpare waits for the background goroutine to preallocate the spare.
func waitSpare(t testing.TB, s *Spool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		ok := s.spare != nil
		s.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatal("no spare segment after 5s")
}

// without returns 0..n-1 without the ids in skip.
func without(n int, skip ...int) []int {
	var r []int
	for i := range n {
		if !slices.Contains(skip, i) {
			r = append(r, i)
		}
	}
	return r
}

func TestTornTailDoesNotStrandConsumer(t *testing.T) {
	// A consumer whose cursor is before a torn last record must be able to
	// reach End (and so report itself caught up) without new appends.
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	s.Register("c")
	var last Pos
	for i := range 5 {
		var err error
		if last, err = s.Append(payload(uint64(i), 300)); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := readAll(t, s, Pos{})
	if err := s.Commit("c", ents[3].Next, nil); err != nil { // before the last record
		t.Fatal(err)
	}
	closeT(t, s)
	path := filepath.Join(dir, segName(last.Seg))
	b, _ := os.ReadFile(path)
	b[last.Off+frameHeaderSize+1] ^= 0xff
	os.WriteFile(path, b, 0o600)

	s = openT(t, dir, testOpts())
	if p, _, _ := s.Cursor("c"); p != s.End() {
		t.Fatalf("cursor %v before a torn tail, End %v: the consumer can never catch up", p, s.End())
	}
	// And a reader positioned before it gets Next past it with the next record.
	p, err := s.Append(payload(9, 10))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(context.Background(), ents[3].Next, 10, 0)
	if err != nil || len(got) != 1 || got[0].Pos != p || got[0].Next != s.End() {
		t.Fatalf("Read = %+v, %v", got, err)
	}
}

func TestBudgetFullAndRecovery(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	opts.MaxBytes = 3 * testSeg
	s := openT(t, dir, opts)
	s.Register("c")
	// Full turns true before any Append fails: when the last segment the
	// budget allows becomes active (no spare can follow it).
	var pos []Pos
	for !s.Full() {
		p, err := s.Append(payload(uint64(len(pos)), 1000))
		if err != nil {
			t.Fatalf("Append %d failed while Full() was false: %v", len(pos), err)
		}
		pos = append(pos, p)
		if len(pos) > 1000 {
			t.Fatal("never became full")
		}
		if st := s.Stats(); st.Bytes > opts.MaxBytes || st.Segments > 3 {
			t.Fatalf("over budget: %+v", st)
		}
	}
	last := pos[len(pos)-1]
	if segs := last.Seg - pos[0].Seg + 1; segs != 3 || last.Off != segHeaderSize {
		t.Fatalf("full after the record at %v (%d segments), want the first record of the third segment", last, segs)
	}
	if !s.Stats().Full {
		t.Fatal("Stats().Full is false")
	}
	if _, err := s.Append([]byte("tiny")); !errors.Is(err, ErrFull) {
		t.Fatalf("Append while full = %v", err)
	}
	// Committing a segment's worth frees it and clears Full.
	ents, _ := readAll(t, s, Pos{})
	var firstSegEnd Pos
	for _, e := range ents {
		if e.Pos.Seg == pos[0].Seg {
			firstSegEnd = e.Next
		}
	}
	if err := s.Commit("c", firstSegEnd, nil); err != nil {
		t.Fatal(err)
	}
	if s.Full() {
		t.Fatalf("still full after freeing a segment: %+v", s.Stats())
	}
	if _, err := s.Append(payload(7777, 1000)); err != nil {
		t.Fatalf("Append after freeing a segment: %v", err)
	}
	closeT(t, s)
	// The full state is rediscovered on reopen: only what fits is accepted.
	s = openT(t, dir, opts)
	n := 0
	for ; n < 1000; n++ {
		if _, err := s.Append(payload(uint64(n), 1000)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || n > testSeg/1016+1 || s.Stats().Bytes > opts.MaxBytes {
		t.Fatalf("after reopen %d more records fit (stats %+v), want the rest of the active segment", n, s.Stats())
	}
}

func TestReadBlocking(t *testing.T) {
	t.Run("waits for an append", func(t *testing.T) {
		s := openT(t, t.TempDir(), testOpts())
		from := s.End()
		type result struct {
			ents []Entry
			err  error
		}
		done := make(chan result)
		go func() {
			ents, err := s.Read(context.Background(), from, 10, 0)
			done <- result{ents, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("Read returned before any append: %+v", r)
		case <-time.After(50 * time.Millisecond):
		}
		p, err := s.Append([]byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || len(r.ents) != 1 || string(r.ents[0].Data) != "hello" || r.ents[0].Pos != p {
				t.Fatalf("Read = %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read did not wake up after Append")
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		s := openT(t, t.TempDir(), testOpts())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Read(ctx, s.End(), 10, 0)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 25*time.Millisecond {
			t.Fatalf("Read = %v after %v", err, time.Since(start))
		}
	})
	t.Run("Close unblocks", func(t *testing.T) {
		s := openT(t, t.TempDir(), testOpts())
		done := make(chan error)
		go func() {
			_, err := s.Read(context.Background(), s.End(), 10, 0)
			done <- err
		}()
		time.Sleep(30 * time.Millisecond)
		closeT(t, s)
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Read after Close = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock Read")
		}
		if _, err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after Close = %v", err)
		}
		if _, err := s.Read(context.Background(), Pos{}, 1, 0); !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close = %v", err)
		}
		if err := s.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close = %v", err)
		}
	})
	t.Run("waits across a rotation", func(t *testing.T) {
		s := openT(t, t.TempDir(), testOpts())
		// Fill the active segment nearly to its end, then wait past it.
		for s.End().Off < testSeg-2000 {
			if _, err := s.Append(make([]byte, 900)); err != nil {
				t.Fatal(err)
			}
		}
		from := s.End()
		done := make(chan []Entry)
		go func() {
			ents, _ := s.Read(context.Background(), from, 10, 0)
			done <- ents
		}()
		time.Sleep(20 * time.Millisecond)
		p, _ := s.Append(make([]byte, 3000)) // does not fit: next segment
		if p.Seg != from.Seg+1 {
			t.Fatalf("record at %v, expected the next segment after %v", p, from)
		}
		select {
		case ents := <-done:
			if len(ents) != 1 || ents[0].Pos != p {
				t.Fatalf("Read = %+v", ents)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Read did not follow the rotation")
		}
	})
}

func TestStats(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	base := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	var mu sync.Mutex
	clock := base
	opts.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	s := openT(t, dir, opts)
	if st := s.Stats(); st.PendingRecords != 0 || !st.Oldest.IsZero() || st.Segments != 2 && st.Segments != 1 {
		t.Fatalf("empty spool: %+v", st)
	}
	s.Register("c")
	var frames int64
	for i := range 200 {
		pl := payload(uint64(i), 700)
		if _, err := s.Append(pl); err != nil {
			t.Fatal(err)
		}
		frames += align8(int64(frameHeaderSize + len(pl)))
	}
	st := s.Stats()
	if st.Appended != 200 || st.PendingRecords != 200 || st.PendingBytes != frames || !st.Oldest.Equal(base.Add(time.Second)) {
		t.Fatalf("after 200 appends: %+v (frames %d)", st, frames)
	}
	ents, _ := readAll(t, s, Pos{})
	if !ents[0].Time.Equal(base.Add(time.Second)) {
		t.Fatalf("entry time %v", ents[0].Time)
	}
	if err := s.Commit("c", ents[149].Next, nil); err != nil {
		t.Fatal(err)
	}
	var rest int64
	for _, e := range ents[150:] {
		rest += align8(int64(frameHeaderSize + len(e.Data)))
	}
	waitSpare(t, s)
	st = s.Stats()
	if st.PendingRecords != 50 || st.PendingBytes != rest || !st.Oldest.Equal(ents[150].Time) {
		t.Fatalf("after committing 150: %+v, want 50 records, %d bytes, oldest %v", st, rest, ents[150].Time)
	}
	if st.Segments != len(segFiles(t, dir)) || st.Bytes != int64(st.Segments)*testSeg {
		t.Fatalf("Segments %d Bytes %d, files %v", st.Segments, st.Bytes, segFiles(t, dir))
	}
	closeT(t, s)
	s = openT(t, dir, opts)
	if st := s.Stats(); st.PendingRecords != 50 || st.PendingBytes != rest || !st.Oldest.Equal(ents[150].Time) || st.Appended != 0 {
		t.Fatalf("after reopening: %+v", st)
	}
	if err := s.Commit("c", s.End(), nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PendingRecords != 0 || st.PendingBytes != 0 || !st.Oldest.IsZero() {
		t.Fatalf("after committing everything: %+v", st)
	}
}

func TestOpenLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	if s2, err := Open(dir, testOpts()); err == nil {
		s2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
	closeT(t, s)
	openT(t, dir, testOpts())
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{SegmentBytes: 1000},
		{SegmentBytes: 2 << 30},
		{SegmentBytes: 1 << 20, MaxBytes: 1 << 20},
	} {
		if s, err := Open(t.TempDir(), o); err == nil {
			s.Close()
			t.Errorf("Open with %+v succeeded", o)
		}
	}
}

func TestConsumerNames(t *testing.T) {
	s := openT(t, t.TempDir(), testOpts())
	for _, name := range []string{"", ".", "..", "a/b", "a b", string(make([]byte, 101))} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			s.Register(name)
		}()
		if err := s.Commit(name, Pos{}, nil); err == nil {
			t.Errorf("Commit(%q) succeeded", name)
		}
	}
	long := string(slices.Repeat([]byte("x"), 100))
	for _, name := range []string{"s3.bucket-1_a", long} {
		s.Register(name)
	}
	if got := s.Consumers(); !slices.Equal(got, []string{"s3.bucket-1_a", long}) {
		t.Fatalf("Consumers() = %v", got)
	}
	if err := s.Commit("s3.bucket-1_a", Pos{}, make([]byte, 64<<10+1)); err == nil {
		t.Fatal("Commit with a state over 64 KiB succeeded")
	}
}

func TestSyncAndBackgroundSync(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	opts.SyncInterval = 5 * time.Millisecond
	s := openT(t, dir, opts)
	for i := range 500 {
		if _, err := s.Append(payload(uint64(i), 400)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if st := s.Stats(); st.SyncErrors != 0 {
		t.Fatalf("SyncErrors = %d", st.SyncErrors)
	}
	closeT(t, s)
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close = %v", err)
	}
}

func TestMappingsStayBounded(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	for i := range 2000 {
		if _, err := s.Append(payload(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	closeT(t, s)
	s = openT(t, dir, testOpts())
	ents, _ := readAll(t, s, Pos{})
	if len(ents) != 2000 {
		t.Fatalf("read %d", len(ents))
	}
	s.mu.Lock()
	mapped := 0
	for _, seg := range s.segs {
		if seg.data != nil && seg != s.active {
			mapped++
		}
	}
	n := len(s.segs)
	s.mu.Unlock()
	if mapped > maxOldMapped {
		t.Fatalf("%d of %d old segments mapped after reading them all", mapped, n)
	}
	if n < 10 {
		t.Fatalf("only %d segments", n)
	}
}

func ExampleSpool() {
	dir, _ := os.MkdirTemp("", "spool-example")
	defer os.RemoveAll(dir)
	s, err := Open(dir, Options{SegmentBytes: 64 << 10, MaxBytes: 1 << 20, Logger: quietLogger()})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	from := s.Register("shipper")
	s.Append([]byte("one"))
	s.Append([]byte("two"))
	ents, _ := s.Read(context.Background(), from, 100, 1<<20)
	for _, e := range ents {
		fmt.Println(string(e.Data))
	}
	s.Commit("shipper", ents[len(ents)-1].Next, nil)
	// Output:
	// one
	// two
}
