// Package spool is a durable, append-only, checksummed on-disk queue for
// invocation log records.
//
// # Guarantees
//
// A record is safe from the death of the process (kill -9, a panic, an OOM
// kill) the moment [Spool.Append] returns, yet Append makes no system call in
// the common case: segment files are preallocated with fallocate(2) and
// mapped MAP_SHARED, and Append only copies the framed record into the
// mapping. The pages belong to the kernel's page cache, which outlives the
// process. Background goroutines sync the written ranges every
// [Options.SyncInterval] for durability against power loss and kernel
// crashes (records appended within the last interval may be lost then),
// preallocate and map the next segment ahead of time so that rotating to a
// new segment normally costs no system call either, and write-fault the
// pages appends are about to use (the spare, and a window ahead of the
// append position), so that the first write to a page does not take a page
// fault on the Append path. When the spare is not ready, the appender that
// needs it creates it synchronously ([Stats.SlowRotations] counts these).
// Appends sustained faster than the background goroutine can fault pages in
// take some page faults themselves (and, when the disk cannot keep up, the
// kernel's dirty-page throttling), but never wait for a sync.
//
// Syncing msyncs (MS_SYNC) the range written since the last sync, which on
// Linux writes that range back and commits the metadata needed to read it,
// like fdatasync. Sealed segments are fsynced too, and every segment when
// the spool is closed; the active segment is not fsynced as a whole while
// appends continue, because that would also clean (and write-protect) the
// pages prefaulted ahead of the append position.
//
// Preallocating means a full disk is reported when a segment is created
// (ENOSPC from fallocate), never as a SIGBUS when a page of the mapping is
// first touched. The spool never uses more than [Options.MaxBytes] of segment
// files, including the spare. The spare is also the spool's headroom: the
// spool is full as soon as it has no spare and cannot make one (the budget
// is used up, or fallocate fails, e.g. with ENOSPC). [Spool.Full] then
// reports true and [Spool.Append] returns [ErrFull], even though the active
// segment may still have room, until [Spool.Commit] or [Spool.Unregister]
// frees segments or preallocating the spare succeeds again. So Full turns
// true before any Append fails, and a caller that checks Full before taking
// on work it must log is refused instead of losing a record; the price is
// that up to one segment of the budget stays unused.
//
// Delivery is at least once: consumers read from their own cursor with
// [Spool.Read] and move it with [Spool.Commit]; a segment is deleted once
// every registered consumer's cursor is past it. While no consumer is
// registered nothing is deleted: records are never dropped silently. A
// consumer registered later starts at the end of the spool, so records
// appended before the first consumer registered are deleted by that
// consumer's first Commit.
//
// The package is Linux-only (fallocate, mmap, flock) and assumes the usual
// little-endian 64-bit hosts for its in-place atomic words.
//
// # On-disk format
//
// A spool directory holds:
//
//	LOCK                       exclusive flock(2) of the process that has the spool open
//	<20-digit seq>.seg         segment files, seq starting at 1, ascending
//	consumers/<name>.cursor    one committed cursor per consumer
//
// Every segment file has a fixed size (Options.SegmentBytes when it was
// created) and starts with a 16-byte header: the magic "MWSPOOL1" followed by
// 8 reserved zero bytes. Frames follow from offset 16, each starting at an
// 8-byte aligned offset; all integers are little endian:
//
//	offset 0   u32 length     16 + len(payload); the top bit is the "busy" flag
//	offset 4   u32 checksum   CRC-32C (Castagnoli) of bytes 8 .. length
//	offset 8   i64 time       append time, Unix nanoseconds
//	offset 16  payload
//	           zero padding up to the next multiple of 8
//
// A length word of zero marks the end of the data in a segment (segments are
// zero-filled when created); a record that does not fit in the rest of a
// segment goes to the next segment. A position ([Pos]) is the segment's
// sequence number and the byte offset of a frame in it.
//
// Appenders reserve a frame under a short mutex and store its length word,
// with the busy flag set, before releasing it, so the extent of every
// reserved frame is known even if its appender dies before finishing. They
// then copy the time and payload, store the checksum and finally store the
// length word again without the busy flag. Within the process, a reader
// waits for a frame's busy flag to clear, so it never returns a record whose
// Append has not completed.
//
// When the spool is opened, every segment is scanned and every frame's
// checksum verified. A frame whose checksum does not match (its appender was
// killed mid-copy, or the file was damaged) is torn: it is skipped, using its
// length, and counted in [Stats.Torn]; the frames after it are still read. A
// frame with a checksum that matches is a record, whatever its busy flag
// says. Scanning stops at a zero length word or at a length that cannot be a
// frame. Appending continues after the data of the last segment when the rest
// of that segment is zero, otherwise in a new segment.
//
// A cursor file holds, little endian: the magic "MWCURSR1", u64 segment,
// i64 offset, u32 state length, the state, and a CRC-32C of all the bytes
// before it. It is replaced atomically (temporary file, fsync, rename, fsync
// of the directory). A cursor file that fails its checksum is reported and
// treated as the start of the oldest segment: records are delivered again
// rather than lost.
package spool
