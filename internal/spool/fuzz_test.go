package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fuzzTempDir is a fresh directory, on tmpfs when there is one: fsync is
// free there, which keeps fuzzing fast.
func fuzzTempDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "spool-fuzz-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// frame encodes one frame as Append writes it.
func frame(ts int64, p []byte) []byte {
	n := frameHeaderSize + len(p)
	b := make([]byte, align8(int64(n)))
	binary.LittleEndian.PutUint32(b, uint32(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts))
	copy(b[frameHeaderSize:], p)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:n], castagnoli))
	return b
}

// readRecovered reads every record of a recovered spool, failing if that
// takes more than 10 seconds (a loop in recovery or reading).
func readRecovered(t *testing.T, s *Spool) []Entry {
	t.Helper()
	done := make(chan struct{})
	var ents []Entry
	var err error
	go func() {
		defer close(done)
		ents, _, err = readAvailable(s, Pos{})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading the recovered spool hangs")
	}
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

// FuzzRecover fuzzes the bytes after the header of a segment file: Open and
// reading everything must not panic or hang, must return only records whose
// checksum matches, and appending must still work.
func FuzzRecover(f *testing.F) {
	var valid []byte
	for i := range 5 {
		valid = append(valid, frame(int64(i)*1e9, payload(uint64(i), 20+i*9))...)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add(frame(1, []byte("x")))
	torn := append([]byte(nil), valid...)
	torn[len(frame(0, payload(0, 20)))+20] ^= 0xff
	f.Add(torn)
	busy := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(busy, binary.LittleEndian.Uint32(busy)|busyBit)
	f.Add(busy)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{16, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > testSeg-segHeaderSize {
			data = data[:testSeg-segHeaderSize]
		}
		dir := fuzzTempDir(t)
		seg := make([]byte, testSeg)
		copy(seg, segMagic)
		copy(seg[segHeaderSize:], data)
		if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := testOpts()
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		ents := readRecovered(t, s)
		for _, e := range ents {
			if !frameChecksumOK(t, dir, e) {
				t.Fatalf("record at %v returned without a valid checksum", e.Pos)
			}
		}
		st := s.Stats()
		if st.PendingRecords < int64(len(ents)) {
			t.Fatalf("PendingRecords %d < %d records read", st.PendingRecords, len(ents))
		}
		p, err := s.Append([]byte("after"))
		if err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := s.Read(ctx, p, 1, 0)
		if err != nil || len(got) != 1 || string(got[0].Data) != "after" {
			t.Fatalf("Read of the record appended after recovery: %v %v", got, err)
		}
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Fatal(err)
		}
	})
}

// Corruption operations of FuzzRecoverDamage, one per 8 bytes of ops:
// kind, file, u32 offset, u16 argument.
const (
	opFlip     = iota // xor the byte at offset with the argument's low byte (made non-zero)
	opZero            // zero argument%2048 bytes from offset
	opTruncate        // cut the file at offset
	opWord            // store the argument as a length word at offset&^7
	opKinds
)

// corrupt applies one corruption operation to b and returns the result.
func corrupt(b []byte, op []byte) []byte {
	off := int(binary.LittleEndian.Uint32(op[2:6]) % uint32(len(b)+1))
	arg := binary.LittleEndian.Uint16(op[6:8])
	switch op[0] % opKinds {
	case opFlip:
		if off < len(b) {
			b[off] ^= byte(arg) | 1
		}
	case opZero:
		clear(b[off:min(len(b), off+int(arg%2048))])
	case opTruncate:
		b = b[:off]
	case opWord:
		if o := off &^ 7; o+4 <= len(b) {
			binary.LittleEndian.PutUint32(b[o:], uint32(arg))
		}
	}
	return b
}

