package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// segment is one segment file.
type segment struct {
	seq  uint64
	path string
	f    *os.File
	size int64
	// recEnd is the end of the data recovered when the spool was opened
	// (segHeaderSize for segments created since). Frames before it were
	// written by an earlier process: their busy flag means nothing.
	recEnd int64

	// Guarded by Spool.mu.
	data    []byte // the mapping; nil while unmapped
	end     int64  // end of the reserved frames
	frames  int64  // frames before end, torn ones included
	refs    int    // readers and syncs using the segment
	lastUse uint64
	deleted bool

	inflight atomic.Int64 // appends copying into the segment
	mapMu    sync.Mutex   // serializes mapping for readers
	// syncedEnd is the end of the data known to be on disk; guarded by
	// Spool.syncMu.
	syncedEnd int64
	// prefaulted is the offset up to which the background goroutine has
	// write-faulted the pages; written by the background goroutine only.
	prefaulted atomic.Int64
}

func (seg *segment) unmap() {
	if seg.data != nil {
		syscall.Munmap(seg.data)
		seg.data = nil
	}
}

var hostLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// word returns the uint32 at off in b, for atomic access. Frames are 8-byte
// aligned and mappings page aligned.
func word(b []byte, off int64) *uint32 {
	return (*uint32)(unsafe.Pointer(&b[off]))
}

// load32 atomically loads the little-endian uint32 at off.
func load32(b []byte, off int64) uint32 {
	v := atomic.LoadUint32(word(b, off))
	if !hostLE {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// store32 atomically stores v little endian at off.
func store32(b []byte, off int64, v uint32) {
	if !hostLE {
		v = bits.ReverseBytes32(v)
	}
	atomic.StoreUint32(word(b, off), v)
}

func align8(n int64) int64 { return (n + 7) &^ 7 }

func (s *Spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segSuffix))
}

// createSegment creates, preallocates and maps a new segment file. It makes
// system calls: never call it with s.mu held.
func (s *Spool) createSegment(seq uint64, size int64) (*segment, error) {
	path := s.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := preallocate(f, size); err != nil {
		return fail(err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("mmap %s: %w", path, err))
	}
	copy(data, segMagic)
	if err := f.Sync(); err != nil {
		syscall.Munmap(data)
		return fail(err)
	}
	if err := s.dirFile.Sync(); err != nil {
		syscall.Munmap(data)
		return fail(err)
	}
	return &segment{seq: seq, path: path, f: f, size: size, recEnd: segHeaderSize,
		data: data, end: segHeaderSize, syncedEnd: segHeaderSize}, nil
}

// fallocate is syscall.Fallocate; tests replace it to simulate a full disk.
var fallocate = syscall.Fallocate

// preallocate allocates size bytes of zeros for f, so that writing through
// the mapping can never fail for lack of space.
func preallocate(f *os.File, size int64) error {
	for {
		err := fallocate(int(f.Fd()), 0, 0, size)
		switch {
		case err == nil:
			return nil
		case err == syscall.EINTR:
			continue
		case err == syscall.EOPNOTSUPP || err == syscall.ENOSYS:
			return writeZeros(f, size)
		default:
			return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
		}
	}
}

