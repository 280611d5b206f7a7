package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

const testSeg = 64 << 10

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testOpts are small segments, no background sync and a quiet logger.
func testOpts() Options {
	return Options{SegmentBytes: testSeg, MaxBytes: 64 << 20, SyncInterval: -1, Logger: quietLogger()}
}

func openT(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func closeT(t testing.TB, s *Spool) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// payload builds a self-checking record: id, length, then bytes derived from
// both.
func payload(id uint64, size int) []byte {
	size = max(size, 12)
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, id)
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	x := uint32(id*2654435761 + uint64(size))
	for i := 12; i < size; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// checkPayload returns the id of a payload built by payload, or false if
// it is not intact.
func checkPayload(b []byte) (uint64, bool) {
	if len(b) < 12 || int(binary.LittleEndian.Uint32(b[8:])) != len(b) {
		return 0, false
	}
	id := binary.LittleEndian.Uint64(b)
	want := payload(id, len(b))
	return id, string(want) == string(b)
}

// readAll reads every record available from pos without blocking and
// returns them with the position after the last.
func readAll(t testing.TB, s *Spool, pos Pos) ([]Entry, Pos) {
	t.Helper()
	all, pos, err := readAvailable(s, pos)
	if err != nil {
		t.Fatal(err)
	}
	return all, pos
}

// readAvailable is readAll for any goroutine.
func readAvailable(s *Spool, pos Pos) ([]Entry, Pos, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var all []Entry
	for {
		ents, err := s.Read(ctx, pos, 500, 1<<20)
		if errors.Is(err, context.Canceled) {
			return all, pos, nil
		}
		if err != nil {
			return all, pos, fmt.Errorf("Read(%v): %w", pos, err)
		}
		for i, e := range ents {
			if !pos.Less(e.Next) || e.Pos.Less(pos) {
				return all, pos, fmt.Errorf("entry %d: Pos %v Next %v out of order after %v", i, e.Pos, e.Next, pos)
			}
			pos = e.Next
		}
		all = append(all, ents...)
	}
}

// segFiles lists the segment sequence numbers in dir.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	sort.Strings(m)
	return m
}

// frameChecksumOK reports whether the frame on disk at e.Pos has a checksum
// matching e's time and data.
func frameChecksumOK(t testing.TB, dir string, e Entry) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, segName(e.Pos.Seg)))
	if err != nil {
		t.Fatal(err)
	}
	off := e.Pos.Off
	var tb [8]byte
	binary.LittleEndian.PutUint64(tb[:], uint64(e.Time.UnixNano()))
	c := crc32.Update(crc32.Checksum(tb[:], castagnoli), castagnoli, e.Data)
	return binary.LittleEndian.Uint32(b[off+4:]) == c &&
		int(binary.LittleEndian.Uint32(b[off:])&^busyBit) == frameHeaderSize+len(e.Data)
}

func segName(seq uint64) string {
	return filepath.Base((&Spool{}).segPath(seq))
}
