package spool

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Log messages the tests look for.
const (
	msgTorn      = `msg="spool: torn record skipped (checksum mismatch)"`
	msgCorrupt   = `msg="spool: corrupt range skipped; any records in it are lost"`
	msgTruncated = `msg="spool: segment file truncated; records after the cut are lost"`
)

// loggedOpts are testOpts with a logger that writes into logs.
func loggedOpts(logs *logBuffer) Options {
	opts := testOpts()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return opts
}

// appendN appends n records of size bytes (ids 0..n-1) and returns their
// positions.
func appendN(t *testing.T, s *Spool, n, size int) []Pos {
	t.Helper()
	var pos []Pos
	for i := range n {
		p, err := s.Append(payload(uint64(i), size))
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, p)
	}
	return pos
}

// appendRecords appends n records of size bytes (ids 0..n-1) through the
// real Append path to a new spool in dir, closes it and returns their
// positions.
func appendRecords(t *testing.T, dir string, n, size int) []Pos {
	t.Helper()
	s := openT(t, dir, testOpts())
	pos := appendN(t, s, n, size)
	waitSpare(t, s)
	closeT(t, s)
	return pos
}

// damageSegment rewrites segment seq of dir with what damage returns.
func damageSegment(t *testing.T, dir string, seq uint64, damage func(b []byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, segName(seq))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, damage(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readIDs reads every record of s from the start and returns their ids,
// failing on a record that is not intact.
func readIDs(t *testing.T, s *Spool) []int {
	t.Helper()
	ents, _ := readAll(t, s, Pos{})
	ids := make([]int, 0, len(ents))
	for _, e := range ents {
		id, ok := checkPayload(e.Data)
		if !ok {
			t.Fatalf("damaged record returned at %v", e.Pos)
		}
		ids = append(ids, int(id))
	}
	return ids
}

// damageCounts are the Stats fields about damage.
type damageCounts struct{ torn, ranges, bytes, truncated uint64 }

func countsOf(st Stats) damageCounts {
	return damageCounts{st.Torn, st.CorruptRanges, st.CorruptBytes, st.TruncatedSegments}
}

func TestDamagedSegment_ResynchronisesAndCounts(t *testing.T) {
	// 100 records of 500 bytes are 520-byte frames from offset 16, all in
	// the first segment: record i starts at 16+520*i.
	const n, size, frameLen = 100, 500, 520
	at := func(i int) int64 { return segHeaderSize + frameLen*int64(i) }
	tests := []struct {
		name   string
		damage func(b []byte)
		lost   []int
		want   damageCounts
		logs   []string // each exactly once, with its attributes
		sealed bool     // appends go to a new segment
	}{
		{
			name:   "bad length byte in the second frame (not a frame)",
			damage: func(b []byte) { b[at(1)+1] = 0xff }, // 516 -> 65284: past the segment's end
			lost:   []int{1},
			want:   damageCounts{ranges: 1, bytes: frameLen},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=%d bytes=%d resumed_at=%d", "SEG", at(1), frameLen, at(2))},
			sealed: true,
		},
		{
			name:   "bad length byte in the second frame (plausible, wrong)",
			damage: func(b []byte) { b[at(1)] = 0 }, // 516 -> 512: into the frame's own tail
			lost:   []int{1},
			want:   damageCounts{ranges: 1, bytes: frameLen},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=%d bytes=%d resumed_at=%d", "SEG", at(1), frameLen, at(2))},
			sealed: true,
		},
		{
			name:   "length pointing at a later frame boundary",
			damage: func(b []byte) { binary.LittleEndian.PutUint32(b[at(1):], 3*frameLen-4) },
			lost:   []int{1},
			want:   damageCounts{ranges: 1, bytes: frameLen},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=%d bytes=%d resumed_at=%d", "SEG", at(1), frameLen, at(2))},
			sealed: true,
		},
		{
			name:   "payload byte (checksum mismatch)",
			damage: func(b []byte) { b[at(1)+frameHeaderSize+100] ^= 0x40 },
			lost:   []int{1},
			want:   damageCounts{torn: 1},
			logs:   []string{msgTorn + fmt.Sprintf(" segment=%s offset=%d bytes=%d", "SEG", at(1), frameLen)},
		},
		{
			name: "two torn frames in a row (two appends killed mid-copy)",
			damage: func(b []byte) {
				for _, i := range []int{40, 41} {
					binary.LittleEndian.PutUint32(b[at(i):], binary.LittleEndian.Uint32(b[at(i):])|busyBit)
					binary.LittleEndian.PutUint32(b[at(i)+4:], 0)
					clear(b[at(i)+frameHeaderSize+200 : at(i)+frameLen])
				}
			},
			lost: []int{40, 41},
			want: damageCounts{torn: 2},
			logs: []string{
				msgTorn + fmt.Sprintf(" segment=%s offset=%d bytes=%d", "SEG", at(40), frameLen),
				msgTorn + fmt.Sprintf(" segment=%s offset=%d bytes=%d", "SEG", at(41), frameLen),
			},
		},
		{
			name:   "garbage header",
			damage: func(b []byte) { copy(b, "garbage!garbage!") },
			want:   damageCounts{ranges: 1, bytes: segHeaderSize},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=0 bytes=16 resumed_at=16", "SEG")},
			sealed: true,
		},
		{
			name:   "header size field damaged",
			damage: func(b []byte) { b[9] ^= 1 },
			want:   damageCounts{ranges: 1, bytes: segHeaderSize},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=0 bytes=16 resumed_at=16", "SEG")},
			sealed: true,
		},
		{
			name:   "zeroed header",
			damage: func(b []byte) { clear(b[:segHeaderSize]) },
			want:   damageCounts{ranges: 1, bytes: segHeaderSize},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=0 bytes=16 resumed_at=16", "SEG")},
			sealed: true,
		},
		{
			// From inside record 10's payload to inside record 13's header:
			// 10 is left with an intact length word, 11 and 12 are zero.
			name:   "zeroed range across four frames",
			damage: func(b []byte) { clear(b[at(10)+100 : at(13)+4]) },
			lost:   []int{10, 11, 12, 13},
			want:   damageCounts{ranges: 1, bytes: 4 * frameLen},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=%d bytes=%d resumed_at=%d", "SEG", at(10), 4*frameLen, at(14))},
			sealed: true,
		},
		{
			name:   "garbage over two frames",
			damage: func(b []byte) { copy(b[at(50)+8:], strings.Repeat("\xa5\x5a\x0f\xf0", 2*frameLen/4)) },
			lost:   []int{50, 51, 52},
			want:   damageCounts{ranges: 1, bytes: 3 * frameLen},
			logs:   []string{msgCorrupt + fmt.Sprintf(" segment=%s offset=%d bytes=%d resumed_at=%d", "SEG", at(50), 3*frameLen, at(53))},
			sealed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pos := appendRecords(t, dir, n, size)
			if pos[n-1].Seg != 1 || pos[1].Off != at(1) {
				t.Fatalf("records laid out unexpectedly: last at %v, second at %v", pos[n-1], pos[1])
			}
			damageSegment(t, dir, 1, func(b []byte) []byte { tt.damage(b); return b })

			var logs logBuffer
			s := openT(t, dir, loggedOpts(&logs))
			want := without(n, tt.lost...)
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("read %d records %v\nwant %d: %v", len(got), got, len(want), want)
			}
			st := s.Stats()
			if got := countsOf(st); got != tt.want {
				t.Fatalf("damage counters %+v, want %+v", got, tt.want)
			}
			if wantPending := int64(n - len(tt.lost) + int(tt.want.torn)); st.PendingRecords != wantPending {
				t.Fatalf("PendingRecords = %d, want %d (torn frames count)", st.PendingRecords, wantPending)
			}
			seg := filepath.Join(dir, segName(1))
			for _, l := range tt.logs {
				l = strings.Replace(l, "SEG", seg, 1)
				if c := logs.count(l); c != 1 {
					t.Fatalf("%q logged %d times, want once:\n%s", l, c, logs.String())
				}
			}
			if c := logs.count(msgTorn) + logs.count(msgCorrupt) + logs.count(msgTruncated); c != len(tt.logs) {
				t.Fatalf("%d damage lines logged, want %d:\n%s", c, len(tt.logs), logs.String())
			}
			// Reading counted nothing again; appends continue, in a new
			// segment after a corrupt range.
			p, err := s.Append(payload(1000, size))
			if err != nil {
				t.Fatal(err)
			}
			if sealed := p.Seg != 1; sealed != tt.sealed {
				t.Fatalf("append after recovery went to %v; sealed = %v, want %v", p, sealed, tt.sealed)
			}
			want = append(want, 1000)
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("after appending: %v, want %v", got, want)
			}
			if got := countsOf(s.Stats()); got != tt.want {
				t.Fatalf("reading counted damage again: %+v, want %+v", got, tt.want)
			}
			closeT(t, s)
			s = openT(t, dir, testOpts())
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("after reopening: %v, want %v", got, want)
			}
			if got := countsOf(s.Stats()); got != tt.want {
				t.Fatalf("after reopening: counters %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTruncatedSegment_RecoversEveryCompleteFrame(t *testing.T) {
	// 300 records of 600 bytes are 616-byte frames, 106 to a segment:
	// segments 1 and 2 are full, segment 3 holds records 212..299.
	const n, size, frameLen = 300, 600, 616
	tests := []struct {
		name    string
		cut     func(rec Pos) int64 // the new file size, from record 250's position
		legacy  bool                // the header from before it recorded the size
		lost    int                 // records from 250 on that are gone
		torn    uint64
		missing string
	}{
		{"mid-frame", func(p Pos) int64 { return p.Off + 300 }, false, 50, 1, ""},
		{"in the length word", func(p Pos) int64 { return p.Off + 3 }, false, 50, 1, ""},
		{"at a frame boundary", func(p Pos) int64 { return p.Off }, false, 50, 0, ""},
		{"in the zero tail", func(Pos) int64 { return testSeg - 1000 }, false, 0, 0, ""},
		{"mid-frame, older header", func(p Pos) int64 { return p.Off + 300 }, true, 50, 1, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pos := appendRecords(t, dir, n, size)
			rec := pos[250]
			if pos[211].Seg != 2 || rec.Seg != 3 || pos[n-1].Seg != 3 {
				t.Fatalf("records laid out unexpectedly: %v %v %v", pos[211], rec, pos[n-1])
			}
			cut := tt.cut(rec)
			damageSegment(t, dir, 3, func(b []byte) []byte {
				if tt.legacy {
					clear(b[8:segHeaderSize])
				}
				return b[:cut]
			})

			var logs logBuffer
			s := openT(t, dir, loggedOpts(&logs))
			want := without(n - tt.lost)
			if got := readIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("read %d records, want %d", len(got), len(want))
			}
			wantCounts := damageCounts{torn: tt.torn, truncated: 1}
			if got := countsOf(s.Stats()); got != wantCounts {
				t.Fatalf("damage counters %+v, want %+v", got, wantCounts)
			}
			missing := tt.missing
			if missing == "" {
				missing = fmt.Sprint(testSeg - cut)
			}
			seg := filepath.Join(dir, segName(3))
			line := fmt.Sprintf("%s segment=%s file_size=%d missing_bytes=%s", msgTruncated, seg, cut, missing)
			if c := logs.count(line); c != 1 {
				t.Fatalf("%q logged %d times, want once:\n%s", line, c, logs.String())
			}
			if tt.torn == 1 {
				line := fmt.Sprintf("%s segment=%s offset=%d bytes=%d", msgTorn, seg, rec.Off, cut-rec.Off)
				if c := logs.count(line); c != 1 {
					t.Fatalf("%q logged %d times, want once:\n%s", line, c, logs.String())
				}
			}
			// Appends never go into the short file.
			p, err := s.Append(payload(1000, size))
			if err != nil {
				t.Fatal(err)
			}
			if p.Seg <= 3 {
				t.Fatalf("append after recovery went to %v, into or before the truncated segment", p)
			}
			if fi, err := os.Stat(seg); err != nil || fi.Size() != cut {
				t.Fatalf("truncated segment changed: %v %v", fi, err)
			}
			closeT(t, s)
			s = openT(t, dir, testOpts())
			if got := readIDs(t, s); !slices.Equal(got, append(want, 1000)) {
				t.Fatalf("after reopening: %d records", len(got))
			}
		})
	}
}

func TestMissingCursor_RedeliversFromOldest(t *testing.T) {
	const n = 3000
	tests := []struct {
		name      string
		committed int // records the consumer committed before its cursor file went
	}{
		{"nothing committed", 0},
		{"part committed", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, testOpts())
			s.Register("c")
			for i := range n {
				if _, err := s.Append(payload(uint64(i), 100)); err != nil {
					t.Fatal(err)
				}
			}
			ents, _ := readAll(t, s, Pos{})
			if tt.committed > 0 {
				if err := s.Commit("c", ents[tt.committed-1].Next, nil); err != nil {
					t.Fatal(err)
				}
			}
			// What the spool still holds: the segments from the one with
			// the first record not committed.
			kept := 0
			for _, e := range ents {
				if e.Pos.Seg >= ents[tt.committed].Pos.Seg {
					kept++
				}
			}
			closeT(t, s)
			if err := os.Remove(filepath.Join(dir, consumersDir, "c"+cursorSuffix)); err != nil {
				t.Fatal(err)
			}

			s = openT(t, dir, testOpts())
			if _, _, ok := s.Cursor("c"); ok {
				t.Fatal("consumer still known without its cursor file")
			}
			p := s.Register("c")
			got, _ := readAll(t, s, p)
			if len(got) != kept {
				t.Fatalf("consumer without a cursor reads %d records from %v, want the %d kept", len(got), p, kept)
			}
			first, _ := checkPayload(got[0].Data)
			if last, _ := checkPayload(got[len(got)-1].Data); last != n-1 || int(first) != n-kept || int(first) > tt.committed {
				t.Fatalf("re-read records %d..%d, want %d..%d covering every pending one", first, last, n-kept, n-1)
			}
			// A brand-new consumer starts at the oldest record too.
			if got, _ := readAll(t, s, s.Register("new")); len(got) != kept {
				t.Fatalf("new consumer reads %d records, want %d", len(got), kept)
			}
		})
	}
}

