package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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
	skips   []skip // torn frames and corrupt ranges readers jump over
	data    []byte // the mapping; nil while unmapped
	end     int64  // end of the reserved frames
	frames  int64  // frames before end, torn ones included
	refs    int    // readers and syncs using the segment
	lastUse uint64
	deleted bool

	inflight atomic.Int64 // appends copying into the segment
	mapMu    sync.Mutex   // serializes mapping
	// fixHeader: recovered without frames, its header is rewritten when it
	// is mapped for appends; guarded by mapMu.
	fixHeader bool
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
	writeHeader(data, size)
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
	hdrOK   hdrState = iota // the magic, and a size field that is valid or (older segments) zero
	hdrZero                 // the whole file is zero: a segment whose creation did not finish
	hdrBad                  // anything else: counted as a corrupt range, frames found by resynchronisation
)

// writeHeader writes a segment header: the magic, the segment's size and a
// checksum of both.
func writeHeader(b []byte, size int64) {
	copy(b, segMagic)
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
}

// parseHeader returns the state of a segment header and the size it
// records (0 for segments written before the header recorded it).
func parseHeader(b []byte) (hdrState, int64) {
	if string(b[:len(segMagic)]) != segMagic {
		return hdrBad, 0
	}
	size, sum := binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
	switch {
	case size == 0 && sum == 0:
		return hdrOK, 0
	case sum != crc32.Checksum(b[:12], castagnoli), size%4096 != 0, size < minSegmentBytes, size > maxSegmentBytes:
		return hdrBad, 0
	}
	return hdrOK, int64(size)
}

type scanResult struct {
	hdr       hdrState
	fileSize  int64
	truncated bool  // the file is shorter than the segment was created
	end       int64 // end of the frames walked
	frames    int64 // frames walked, torn ones included
	skips     []skip
	damage    []damage
	exhausted bool // resynchronisation gave up (checksum budget)
	clean     bool // the bytes from end to the end of the segment are zero
}

// appendable reports whether appends may continue in the segment: its
// header is valid, it has its full size, nothing in it was corrupt and the
// rest of it is zero. Torn frames do not matter: their extent is known.
func (r *scanResult) appendable() bool {
	if r.hdr != hdrOK || r.truncated || !r.clean {
		return false
	}
	for _, d := range r.damage {
		if d.kind != damageTorn {
			return false
		}
	}
	return true
}

// damaged reports whether the scan found anything it could not read.
func (r *scanResult) damaged() bool { return r.hdr == hdrBad || len(r.damage) > 0 }

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

// scanSegment walks the frames of a segment file written by an earlier
// process (data is the whole file, at least segHeaderSize+frameHeaderSize
// bytes), verifying their checksums and resynchronising after damage as the
// package documentation describes. tb carries the times of the good
// records walked from one segment to the next.
func scanSegment(data []byte, tb *timeBounds) scanResult {
	fileSize := int64(len(data))
	limit := fileSize &^ 7
	r := scanResult{fileSize: fileSize, end: segHeaderSize, clean: true}
	dend := dataEnd(data)
	if dend == 0 {
		r.hdr = hdrZero
		return r
	}
	var size int64
	r.hdr, size = parseHeader(data)
	switch {
	case r.hdr == hdrBad:
	case size != 0 && fileSize > size:
		r.hdr, size = hdrBad, 0 // the size field disagrees with the file
	case size != 0:
		r.truncated = fileSize < size
	default: // written before the header recorded the size: segments are whole pages
		r.truncated = fileSize%4096 != 0
	}
	// bound is how far a frame may extend: past the end of a truncated
	// file, up to the size the segment had.
	bound := limit
	switch {
	case size != 0:
		bound = size
	case r.truncated:
		bound = maxSegmentBytes
	}
	if r.truncated {
		r.damage = append(r.damage, damage{kind: damageTruncated, off: fileSize, bytes: max(size-fileSize, 0)})
	}
	rs := resyncer{data: data, limit: limit, tb: tb, budget: 4*fileSize + 1<<20}
	off := int64(segHeaderSize)
	if r.hdr == hdrBad {
		c, _ := rs.next(off, max(dend, off))
		r.addCorrupt(0, c, limit, fileSize)
		off = c
	}
	for off < dend {
		if n, ok := frameAt(data, off, limit); ok {
			r.frames++
			tb.saw(frameTime(data, off))
			off += align8(n)
			continue
		}
		c, _ := rs.next(off+8, dend)
		chain := tornChain(data, off, c, bound, c == dend, r.truncated)
		if chain == nil {
			r.addCorrupt(off, c, limit, fileSize)
			off = c
			continue
		}
		for _, sk := range chain {
			r.damage = append(r.damage, damage{kind: damageTorn, off: sk.start, bytes: min(sk.end, fileSize) - sk.start})
			off = sk.end          // past the end of the file for the frame a truncation cut
			if sk.start < limit { // not a length word cut by a truncation
				r.skips = append(r.skips, skip{start: sk.start, end: min(sk.end, limit), torn: true})
				r.frames++
			}
		}
	}
	r.exhausted = rs.exhausted
	r.end = min(off, limit)
	return r
}

