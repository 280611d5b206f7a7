package spool

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Sync flushes every record appended so far to disk. Records are already
// safe from the death of the process when Append returns; Sync makes them
// safe from a power loss or kernel crash.
//
// The range written since the last sync is msynced (MS_SYNC, which on
// Linux writes back that range and commits the metadata needed to read it,
// like fdatasync). Sealed segments are fsynced as well. The active segment
// is not fsynced as a whole while appends continue: that would also write
// back the pages prefaulted ahead of the append position and make the next
// appends take page faults again.
func (s *Spool) Sync() error {
	if s.isClosed.Load() {
		return ErrClosed
	}
	return s.syncAll(false)
}

type syncJob struct {
	seg      *segment
	data     []byte
	end      int64
	complete bool // no append was copying when end was taken
	fsync    bool
}

// syncAll syncs every segment written since its last sync; final (Close)
// fsyncs the active segment too.
func (s *Spool) syncAll(final bool) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var jobs []syncJob
	s.mu.Lock()
	for _, seg := range s.segs {
		infl := seg.inflight.Load()
		if seg.end == seg.syncedEnd && infl == 0 {
			continue
		}
		seg.refs++
		jobs = append(jobs, syncJob{seg: seg, data: seg.data, end: seg.end, complete: infl == 0,
			fsync: final || seg != s.active})
	}
	s.mu.Unlock()
	var firstErr error
	ok := make([]bool, len(jobs))
	for i, j := range jobs {
		err := j.sync()
		if err != nil {
			s.syncErrors.Add(1)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ok[i] = true
	}
	s.mu.Lock()
	for i, j := range jobs {
		j.seg.refs--
		if ok[i] && j.complete {
			j.seg.syncedEnd = j.end
		}
	}
	unm := s.trimLocked()
	s.mu.Unlock()
	munmapAll(unm)
	switch {
	case firstErr != nil && !s.syncFailing:
		s.syncFailing = true
		s.log.Error("spool: sync failed; records may not survive a power loss", "dir", s.dir, "err", firstErr)
	case firstErr == nil && s.syncFailing:
		s.syncFailing = false
		s.log.Info("spool: sync works again", "dir", s.dir)
	}
	return firstErr
}

// sync msyncs the range written since the last sync (when mapped) and, for
// sealed segments, fsyncs the file.
func (j syncJob) sync() error {
	if j.data != nil {
		lo := j.seg.syncedEnd &^ int64(os.Getpagesize()-1)
		if err := msync(j.data[lo:j.end]); err != nil {
			return fmt.Errorf("spool: msync %s: %w", j.seg.path, err)
		}
	}
	if j.data == nil || j.fsync {
		if err := j.seg.f.Sync(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

func msync(b []byte) error { return memSyscall(syscall.SYS_MSYNC, b, syscall.MS_SYNC) }

const (
	// prefaultAhead is how far past the append position the background
	// goroutine keeps the active segment's pages write-faulted, and how
	// much of the spare it write-faults from its start: the window appends
	// use right after a rotation, which the background goroutine then
	// moves along with them. Faulting the whole spare would only hold
	// memory sooner (60 MiB more of resident pages with 64 MiB segments).
	// 4 MiB is 160 ms of appends at 5,000 records/s of 5 KB, while
	// faulting it takes about a millisecond; it keeps idle RSS with
	// logging on 24 MiB below a 16 MiB window (issue 15: ≤ 60 MiB).
	prefaultAhead = 4 << 20
	// kickShift: an append that crosses a 1 MiB boundary wakes the
	// background goroutine to extend the prefaulted window.
	kickShift = 20
	// prefaultStep is the most the background goroutine prefaults before
	// checking for other work.
	prefaultStep = 1 << 20
)

// background runs the background goroutines: one syncs every
// SyncInterval, the other keeps a spare segment preallocated, prefaults the
// pages appends are about to write, and unmaps segments readers no longer
// need. They are separate so that a slow sync never delays the spare. They
// start when the spool is first armed (Open, or Prepare and Append on a
// lazy spool) and run until Close.
func (s *Spool) background() {
	defer close(s.bgDone)
	var wg sync.WaitGroup
	if s.opts.SyncInterval > 0 {
		wg.Go(s.syncLoop)
	}
	s.prepareLoop()
	wg.Wait()
}

func (s *Spool) syncLoop() {
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.syncAll(false)
		}
	}
}

func (s *Spool) prepareLoop() {
	maint := time.NewTicker(maintenanceInterval)
	defer maint.Stop()
	for {
		s.ensureSpare()
		more := s.prefaultStep()
		s.mu.Lock()
		unm := s.trimLocked()
		s.mu.Unlock()
		munmapAll(unm)
		if more {
			select {
			case <-s.stop:
				return
			default:
			}
			continue
		}
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-maint.C:
		}
	}
}

// prefaultStep write-faults up to prefaultStep bytes of pages that appends
// will write soon: the window ahead of the active segment's append
// position, then the same window at the start of the spare. A page fault
// on a shared file mapping costs microseconds; taking it here keeps it off
// the Append path. It reports whether more work remains. A spool that is
// not armed (see Release) prefaults nothing.
func (s *Spool) prefaultStep() bool {
	s.mu.Lock()
	if !s.armed {
		s.mu.Unlock()
		return false
	}
	var seg *segment
	var from, to int64
	if a := s.active; a != nil && a.data != nil {
		// Start at the page after the one holding the append position.
		from = max(a.prefaulted.Load(), (a.end+pageSize)&^(pageSize-1))
		to = min(a.end+prefaultAhead, a.size)
		if from < to {
			seg = a
		}
	}
	if sp := s.spare; seg == nil && sp != nil && sp.data != nil && sp.prefaulted.Load() < spareWindow(sp) {
		seg, from, to = sp, sp.prefaulted.Load(), spareWindow(sp)
	}
	if seg == nil || s.closed {
		s.mu.Unlock()
		return false
	}
	seg.refs++ // keeps the mapping
	data := seg.data
	s.mu.Unlock()

	from &^= pageSize - 1
	to = min(to, from+prefaultStep)
	// MADV_POPULATE_WRITE (Linux 5.14) faults the range in for writing in
	// one call; touching every page afterwards is then cheap, and still
	// needed for the page tables' dirty bits (and on older kernels).
	if !s.noPopulate.Load() {
		if err := madvise(data[from:to], madvPopulateWrite); err != nil {
			s.noPopulate.Store(true)
		}
	}
	for off := from; off < to; off += pageSize {
		// An atomic add of zero is a write that cannot lose a concurrent
		// append's store to the same word.
		atomic.AddUint32(word(data, off), 0)
	}
	seg.prefaulted.Store(to)

	s.mu.Lock()
	seg.refs--
	more := seg == s.spare && to < spareWindow(seg) || seg == s.active && to < min(seg.end+prefaultAhead, seg.size)
	s.mu.Unlock()
	return more
}

// spareWindow is how much of the spare the background goroutine prefaults.
func spareWindow(sp *segment) int64 { return min(sp.size, prefaultAhead) }

var pageSize = int64(os.Getpagesize())

const madvPopulateWrite = 23 // MADV_POPULATE_WRITE, not in package syscall

func madvise(b []byte, advice int) error { return memSyscall(syscall.SYS_MADVISE, b, advice) }

// memSyscall runs a (addr, len, flags) memory system call on b, retrying
// when a signal interrupts it.
func memSyscall(trap uintptr, b []byte, flags int) error {
	if len(b) == 0 {
		return nil
	}
	for {
		_, _, e := syscall.Syscall(trap, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(flags))
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}
