package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
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
		done := make(chan struct{})
		var ents []Entry
		var rerr error
		go func() {
			defer close(done)
			ents, _, rerr = readAvailable(s, Pos{})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("reading the recovered spool hangs")
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
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
