package spool

import (
	"context"
	"errors"
	"time"
)

// Read returns the next records at or after from: at least one and at most
// maxRecords (values below 1 mean 1), with at most maxBytes of Data in total
// (0 or less: no limit) unless the first record alone is larger. It blocks
// until a record is available, ctx is done (it then returns ctx.Err()) or
// the spool is closed (ErrClosed). A ctx that is already done makes Read a
// poll: it still returns the records already available.
//
// from must be a position this package returned (Entry.Pos or Entry.Next,
// Append, Register, Cursor, End) or the zero Pos. Positions before the
// oldest segment kept read from the oldest record. Read crosses segment
// boundaries and never returns a record whose Append has not completed. It
// skips damaged data: torn frames, and byte ranges where no frame can be
// found, after which it resumes at the next valid frame (see the package
// documentation); Stats counts what it skips, once.
func (s *Spool) Read(ctx context.Context, from Pos, maxRecords int, maxBytes int) ([]Entry, error) {
	ents, _, err := s.read(ctx, from, maxRecords, maxBytes, nil, nil)
	return ents, err
}

// ReadInto is Read for a consumer that reuses its memory: it appends the
// entries to ents and their payloads to buf, and returns both; there is no
// allocation per record once they are large enough. A payload that does
// not fit in buf's capacity starts a new buffer of twice that capacity (or
// the payload's size) instead of copying what buf holds: the entries
// already read keep their payloads where they are, and the buffer returned
// is the new one. Each Entry.Data is a slice of a buffer (capped, so that
// appending to it cannot overwrite the next), valid until the caller
// reuses that part of it, e.g. by passing the returned buffer's [:0] to a
// later call once it is done with the entries. On error the entries and
// buffer passed in are returned as they were.
func (s *Spool) ReadInto(ctx context.Context, from Pos, maxRecords, maxBytes int, ents []Entry, buf []byte) ([]Entry, []byte, error) {
	if buf == nil {
		buf = []byte{} // non-nil: payloads go to buf, not to one allocation each
	}
	return s.read(ctx, from, maxRecords, maxBytes, ents, buf)
}

// read is Read and ReadInto: with a nil buf, each payload is a copy of
// its own.
func (s *Spool) read(ctx context.Context, from Pos, maxRecords, maxBytes int, dst []Entry, buf []byte) ([]Entry, []byte, error) {
	maxRecords = max(maxRecords, 1)
	pos := from
	for {
		ev := s.events.Load()
		ents, nbuf, next, err := s.readOnce(pos, maxRecords, maxBytes, true, dst, buf)
		if err != nil {
			return dst, buf, err
		}
		if len(ents) > len(dst) {
			return ents, nbuf, nil
		}
		pos = next
		if err := ctx.Err(); err != nil {
			return dst, buf, err
		}
		if err := s.wait(ctx, ev); err != nil {
			return dst, buf, err
		}
	}
}

