package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	segHeaderSize   = 16
	frameHeaderSize = 16
	busyBit         = 1 << 31
	segMagic        = "MWSPOOL1"
	segSuffix       = ".seg"

	minSegmentBytes     = 64 << 10
	maxSegmentBytes     = 1 << 30
	defaultSegmentBytes = 64 << 20
	defaultMaxBytes     = 1 << 30
	defaultSyncInterval = 200 * time.Millisecond
	maintenanceInterval = 250 * time.Millisecond

	// maxOldMapped is how many segments other than the active one (and the
	// spare) may stay mapped for readers.
	maxOldMapped = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors returned by the spool.
var (
	// ErrFull is returned by Append while the spool is full: it has no
	// spare segment and cannot make one, because the disk budget
	// (Options.MaxBytes) is used up or fallocate failed (ENOSPC; other
	// errors creating a segment synchronously are wrapped with ErrFull).
	ErrFull = errors.New("spool: disk budget exhausted")
	// ErrTooLarge is returned by Append for a record that cannot fit in a
	// segment.
	ErrTooLarge = errors.New("spool: record larger than a segment")
	// ErrClosed is returned by operations on a closed spool.
	ErrClosed = errors.New("spool: closed")
)

// Options configure a spool. The zero value selects every default.
type Options struct {
	// SegmentBytes is the size of each segment file: default 64 MiB,
	// minimum 64 KiB, maximum 1 GiB; rounded up to a multiple of 4 KiB.
	SegmentBytes int64
	// MaxBytes is the disk budget for all segment files, including the
	// preallocated spare: default 1 GiB, at least 2*SegmentBytes.
	MaxBytes int64
	// SyncInterval is the msync+fsync cadence of the background goroutine:
	// default 200ms; negative means never sync in the background (Sync and
	// Close still do).
	SyncInterval time.Duration
	// Logger receives state changes and errors; default slog.Default().
	Logger *slog.Logger
	// Now is the clock for record timestamps; default time.Now.
	Now func() time.Time
	// Lazy makes Open create, map and prefault nothing and start no
	// goroutine: the first segment is made (and the background goroutines
	// started) by Prepare or by the first Append. A spool that may never
	// be written to then costs no disk and no memory beyond the segments
	// it recovered, which stay unmapped until they are read.
	Lazy bool
}

// Pos is a position in the spool: a segment sequence number and a byte
// offset in that segment. Positions are ordered by (Seg, Off). The zero Pos
// is before every record: reading from it starts at the oldest record kept.
type Pos struct {
	Seg uint64
	Off int64
}

// Less reports whether p is before q.
func (p Pos) Less(q Pos) bool {
	return p.Seg < q.Seg || (p.Seg == q.Seg && p.Off < q.Off)
}

// String formats p as the 20-digit segment number, a colon and the offset,
// e.g. "00000000000000000003:4096".
func (p Pos) String() string {
	return fmt.Sprintf("%020d:%d", p.Seg, p.Off)
}

// Entry is one record returned by Read.
type Entry struct {
	// Pos is where the record starts.
	Pos Pos
	// Next is the position just after the record (and after any torn
	// frames, corrupt ranges or segment ends the read skipped behind it):
	// what a consumer commits once it has processed the record.
	Next Pos
	// Time is when the record was appended, to the nanosecond.
	Time time.Time
	// Data is the payload; a copy the caller may keep.
	Data []byte
}

