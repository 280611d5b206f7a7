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
// pages appends are about to use (a window ahead of the append position,
// and the same window at the start of the spare), so that the first write
// to a page does not take a page fault on the Append path. When the spare is not ready, the appender that
// needs it creates it synchronously ([Stats.SlowRotations] counts these).
// Appends sustained faster than the background goroutine can fault pages in
// take some page faults themselves (and, when the disk cannot keep up, the
// kernel's dirty-page throttling), but never wait for a sync.
//
// All of that costs memory (the prefaulted pages are resident) and disk
// (the spare) whether or not records come. A spool opened with
// [Options.Lazy] creates, maps and prefaults nothing, and starts no
// goroutine, until [Spool.Prepare] or the first Append arms it; a spool
// whose consumers have read everything can be disarmed again with
// [Spool.Release], which deletes the spare and unmaps every segment. An
// Append on an unarmed spool arms it itself, making the system calls that
// Prepare would have made (counted in [Stats.SlowRotations] when it has to
// create a segment): the durability of what it appends is the same. The
// last segment stays on disk when released, since positions must keep
// increasing across restarts and its file name is what says where they
// are.
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
// consumer that [Spool.Unregister] retired leaves a retired cursor, which
// holds no segment: registered again, the consumer resumes at the later of
// that cursor and the oldest record kept, not at records it had already
// committed. A consumer without a committed cursor, whether registered for
// the first time or one whose cursor file is missing (the two look the
// same), starts at the oldest record kept: records are delivered again
// rather than skipped.
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
//	consumers/<name>.retired   the last cursor of an unregistered consumer
//
// Every segment file has a fixed size (Options.SegmentBytes when it was
// created) and starts with a 16-byte header: the magic "MWSPOOL1", the u32
// size of the segment in bytes and a u32 CRC-32C of the 12 bytes before it.
// Segments written before the header recorded the size have 8 zero bytes
// there instead, and are still read. Frames follow from offset 16, each
// starting at an 8-byte aligned offset; all integers are little endian:
//
//	offset 0   u32 length     16 + len(payload); the top bit is the "busy" flag
//	offset 4   u32 checksum   CRC-32C (Castagnoli) of bytes 8 .. length
//	offset 8   i64 time       append time, Unix nanoseconds
//	offset 16  payload
//	           zero padding up to the next multiple of 8
//
// A length word of zero with only zeros after it marks the end of the data
// in a segment (segments are zero-filled when created); a record that does
// not fit in the rest of a segment goes to the next segment. A position ([Pos]) is the segment's
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
// # Recovery and damage
//
// When the spool is opened, every segment is scanned and every frame's
// checksum verified. A frame with a checksum that matches is a record,
// whatever its busy flag says. The data of a segment ends at the last
// non-zero byte (segments are zero-filled when created); anything else that
// is not a valid frame is damage, and the scan resynchronises after it
// instead of giving up on the rest of the segment:
//
//  1. At a bad frame at offset off (a length that cannot be a frame, a
//     checksum that does not match, or a zero length word with data after
//     it), scan forward from off+8 in steps of 8 for the first offset c
//     where a valid frame starts: its length fits in the segment, its time
//     is plausible and its checksum matches. If there is none, c is the end
//     of the data.
//  2. If the length words from off tile [off, c) exactly (each frame's
//     length leading to the next, the last one to c, or past the end of
//     the data when c is that end), those frames are torn: their length
//     words were intact, their contents not. They are skipped and each
//     counted in [Stats.Torn]. This is the common case: an append killed
//     mid-copy, or a damaged payload or time byte.
//  3. Otherwise the range [off, c) is corrupt: its length words cannot be
//     trusted (following one would jump into the middle of other frames).
//     It is skipped and counted in [Stats.CorruptRanges] and
//     [Stats.CorruptBytes]; how many records it held is unknown.
//  4. Scanning continues at c.
//
// Step 1 looks inside the bad frame first, and so never follows a length
// word it cannot check: a valid frame found before where the length points
// means that length was wrong. A time is plausible when it is positive, not
// more than 24 hours before the last good record's time (records are
// appended in time order, but each takes its time before it reserves its
// frame, and clocks get corrected) and not more than 24 hours after the
// later of the spool clock's now and the latest good record's time.
// Together with the length check and CRC-32C, this makes random bytes pass
// for a frame with a chance below 2^-36 per offset, and far less once a
// good record's time is known (about 2^-55 for 64 MiB segments whose
// records span a few days). CRC-32C is not a MAC: a payload that itself
// contains the bytes of a valid frame could be taken for one, but only
// while resynchronising through that payload, that is after damage to the
// frame holding it. The checksums computed while
// resynchronising are limited to four times the segment's size; past that
// the rest of the segment is one corrupt range (and logged so).
//
// A segment header with a wrong magic, or a size or checksum that does not
// match, is a corrupt range from offset 0: its frames are still found by
// resynchronising from offset 16. A segment with no data before a later
// segment with data lost all of it (segments fill in order) and counts as
// one corrupt range; so does a segment file that is all zero before any
// later segment file (a segment's header is on disk before the next
// segment file is created), or, when it is too small to hold a record, as
// a truncated segment. A segment file shorter than the size its header
// records (for older segments: not a whole number of pages) is truncated
// and counted in [Stats.TruncatedSegments]: every complete frame before the
// cut is read, the frame the cut went through counts as torn, and what
// followed it is gone. Two kinds of loss cannot be detected: zeros written
// over the tail of a segment's data from a frame boundary on look like the
// segment's free space, and an older segment cut at a page boundary looks
// whole.
//
// Every torn frame, corrupt range and truncated segment found by Open is
// counted in [Stats] and logged, one line each (up to 100 lines, then one
// line with the number not logged), followed by a summary line; damage
// kept on disk is found, counted and logged again by the next Open. Appending continues after the
// data of the last segment when that segment has a valid header, its full
// size, no corrupt range and a zero rest (torn frames do not matter),
// otherwise in a new segment.
//
// Readers use what recovery found, and apply the same algorithm to data
// written or changed since Open (which only an outside write to a segment
// file can damage), with the end of the reserved frames as the end of the
// data: what they skip is recorded once per segment, whichever reader meets
// it first, counted in the same Stats fields and logged at most once per 10
// seconds. A busy frame in their way while appends are copying into the
// segment may be an append in progress: they wait for it.
//
// A cursor file holds, little endian: the magic "MWCURSR1", u64 segment,
// i64 offset, u32 state length, the state, and a CRC-32C of all the bytes
// before it. It is replaced atomically (temporary file, fsync, rename, fsync
// of the directory). A cursor file that fails its checksum is reported and
// treated as the start of the oldest segment: records are delivered again
// rather than lost.
//
// A retired cursor file has the same format and is written the same way.
// Unregister writes it before it removes the cursor file, and Register
// writes the cursor file before it removes the retired one, so a crash
// leaves at least one of them; when Open finds both, the cursor file wins
// (it is the newer) and the retired one is removed. A retired cursor that
// fails its checksum is reported, removed and treated as absent. One that
// is not after the oldest record kept means the same as none, and is
// removed when Open or a segment deletion finds it so.
package spool
