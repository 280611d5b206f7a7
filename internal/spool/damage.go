package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"sync/atomic"
	"time"
)

const (
	// timeSlack bounds how far a resynchronisation candidate's time may lie
	// before the last good record's, or after the later of now and the
	// latest good record's (see the package documentation).
	timeSlack = int64(24 * time.Hour)
	// maxOpenDamageLogs is how many damage lines Open logs one by one; the
	// summary line after them always has the totals.
	maxOpenDamageLogs = 100
	// liveDamageLogEvery rate-limits the lines about damage found by
	// readers after Open.
	liveDamageLogEvery = 10 * time.Second
)

// skip is a range of a segment that readers jump over: a torn frame, whose
// extent its length word gives, or a corrupt range, where no frame could be
// found. Skips are sorted by start and never overlap; a segment's slice is
// replaced, never modified, so that readers may keep a snapshot.
type skip struct {
	start, end int64
	torn       bool
}

// skipIndex returns the index of the first skip in skips ending after off.
func skipIndex(skips []skip, off int64) int {
	i, _ := slices.BinarySearchFunc(skips, off, func(sk skip, off int64) int {
		if sk.end <= off {
			return -1
		}
		return 1
	})
	return i
}

// damageKind says what a damage record is about.
type damageKind int

const (
	damageTorn      damageKind = iota // a frame whose checksum failed
	damageCorrupt                     // a range with no frame in it
	damageTruncated                   // a segment file shorter than it was created
)

// damage is one thing recovery or a reader could not read, for the
// counters and the log.
type damage struct {
	kind damageKind
	off  int64 // where it starts; for damageTruncated the file size
	// bytes is the size of the frame or range; for damageTruncated the
	// bytes missing (0 when the size it was created with is unknown).
	bytes  int64
	resume int64 // damageCorrupt: where reading resumed
}

// timeBounds judges whether the time field of a resynchronisation
// candidate is plausible: positive, not more than timeSlack before the last
// good record walked, and not more than timeSlack after the later of now
// and the latest good record walked. The clock is read only when a
// candidate is judged, i.e. only after damage.
type timeBounds struct {
	last, latest int64 // Unix nanoseconds; 0: no good record walked yet
	now          func() time.Time
	nowNs        int64
	haveNow      bool
}

func (t *timeBounds) saw(ts int64) {
	t.last = ts
	t.latest = max(t.latest, ts)
}

func (t *timeBounds) plausible(ts int64) bool {
	if ts <= 0 || (t.last > 0 && ts < t.last-timeSlack) {
		return false
	}
	if !t.haveNow {
		t.nowNs, t.haveNow = t.now().UnixNano(), true
	}
	hi := max(t.nowNs, t.latest)
	return ts <= hi || ts-hi <= timeSlack
}

func frameTime(data []byte, off int64) int64 {
	return int64(binary.LittleEndian.Uint64(data[off+8 : off+16]))
}

// frameAt reports whether a valid frame (plausible length, matching
// checksum) of n bytes starts at off, frames ending at or before limit.
func frameAt(data []byte, off, limit int64) (n int64, ok bool) {
	if off+frameHeaderSize > limit {
		return 0, false
	}
	n = int64(load32(data, off) &^ busyBit)
	if n < frameHeaderSize || off+align8(n) > limit {
		return n, false
	}
	return n, load32(data, off+4) == crc32.Checksum(data[off+8:off+n], castagnoli)
}

// resyncer finds where valid frames resume after a bad one.
type resyncer struct {
	data  []byte
	limit int64 // frames end at or before limit
	tb    *timeBounds
	// budget is how many bytes the candidates' checksums may still cover:
	// it bounds the work on data crafted to be full of plausible headers.
	budget    int64
	exhausted bool
	// With live set, a busy frame at or after recEnd while appends are
	// copying into the segment may be an append in progress: next reports
	// wait instead of passing it.
	live     bool
	recEnd   int64
	inflight *atomic.Int64
}

// next returns the first 8-byte aligned offset c in [from, end) where a
// valid frame with a plausible time starts, or end if there is none (or
// the checksum budget ran out). wait reports a possible append in progress
// at c.
func (r *resyncer) next(from, end int64) (c int64, wait bool) {
	for c = from; c < end && c+frameHeaderSize <= r.limit; c += 8 {
		w := load32(r.data, c)
		n := int64(w &^ busyBit)
		if n < frameHeaderSize || c+align8(n) > r.limit {
			continue
		}
		if w&busyBit != 0 && r.live && c >= r.recEnd && r.inflight.Load() > 0 {
			return c, true
		}
		if !r.tb.plausible(frameTime(r.data, c)) {
			continue
		}
		if r.budget < n {
			r.exhausted = true
			return end, false
		}
		r.budget -= n
		if load32(r.data, c+4) == crc32.Checksum(r.data[c+8:c+n], castagnoli) {
			return c, false
		}
	}
	return end, false
}

