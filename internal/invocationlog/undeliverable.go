package invocationlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelwatch/modelwatch/internal/spool"
)

// UndeliverableDir is where records that cannot be delivered are kept,
// relative to the data directory, until `modelwatch logs redeliver` delivers
// them.
//
// Each file holds the spool entries of one batch that a destination refused
// permanently (or, for records whose configuration generation is unknown,
// those of one spool segment), with the destination they were meant for:
// gzip of "MWKEPT1\n", a little-endian uint32 header length, the JSON
// header (keptHeader), then per record its spool position (uint64 segment,
// uint64 offset), a uint32 length and the spool entry. Files are replaced
// atomically (temporary file, fsync, rename, directory fsync) and named
// after what they hold, so keeping the same records again (a replay after a
// crash) rewrites the same file instead of adding one. Writers and
// redelivery take the directory's flock (.lock), one file at a time, so
// `modelwatch logs redeliver` can run while the server does.
const UndeliverableDir = "logging/undeliverable"

const (
	keptSuffix    = ".batch"
	keptMagic     = "MWKEPT1\n"
	keptLockFile  = ".lock"
	maxKeptHeader = 1 << 20

	// reasonUnknownGeneration keeps records whose generation of the
	// logging configuration is not in logging/config.json: where they were
	// meant to go is unknown.
	reasonUnknownGeneration = "unknown_generation"
	unknownGenerationStem   = reasonUnknownGeneration + "_"
)

// keptHeader describes the records of a kept file.
type keptHeader struct {
	// Destination is where the records were meant to go; nil for records
	// of an unknown generation.
	Destination *destination `json:"destination,omitempty"`
	// Consumer is the destination's spool consumer: batch IDs, and so the
	// S3 keys of a redelivery, derive from it and the records' positions.
	Consumer string `json:"consumer,omitempty"`
	// Reason is the error code that made the destination refuse them
	// (NoSuchBucket, KeyTooLongError, AccessDeniedException, tooOld, ...)
	// or unknown_generation; Error the error's message.
	Reason string    `json:"reason"`
	Error  string    `json:"error,omitempty"`
	KeptAt time.Time `json:"keptAt"`
	// AccountID and Region are those of the keys delivery would have
	// written.
	AccountID string `json:"accountId"`
	Region    string `json:"region"`
	Records   int    `json:"records"`
	// FirstRequestID is the request ID of the first record.
	FirstRequestID string `json:"firstRequestId"`
	// LargeData is the largeDataDeliveryS3Config of each configuration
	// generation of the records (CloudWatch Logs destinations).
	LargeData map[uint32]*S3Config `json:"largeData,omitempty"`
}

// keptStore is the undeliverable directory.
type keptStore struct {
	dir string
	// mu serializes the goroutines of this process; the flock, processes.
	mu sync.Mutex

	cacheMu sync.Mutex
	cache   map[string]keptCount
}

// keptCount caches the record count of a file as last seen.
type keptCount struct {
	size    int64
	mod     time.Time
	records int
}

func newKeptStore(dataDir string) *keptStore {
	return &keptStore{dir: filepath.Join(dataDir, UndeliverableDir), cache: map[string]keptCount{}}
}

// lock takes the store's lock, waiting (as long as ctx allows) for another
// process that holds it.
func (k *keptStore) lock(ctx context.Context) (unlock func(), err error) {
	k.mu.Lock()
	defer func() {
		if err != nil {
			k.mu.Unlock()
		}
	}()
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(k.dir, keptLockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
				k.mu.Unlock()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", k.dir, err)
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		}
	}
}

// keptBatchName names the file of a batch's records refused for reason:
// keptBatchStem, the reason and keptSuffix.
func keptBatchName(consumer string, first time.Time, id, reason string) string {
	return keptBatchStem(consumer, first, id) + fileSafe(reason) + keptSuffix
}

// keptBatchStem is what the names of a batch's kept files start with.
func keptBatchStem(consumer string, first time.Time, id string) string {
	return consumer + "_" + first.UTC().Format("20060102T150405Z") + "_" + id + "_"
}

// keptUnknownName names the file of a spool segment's records of unknown
// generations.
func keptUnknownName(seg uint64) string {
	return fmt.Sprintf("%s%020d%s", unknownGenerationStem, seg, keptSuffix)
}