// wait blocks until an append completes after events was ev, ctx is done or
// the spool is closed.
func (s *Spool) wait(ctx context.Context, ev uint64) error {
	s.cmu.Lock()
	s.waiters.Add(1)
	stop := context.AfterFunc(ctx, func() {
		s.cmu.Lock()
		s.cond.Broadcast()
		s.cmu.Unlock()
	})
	for s.events.Load() == ev && ctx.Err() == nil && !s.isClosed.Load() {
		s.cond.Wait()
	}
	s.waiters.Add(-1)
	s.cmu.Unlock()
	stop()
	if s.isClosed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// readOnce reads without blocking: up to maxRecords records at or after pos
// (with withData, copies of their payloads: appended to buf when it is not
// nil, each in an allocation of its own otherwise), appended to ents. It
// stops at the end of the spool, before a frame still being appended, or
// when the batch is full, and returns the position where it stopped: the
// start of the next frame to look at. With maxRecords 0 it only skips torn
// frames and segment ends, stopping at the first record.
func (s *Spool) readOnce(pos Pos, maxRecords, maxBytes int, withData bool, ents []Entry, buf []byte) ([]Entry, []byte, Pos, error) {
	total, first := 0, len(ents)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ents[:first], buf, pos, ErrClosed
		}
		seg := s.findLocked(pos.Seg)
		if seg == nil {
			s.mu.Unlock()
			break
		}
		if seg.seq != pos.Seg || pos.Off < segHeaderSize {
			pos = Pos{seg.seq, segHeaderSize}
		}
		if seg == s.active && pos.Off >= seg.end {
			// Caught up: nothing to read, and no reason to map the segment
			// (an idle spool's is not, see Release).
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		p, err := s.pin(seg)
		if errors.Is(err, errDeleted) {
			continue // findLocked moves on to the next segment
		}
		if err != nil {
			return ents[:first], buf, pos, err
		}
		data, limit := p.data, p.end
		off := pos.Off
		stop := false
		var lastTime int64 // of the last good frame walked, for resynchronisation
		for i := skipIndex(p.skips, off); off < limit; {
			if i < len(p.skips) && p.skips[i].start <= off {
				off = max(off, p.skips[i].end) // recorded damage
				i++
				continue
			}
			l := load32(data, off)
			n := int64(l &^ busyBit)
			if l&busyBit != 0 && off >= seg.recEnd {
				// Appends reserved before the pin keep inflight above zero
				// until they clear their busy flag: with none copying, a
				// busy flag that stays is damage, not an append.
				if seg.inflight.Load() > 0 {
					stop = true // still being appended
					break
				}
				if load32(data, off)&busyBit == 0 {
					continue // completed meanwhile
				}
			}
			if _, ok := frameAt(data, off, limit); !ok {
				next, wait := s.liveDamage(seg, data, off, limit, lastTime)
				if wait {
					stop = true
					break
				}
				off = next
				continue
			}
			plen := int(n - frameHeaderSize)
			if got := len(ents) - first; got >= maxRecords || (got > 0 && maxBytes > 0 && total+plen > maxBytes) {
				stop = true
				break
			}
			lastTime = frameTime(data, off)
			e := Entry{
				Pos:  Pos{seg.seq, off},
				Next: Pos{seg.seq, off + align8(n)},
				Time: time.Unix(0, lastTime),
			}
			switch {
			case withData && buf != nil:
				if cap(buf)-len(buf) < plen {
					buf = make([]byte, 0, max(2*cap(buf), plen))
				}
				at := len(buf)
				buf = append(buf, data[off+frameHeaderSize:off+n]...)
				e.Data = buf[at:len(buf):len(buf)]
			case withData:
				e.Data = make([]byte, plen)
				copy(e.Data, data[off+frameHeaderSize:off+n])
			}
			ents = append(ents, e)
			total += plen
			off += align8(n)
		}
		pos.Off = off

		s.mu.Lock()
		seg.refs--
		more := false
		switch {
		case stop:
		case seg.deleted:
			more = true
		case seg.end > off:
			more = true // appended to meanwhile
		case seg != s.active:
			if nx := s.findLocked(seg.seq + 1); nx != nil {
				pos = Pos{nx.seq, segHeaderSize}
				more = true
			}
		}
		unm := s.trimLocked()
		s.mu.Unlock()
		munmapAll(unm)
		if !more {
			break
		}
	}
	if len(ents) > first {
		// Whatever was skipped after the last record is behind it too.
		ents[len(ents)-1].Next = pos
	}
	return ents, buf, pos, nil
}

// liveDamage handles a bad frame at off that recovery did not record: data
// written or changed since Open. It resynchronises as recovery does, with
// the end of the reserved frames as the end of the data, records the skips
// (once, whichever reader gets there first) and returns where reading
// resumes. wait reports that a frame in the way may still be being
// appended: the caller retries after the next append.
func (s *Spool) liveDamage(seg *segment, data []byte, off, limit, lastTime int64) (next int64, wait bool) {
	tb := &timeBounds{last: lastTime, latest: lastTime, now: s.opts.Now}
	rs := resyncer{data: data, limit: limit, tb: tb, budget: 4*(limit-off) + 1<<20,
		live: true, recEnd: seg.recEnd, inflight: &seg.inflight}
	c, wait := rs.next(off+8, limit)
	if wait {
		return off, true
	}
	found := tornChain(data, off, c, limit, c == limit, false)
	if found == nil {
		found = []skip{{start: off, end: c}}
	}
	s.noteLiveDamage(seg, found)
	return found[len(found)-1].end, false
}