// Stats is a snapshot of a spool's state and counters.
type Stats struct {
	// Segments is the number of segment files on disk, including the spare.
	Segments int
	// Bytes is the size of the segment files on disk.
	Bytes int64
	// PendingBytes is the size of the frames (header, payload, padding)
	// appended but not yet committed by the slowest consumer.
	PendingBytes int64
	// PendingRecords is the number of frames appended but not yet passed by
	// the slowest consumer's cursor (torn frames found by recovery count).
	PendingRecords int64
	// Oldest is the append time of the oldest record not yet committed by
	// every consumer; zero if none.
	Oldest time.Time
	// Appended is the number of records appended since Open.
	Appended uint64
	// Torn is the number of torn frames skipped: frames whose extent their
	// length word gives but whose checksum does not match (an append killed
	// mid-copy, a damaged payload or time), including the frame a
	// truncation cut through. Each was one record, lost. Counted once per
	// frame: by Open's recovery, or by the first reader to meet one in data
	// written or changed since Open.
	Torn uint64
	// CorruptRanges is the number of byte ranges skipped because no frame
	// could be found in them (a damaged length word, garbage or zeroed
	// bytes, a damaged segment header): reading resumed at the next offset
	// where a valid frame starts (see the package documentation). How many
	// records such a range held is unknown. Counted like Torn.
	CorruptRanges uint64
	// CorruptBytes is the total size of the ranges CorruptRanges counts.
	CorruptBytes uint64
	// TruncatedSegments is the number of segment files Open found shorter
	// than they were created (their header records the size; for segments
	// from before it did, a size that is not a whole number of pages).
	// Every complete frame before the cut is read; the frame the cut went
	// through counts in Torn, and whatever followed it is lost.
	TruncatedSegments uint64
	// Full reports that the budget or the disk is exhausted: Append returns
	// ErrFull (see Spool.Full).
	Full bool
	// SyncErrors counts failed msync/fsync calls.
	SyncErrors uint64
	// SlowRotations counts the segments an Append had to create
	// synchronously: rotations that found no spare, and the first segment
	// of a lazy spool that no Prepare made.
	SlowRotations uint64
}

// cursorState is a registered consumer's committed cursor.
type cursorState struct {
	pos   Pos
	state []byte
}

// Spool is an open spool directory. All methods are safe for concurrent
// use.
type Spool struct {
	// mu is the short append mutex. Nothing under it makes a system call.
	mu     sync.Mutex
	active *segment   // segment appends go to; nil while none could be created, or none was yet (Options.Lazy)
	segs   []*segment // every segment with data, ascending seq; the active one last
	spare  *segment   // preallocated next segment, not yet in segs
	closed bool
	// armed: appends are expected, so the background goroutine keeps a
	// spare and prefaults pages (see Prepare and Release).
	armed     bool
	bgStarted bool // the background goroutines run (they start when first armed)
	appended  uint64
	nextSeq   uint64
	creating  uint64 // seq reserved for the segment being created (0: none; rotMu allows one), see endLocked
	bytes     int64  // segment bytes on disk, incl. the spare and segments being created
	useClock  uint64
	cons      map[string]*cursorState
	retired   map[string]*cursorState // unregistered consumers' last cursors; guarded by commitMu

	full          atomic.Bool
	isClosed      atomic.Bool
	torn          atomic.Uint64
	corruptRanges atomic.Uint64
	corruptBytes  atomic.Uint64
	truncated     atomic.Uint64
	syncErrors    atomic.Uint64
	slowRotations atomic.Uint64

	// events counts completed appends; readers wait for it to change.
	events  atomic.Uint64
	waiters atomic.Int32
	cmu     sync.Mutex
	cond    *sync.Cond

	dir      string
	opts     Options
	log      *slog.Logger
	lockFile *os.File
	dirFile  *os.File
	consDir  *os.File

	rotMu         sync.Mutex // serializes segment creation
	commitMu      sync.Mutex // serializes cursor file writes
	syncMu        sync.Mutex // serializes syncs; guards segment.syncedEnd and syncFailing
	syncFailing   bool
	createFailing atomic.Bool // the last segment creation failed (logged once)
	noPopulate    atomic.Bool // MADV_POPULATE_WRITE is not supported

	// dlog* rate-limit the lines about damage readers find after Open.
	dlogMu         sync.Mutex
	dlogAt         time.Time
	dlogSuppressed int

	statsMu    sync.Mutex
	countCache struct {
		seq     uint64
		off, n  int64
		present bool
	}

	kick   chan struct{}
	stop   chan struct{}
	bgDone chan struct{}
}