// fileSafe keeps an error code usable in a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// merge adds recs to the kept file name, creating it with h, and returns
// how many records it added: records whose spool position the file already
// holds are not added again. The caller holds the lock. A file that cannot
// be read is moved aside (to <name>.corrupt-<unix time>, which nothing
// reads) and that path returned, for the caller to log.
func (k *keptStore) merge(name string, h keptHeader, recs []pending) (added int, movedAside string, err error) {
	path := filepath.Join(k.dir, name)
	all := make([]pending, 0, len(recs))
	have := map[spool.Pos]bool{}
	if b, err := os.ReadFile(path); err == nil {
		old, oldRecs, derr := decodeKept(bytes.NewReader(b), false)
		if derr != nil {
			movedAside = fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
			if err := os.Rename(path, movedAside); err != nil {
				return 0, "", err
			}
		} else {
			h.KeptAt = old.KeptAt
			for g, c := range old.LargeData {
				if h.LargeData == nil {
					h.LargeData = map[uint32]*S3Config{}
				}
				if _, ok := h.LargeData[g]; !ok {
					h.LargeData[g] = c
				}
			}
			for _, r := range oldRecs {
				have[r.pos] = true
			}
			all = append(all, oldRecs...)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, "", err
	}
	for _, r := range recs {
		if !have[r.pos] {
			have[r.pos] = true
			all = append(all, r)
			added++
		}
	}
	if added == 0 && movedAside == "" {
		return 0, "", nil
	}
	slices.SortFunc(all, func(a, b pending) int {
		switch {
		case a.pos.Less(b.pos):
			return -1
		case b.pos.Less(a.pos):
			return 1
		}
		return 0
	})
	h.Records, h.FirstRequestID = len(all), all[0].e.requestID
	b, err := encodeKept(&h, all)
	if err != nil {
		return 0, movedAside, err
	}
	if err := writeFileAtomic(path, b); err != nil {
		return 0, movedAside, err
	}
	return added, movedAside, nil
}

// read returns a kept file's header and records (nil, nil, nil when the
// file is gone).
func (k *keptStore) read(name string) (*keptHeader, []pending, error) {
	f, err := os.Open(filepath.Join(k.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	h, recs, err := decodeKept(bufio.NewReader(f), false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return &h, recs, nil
}

// write replaces a kept file with recs, or removes it when recs is empty.
// The caller holds the lock.
func (k *keptStore) write(name string, h keptHeader, recs []pending) error {
	if len(recs) == 0 {
		return k.remove(name)
	}
	h.Records, h.FirstRequestID = len(recs), recs[0].e.requestID
	b, err := encodeKept(&h, recs)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(k.dir, name), b)
}

// remove deletes a kept file durably. The caller holds the lock.
func (k *keptStore) remove(name string) error {
	if err := os.Remove(filepath.Join(k.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(k.dir)
}

// list returns the names of the kept files, sorted.
func (k *keptStore) list() ([]string, error) {
	des, err := os.ReadDir(k.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if n := de.Name(); strings.HasSuffix(n, keptSuffix) && de.Type().IsRegular() {
			names = append(names, n)
		}
	}
	return names, nil
}

// held returns how many files and records the store holds. A file's count
// is read from its header once per size and modification time, so a scrape
// costs a directory listing.
func (k *keptStore) held() (files, records int) {
	names, err := k.list()
	if err != nil {
		return 0, 0
	}
	k.cacheMu.Lock()
	defer k.cacheMu.Unlock()
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(k.dir, n))
		if err != nil {
			continue // redelivered meanwhile
		}
		c, ok := k.cache[n]
		if !ok || c.size != fi.Size() || !c.mod.Equal(fi.ModTime()) {
			h, err := k.header(n)
			if err != nil {
				continue
			}
			c = keptCount{size: fi.Size(), mod: fi.ModTime(), records: h.Records}
			k.cache[n] = c
		}
		seen[n] = true
		files++
		records += c.records
	}
	for n := range k.cache {
		if !seen[n] {
			delete(k.cache, n)
		}
	}
	return files, records
}

func (k *keptStore) header(name string) (keptHeader, error) {
	f, err := os.Open(filepath.Join(k.dir, name))
	if err != nil {
		return keptHeader{}, err
	}
	defer f.Close()
	h, _, err := decodeKept(bufio.NewReader(f), true)
	return h, err
}

// encodeKept encodes a kept file: gzip of writeKeptBody.
func encodeKept(h *keptHeader, recs []pending) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := writeKeptBody(zw, h, recs); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeKeptBody writes the magic, the header and the records.
func writeKeptBody(w io.Writer, h *keptHeader, recs []pending) error {
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(keptMagic)
	var fixed [20]byte
	bw.Write(binary.LittleEndian.AppendUint32(fixed[:0], uint32(len(hj))))
	bw.Write(hj)
	for _, r := range recs {
		b := binary.LittleEndian.AppendUint64(fixed[:0], r.pos.Seg)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.pos.Off))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.raw)))
		bw.Write(b)
		bw.Write(r.raw)
	}
	return bw.Flush()
}