// addCorrupt records the corrupt range [off, c), clamped to the file.
func (r *scanResult) addCorrupt(off, c, limit, fileSize int64) {
	r.damage = append(r.damage, damage{kind: damageCorrupt, off: off, bytes: min(c, fileSize) - off, resume: min(c, limit)})
	if off < limit {
		r.skips = append(r.skips, skip{start: off, end: min(c, limit)})
	}
}

// openSegment opens and scans an existing segment file. It returns a nil
// segment for a file that cannot be a segment: too small ones are removed
// (the damage counted when they held anything), too large ones left alone.
func (s *Spool) openSegment(seq uint64, tb *timeBounds) (*segment, scanResult, error) {
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
	fileSize := fi.Size()
	switch {
	case fileSize < segHeaderSize+frameHeaderSize:
		b, _ := io.ReadAll(f)
		f.Close()
		res := scanResult{fileSize: fileSize}
		if allZero(b) {
			res.hdr = hdrZero
		} else {
			// A segment cut off before its first complete frame.
			res.damage = append(res.damage, damage{kind: damageTruncated, off: fileSize})
			if len(b) > segHeaderSize && !allZero(b[segHeaderSize:]) {
				res.damage = append(res.damage, damage{kind: damageTorn, off: segHeaderSize, bytes: fileSize - segHeaderSize})
			}
		}
		s.log.Warn("spool: removing a segment file too small to hold a record", "path", path, "size", fileSize)
		os.Remove(path)
		return nil, res, nil
	case fileSize > maxSegmentBytes:
		f.Close()
		s.log.Error("spool: ignoring a segment file larger than any segment", "path", path, "size", fileSize)
		return nil, scanResult{}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fileSize), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, scanResult{}, fmt.Errorf("spool: mmap %s: %w", path, err)
	}
	res := scanSegment(data, tb)
	syscall.Munmap(data) // mapped again for readers, or read-write if it receives appends
	seg := &segment{seq: seq, path: path, f: f, size: fileSize &^ 7, skips: res.skips}
	seg.recEnd, seg.end, seg.frames, seg.syncedEnd = res.end, res.end, res.frames, res.end
	return seg, res, nil
}

// mapForAppends maps the active segment or the spare read-write, if it is
// not mapped yet, and rewrites the header of one recovered without frames.
func (s *Spool) mapForAppends(seg *segment) error {
	seg.mapMu.Lock()
	defer seg.mapMu.Unlock()
	s.mu.Lock()
	data := seg.data
	s.mu.Unlock()
	if data == nil {
		var err error
		data, err = syscall.Mmap(int(seg.f.Fd()), 0, int(seg.size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("spool: mmap %s: %w", seg.path, err)
		}
		s.mu.Lock()
		seg.prefaulted.Store(0) // a new mapping: no page of it is faulted in
		seg.data = data
		s.mu.Unlock()
	}
	if seg.fixHeader {
		writeHeader(data, seg.size)
		seg.fixHeader = false
	}
	return nil
}

// pinned is what pin returns: the mapping, the end of the reserved frames
// and the skips known when the segment was pinned.
type pinned struct {
	data  []byte
	end   int64
	skips []skip
}

// pin takes a reference on seg, keeping it mapped and undeleted, and maps
// it if needed.
func (s *Spool) pin(seg *segment) (pinned, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pinned{}, ErrClosed
	}
	if seg.deleted {
		s.mu.Unlock()
		return pinned{}, errDeleted
	}
	seg.refs++
	s.useClock++
	seg.lastUse = s.useClock
	p := pinned{seg.data, seg.end, seg.skips}
	s.mu.Unlock()
	if p.data != nil {
		return p, nil
	}
	data, err := s.mapSegment(seg)
	if err != nil {
		s.unpin(seg)
		return pinned{}, err
	}
	p.data = data
	return p, nil
}

var errDeleted = errors.New("spool: segment deleted")

// mapSegment maps a pinned segment for reading: read-only, except the
// active segment, whose mapping appends use too once it is there (an idle
// spool's active segment is unmapped, see Release).
func (s *Spool) mapSegment(seg *segment) ([]byte, error) {
	seg.mapMu.Lock()
	defer seg.mapMu.Unlock()
	s.mu.Lock()
	data := seg.data
	prot := syscall.PROT_READ
	if seg == s.active {
		prot |= syscall.PROT_WRITE
	}
	s.mu.Unlock()
	if data != nil {
		return data, nil
	}
	data, err := syscall.Mmap(int(seg.f.Fd()), 0, int(seg.size), prot, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("spool: mmap %s: %w", seg.path, err)
	}
	s.mu.Lock()
	seg.prefaulted.Store(0) // a new mapping: no page of it is faulted in
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
// are mapped; while the spool is not armed (see Release), every idle
// segment, the active one included: a reader mapped it for a moment.
func (s *Spool) trimLocked() [][]byte {
	var out [][]byte
	if a := s.active; a != nil && !s.armed && a.data != nil && a.refs == 0 && a.inflight.Load() == 0 {
		out = append(out, a.data)
		a.data = nil
	}
	mapped, limit := 0, maxOldMapped
	if !s.armed {
		limit = 0
	}
	for _, seg := range s.segs {
		if seg != s.active && seg.data != nil {
			mapped++
		}
	}
	for mapped > limit {
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