func (o *Options) normalize() error {
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = defaultSegmentBytes
	case o.SegmentBytes < minSegmentBytes:
		return fmt.Errorf("spool: SegmentBytes %d is less than the minimum %d", o.SegmentBytes, minSegmentBytes)
	case o.SegmentBytes > maxSegmentBytes:
		return fmt.Errorf("spool: SegmentBytes %d is more than the maximum %d", o.SegmentBytes, maxSegmentBytes)
	}
	o.SegmentBytes = (o.SegmentBytes + 4095) &^ 4095
	if o.MaxBytes == 0 {
		o.MaxBytes = max(defaultMaxBytes, 2*o.SegmentBytes)
	}
	if o.MaxBytes < 2*o.SegmentBytes {
		return fmt.Errorf("spool: MaxBytes %d is less than two segments (%d)", o.MaxBytes, 2*o.SegmentBytes)
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = defaultSyncInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Open opens the spool in dir, creating the directory (mode 0700) if needed.
// It takes an exclusive flock on dir/LOCK (a second Open of the same
// directory, from this or another process, fails), recovers the existing
// segments (scanning every frame, verifying its checksum, and counting,
// logging and resynchronising after any damage), loads the
// consumers' cursors and, unless opts.Lazy is set, prepares for appends as
// Prepare does: it creates a segment if none can take appends, maps it and
// starts the background goroutine that syncs and preallocates segments.
func Open(dir string, opts Options) (*Spool, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, consumersDir), 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger,
		cons:    map[string]*cursorState{},
		retired: map[string]*cursorState{},
		nextSeq: 1,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		bgDone:  make(chan struct{}),
	}
	s.cond = sync.NewCond(&s.cmu)
	ok := false
	defer func() {
		if !ok {
			s.releaseAll()
		}
	}()
	var err error
	if s.lockFile, err = os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := flock(s.lockFile, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool: %s is in use by another spool", dir)
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	if s.dirFile, err = os.Open(dir); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if s.consDir, err = os.Open(filepath.Join(dir, consumersDir)); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	if !opts.Lazy {
		s.rotMu.Lock()
		_, err := s.armRotLocked(false, false)
		s.rotMu.Unlock()
		if err != nil && !errors.Is(err, ErrFull) {
			return nil, err
		}
	}
	if err := s.loadCursors(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	victims := s.collectLocked()
	s.mu.Unlock()
	s.deleteSegments(victims)
	s.pruneRetired()
	ok = true
	s.mu.Lock()
	start := s.armed && !s.bgStarted
	s.bgStarted = s.bgStarted || start
	s.mu.Unlock()
	if start {
		go s.background()
	}
	st := s.Stats()
	s.log.Info("spool opened", "dir", dir, "segments", st.Segments, "pending_records", st.PendingRecords,
		"pending_bytes", st.PendingBytes, "consumers", len(s.cons), "torn", st.Torn,
		"corrupt_ranges", st.CorruptRanges, "corrupt_bytes", st.CorruptBytes, "truncated_segments", st.TruncatedSegments)
	return s, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// createActive creates a segment for appends synchronously, when none can
// take them (a new or damaged spool, or a lazy one's first append). On
// failure the spool is full: the error wraps ErrFull, and is logged.
// s.rotMu must be held.
func (s *Spool) createActive() error {
	s.mu.Lock()
	seq, size, ok := s.reserveLocked()
	s.mu.Unlock()
	if !ok {
		s.mu.Lock()
		became := s.setFullLocked()
		s.mu.Unlock()
		if became {
			s.logBudgetFull()
		}
		return ErrFull
	}
	seg, err := s.createSegment(seq, size)
	s.mu.Lock()
	s.creating = 0
	if err != nil {
		s.bytes -= size
		became := s.setFullLocked()
		s.mu.Unlock()
		s.logCreateError(err, became)
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	s.segs = append(s.segs, seg)
	s.active = seg
	s.mu.Unlock()
	s.createFailing.Store(false)
	return nil
}

// recover scans the segment files in the directory and sets up segs,
// active, spare and nextSeq.
func (s *Spool) recover() error {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64
	for _, de := range names {
		name := de.Name()
		if len(name) != 20+len(segSuffix) || !strings.HasSuffix(name, segSuffix) || !de.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name[:20], 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })

	type recovered struct {
		seq uint64
		seg *segment // nil for a file removed as too small
		res scanResult
	}
	var found []recovered
	tb := &timeBounds{now: s.opts.Now}
	for _, seq := range seqs {
		seg, res, err := s.openSegment(seq, tb)
		if err != nil {
			return err
		}
		if res.exhausted {
			s.log.Error("spool: resynchronisation gave up in a segment full of plausible frame headers; the rest of it is skipped",
				"path", s.segPath(seq))
		}
		found = append(found, recovered{seq, seg, res})
	}
	var all []recovered
	var logged int
	note := func(path string, ds []damage) {
		s.count(ds)
		for _, d := range ds {
			if logged++; logged <= maxOpenDamageLogs {
				s.logDamage(path, d, false, 0)
			}
		}
	}
	for _, r := range found {
		if r.res.hdr == hdrZero && r.seq < seqs[len(seqs)-1] {
			// A segment's header is on disk before the next segment file
			// is created: a zero file before any later segment file (even
			// a spare whose own header is gone) lost everything it held.
			if r.seg == nil {
				r.res.damage = append(r.res.damage, damage{kind: damageTruncated, off: r.res.fileSize})
			} else {
				r.res.damage = append(r.res.damage, damage{kind: damageCorrupt, bytes: r.seg.size, resume: r.seg.size})
			}
		}
		note(s.segPath(r.seq), r.res.damage)
		if r.seg != nil {
			all = append(all, r)
		}
	}
	if len(seqs) > 0 {
		s.nextSeq = seqs[len(seqs)-1] + 1
	}

	// The last segment holding frames keeps receiving appends when it is
	// intact and the rest of it is clean. Empty, zero segments after it are
	// spares from an earlier run: reuse up to two (active and spare),
	// delete the others. Damaged segments are kept (sealed) until every
	// consumer is past them.
	last := -1
	for i, r := range all {
		if r.res.frames > 0 || r.res.damaged() || !r.res.clean {
			last = i
		}
	}
	for _, r := range all[:max(last, 0)] {
		if r.res.frames == 0 && !r.res.damaged() {
			// Segments are filled in order: one with nothing in it before
			// a later one with data lost all of its data.
			from := int64(segHeaderSize)
			if r.res.hdr == hdrZero {
				from = 0
			}
			note(r.seg.path, []damage{{kind: damageCorrupt, off: from, bytes: r.seg.size - from, resume: r.seg.size}})
		}
	}
	if logged > maxOpenDamageLogs {
		s.log.Error("spool: more damage found than logged one by one", "dir", s.dir, "not_logged", logged-maxOpenDamageLogs)
	}
	if logged > 0 {
		s.log.Warn("spool recovery skipped damaged data", "dir", s.dir, "torn", s.torn.Load(),
			"corrupt_ranges", s.corruptRanges.Load(), "corrupt_bytes", s.corruptBytes.Load(),
			"truncated_segments", s.truncated.Load())
	}
	var reuse, drop []*segment
	for i, r := range all {
		switch {
		case i < last:
			s.segs = append(s.segs, r.seg)
		case i == last:
			s.segs = append(s.segs, r.seg)
			if r.res.appendable() {
				s.active = r.seg
			}
		case r.seg.size == s.opts.SegmentBytes && len(reuse) < 2:
			reuse = append(reuse, r.seg)
		default:
			drop = append(drop, r.seg)
		}
	}
	if s.active == nil && len(reuse) > 0 {
		s.active, reuse = reuse[0], reuse[1:]
		s.segs = append(s.segs, s.active)
	}
	if len(reuse) > 0 {
		s.spare, reuse = reuse[0], reuse[1:]
	}
	drop = append(drop, reuse...)
	for _, seg := range drop {
		seg.f.Close()
		if err := os.Remove(seg.path); err != nil {
			s.log.Error("spool: cannot remove unused segment", "path", seg.path, "err", err)
		}
	}
	for _, seg := range []*segment{s.active, s.spare} {
		if seg != nil && seg.end == segHeaderSize {
			// No frames: its creation may have been interrupted, or it may
			// have a header from before the header recorded the size. It
			// is rewritten when the segment is mapped for appends.
			seg.fixHeader = true
		}
	}
	for _, seg := range s.segs {
		s.bytes += seg.size
	}
	if s.spare != nil {
		s.bytes += s.spare.size
	}
	return nil
}

// loadCursors reads consumers/*.cursor and consumers/*.retired.
func (s *Spool) loadCursors() error {
	cdir := filepath.Join(s.dir, consumersDir)
	names, err := os.ReadDir(cdir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	first, end := s.firstPosLocked(), s.endLocked()
	s.mu.Unlock()
	var retired []string
	for _, de := range names {
		name := de.Name()
		if strings.HasSuffix(name, cursorSuffix+tmpSuffix) || strings.HasSuffix(name, retiredSuffix+tmpSuffix) {
			os.Remove(filepath.Join(cdir, name)) // a write a crash interrupted
			continue
		}
		if rname, ok := strings.CutSuffix(name, retiredSuffix); ok && validName(rname) {
			retired = append(retired, rname)
			continue
		}
		cname, ok := strings.CutSuffix(name, cursorSuffix)
		if !ok || !validName(cname) {
			continue
		}
		pos, state, err := readCursorFile(filepath.Join(cdir, name))
		if err != nil {
			s.log.Error("spool: corrupt cursor file; the consumer restarts at the oldest segment", "consumer", cname,
				"path", filepath.Join(cdir, name), "err", err)
			pos, state = first, nil
		}
		pos = s.clampCursor(cname, pos, first, end)
		// Move the cursor past torn frames (and segment ends) so that a
		// consumer is never stuck before records that cannot be read.
		_, _, next, err := s.readOnce(pos, 0, 0, false, nil, nil)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.cons[cname] = &cursorState{pos: next, state: state}
		s.mu.Unlock()
	}
	for _, name := range retired {
		if s.cons[name] != nil {
			// A crash in Unregister (after the retired cursor was written)
			// or in Register (before it was removed): the live cursor is
			// the newer of the two.
			s.removeRetired(name)
			continue
		}
		path := s.consumerPath(name, retiredSuffix)
		pos, state, err := readCursorFile(path)
		if err != nil {
			s.log.Error("spool: corrupt retired cursor file removed; the consumer starts at the oldest record if registered again",
				"consumer", name, "path", path, "err", err)
			s.removeRetired(name)
			continue
		}
		s.retired[name] = &cursorState{pos: pos, state: state}
	}
	return nil
}

// reserveLocked reserves budget and a sequence number for a new segment.
func (s *Spool) reserveLocked() (seq uint64, size int64, ok bool) {
	size = s.opts.SegmentBytes
	if s.bytes+size > s.opts.MaxBytes {
		return 0, 0, false
	}
	s.bytes += size
	seq = s.nextSeq
	s.nextSeq++
	s.creating = seq
	return seq, size, true
}

// findLocked returns the first segment with a sequence number >= seq.
func (s *Spool) findLocked(seq uint64) *segment {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].seq >= seq })
	if i == len(s.segs) {
		return nil
	}
	return s.segs[i]
}