var errCorruptKept = errors.New("not a valid kept-records file")

// decodeKept parses a kept file; with headerOnly it stops after the header.
// Every record must be a well-formed spool entry, the count must match the
// header's and the gzip checksum must hold.
func decodeKept(r io.Reader, headerOnly bool) (keptHeader, []pending, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return keptHeader{}, nil, fmt.Errorf("%w: %v", errCorruptKept, err)
	}
	defer zr.Close()
	return readKeptBody(zr, headerOnly)
}

// readKeptBody parses what writeKeptBody wrote.
func readKeptBody(zr io.Reader, headerOnly bool) (keptHeader, []pending, error) {
	var h keptHeader
	corrupt := func(what string, err error) (keptHeader, []pending, error) {
		if err != nil {
			return h, nil, fmt.Errorf("%w: %s: %v", errCorruptKept, what, err)
		}
		return h, nil, fmt.Errorf("%w: %s", errCorruptKept, what)
	}
	var fixed [len(keptMagic) + 4]byte
	if _, err := io.ReadFull(zr, fixed[:]); err != nil {
		return corrupt("header", err)
	}
	if string(fixed[:len(keptMagic)]) != keptMagic {
		return corrupt("bad magic", nil)
	}
	n := binary.LittleEndian.Uint32(fixed[len(keptMagic):])
	if n > maxKeptHeader {
		return corrupt("header too large", nil)
	}
	hj := make([]byte, n)
	if _, err := io.ReadFull(zr, hj); err != nil {
		return corrupt("header", err)
	}
	if err := json.Unmarshal(hj, &h); err != nil {
		return corrupt("header", err)
	}
	if h.Records < 0 || h.Reason == "" || (h.Destination == nil) != (h.Reason == reasonUnknownGeneration) {
		return corrupt("header fields", nil)
	}
	if headerOnly {
		return h, nil, nil
	}
	var recs []pending
	var rec [20]byte
	for {
		if _, err := io.ReadFull(zr, rec[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return corrupt("record", err)
		}
		p := spool.Pos{Seg: binary.LittleEndian.Uint64(rec[:]), Off: int64(binary.LittleEndian.Uint64(rec[8:]))}
		var data bytes.Buffer
		size := int64(binary.LittleEndian.Uint32(rec[16:]))
		// Copied as it arrives: a corrupt length cannot make it allocate.
		if _, err := io.CopyN(&data, zr, size); err != nil {
			return corrupt("record", err)
		}
		e, err := decodeEntry(data.Bytes())
		if err != nil {
			return corrupt("record", err)
		}
		if len(recs) > 0 && !recs[len(recs)-1].pos.Less(p) {
			return corrupt("records out of order", nil)
		}
		recs = append(recs, pending{e: e, pos: p, raw: data.Bytes()})
	}
	if len(recs) != h.Records {
		return corrupt(fmt.Sprintf("%d records, header says %d", len(recs), h.Records), nil)
	}
	return h, recs, nil
}

// syncDir fsyncs a directory so that a file created, renamed or removed in
// it stays so after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// keep merges recs into the kept file name under the store's lock and
// returns how many records it added.
func (l *Logger) keep(name string, h keptHeader, recs []pending) (int, error) {
	unlock, err := l.kept.lock(l.ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	added, moved, err := l.kept.merge(name, h, recs)
	if moved != "" {
		l.log.Error("a file of kept invocation log records could not be read; it was moved aside and is not redelivered", "file", moved)
	}
	return added, err
}