// writeZeros is preallocate for file systems without fallocate.
func writeZeros(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// isNoSpace reports whether err means the disk (or quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

type hdrState int

const (
	hdrOK   hdrState = iota // the magic
	hdrZero                 // all zero: a segment whose creation did not finish
	hdrBad                  // anything else
)

type scanResult struct {
	hdr    hdrState
	end    int64 // end of the frames walked
	frames int64 // frames walked, torn ones included
	torn   int64
	clean  bool // the bytes from end to the end of the segment are zero
}

var zeroPage [4096]byte

func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroPage))
		if !bytes.Equal(b[:n], zeroPage[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// scanSegment walks the frames of a segment written by an earlier process,
// verifying their checksums.
func scanSegment(data []byte) scanResult {
	r := scanResult{end: segHeaderSize}
	switch {
	case string(data[:len(segMagic)]) == segMagic:
		r.hdr = hdrOK
	case allZero(data[:segHeaderSize]):
		r.hdr = hdrZero
		r.clean = allZero(data[segHeaderSize:])
		return r
	default:
		r.hdr = hdrBad
		return r
	}
	size := int64(len(data))
	off := int64(segHeaderSize)
	for off+frameHeaderSize <= size {
		l := load32(data, off)
		if l == 0 {
			break
		}
		n := int64(l &^ busyBit)
		if n < frameHeaderSize || off+align8(n) > size {
			r.end = off
			return r // not a frame: the data cannot be trusted past here
		}
		if load32(data, off+4) != crc32.Checksum(data[off+8:off+n], castagnoli) {
			r.torn++
		}
		r.frames++
		off += align8(n)
	}
	r.end = off
	r.clean = allZero(data[off:])
	return r
}

// openSegment opens and scans an existing segment file. It returns a nil
// segment for a file that cannot be a segment: too small ones are removed,
// too large ones left alone.
func (s *Spool) openSegment(seq uint64) (*segment, scanResult, error) {
	path := s.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, scanResult{}, fmt.Errorf("spool: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, scanResult{}, fmt.Errorf("spool: %w", err)
	}
	size := fi.Size() &^ 7
	switch {
	case size < segHeaderSize+frameHeaderSize:
		f.Close()
		s.log.Warn("spool: removing a segment file too small to hold a record", "path", path, "size", fi.Size())
		os.Remove(path)
		return nil, scanResult{}, nil
	case size > maxSegmentBytes:
		f.Close()
		s.log.Error("spool: ignoring a segment file larger than any segment", "path", path, "size", fi.Size())
		return nil, scanResult{}, nil
	}
	seg := &segment{seq: seq, path: path, f: f, size: size}
	if err := s.mapRW(seg); err != nil {
		f.Close()
		return nil, scanResult{}, err
	}
	res := scanSegment(seg.data)
	seg.unmap() // mapped again if it receives appends
	seg.recEnd, seg.end, seg.frames, seg.syncedEnd = res.end, res.end, res.frames, res.end
	return seg, res, nil
}

// mapRW maps a segment read-write.
func (s *Spool) mapRW(seg *segment) error {
	data, err := syscall.Mmap(int(seg.f.Fd()), 0, int(seg.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("spool: mmap %s: %w", seg.path, err)
	}
	seg.data = data
	return nil
}

// pin takes a reference on seg, keeping it mapped and undeleted, and maps
// it if needed. It returns the mapping and the end of the reserved frames.
func (s *Spool) pin(seg *segment) ([]byte, int64, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, 0, ErrClosed
	}
	if seg.deleted {
		s.mu.Unlock()
		return nil, 0, errDeleted
	}
	seg.refs++
	s.useClock++
	seg.lastUse = s.useClock
	data, end := seg.data, seg.end
	s.mu.Unlock()
	if data != nil {
		return data, end, nil
	}
	data, err := s.mapSegment(seg)
	if err != nil {
		s.unpin(seg)
		return nil, 0, err
	}
	return data, end, nil
}

var errDeleted = errors.New("spool: segment deleted")

// mapSegment maps a pinned segment read-only for reading.
func (s *Spool) mapSegment(seg *segment) ([]byte, error) {
	seg.mapMu.Lock()
	defer seg.mapMu.Unlock()
	s.mu.Lock()
	data := seg.data
	s.mu.Unlock()
	if data != nil {
		return data, nil
	}
	data, err := syscall.Mmap(int(seg.f.Fd()), 0, int(seg.size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("spool: mmap %s: %w", seg.path, err)
	}
	s.mu.Lock()
	seg.data = data
	s.mu.Unlock()
	return data, nil
}

// unpin releases a reference taken by pin and unmaps segments beyond the
// mapping budget.
func (s *Spool) unpin(seg *segment) {
	s.mu.Lock()
	seg.refs--
	unm := s.trimLocked()
	s.mu.Unlock()
	munmapAll(unm)
}

// trimLocked unmaps (returns for munmap) the least recently used idle
// segments while more than maxOldMapped segments other than the active one
// are mapped.
func (s *Spool) trimLocked() [][]byte {
	mapped := 0
	for _, seg := range s.segs {
		if seg != s.active && seg.data != nil {
			mapped++
		}
	}
	var out [][]byte
	for mapped > maxOldMapped {
		var victim *segment
		for _, seg := range s.segs {
			if seg != s.active && seg.data != nil && seg.refs == 0 && seg.inflight.Load() == 0 &&
				(victim == nil || seg.lastUse < victim.lastUse) {
				victim = seg
			}
		}
		if victim == nil {
			break
		}
		out = append(out, victim.data)
		victim.data = nil
		mapped--
	}
	return out
}

func munmapAll(m [][]byte) {
	for _, d := range m {
		syscall.Munmap(d)
	}
}

// collectLocked removes from segs the segments every consumer is past and
// returns them for deleteSegments. With no consumer nothing is collected.
func (s *Spool) collectLocked() []*segment {
	if len(s.cons) == 0 {
		return nil
	}
	m := s.minCursorLocked()
	var victims []*segment
	for len(s.segs) > 0 {
		seg := s.segs[0]
		if seg == s.active || !(seg.seq < m.Seg || (seg.seq == m.Seg && m.Off >= seg.end)) {
			break
		}
		seg.deleted = true
		s.segs[0] = nil
		s.segs = s.segs[1:]
		s.bytes -= seg.size
		victims = append(victims, seg)
	}
	return victims
}

// deleteSegments waits until nobody uses the collected segments, then
// unmaps, closes and removes them.
func (s *Spool) deleteSegments(victims []*segment) {
	for _, seg := range victims {
		var data []byte
		for {
			s.mu.Lock()
			idle := seg.refs == 0 && seg.inflight.Load() == 0
			if idle {
				data, seg.data = seg.data, nil
			}
			s.mu.Unlock()
			if idle {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		if data != nil {
			syscall.Munmap(data)
		}
		seg.f.Close()
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("spool: cannot remove segment", "path", seg.path, "err", err)
		}
	}
}