func (s *Spool) endLocked() Pos {
	if s.active != nil {
		return Pos{s.active.seq, s.active.end}
	}
	if n := len(s.segs); n > 0 {
		return Pos{s.segs[n-1].seq, s.segs[n-1].end}
	}
	// No segment holds data (a lazy spool before its first Append, or one
	// whose only segments were deleted while none could be created): the
	// end is the start of the next segment that will. A segment being
	// created, or the spare, is that segment, although nextSeq is already
	// past it: a position past its start would skip what is appended to it.
	seq := s.nextSeq
	if s.creating != 0 {
		seq = min(seq, s.creating)
	}
	if s.spare != nil {
		seq = min(seq, s.spare.seq)
	}
	return Pos{seq, segHeaderSize}
}

func (s *Spool) firstPosLocked() Pos {
	if len(s.segs) > 0 {
		return Pos{s.segs[0].seq, segHeaderSize}
	}
	return s.endLocked()
}

// minCursorLocked is the position of the slowest consumer, or the start of
// the oldest segment when there is no consumer.
func (s *Spool) minCursorLocked() Pos {
	if len(s.cons) == 0 {
		return s.firstPosLocked()
	}
	first := true
	var m Pos
	for _, c := range s.cons {
		if first || c.pos.Less(m) {
			m, first = c.pos, false
		}
	}
	return m
}

