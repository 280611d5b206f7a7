package invocationlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/spool"
)

// keptRecords makes n spool entries at positions (seg, 100*i) with request
// IDs numbered from first.
func keptRecords(t testing.TB, seg uint64, first, n int) []pending {
	t.Helper()
	cfg := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}}
	var recs []pending
	for i := first; i < first+n; i++ {
		inv := testInvocation()
		inv.RequestID = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		raw, err := encodeEntry(nil, 3, cfg, "123456789012", "us-east-1", inv)
		if err != nil {
			t.Fatal(err)
		}
		e, err := decodeEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, pending{e: e, pos: spool.Pos{Seg: seg, Off: int64(100 * i)}, raw: raw})
	}
	return recs
}

func TestKeptFile_MergeAddsOnlyRecordsNotYetKept(t *testing.T) {
	k := newKeptStore(t.TempDir())
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d := destination{Kind: destS3, Bucket: "logs", Prefix: "p"}
	h := keptHeader{Destination: &d, Consumer: d.consumer(), Reason: "NoSuchBucket", Error: "gone",
		KeptAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), AccountID: "123456789012", Region: "us-east-1"}
	const name = "x" + keptSuffix
	if added, moved, err := k.merge(name, h, keptRecords(t, 4, 0, 5)); added != 5 || moved != "" || err != nil {
		t.Fatalf("first merge: added %d, moved %q, %v", added, moved, err)
	}
	// A replay holds the same first records and more.
	h2 := h
	h2.KeptAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if added, _, err := k.merge(name, h2, keptRecords(t, 4, 3, 4)); added != 2 || err != nil {
		t.Fatalf("second merge: added %d, %v; want the 2 records not yet kept", added, err)
	}
	got, recs, err := k.read(name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 7 || len(recs) != 7 || got.FirstRequestID != "00000000-0000-0000-0000-000000000000" ||
		!got.KeptAt.Equal(h.KeptAt) || *got.Destination != d || got.Reason != "NoSuchBucket" {
		t.Fatalf("header %+v with %d records", got, len(recs))
	}
	for i, r := range recs {
		if want := fmt.Sprintf("00000000-0000-0000-0000-%012d", i); r.e.requestID != want || r.pos.Off != int64(100*i) {
			t.Fatalf("record %d: %s at %v", i, r.e.requestID, r.pos)
		}
	}
	if files, n := k.held(); files != 1 || n != 7 {
		t.Fatalf("held %d files, %d records; want 1, 7", files, n)
	}

	// A file that cannot be read is moved aside, not overwritten.
	if err := os.WriteFile(filepath.Join(k.dir, name), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	added, moved, err := k.merge(name, h, keptRecords(t, 4, 0, 2))
	if added != 2 || err != nil || moved == "" {
		t.Fatalf("merge over a corrupt file: added %d, moved %q, %v", added, moved, err)
	}
	if b, err := os.ReadFile(moved); err != nil || string(b) != "garbage" {
		t.Fatalf("corrupt file not kept aside: %q, %v", b, err)
	}
	if files, n := k.held(); files != 1 || n != 2 {
		t.Fatalf("held %d files, %d records; want 1, 2", files, n)
	}
}

func FuzzReadKeptBody(f *testing.F) {
	d := destination{Kind: destCloudWatch, LogGroup: "g"}
	recs := keptRecords(f, 1, 0, 2)
	for _, h := range []keptHeader{
		{Destination: &d, Consumer: d.consumer(), Reason: "AccessDeniedException", Records: 2, LargeData: map[uint32]*S3Config{3: {BucketName: "big"}}},
		{Reason: reasonUnknownGeneration, Records: 2},
	} {
		var b bytes.Buffer
		if err := writeKeptBody(&b, &h, recs); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(keptMagic))
	// The gzip layer is the standard library's; what is inside is fuzzed.
	f.Fuzz(func(t *testing.T, b []byte) {
		h, recs, err := readKeptBody(bytes.NewReader(b), false)
		if err != nil {
			if !errors.Is(err, errCorruptKept) {
				t.Fatalf("error %v does not wrap errCorruptKept", err)
			}
			return
		}
		if len(recs) != h.Records {
			t.Fatalf("%d records, header says %d", len(recs), h.Records)
		}
		// What decodes re-encodes to the same records.
		again, err := encodeKept(&h, recs)
		if err != nil {
			t.Fatal(err)
		}
		h2, recs2, err := decodeKept(bytes.NewReader(again), false)
		if err != nil || h2.Records != h.Records || len(recs2) != len(recs) {
			t.Fatalf("re-encoded file: %v, %d records", err, len(recs2))
		}
		for i := range recs {
			if recs[i].pos != recs2[i].pos || !bytes.Equal(recs[i].raw, recs2[i].raw) {
				t.Fatalf("record %d differs after a round trip", i)
			}
		}
	})
}