func TestReaderDamage_FoundOnceAndRateLimited(t *testing.T) {
	// Damage to records written since Open (here: written through the file
	// while the spool has it mapped) is found by the reader, skipped,
	// counted once however many readers pass it, and logged rate-limited.
	const n, size, frameLen = 60, 500, 520
	dir := t.TempDir()
	var logs logBuffer
	s := openT(t, dir, loggedOpts(&logs))
	pos := appendN(t, s, n, size)
	f, err := os.OpenFile(filepath.Join(dir, segName(pos[0].Seg)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xff, 0xff}, pos[20].Off); err != nil { // length
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, pos[30].Off+frameHeaderSize+100); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{b[0] ^ 0x10}, pos[30].Off+frameHeaderSize+100); err != nil { // payload
		t.Fatal(err)
	}
	want := without(n, 20, 30)
	wantCounts := damageCounts{torn: 1, ranges: 1, bytes: frameLen}
	for reader := range 3 {
		if got := readIDs(t, s); !slices.Equal(got, want) {
			t.Fatalf("reader %d: %v, want %v", reader, got, want)
		}
		if got := countsOf(s.Stats()); got != wantCounts {
			t.Fatalf("after reader %d: counters %+v, want %+v", reader, got, wantCounts)
		}
	}
	// The first damage is logged; the second, within the rate limit, not.
	line := fmt.Sprintf("%s segment=%s found_by=reader offset=%d bytes=%d resumed_at=%d", msgCorrupt,
		filepath.Join(dir, segName(pos[0].Seg)), pos[20].Off, frameLen, pos[21].Off)
	if c := logs.count(line); c != 1 {
		t.Fatalf("%q logged %d times, want once:\n%s", line, c, logs.String())
	}
	if c := logs.count("found_by=reader"); c != 1 {
		t.Fatalf("%d lines about damage found by readers within the rate limit, want 1:\n%s", c, logs.String())
	}
	// Appending and reading go on after the damage.
	if _, err := s.Append(payload(1000, size)); err != nil {
		t.Fatal(err)
	}
	if got := readIDs(t, s); !slices.Equal(got, append(want, 1000)) {
		t.Fatalf("after appending: %v", got)
	}
}

func TestEmptiedSegmentBeforeData_Counted(t *testing.T) {
	// Segments fill in order: one left with no data before one with data
	// lost everything it held.
	dir := t.TempDir()
	pos := appendRecords(t, dir, 300, 600)
	damageSegment(t, dir, 2, func(b []byte) []byte { clear(b[segHeaderSize:]); return b })
	var logs logBuffer
	s := openT(t, dir, loggedOpts(&logs))
	var lost []int
	for i, p := range pos {
		if p.Seg == 2 {
			lost = append(lost, i)
		}
	}
	if got := readIDs(t, s); !slices.Equal(got, without(300, lost...)) {
		t.Fatalf("read %d records, want %d", len(got), 300-len(lost))
	}
	want := damageCounts{ranges: 1, bytes: testSeg - segHeaderSize}
	if got := countsOf(s.Stats()); got != want {
		t.Fatalf("damage counters %+v, want %+v", got, want)
	}
	if c := logs.count(msgCorrupt + " segment=" + filepath.Join(dir, segName(2)) + " offset=16"); c != 1 {
		t.Fatalf("emptied segment logged %d times:\n%s", c, logs.String())
	}
}