// tornChain returns the frames tiling [off, c) exactly by their length
// words, or nil if the length words do not tile it. No valid frame starts
// inside [off, c) (c is where resynchronisation found one), so these are
// torn frames with intact length words. With atEnd, c is the end of the
// data, and the last frame may extend past it up to bound (its tail is
// zero, or cut off by a truncation). With cut (a truncated file), a frame
// whose length word itself was cut off ends the chain.
func tornChain(data []byte, off, c, bound int64, atEnd, cut bool) []skip {
	var out []skip
	for o := off; o < c; {
		if o+4 > int64(len(data)) {
			if atEnd && cut {
				return append(out, skip{start: o, end: c, torn: true})
			}
			return nil
		}
		n := int64(load32(data, o) &^ busyBit)
		e := o + align8(n)
		if n < frameHeaderSize || e > bound || (e > c && !atEnd) {
			return nil
		}
		out = append(out, skip{start: o, end: e, torn: true})
		o = e
	}
	return out
}

// dataEnd returns the 8-byte aligned offset after the last non-zero byte of
// b: everything from there on is zero.
func dataEnd(b []byte) int64 {
	i := len(b)
	for i > 0 {
		lo := max(0, i-len(zeroPage))
		if !bytes.Equal(b[lo:i], zeroPage[:i-lo]) {
			for b[i-1] == 0 {
				i--
			}
			break
		}
		i = lo
	}
	return align8(int64(i))
}

// count adds damage found by recovery or a reader to the counters.
func (s *Spool) count(ds []damage) {
	for _, d := range ds {
		switch d.kind {
		case damageTorn:
			s.torn.Add(1)
		case damageCorrupt:
			s.corruptRanges.Add(1)
			s.corruptBytes.Add(uint64(d.bytes))
		case damageTruncated:
			s.truncated.Add(1)
		}
	}
}

// logDamage writes one line about d in the segment at path.
func (s *Spool) logDamage(path string, d damage, live bool, suppressed int) {
	args := []any{"segment", path}
	if live {
		args = append(args, "found_by", "reader")
		if suppressed > 0 {
			args = append(args, "suppressed_since_last", suppressed)
		}
	}
	switch d.kind {
	case damageTorn:
		s.log.Warn("spool: torn record skipped (checksum mismatch)",
			append(args, "offset", d.off, "bytes", d.bytes)...)
	case damageCorrupt:
		s.log.Error("spool: corrupt range skipped; any records in it are lost",
			append(args, "offset", d.off, "bytes", d.bytes, "resumed_at", d.resume)...)
	case damageTruncated:
		var missing any = d.bytes
		if d.bytes == 0 {
			missing = "unknown" // a segment from before the header recorded its size
		}
		s.log.Error("spool: segment file truncated; records after the cut are lost",
			append(args, "file_size", d.off, "missing_bytes", missing)...)
	}
}

// noteLiveDamage records the skips a reader computed for damage it found in
// data written or changed since Open, once: a skip overlapping one already
// recorded (another reader found it first) is dropped. The new ones are
// counted and logged, at most one line per liveDamageLogEvery.
func (s *Spool) noteLiveDamage(seg *segment, found []skip) {
	s.mu.Lock()
	skips := seg.skips
	var added []damage
	for _, sk := range found {
		i := skipIndex(skips, sk.start)
		if i < len(skips) && skips[i].start < sk.end {
			continue
		}
		skips = slices.Insert(slices.Clip(skips), i, sk)
		d := damage{kind: damageCorrupt, off: sk.start, bytes: sk.end - sk.start, resume: sk.end}
		if sk.torn {
			d.kind = damageTorn
		}
		added = append(added, d)
	}
	seg.skips = skips
	s.mu.Unlock()
	s.count(added)
	for _, d := range added {
		s.dlogMu.Lock()
		now := time.Now()
		ok := s.dlogAt.IsZero() || now.Sub(s.dlogAt) >= liveDamageLogEvery
		suppressed := s.dlogSuppressed
		if ok {
			s.dlogAt, s.dlogSuppressed = now, 0
		} else {
			s.dlogSuppressed++
		}
		s.dlogMu.Unlock()
		if ok {
			s.logDamage(seg.path, d, true, suppressed)
		}
	}
}
