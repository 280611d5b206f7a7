package spool

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// With 100-byte payloads a frame takes 120 bytes and a 64 KiB segment holds
// 546 of them: segment k holds records 546*(k-1) .. 546*k-1, so the 3000
// records of retiredSetup fill segments 1-5 and 270 records of segment 6.
const (
	retiredRecords   = 3000
	retiredCommitted = 1000 // records "a" commits before it is unregistered
)

// retiredSetup opens a spool with consumers "a" and "keep" (which commits
// nothing, so every segment is kept), appends retiredRecords records and
// commits "a" after the first retiredCommitted with the state "dest-a". It
// returns every record.
func retiredSetup(t *testing.T, dir string) (*Spool, []Entry) {
	t.Helper()
	s := openT(t, dir, testOpts())
	s.Register("a")
	s.Register("keep")
	for i := range retiredRecords {
		if _, err := s.Append(payload(uint64(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := readAll(t, s, Pos{})
	if len(ents) != retiredRecords {
		t.Fatalf("read %d records, want %d", len(ents), retiredRecords)
	}
	if err := s.Commit("a", ents[retiredCommitted-1].Next, []byte("dest-a")); err != nil {
		t.Fatal(err)
	}
	return s, ents
}

func consumerFile(dir, name, suffix string) string {
	return filepath.Join(dir, consumersDir, name+suffix)
}

// exists reports whether path exists, failing on any other error.
func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// readIDRange reads every record from p and returns how many there are and
// the ids of the first and last.
func readIDRange(t *testing.T, s *Spool, p Pos) (n int, first, last uint64) {
	t.Helper()
	ents, _ := readAll(t, s, p)
	if len(ents) == 0 {
		return 0, 0, 0
	}
	first, ok1 := checkPayload(ents[0].Data)
	last, ok2 := checkPayload(ents[len(ents)-1].Data)
	if !ok1 || !ok2 {
		t.Fatal("damaged payload")
	}
	return len(ents), first, last
}

func TestUnregisterThenRegister_ResumesWhereItLeftOff(t *testing.T) {
	for _, tt := range []struct {
		name   string
		reopen bool // close and open the spool between Unregister and Register
	}{
		{"same run", false},
		{"after reopen", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, ents := retiredSetup(t, dir)
			committed := ents[retiredCommitted-1].Next
			if err := s.Unregister("a"); err != nil {
				t.Fatal(err)
			}
			if exists(t, consumerFile(dir, "a", cursorSuffix)) || !exists(t, consumerFile(dir, "a", retiredSuffix)) {
				t.Fatal("after Unregister want a.retired and no a.cursor")
			}
			if got := s.Consumers(); !slices.Equal(got, []string{"keep"}) {
				t.Fatalf("Consumers() = %v, want [keep]", got)
			}
			if tt.reopen {
				closeT(t, s)
				s = openT(t, dir, testOpts())
			}
			for i := range 500 {
				if _, err := s.Append(payload(uint64(retiredRecords+i), 100)); err != nil {
					t.Fatal(err)
				}
			}

			p := s.Register("a")
			if p != committed {
				t.Fatalf("Register after Unregister = %v, want the committed %v", p, committed)
			}
			if _, st, _ := s.Cursor("a"); string(st) != "dest-a" {
				t.Fatalf("state = %q, want the committed dest-a", st)
			}
			if n, first, last := readIDRange(t, s, p); n != 2500 || first != 1000 || last != 3499 {
				t.Fatalf("re-registered consumer reads %d records, ids %d..%d; want 2500, ids 1000..3499", n, first, last)
			}
			if exists(t, consumerFile(dir, "a", retiredSuffix)) || !exists(t, consumerFile(dir, "a", cursorSuffix)) {
				t.Fatal("after Register want a.cursor and no a.retired")
			}
			// A consumer never seen starts at the oldest record.
			if n, first, _ := readIDRange(t, s, s.Register("new")); n != 3500 || first != 0 {
				t.Fatalf("new consumer reads %d records from id %d, want 3500 from 0", n, first)
			}
			closeT(t, s)
			s = openT(t, dir, testOpts())
			if got, st, ok := s.Cursor("a"); !ok || got != committed || string(st) != "dest-a" {
				t.Fatalf("after reopening Cursor(a) = %v %q %v, want %v dest-a", got, st, ok, committed)
			}
		})
	}
}

func TestRetiredCursor_DoesNotHoldSegments(t *testing.T) {
	for _, tt := range []struct {
		name        string
		keepAt      int    // records "keep" commits after "a" is unregistered
		wantOldest  uint64 // oldest segment left
		wantRetired bool   // a.retired is still after the oldest record
		wantRead    int    // records "a" reads when registered again
		wantFirstID uint64
	}{
		{"keep at the retired cursor", 1000, 2, true, 2000, 1000},
		{"keep past the retired cursor's segment", 2000, 4, false, 1362, 1638},
		{"keep at the end", 3000, 6, false, 270, 2730},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, ents := retiredSetup(t, dir)
			if err := s.Unregister("a"); err != nil {
				t.Fatal(err)
			}
			if files := segFiles(t, dir); files[0] != segName(1) {
				t.Fatalf("oldest segment %s, want %s: keep holds every one", files[0], segName(1))
			}
			if err := s.Commit("keep", ents[tt.keepAt-1].Next, nil); err != nil {
				t.Fatal(err)
			}
			if files := segFiles(t, dir); files[0] != segName(tt.wantOldest) {
				t.Fatalf("oldest segment %s, want %s: the retired cursor must not hold segments", files[0], segName(tt.wantOldest))
			}
			if got := exists(t, consumerFile(dir, "a", retiredSuffix)); got != tt.wantRetired {
				t.Fatalf("a.retired exists: %v, want %v", got, tt.wantRetired)
			}
			if n, first, last := readIDRange(t, s, s.Register("a")); n != tt.wantRead || first != tt.wantFirstID || last != retiredRecords-1 {
				t.Fatalf("re-registered consumer reads %d records, ids %d..%d; want %d, ids %d..%d",
					n, first, last, tt.wantRead, tt.wantFirstID, retiredRecords-1)
			}
		})
	}
}

func TestRetiredCursor_BeforeOldestRemovedAtOpen(t *testing.T) {
	// A crash after segments were deleted but before the retired cursor
	// they made pointless was: Open removes it.
	dir := t.TempDir()
	s, ents := retiredSetup(t, dir)
	if err := s.Unregister("a"); err != nil {
		t.Fatal(err)
	}
	retired, err := os.ReadFile(consumerFile(dir, "a", retiredSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit("keep", ents[1999].Next, nil); err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	if err := os.WriteFile(consumerFile(dir, "a", retiredSuffix), retired, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testOpts())
	if exists(t, consumerFile(dir, "a", retiredSuffix)) {
		t.Fatal("a.retired before the oldest segment kept survives Open")
	}
	if n, first, _ := readIDRange(t, s, s.Register("a")); n != 1362 || first != 1638 {
		t.Fatalf("re-registered consumer reads %d records from id %d, want 1362 from 1638 (the oldest kept)", n, first)
	}
}

func TestCorruptRetiredCursor_ReportedAndTreatedAsAbsent(t *testing.T) {
	for _, tt := range []struct {
		name    string
		corrupt func([]byte) []byte
	}{
		{"checksum", func(b []byte) []byte { b[10] ^= 0xff; return b }},
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-3] }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := retiredSetup(t, dir)
			if err := s.Unregister("a"); err != nil {
				t.Fatal(err)
			}
			closeT(t, s)
			path := consumerFile(dir, "a", retiredSuffix)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.corrupt(b), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			s = openT(t, dir, loggedOpts(&logs))
			if out := logs.String(); !strings.Contains(out, "level=ERROR msg=\"spool: corrupt retired cursor file") || !strings.Contains(out, "consumer=a") {
				t.Fatalf("corrupt a.retired not reported:\n%s", out)
			}
			if exists(t, path) {
				t.Fatal("corrupt a.retired kept")
			}
			p := s.Register("a")
			if _, st, _ := s.Cursor("a"); p != (Pos{1, segHeaderSize}) || st != nil {
				t.Fatalf("Register = %v with state %q, want %v and none: the oldest record", p, st, Pos{1, segHeaderSize})
			}
			if n, first, _ := readIDRange(t, s, p); n != retiredRecords || first != 0 {
				t.Fatalf("consumer reads %d records from id %d, want %d from 0", n, first, retiredRecords)
			}
		})
	}
}

