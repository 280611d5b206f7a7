package spool

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Append adds a record to the spool and returns its position. When it
// returns without error the record survives the death of the process; it
// survives a power loss once the next background sync (or Sync) is done.
//
// In the common case Append makes no system call: it reserves a frame under
// a short mutex and copies the record into the mapped segment. It returns
// ErrFull while the spool is full (see Spool.Full), ErrTooLarge for a payload
// that cannot fit in a segment, and ErrClosed after Close. It is safe for
// concurrent use; records of one goroutine are stored in the order it
// appended them.
func (s *Spool) Append(payload []byte) (Pos, error) {
	flen := int64(frameHeaderSize + len(payload))
	alen := align8(flen)
	if alen > s.opts.SegmentBytes-segHeaderSize {
		return Pos{}, ErrTooLarge
	}
	ts := s.opts.Now().UnixNano()
	becameFull := false
	for {
		if s.full.Load() {
			if s.isClosed.Load() {
				return Pos{}, ErrClosed
			}
			return Pos{}, ErrFull
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Pos{}, ErrClosed
		}
		seg := s.active
		if s.armed && seg != nil && seg.data != nil && seg.end+alen > seg.size && s.spare != nil && s.spare.data != nil {
			seg, becameFull = s.rotateLocked()
		}
		if !s.armed || seg == nil || seg.data == nil || seg.end+alen > seg.size {
			s.mu.Unlock()
			if err := s.makeRoom(alen); err != nil {
				return Pos{}, err
			}
			continue
		}
		off := seg.end
		data := seg.data
		// Reserve: the length word, busy, tells readers and recovery where
		// the next frame starts even if this append never completes.
		store32(data, off, uint32(flen)|busyBit)
		seg.end = off + alen
		seg.frames++
		s.appended++
		seg.inflight.Add(1)
		s.mu.Unlock()

		binary.LittleEndian.PutUint64(data[off+8:off+16], uint64(ts))
		copy(data[off+frameHeaderSize:off+flen], payload)
		store32(data, off+4, crc32.Checksum(data[off+8:off+flen], castagnoli))
		store32(data, off, uint32(flen)) // complete: clear busy
		seg.inflight.Add(-1)

		if off>>kickShift != (off+alen)>>kickShift {
			s.kickBackground() // keep the pages ahead prefaulted
		}
		if becameFull {
			s.logBudgetFull()
		}
		s.events.Add(1)
		if s.waiters.Load() > 0 {
			s.cmu.Lock()
			s.cond.Broadcast()
			s.cmu.Unlock()
		}
		return Pos{seg.seq, off}, nil
	}
}

// rotateLocked makes the spare the active segment. The old active segment's
// end is final from now on; the zero word after its last frame marks it.
// When the budget leaves no room for the next spare the spool becomes full
// now, so that Full turns true before any Append fails: becameFull reports
// that transition, for the caller to log once it has released s.mu.
func (s *Spool) rotateLocked() (seg *segment, becameFull bool) {
	seg = s.spare
	s.spare = nil
	s.segs = append(s.segs, seg)
	s.active = seg
	if s.bytes+s.opts.SegmentBytes > s.opts.MaxBytes {
		becameFull = s.setFullLocked()
	} else {
		s.kickBackground() // preallocate the next spare
	}
	return seg, becameFull
}

// kickBackground wakes the background goroutine without waiting.
func (s *Spool) kickBackground() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// makeRoom readies the spool synchronously for an append of alen bytes
// that found it unready: not armed (a lazy spool's first append, or the
// first since Release), without a mapped segment to append to, or with the
// active segment too full and no spare to rotate to because the background
// goroutine has not made it yet. A nil error means "retry the append".
func (s *Spool) makeRoom(alen int64) error {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if a := s.active; !s.armed || a == nil || a.data == nil || s.spare != nil && s.spare.data == nil {
		s.mu.Unlock()
		created, err := s.armRotLocked(false, true)
		if created {
			s.slowRotations.Add(1)
		}
		return err
	}
	if s.spare != nil || s.full.Load() || s.active.end+alen <= s.active.size {
		s.mu.Unlock()
		return nil // someone else made progress: retry
	}
	if _, err := s.makeSpareLocked(); err != nil {
		return err
	}
	s.slowRotations.Add(1)
	return nil
}

// Prepare readies the spool for appends, so that the first ones make no
// system call: it creates a segment to append to if there is none (and the
// spare, if the budget allows), maps them, and starts the background
// goroutines that keep a spare preallocated and the pages ahead of the
// append position prefaulted. Open does this unless Options.Lazy is set;
// Append does it when it finds the spool unprepared. Prepare returns an
// error wrapping ErrFull when no segment to append to could be created;
// when only the spare could not be, it returns nil and Full says so.
// Calling it on a prepared spool costs little.
func (s *Spool) Prepare() error {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	_, err := s.armRotLocked(true, true)
	return err
}