// End returns the position after the last appended record: a consumer whose
// cursor is at End has seen everything appended so far.
func (s *Spool) End() Pos {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endLocked()
}

// Full reports whether Append would return ErrFull: the spool has no spare
// segment and cannot make one (see the package documentation). It is a
// single atomic load.
func (s *Spool) Full() bool { return s.full.Load() }

// Stats returns a snapshot of the spool's state. It is meant for metrics,
// not for the request path: it may read a frame header or two.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Appended:          s.appended,
		Full:              s.full.Load(),
		Torn:              s.torn.Load(),
		CorruptRanges:     s.corruptRanges.Load(),
		CorruptBytes:      s.corruptBytes.Load(),
		TruncatedSegments: s.truncated.Load(),
		SyncErrors:        s.syncErrors.Load(),
		SlowRotations:     s.slowRotations.Load(),
	}
	m := s.minCursorLocked()
	var minSeg *segment
	var minEnd, minFrames int64
	for _, seg := range s.segs {
		st.Segments++
		st.Bytes += seg.size
		switch {
		case seg.seq > m.Seg:
			st.PendingBytes += seg.end - segHeaderSize
			st.PendingRecords += seg.frames
		case seg.seq == m.Seg:
			if off := max(m.Off, segHeaderSize); seg.end > off {
				st.PendingBytes += seg.end - off
			}
			st.PendingRecords += seg.frames
			minSeg, minEnd, minFrames = seg, seg.end, seg.frames
		}
	}
	if s.spare != nil {
		st.Segments++
		st.Bytes += s.spare.size
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return st
	}
	switch {
	case minSeg == nil || m.Off <= segHeaderSize:
	case m.Off >= minEnd:
		// Every consumer is past the segment's frames: no need to map and
		// walk it (an idle spool stays unmapped, see Release).
		st.PendingRecords -= minFrames
	default:
		st.PendingRecords -= s.framesBefore(minSeg, m.Off)
	}
	if st.PendingRecords > 0 {
		if ents, _, _, _ := s.readOnce(m, 1, 0, false, nil, nil); len(ents) > 0 {
			st.Oldest = ents[0].Time
		}
	}
	return st
}

