package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
)

const (
	consumersDir  = "consumers"
	cursorSuffix  = ".cursor"
	retiredSuffix = ".retired"
	tmpSuffix     = ".tmp"
	cursorMagic   = "MWCURSR1"
	maxStateBytes = 64 << 10
	maxNameLen    = 100
)

// validName reports whether name matches [A-Za-z0-9._-]{1,100} and is not
// "." or "..".
func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLen || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func errName(name string) error {
	return fmt.Errorf("spool: invalid consumer name %q (want [A-Za-z0-9._-]{1,100})", name)
}

// Register returns the cursor of the named consumer. A consumer with a
// committed cursor (from this run or an earlier one) gets it back. A
// consumer that was unregistered resumes where it had got to, from its
// retired cursor (see Unregister), or from the oldest record kept if that
// is later; Register persists that as its cursor, with the state of its
// last Commit, and removes the retired cursor. Any other consumer is
// created at the oldest record kept and its cursor persisted: it may be new
// or may have lost its cursor file, and the two cannot be told apart, so
// records are delivered again rather than skipped. A failure to persist is
// logged; the consumer still exists in memory and its first Commit
// persists it.
//
// A name must match [A-Za-z0-9._-]{1,100} (and not be "." or ".."):
// Register panics on any other name, since it is a programming error.
// After Close, Register returns the consumer's cursor or End without
// creating anything.
func (s *Spool) Register(consumer string) Pos {
	if !validName(consumer) {
		panic(errName(consumer))
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if c := s.cons[consumer]; c != nil {
		p := c.pos
		s.mu.Unlock()
		return p
	}
	if s.closed {
		p := s.endLocked()
		s.mu.Unlock()
		return p
	}
	first, end := s.firstPosLocked(), s.endLocked()
	s.mu.Unlock()
	p, state := first, []byte(nil)
	retired := s.retired[consumer]
	if retired != nil {
		p, state = s.clampCursor(consumer, retired.pos, first, end), retired.state
	}
	// Past torn frames and damage, as Open does for loaded cursors. commitMu
	// keeps segments from being deleted meanwhile.
	if _, _, next, err := s.readOnce(p, 0, 0, false, nil, nil); err == nil {
		p = next
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return p
	}
	s.cons[consumer] = &cursorState{pos: p, state: state}
	s.mu.Unlock()
	delete(s.retired, consumer)
	if err := s.writeCursor(s.consumerPath(consumer, cursorSuffix), p, state); err != nil {
		// The retired cursor stays on disk: it is where a crash before the
		// first Commit resumes.
		s.log.Error("spool: cannot persist a new consumer's cursor", "consumer", consumer, "err", err)
	} else if retired != nil {
		s.removeRetired(consumer)
	}
	return p
}

// Consumers returns the names of the registered consumers, including those
// whose cursor files were found by Open, sorted.
func (s *Spool) Consumers() []string {
	s.mu.Lock()
	names := make([]string, 0, len(s.cons))
	for name := range s.cons {
		names = append(names, name)
	}
	s.mu.Unlock()
	sort.Strings(names)
	return names
}

// Cursor returns the consumer's committed position and state, and whether
// the consumer exists.
func (s *Spool) Cursor(consumer string) (Pos, []byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cons[consumer]
	if c == nil {
		return Pos{}, nil, false
	}
	return c.pos, append([]byte(nil), c.state...), true
}

// Unregister forgets a consumer: its unread records no longer hold
// segments, which are deleted if every remaining consumer is past them.
// Unregistering the last consumer deletes nothing (with no consumer,
// records are kept). It returns an error for an unknown consumer.
//
// The consumer's cursor and state are kept as a retired cursor, which holds
// no segment: registering the consumer again resumes there (or at the
// oldest record kept, if that is later) instead of delivering again what it
// had committed. The retired cursor is durable before the cursor file is
// removed, so a crash leaves one or the other. If the retired cursor cannot
// be written, the consumer is forgotten for this run only: Unregister keeps
// its cursor file, so the next Open registers it again, and returns the
// error.
func (s *Spool) Unregister(consumer string) error {
	if !validName(consumer) {
		return errName(consumer)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.cons[consumer]
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("spool: unknown consumer %q", consumer)
	}
	// commitMu keeps c from changing; c.state is never modified in place.
	werr := s.writeCursor(s.consumerPath(consumer, retiredSuffix), c.pos, c.state)
	s.mu.Lock()
	delete(s.cons, consumer)
	victims := s.collectLocked()
	cleared := s.clearFullLocked()
	s.mu.Unlock()
	s.retired[consumer] = c
	var err error
	if werr != nil {
		err = fmt.Errorf("%w (consumer %q unregistered until the next Open, which registers it again from its cursor)", werr, consumer)
	} else if err = os.Remove(s.consumerPath(consumer, cursorSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("spool: %w", err)
	} else if err = s.consDir.Sync(); err != nil {
		err = fmt.Errorf("spool: %w", err)
	}
	s.afterFree(victims, cleared)
	return err
}

// Commit durably records that the consumer has processed everything before
// p (an Entry.Next, or End), with an opaque state of at most 64 KiB that
// Cursor returns after a restart. The cursor file is replaced atomically.
// Segments before the slowest consumer's cursor are then deleted, which may
// clear Full. With no consumer registered nothing is ever deleted.
//
// The consumer must be registered (Register, or found by Open). Committing
// a position before the oldest segment kept commits the start of that
// segment; committing past End is an error.
func (s *Spool) Commit(consumer string, p Pos, state []byte) error {
	if !validName(consumer) {
		return errName(consumer)
	}
	if len(state) > maxStateBytes {
		return fmt.Errorf("spool: consumer state of %d bytes is more than %d", len(state), maxStateBytes)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.cons[consumer]
	end, first := s.endLocked(), s.firstPosLocked()
	s.mu.Unlock()
	switch {
	case c == nil:
		return fmt.Errorf("spool: unknown consumer %q", consumer)
	case end.Less(p):
		return fmt.Errorf("spool: commit of %s past the end %s", p, end)
	case p.Less(first):
		p = first
	}
	if err := s.writeCursor(s.consumerPath(consumer, cursorSuffix), p, state); err != nil {
		return err
	}
	s.mu.Lock()
	c.pos, c.state = p, append([]byte(nil), state...)
	victims := s.collectLocked()
	cleared := s.clearFullLocked()
	s.mu.Unlock()
	s.afterFree(victims, cleared)
	return nil
}

// afterFree deletes collected segments, and the retired cursors they made
// pointless, and reports a cleared full state. The caller holds commitMu.
func (s *Spool) afterFree(victims []*segment, cleared bool) {
	s.deleteSegments(victims)
	if len(victims) > 0 {
		s.pruneRetired()
	}
	if cleared {
		s.log.Info("spool no longer full", "dir", s.dir)
	}
	if len(victims) > 0 || cleared {
		s.kickBackground() // the budget may allow a spare now
	}
}

// clampCursor moves a cursor read from disk into the spool: one before the
// oldest record kept to that record, one past the end to the end.
func (s *Spool) clampCursor(name string, p, first, end Pos) Pos {
	switch {
	case p.Less(first):
		return first
	case end.Less(p):
		s.log.Warn("spool: cursor is past the end of the spool; moved to the end", "consumer", name,
			"cursor", p.String(), "end", end.String())
		return end
	}
	return p
}

// pruneRetired deletes the retired cursors that are not after the oldest
// record kept: registering such a consumer starts at that record anyway,
// as it does without one. The caller holds commitMu (or is Open).
func (s *Spool) pruneRetired() {
	if len(s.retired) == 0 {
		return
	}
	s.mu.Lock()
	first := s.firstPosLocked()
	s.mu.Unlock()
	for name, r := range s.retired {
		if first.Less(r.pos) {
			continue
		}
		delete(s.retired, name)
		s.removeRetired(name)
	}
}

// removeRetired deletes a retired cursor file. Without a directory fsync: a
// removal a crash undoes leaves a retired cursor next to the consumer's
// live one, which wins, or one before the oldest record, which is pruned;
// either is only removed again by the next Open.
func (s *Spool) removeRetired(name string) {
	if err := os.Remove(s.consumerPath(name, retiredSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("spool: cannot remove a retired cursor", "consumer", name, "err", err)
	}
}

// consumerPath is the path of a consumer's cursor or retired cursor file.
func (s *Spool) consumerPath(name, suffix string) string {
	return filepath.Join(s.dir, consumersDir, name+suffix)
}

// encodeCursor is the content of a cursor or retired cursor file.
func encodeCursor(p Pos, state []byte) []byte {
	buf := make([]byte, 0, len(cursorMagic)+20+len(state)+4)
	buf = append(buf, cursorMagic...)
	buf = binary.LittleEndian.AppendUint64(buf, p.Seg)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.Off))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(state)))
	buf = append(buf, state...)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// writeCursor atomically replaces a cursor or retired cursor file. The
// caller holds commitMu.
func (s *Spool) writeCursor(path string, p Pos, state []byte) error {
	buf := encodeCursor(p, state)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: write %s: %w", path, err)
	}
	if _, err = f.Write(buf); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = s.consDir.Sync()
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: write %s: %w", path, err)
	}
	return nil
}

// readCursorFile reads a cursor or retired cursor file.
func readCursorFile(path string) (Pos, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Pos{}, nil, err
	}
	return parseCursor(b)
}

// parseCursor parses the content of a cursor or retired cursor file.
func parseCursor(b []byte) (Pos, []byte, error) {
	const fixed = len(cursorMagic) + 20
	if len(b) < fixed+4 || string(b[:len(cursorMagic)]) != cursorMagic {
		return Pos{}, nil, errors.New("not a cursor file")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return Pos{}, nil, errors.New("checksum mismatch")
	}
	n := binary.LittleEndian.Uint32(b[fixed-4:])
	if int64(n) != int64(len(body)-fixed) {
		return Pos{}, nil, errors.New("bad state length")
	}
	p := Pos{Seg: binary.LittleEndian.Uint64(b[8:]), Off: int64(binary.LittleEndian.Uint64(b[16:]))}
	var state []byte
	if n > 0 {
		state = append([]byte(nil), body[fixed:]...)
	}
	return p, state, nil
}