func TestCursorAndRetiredCursor_LiveCursorWins(t *testing.T) {
	for _, tt := range []struct {
		name string
		// crash leaves a.cursor and a.retired as a crash would, and
		// returns the position of a.cursor.
		crash func(t *testing.T, dir string, s *Spool, ents []Entry) Pos
	}{
		{"crash in Unregister", func(t *testing.T, dir string, s *Spool, ents []Entry) Pos {
			// Unregister writes a.retired, from the committed cursor,
			// before it removes a.cursor: the two files hold the same.
			closeT(t, s)
			b, err := os.ReadFile(consumerFile(dir, "a", cursorSuffix))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(consumerFile(dir, "a", retiredSuffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
			return ents[retiredCommitted-1].Next
		}},
		{"crash in Register, then commits", func(t *testing.T, dir string, s *Spool, ents []Entry) Pos {
			// Register writes a.cursor before it removes a.retired; a.cursor
			// then moves on.
			if err := s.Unregister("a"); err != nil {
				t.Fatal(err)
			}
			retired, err := os.ReadFile(consumerFile(dir, "a", retiredSuffix))
			if err != nil {
				t.Fatal(err)
			}
			s.Register("a")
			if err := s.Commit("a", ents[1999].Next, []byte("dest-a")); err != nil {
				t.Fatal(err)
			}
			closeT(t, s)
			if err := os.WriteFile(consumerFile(dir, "a", retiredSuffix), retired, 0o600); err != nil {
				t.Fatal(err)
			}
			return ents[1999].Next
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, ents := retiredSetup(t, dir)
			want := tt.crash(t, dir, s, ents)
			s = openT(t, dir, testOpts())
			if got := s.Consumers(); !slices.Equal(got, []string{"a", "keep"}) {
				t.Fatalf("Consumers() = %v, want [a keep]", got)
			}
			if p, st, _ := s.Cursor("a"); p != want || string(st) != "dest-a" {
				t.Fatalf("Cursor(a) = %v %q, want the live cursor %v dest-a", p, st, want)
			}
			if exists(t, consumerFile(dir, "a", retiredSuffix)) {
				t.Fatal("a.retired kept next to the live cursor")
			}
			// The retired cursor Unregister leaves now is the live one.
			if err := s.Unregister("a"); err != nil {
				t.Fatal(err)
			}
			if p := s.Register("a"); p != want {
				t.Fatalf("Register after Unregister = %v, want %v", p, want)
			}
		})
	}
}

func TestUnregister_RetiredCursorWriteFails_KeepsCursor(t *testing.T) {
	dir := t.TempDir()
	s, ents := retiredSetup(t, dir)
	committed := ents[retiredCommitted-1].Next
	// A directory where the temporary file goes makes the write fail.
	blocker := consumerFile(dir, "a", retiredSuffix+tmpSuffix)
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Unregister("a"); err == nil || !strings.Contains(err.Error(), `consumer "a" unregistered until the next Open`) {
		t.Fatalf("Unregister = %v, want the failed write reported", err)
	}
	if !exists(t, consumerFile(dir, "a", cursorSuffix)) || exists(t, consumerFile(dir, "a", retiredSuffix)) {
		t.Fatal("want a.cursor kept when a.retired cannot be written")
	}
	if got := s.Consumers(); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("Consumers() = %v, want [keep]", got)
	}
	// Registered again in this run, it resumes where it was.
	if p := s.Register("a"); p != committed {
		t.Fatalf("Register = %v, want %v", p, committed)
	}
	if err := s.Unregister("a"); err == nil {
		t.Fatal("second Unregister succeeded with the write still failing")
	}
	// Forgotten for this run: it no longer holds segments.
	if err := s.Commit("keep", ents[1999].Next, nil); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); files[0] != segName(4) {
		t.Fatalf("oldest segment %s, want %s", files[0], segName(4))
	}
	closeT(t, s)
	s = openT(t, dir, testOpts())
	if got := s.Consumers(); !slices.Equal(got, []string{"a", "keep"}) {
		t.Fatalf("Consumers() after reopening = %v, want [a keep]", got)
	}
	if p, st, _ := s.Cursor("a"); p != (Pos{4, segHeaderSize}) || string(st) != "dest-a" {
		t.Fatalf("Cursor(a) = %v %q, want %v dest-a (its cursor, at the oldest record kept)", p, st, Pos{4, segHeaderSize})
	}
}