// FuzzRecoverDamage writes records through the real Append path, applies
// fuzzer-chosen corruption (byte flips, zeroed ranges, truncation, length
// words) to the segment files, reopens and reads everything. It must not
// panic or hang; every record returned must be intact and where it was
// appended; every record whose frame the damage did not touch must be
// returned; every record lost must be accounted for by a recorded skip, a
// truncation, or an undetectable zero tail; and Open must log each torn
// frame, corrupt range and truncated segment the counters count.
func FuzzRecoverDamage(f *testing.F) {
	op := func(kind byte, file byte, off uint32, arg uint16) []byte {
		b := []byte{kind, file, 0, 0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(b[2:], off)
		binary.LittleEndian.PutUint16(b[6:], arg)
		return b
	}
	// 300 records of 600 to 616 bytes over three segments.
	f.Add(uint16(300), uint16(588), []byte{})
	f.Add(uint16(300), uint16(588), op(opFlip, 0, 16+624+1, 0xff))  // second frame's length
	f.Add(uint16(300), uint16(588), op(opFlip, 1, 5000, 0x40))      // a payload byte
	f.Add(uint16(300), uint16(588), op(opTruncate, 2, 20000, 0))    // the last data segment
	f.Add(uint16(300), uint16(588), op(opZero, 0, 3000, 1500))      // across frames
	f.Add(uint16(300), uint16(588), op(opWord, 0, 0, 0x7777))       // the header
	f.Add(uint16(300), uint16(588), op(opWord, 1, 16+624*5, 624*7)) // a length to a later boundary
	f.Add(uint16(40), uint16(20), append(op(opZero, 0, 100, 200), op(opFlip, 0, 600, 3)...))
	f.Add(uint16(300), uint16(588), append(op(opTruncate, 1, 40000, 0), op(opFlip, 3, 9, 1)...)) // a middle segment, and the spare

	f.Fuzz(func(t *testing.T, nrec, size uint16, ops []byte) {
		n := 1 + int(nrec)%400
		dir := fuzzTempDir(t)
		s, err := Open(dir, testOpts())
		if err != nil {
			t.Fatal(err)
		}
		type rec struct {
			pos Pos
			end int64 // of the frame, padding included
		}
		recs := make([]rec, n)
		for i := range recs {
			p, err := s.Append(payload(uint64(i), 12+(int(size)+i*37)%3000))
			if err != nil {
				t.Fatal(err)
			}
			recs[i] = rec{p, p.Off + align8(int64(frameHeaderSize+12+(int(size)+i*37)%3000))}
		}
		waitSpare(t, s) // the same files every run: the data segments and the spare
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		files := segFiles(t, dir)
		orig := map[string][]byte{}
		damaged := map[string][]byte{}
		for _, name := range files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			orig[name], damaged[name] = b, slices.Clone(b)
		}
		for k := 0; k+8 <= len(ops) && k < 8*8; k += 8 {
			name := files[int(ops[k+1])%len(files)]
			damaged[name] = corrupt(damaged[name], ops[k:k+8])
		}
		for _, name := range files {
			if err := os.WriteFile(filepath.Join(dir, name), damaged[name], 0o600); err != nil {
				t.Fatal(err)
			}
		}

		var logs logBuffer
		s, err = Open(dir, loggedOpts(&logs))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		ents := readRecovered(t, s)
		got := map[int]bool{}
		for _, e := range ents {
			id, ok := checkPayload(e.Data)
			if !ok || id >= uint64(n) || e.Pos != recs[id].pos || !frameChecksumOK(t, dir, e) {
				t.Fatalf("record at %v returned damaged or out of place (id %d ok %v)", e.Pos, id, ok)
			}
			got[int(id)] = true
		}

		s.mu.Lock()
		skips := map[uint64][]skip{}
		for _, seg := range s.segs {
			skips[seg.seq] = seg.skips
		}
		s.mu.Unlock()
		st := s.Stats()
		for i, r := range recs {
			if got[i] {
				continue
			}
			name := segName(r.pos.Seg)
			o, d := orig[name], damaged[name]
			if r.end <= int64(len(d)) && string(o[r.pos.Off:r.end]) == string(d[r.pos.Off:r.end]) {
				t.Fatalf("record %d at %v lost although the damage did not touch it (stats %+v)", i, r.pos, st)
			}
			sk := skips[r.pos.Seg]
			j := skipIndex(sk, r.pos.Off)
			switch {
			case j < len(sk) && sk[j].start <= r.pos.Off:
				// inside a torn frame or corrupt range that was counted
			case len(d) < segHeaderSize+frameHeaderSize && !allZero(d):
				if st.TruncatedSegments == 0 {
					t.Fatalf("record %d at %v in a file cut to %d bytes, no truncation counted", i, r.pos, len(d))
				}
			case r.end > int64(len(d)):
				if st.TruncatedSegments+st.CorruptRanges == 0 {
					t.Fatalf("record %d at %v cut off with no truncation or damage counted", i, r.pos)
				}
			case allZero(d[r.pos.Off:]):
				// zeros to the end of the file look like free space
			default:
				t.Fatalf("record %d at %v lost without a skip accounting for it (stats %+v)", i, r.pos, st)
			}
		}
		if total := st.Torn + st.CorruptRanges + st.TruncatedSegments; total <= maxOpenDamageLogs {
			for _, c := range []struct {
				msg  string
				want uint64
			}{{msgTorn, st.Torn}, {msgCorrupt, st.CorruptRanges}, {msgTruncated, st.TruncatedSegments}} {
				if n := logs.count(c.msg); uint64(n) != c.want {
					t.Fatalf("%d lines %s, counters say %d:\n%s", n, c.msg, c.want, logs.String())
				}
			}
		}

		p, err := s.Append([]byte("after"))
		if err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
		if more, _, err := readAvailable(s, p); err != nil || len(more) != 1 || string(more[0].Data) != "after" {
			t.Fatalf("Read of the record appended after recovery: %v %v", more, err)
		}
	})
}

