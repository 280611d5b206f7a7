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
// committed cursor (from this run or an earlier one) gets it back;
// otherwise Register creates the consumer at the oldest record kept and
// persists its cursor. A consumer without a cursor may be new or may have
// lost its cursor file, and the two cannot be told apart: starting at the
// oldest record delivers records again rather than skip them. A failure to
// persist is logged; the consumer still exists in memory and its first
// Commit persists it.
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
	closed := s.closed
	if closed {
		p := s.endLocked()
		s.mu.Unlock()
		return p
	}
	p := s.firstPosLocked()
	s.mu.Unlock()
	// Past torn frames and damage, as Open does for loaded cursors. commitMu
	// keeps segments from being deleted meanwhile.
	if _, next, err := s.readOnce(p, 0, 0, false); err == nil {
		p = next
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return p
	}
	s.cons[consumer] = &cursorState{pos: p}
	s.mu.Unlock()
	if err := s.writeCursor(consumer, p, nil); err != nil {
		s.log.Error("spool: cannot persist a new consumer's cursor", "consumer", consumer, "err", err)
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

// Unregister forgets a consumer and removes its cursor file: its unread
// records no longer hold segments, which are deleted if every remaining
// consumer is past them. Unregistering the last consumer deletes nothing
// (with no consumer, records are kept). It returns an error for an unknown
// consumer.
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
	if s.cons[consumer] == nil {
		s.mu.Unlock()
		return fmt.Errorf("spool: unknown consumer %q", consumer)
	}
	delete(s.cons, consumer)
	victims := s.collectLocked()
	cleared := s.clearFullLocked()
	s.mu.Unlock()
	err := os.Remove(s.cursorPath(consumer))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
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
	if err := s.writeCursor(consumer, p, state); err != nil {
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

// afterFree deletes collected segments and reports a cleared full state.
func (s *Spool) afterFree(victims []*segment, cleared bool) {
	s.deleteSegments(victims)
	if cleared {
		s.log.Info("spool no longer full", "dir", s.dir)
	}
	if len(victims) > 0 || cleared {
		s.kickBackground() // the budget may allow a spare now
	}
}

func (s *Spool) cursorPath(name string) string {
	return filepath.Join(s.dir, consumersDir, name+cursorSuffix)
}

// writeCursor atomically replaces a cursor file. The caller holds commitMu.
func (s *Spool) writeCursor(name string, p Pos, state []byte) error {
	buf := make([]byte, 0, len(cursorMagic)+20+len(state)+4)
	buf = append(buf, cursorMagic...)
	buf = binary.LittleEndian.AppendUint64(buf, p.Seg)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(p.Off))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(state)))
	buf = append(buf, state...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))

	path := s.cursorPath(name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
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
		return fmt.Errorf("spool: write cursor of %q: %w", name, err)
	}
	return nil
}

// readCursorFile parses a cursor file.
func readCursorFile(path string) (Pos, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Pos{}, nil, err
	}
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