func TestUnregisterRegister_ConcurrentWithAppendsNeverRedelivers(t *testing.T) {
	// A consumer unregistered and registered again 200 times while records
	// are appended and another consumer commits (deleting segments) never
	// reads a record twice, and reads up to the last one.
	dir := t.TempDir()
	s := openT(t, dir, testOpts())
	s.Register("keep")
	const total = 20000
	done := make(chan error, 1)
	go func() {
		for i := range total {
			if _, err := s.Append(payload(uint64(i), 100)); err != nil {
				done <- err
				return
			}
			if i%500 == 499 {
				if err := s.Commit("keep", s.End(), nil); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	next := uint64(0) // the id "a" reads next, when it is still kept
	for range 200 {
		p := s.Register("a")
		ents, end := readAll(t, s, p)
		for _, e := range ents {
			id, ok := checkPayload(e.Data)
			if !ok || id < next {
				t.Fatalf("read record %d (intact %v) after committing up to %d: delivered again", id, ok, next)
			}
			next = id + 1
		}
		if err := s.Commit("a", end, []byte("dest-a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Unregister("a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ents, _ := readAll(t, s, s.Register("a"))
	for _, e := range ents {
		id, _ := checkPayload(e.Data)
		if id < next {
			t.Fatalf("read record %d after committing up to %d", id, next)
		}
		next = id + 1
	}
	if next != total {
		t.Fatalf("consumer read up to record %d, want %d", next, total)
	}
}