// FuzzConsumerFiles fuzzes the cursor and retired cursor files of consumer
// "c" (present: bit 0 writes c.cursor, bit 1 c.retired; fixSum recomputes
// each file's trailing checksum, so that mutations reach the fields). Open
// must succeed whatever they hold; a live cursor must win over a retired
// one, which Open removes; and a consumer registered from a retired cursor
// must read a suffix of the records: from the retired position exactly
// when it is a record's start or the end, from the oldest record when it
// is before it or unreadable, from the end when it is past it.
func FuzzConsumerFiles(f *testing.F) {
	const n = 20
	var data []byte
	var starts []Pos // of every record, then the end
	for i := range n {
		starts = append(starts, Pos{1, int64(segHeaderSize + len(data))})
		data = append(data, frame(int64(i+1)*1e9, payload(uint64(i), 20+i))...)
	}
	end := Pos{1, int64(segHeaderSize + len(data))}
	starts = append(starts, end)
	first := starts[0]
	for _, p := range []Pos{starts[5], first, end, {}, {1, 17}, {7, segHeaderSize}} {
		f.Add([]byte(nil), encodeCursor(p, []byte("dest")), uint8(2), false)
		f.Add(encodeCursor(starts[3], nil), encodeCursor(p, nil), uint8(3), false)
	}
	f.Add([]byte("MWCURSR1"), []byte("MWCURSR1garbage"), uint8(3), true)
	f.Add([]byte{}, []byte{}, uint8(2), false)
	f.Add([]byte{}, []byte{}, uint8(0), false)

	f.Fuzz(func(t *testing.T, cursor, retired []byte, present uint8, fixSum bool) {
		if fixSum {
			for _, b := range [][]byte{cursor, retired} {
				if len(b) >= 4 {
					binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
				}
			}
		}
		dir := fuzzTempDir(t)
		seg := make([]byte, testSeg)
		copy(seg, segMagic)
		copy(seg[segHeaderSize:], data)
		if err := os.MkdirAll(filepath.Join(dir, consumersDir), 0o700); err != nil {
			t.Fatal(err)
		}
		files := []struct {
			bit    uint8
			suffix string
			b      []byte
		}{{1, cursorSuffix, cursor}, {2, retiredSuffix, retired}}
		writes := map[string][]byte{segName(1): seg}
		for _, fl := range files {
			if present&fl.bit != 0 {
				writes[filepath.Join(consumersDir, "c"+fl.suffix)] = fl.b
			}
		}
		for name, b := range writes {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(dir, testOpts())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		retiredPath := filepath.Join(dir, consumersDir, "c"+retiredSuffix)
		if present&1 != 0 {
			if got := s.Consumers(); !slices.Equal(got, []string{"c"}) {
				t.Fatalf("Consumers() = %v with c.cursor present", got)
			}
			if _, err := os.Stat(retiredPath); err == nil {
				t.Fatal("c.retired kept next to c.cursor")
			}
			return
		}
		if got := s.Consumers(); len(got) != 0 {
			t.Fatalf("Consumers() = %v without a cursor file", got)
		}
		p := s.Register("c")
		if p.Less(first) || end.Less(p) {
			t.Fatalf("Register = %v, outside %v..%v", p, first, end)
		}
		if _, err := os.Stat(retiredPath); err == nil {
			t.Fatal("c.retired kept after Register")
		}
		want := first
		if rp, _, err := parseCursor(retired); present&2 != 0 && err == nil {
			switch {
			case end.Less(rp):
				want = end
			case slices.Contains(starts, rp):
				want = rp
			case rp.Less(first):
			default:
				want = Pos{} // inside a frame: only the suffix is checked
			}
		}
		if want != (Pos{}) && p != want {
			t.Fatalf("Register = %v, want %v", p, want)
		}
		got, _, err := readAvailable(s, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > n {
			t.Fatalf("read %d records of %d", len(got), n)
		}
		for i, e := range got {
			if k := n - len(got) + i; e.Pos != starts[k] {
				t.Fatalf("record %d read from %v is at %v, want %v: not a suffix of the records", i, p, e.Pos, starts[k])
			}
		}
	})
}