// armRotLocked arms the spool: it creates the active segment if there is
// none (and, with spare, the spare), maps the active segment and the spare
// read-write, and (with start) starts the background goroutines and wakes
// them. created reports that it created the active segment. s.rotMu must
// be held, s.mu not.
func (s *Spool) armRotLocked(spare, start bool) (created bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	s.armed = true
	start = start && !s.bgStarted
	s.bgStarted = s.bgStarted || start
	var becameFull bool
	if s.active == nil && s.spare != nil {
		// The background goroutine made a spare after creating the active
		// segment had failed: it is next in sequence.
		_, becameFull = s.rotateLocked()
	}
	hasActive := s.active != nil
	s.mu.Unlock()
	if becameFull {
		s.logBudgetFull()
	}
	if start {
		go s.background()
	}
	if !hasActive {
		if err := s.createActive(); err != nil {
			return false, err
		}
		created = true
	}
	s.mu.Lock()
	segs := []*segment{s.active, s.spare}
	needSpare := spare && s.spare == nil && !s.full.Load()
	s.mu.Unlock()
	for _, seg := range segs {
		if seg != nil {
			if err := s.mapForAppends(seg); err != nil {
				return created, err
			}
		}
	}
	if needSpare {
		s.mu.Lock()
		if s.spare == nil && !s.closed {
			_, _ = s.makeSpareLocked() // on failure the spool is full, and that is logged
		} else {
			s.mu.Unlock()
		}
	}
	s.kickBackground()
	return created, nil
}

// Release gives back what the spool holds for appends while none are
// expected, once every registered consumer has read everything appended
// (it returns false, and does nothing, while any has not): it deletes the
// spare segment, unmaps every segment no reader is using, and stops the
// background goroutine from preallocating and prefaulting, until Prepare
// or the next Append arms the spool again. Records and cursors are not
// affected: the active segment stays on disk (its sequence number is what
// keeps positions increasing across restarts), readers map segments again
// as they need them, and an Append after Release works, making the system
// calls Prepare would have made.
func (s *Spool) Release() bool {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	end := s.endLocked()
	for _, c := range s.cons {
		if c.pos.Less(end) {
			s.mu.Unlock()
			return false
		}
	}
	s.armed = false
	spare := s.spare
	s.spare = nil
	if spare != nil {
		s.bytes -= spare.size
		spare.deleted = true
	}
	var unm [][]byte
	for _, seg := range s.segs {
		if seg.data != nil && seg.refs == 0 && seg.inflight.Load() == 0 {
			unm = append(unm, seg.data)
			seg.data = nil
		}
	}
	s.mu.Unlock()
	munmapAll(unm)
	if spare != nil {
		// The background goroutine may be prefaulting it; deleteSegments
		// waits for that.
		s.deleteSegments([]*segment{spare})
	}
	return true
}

// logBudgetFull reports that the spool became full for lack of budget.
func (s *Spool) logBudgetFull() {
	s.log.Warn("spool full: disk budget exhausted; appends fail until consumers commit",
		"dir", s.dir, "max_bytes", s.opts.MaxBytes)
}

// setFullLocked sets the full flag and reports whether it was clear.
func (s *Spool) setFullLocked() bool {
	return !s.full.Swap(true)
}

// logCreateError reports a failure to create a segment: at Warn when it
// made the spool full; otherwise once per episode of failures, ENOSPC at
// Warn and other errors at Error.
func (s *Spool) logCreateError(err error, becameFull bool) {
	first := !s.createFailing.Swap(true)
	switch {
	case becameFull:
		s.log.Warn("spool full: cannot create a segment; appends fail until space is freed", "dir", s.dir, "err", err)
	case !first:
	case isNoSpace(err):
		s.log.Warn("spool: no space left on device to preallocate the next segment", "dir", s.dir, "err", err)
	default:
		s.log.Error("spool: cannot preallocate the next segment", "dir", s.dir, "err", err)
	}
}

// clearFullLocked clears the full flag when a new segment fits in the
// budget (or a spare exists), reporting whether it was set.
func (s *Spool) clearFullLocked() bool {
	if !s.full.Load() || s.closed {
		return false
	}
	if s.spare == nil && s.bytes+s.opts.SegmentBytes > s.opts.MaxBytes {
		return false
	}
	s.full.Store(false)
	return true
}

// ensureSpare preallocates the next segment. It runs in the background
// goroutine. Without a spare, and with no budget or disk space to make one,
// the spool is full: Append fails rather than write the last segment the
// budget allows, so that Full predicts ErrFull.
func (s *Spool) ensureSpare() {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	s.mu.Lock()
	if s.closed || s.spare != nil || !s.armed {
		s.mu.Unlock()
		return
	}
	if cleared, err := s.makeSpareLocked(); err == nil && cleared {
		s.log.Info("spool no longer full", "dir", s.dir)
	}
}

// makeSpareLocked reserves budget for the next segment and creates it as
// the spare. s.rotMu and s.mu must be held; s.mu is released on return.
// Without budget or disk space it marks the spool full and returns ErrFull
// (wrapping the cause); cleared reports that the spool stopped being full.
func (s *Spool) makeSpareLocked() (cleared bool, err error) {
	seq, size, ok := s.reserveLocked()
	if !ok {
		became := s.setFullLocked()
		s.mu.Unlock()
		if became {
			s.logBudgetFull()
		}
		return false, ErrFull
	}
	s.mu.Unlock()
	seg, err := s.createSegment(seq, size)
	s.mu.Lock()
	s.creating = 0
	if err != nil {
		s.bytes -= size
		became := s.setFullLocked()
		s.mu.Unlock()
		s.logCreateError(err, became)
		return false, fmt.Errorf("%w: %w", ErrFull, err)
	}
	s.spare = seg
	cleared = s.clearFullLocked()
	s.mu.Unlock()
	s.createFailing.Store(false)
	return cleared, nil
}