// framesBefore counts the frames of seg before offset off.
func (s *Spool) framesBefore(seg *segment, off int64) int64 {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	c := &s.countCache
	start, n := int64(segHeaderSize), int64(0)
	if c.present && c.seq == seg.seq && c.off <= off {
		start, n = c.off, c.n
	}
	p, err := s.pin(seg)
	if err != nil {
		return 0
	}
	defer s.unpin(seg)
	data, limit := p.data, p.end
	o := start
	for i := skipIndex(p.skips, o); o < off && o < limit; {
		if i < len(p.skips) && p.skips[i].start <= o {
			if p.skips[i].torn && p.skips[i].start == o {
				n++ // torn frames count as frames; corrupt ranges hold none known
			}
			o = max(o, p.skips[i].end)
			i++
			continue
		}
		l := load32(data, o) &^ busyBit
		if l < frameHeaderSize || o+align8(int64(l)) > limit {
			break // damage no reader has met yet
		}
		o += align8(int64(l))
		n++
	}
	c.seq, c.off, c.n, c.present = seg.seq, o, n, true
	return n
}

// Close syncs the spool, unmaps and closes its segments and releases the
// directory lock. Append, Read and Commit on a closed spool return
// ErrClosed; a Read blocked when Close is called returns ErrClosed. Closing
// twice returns ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.isClosed.Store(true)
	started := s.bgStarted
	s.mu.Unlock()
	s.cmu.Lock()
	s.cond.Broadcast()
	s.cmu.Unlock()
	close(s.stop)
	if started {
		<-s.bgDone
	}
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	// Wait for appends still copying and reads still holding a segment.
	for {
		s.mu.Lock()
		busy := false
		for _, seg := range s.segs {
			if seg.refs > 0 || seg.inflight.Load() != 0 {
				busy = true
			}
		}
		s.mu.Unlock()
		if !busy {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	err := s.syncAll(true)
	s.releaseAll()
	return err
}

// releaseAll unmaps and closes everything and releases the lock.
func (s *Spool) releaseAll() {
	s.mu.Lock()
	segs := s.segs
	if s.spare != nil {
		segs = append(segs, s.spare)
	}
	s.segs, s.spare, s.active = nil, nil, nil
	s.mu.Unlock()
	for _, seg := range segs {
		seg.unmap()
		seg.f.Close()
	}
	if s.consDir != nil {
		s.consDir.Close()
	}
	if s.dirFile != nil {
		s.dirFile.Close()
	}
	if s.lockFile != nil {
		flock(s.lockFile, syscall.LOCK_UN)
		s.lockFile.Close()
	}
}
