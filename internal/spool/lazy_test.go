package spool

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mappedFiles lists the files under dir that this process has mapped, from
// /proc/self/maps: what the kernel says, not what the spool believes.
func mappedFiles(t testing.TB, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && strings.HasPrefix(fields[5], dir+string(filepath.Separator)) {
			out = append(out, filepath.Base(fields[5]))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func lazyOpts() Options {
	o := testOpts()
	o.Lazy = true
	return o
}

// bgRunning reports whether the background goroutines were started.
func bgRunning(s *Spool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bgStarted
}

// A lazy spool that is opened, read, counted and closed without a record
// appended creates no segment file, maps nothing and starts no goroutine;
// the first Append (or Prepare) creates what appends need.
func TestLazySpool_NothingUntilArmed(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(t *testing.T, s *Spool)
	}{
		{"first append", func(t *testing.T, s *Spool) {
			if _, err := s.Append([]byte("first")); err != nil {
				t.Fatal(err)
			}
		}},
		{"prepare", func(t *testing.T, s *Spool) {
			if err := s.Prepare(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append([]byte("first")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, lazyOpts())
			from := s.Register("c")
			readAll(t, s, from)
			st := s.Stats()
			if files := segFiles(t, dir); len(files) != 0 || st.Segments != 0 || st.Bytes != 0 || st.Full || s.Full() {
				t.Fatalf("lazy spool before its first record: files %v, %+v", files, st)
			}
			if m := mappedFiles(t, dir); len(m) != 0 {
				t.Fatalf("lazy spool before its first record maps %v", m)
			}
			if bgRunning(s) {
				t.Fatal("lazy spool started its background goroutines before its first record")
			}

			tc.arm(t, s)
			if files := segFiles(t, dir); len(files) == 0 {
				t.Fatal("no segment file after the first record")
			}
			if m := mappedFiles(t, dir); len(m) == 0 {
				t.Fatal("no segment mapped after the first record")
			}
			if !bgRunning(s) {
				t.Fatal("background goroutines not started by the first record")
			}
			waitSpare(t, s)
			ents, _ := readAll(t, s, from)
			if len(ents) != 1 || string(ents[0].Data) != "first" {
				t.Fatalf("read %+v", ents)
			}
		})
	}
}

// A lazy spool opened on segments from an earlier run recovers them (every
// record is still read) without mapping them for appends, creating a spare
// or prefaulting anything; what readers map is unmapped once they are done.
func TestLazySpool_RecoversWithoutPreparing(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	s.Register("c")
	for i := range 300 {
		if _, err := s.Append(payload(uint64(i), 500)); err != nil {
			t.Fatal(err)
		}
	}
	closeT(t, s)
	before := segFiles(t, dir)

	s = openT(t, dir, lazyOpts())
	if m := mappedFiles(t, dir); len(m) != 0 {
		t.Fatalf("lazy Open maps %v", m)
	}
	pos, _, _ := s.Cursor("c")
	ents, end := readAll(t, s, pos)
	if len(ents) != 300 {
		t.Fatalf("read %d of 300 records", len(ents))
	}
	if m := mappedFiles(t, dir); len(m) != 0 {
		t.Fatalf("segments still mapped after reading: %v", m)
	}
	if err := s.Commit("c", end, nil); err != nil {
		t.Fatal(err)
	}
	if !s.Release() {
		t.Fatal("Release refused with every record committed")
	}
	if after := segFiles(t, dir); len(after) != 1 || len(after) >= len(before) {
		t.Fatalf("segment files %v after delivering everything (before: %v); want only the active one", after, before)
	}
	if m := mappedFiles(t, dir); len(m) != 0 || bgRunning(s) {
		t.Fatalf("mapped %v, background %v", m, bgRunning(s))
	}
}

// Release gives back the spare and every mapping once consumers have read
// everything, refuses while one has not, and the spool keeps working after
// it: the next Append arms it again and its record is read and survives a
// reopen.
func TestRelease_OnlyWhenDeliveredAndAppendsResume(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	opts.SyncInterval = 5 * time.Millisecond
	s := openT(t, dir, opts)
	from := s.Register("c")
	for i := range 100 {
		if _, err := s.Append(payload(uint64(i), 900)); err != nil {
			t.Fatal(err)
		}
	}
	waitSpare(t, s)
	if s.Release() {
		t.Fatal("Release with 100 records not yet read by the consumer")
	}
	ents, end := readAll(t, s, from)
	if len(ents) != 100 {
		t.Fatalf("read %d", len(ents))
	}
	if err := s.Commit("c", end, nil); err != nil {
		t.Fatal(err)
	}
	if !s.Release() {
		t.Fatal("Release refused with everything committed")
	}
	st := s.Stats()
	if m := mappedFiles(t, dir); len(m) != 0 {
		t.Fatalf("after Release: mapped %v", m)
	}
	if files := segFiles(t, dir); st.Segments != 1 || len(files) != 1 || st.Bytes != testSeg {
		t.Fatalf("after Release: %+v, files %v; want the active segment alone", st, files)
	}
	// Idle: the background goroutine neither makes a spare nor maps.
	time.Sleep(3 * maintenanceInterval)
	if m := mappedFiles(t, dir); len(m) != 0 || len(segFiles(t, dir)) != 1 {
		t.Fatalf("released spool mapped %v, files %v", m, segFiles(t, dir))
	}

	p, err := s.Append([]byte("after release"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Less(end) {
		t.Fatalf("append after Release at %v, before the end %v", p, end)
	}
	waitSpare(t, s)
	more, _ := readAll(t, s, end)
	if len(more) != 1 || string(more[0].Data) != "after release" {
		t.Fatalf("read after Release: %+v", more)
	}
	closeT(t, s)
	s = openT(t, dir, testOpts())
	if again, _ := readAll(t, s, end); len(again) != 1 || string(again[0].Data) != "after release" {
		t.Fatalf("after reopening: %+v", again)
	}
}

// The spare is prefaulted only as far as appends will use it first, and
// the active segment a bounded window ahead of the append position.
func TestPrefault_BoundedWindows(t *testing.T) {
	opts := testOpts()
	opts.SegmentBytes = 64 << 20
	opts.MaxBytes = 256 << 20
	s := openT(t, t.TempDir(), opts)
	waitSpare(t, s)
	s.mu.Lock()
	a, sp := s.active, s.spare
	s.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); sp.prefaulted.Load() < prefaultAhead; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("spare prefaulted to %d after 30s, want the %d window", sp.prefaulted.Load(), prefaultAhead)
		}
	}
	time.Sleep(3 * maintenanceInterval) // the background goroutine would go on now, if it were to
	if got := sp.prefaulted.Load(); got != prefaultAhead {
		t.Fatalf("spare prefaulted to %d, want the %d window", got, prefaultAhead)
	}
	if got := a.prefaulted.Load(); got > a.end+prefaultAhead+pageSize {
		t.Fatalf("active prefaulted to %d, more than a window past %d", got, a.end)
	}
}

// While the first Append of a lazy spool is creating the first segment, End
// (and so a consumer registered then) is the start of that segment, not of
// the one after it: a consumer registered during the creation reads the
// record being appended.
func TestLazySpool_EndDuringFirstSegmentCreation(t *testing.T) {
	inFallocate, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	// Before openT: the spool (and its background goroutine, which
	// preallocates the spare) is closed before fallocate is restored.
	setFallocate(t, func(fd int, mode uint32, off, size int64) error {
		once.Do(func() {
			close(inFallocate)
			<-release
		})
		return syscall.Fallocate(fd, mode, off, size)
	})
	s := openT(t, t.TempDir(), lazyOpts())
	type appended struct {
		pos Pos
		err error
	}
	done := make(chan appended, 1)
	go func() {
		p, err := s.Append([]byte("first"))
		done <- appended{p, err}
	}()
	<-inFallocate
	end := s.End()
	reg := s.Register("late")
	close(release)
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if end != a.pos || reg != a.pos {
		t.Fatalf("during the creation End was %s and Register returned %s; the record went to %s", end, reg, a.pos)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ents, err := s.Read(ctx, reg, 10, 0)
	if err != nil {
		t.Fatalf("the consumer registered during the creation cannot read the record: %v", err)
	}
	if len(ents) != 1 || string(ents[0].Data) != "first" {
		t.Fatalf("read %d records, want the first", len(ents))
	}
}
