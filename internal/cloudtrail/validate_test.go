package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// buildTrail delivers rounds log files, each followed by a digest (one
// Trail per round: each Close writes a digest), and returns the log keys
// listed by each digest (in digest order) and the digest keys.
func buildTrail(t *testing.T, st objectstore.Store, dir string, rounds int) (logs [][]string, digests []string) {
	t.Helper()
	opts := testOptions(t, dir, st)
	for round := range rounds {
		tr := openTrail(t, opts)
		tr.Start()
		for i := range 2 {
			tr.Record(testEvent(i, "InvokeModel", round%2 == 0))
		}
		waitFor(t, "delivery", 20*time.Second, func() bool { k, _ := logFiles(t, st, ""); return len(k) > round })
		closeTrail(t, tr)
	}
	digests = digestFiles(t, st, "")
	for _, k := range digests {
		gz, err := st.Get(context.Background(), testBucket, k)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := gunzip(gz)
		var d Digest
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, lf := range d.LogFiles {
			ks = append(ks, lf.S3Object)
		}
		logs = append(logs, ks)
	}
	return logs, digests
}

// tamper deletes one log file, alters another, alters a digest's JSON
// (signature no longer matches) and deletes a digest, and returns the
// status lines Validate must print as INVALID.
func tamper(t *testing.T, st objectstore.Store, byDigest [][]string, digests []string) (invalid []string) {
	t.Helper()
	ctx := context.Background()
	if len(digests) < 4 {
		t.Fatalf("need 4 digests, have %d", len(digests))
	}
	// Touch log files of digests that stay valid (2 and 3), and digests
	// 0 and 1.
	logs := []string{"", "", byDigest[2][0], byDigest[3][0]}
	if err := objectstore.Delete(ctx, st, testBucket, logs[3]); err != nil {
		t.Fatal(err)
	}
	invalid = append(invalid, "Log file\ts3://"+testBucket+"/"+logs[3]+"\tINVALID: not found")
	altered := gzipBytes([]byte(`{"Records":[]}`))
	if err := st.Put(ctx, testBucket, logs[2], altered, objectstore.Meta{}); err != nil {
		t.Fatal(err)
	}
	invalid = append(invalid, "Log file\ts3://"+testBucket+"/"+logs[2]+"\tINVALID: hash value doesn't match")

	gz, err := st.Get(ctx, testBucket, digests[1])
	if err != nil {
		t.Fatal(err)
	}
	meta, err := objectstore.Head(ctx, st, testBucket, digests[1])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := gunzip(gz)
	var d map[string]any
	_ = json.Unmarshal(raw, &d)
	d["logFiles"] = []any{}
	raw, _ = json.Marshal(d)
	if err := st.Put(ctx, testBucket, digests[1], gzipBytes(raw), meta); err != nil {
		t.Fatal(err)
	}
	invalid = append(invalid, "Digest file\ts3://"+testBucket+"/"+digests[1]+"\tINVALID: signature verification failed")
	if err := objectstore.Delete(ctx, st, testBucket, digests[0]); err != nil {
		t.Fatal(err)
	}
	invalid = append(invalid, "Digest file\ts3://"+testBucket+"/"+digests[0]+"\tINVALID: not found")
	return invalid
}

func testValidate(t *testing.T, st objectstore.Store) {
	dir := t.TempDir()
	begin := time.Now().Add(-time.Minute)
	byDigest, digests := buildTrail(t, st, dir, 5)
	var logs []string
	for _, ks := range byDigest {
		logs = append(logs, ks...)
	}
	keys, err := PublicKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	end := time.Now().Add(time.Minute)

	t.Run("untouched trail is valid", func(t *testing.T) {
		var out bytes.Buffer
		ok, err := Validate(ctx, st, testBucket, "", testAccount, testRegion, begin, end, keys, &out)
		if err != nil || !ok {
			t.Fatalf("Validate = %v, %v\n%s", ok, err, out.String())
		}
		if n := countLines(out.String(), "\tvalid"); n != len(logs)+len(digests) {
			t.Errorf("%d valid lines, want %d\n%s", n, len(logs)+len(digests), out.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("\n5/5 digest files valid\n%d/%d log files valid\n", len(logs), len(logs))) {
			t.Errorf("summary:\n%s", out.String())
		}
	})

	t.Run("unknown key", func(t *testing.T) {
		var out bytes.Buffer
		other, _ := loadOrCreateKey(t.TempDir())
		ok, err := Validate(ctx, st, testBucket, "", testAccount, testRegion, begin, end, []PublicKey{other.pub}, &out)
		if err != nil || ok || countLines(out.String(), "INVALID: public key not found in region us-east-1 for fingerprint "+keys[0].Fingerprint) != 5 {
			t.Errorf("Validate with another key = %v, %v\n%s", ok, err, out.String())
		}
	})

	t.Run("tampered files are reported", func(t *testing.T) {
		wantInvalid := tamper(t, st, byDigest, digests)
		var out bytes.Buffer
		ok, err := Validate(ctx, st, testBucket, "", testAccount, testRegion, begin, end, keys, &out)
		if err != nil || ok {
			t.Fatalf("Validate after tampering = %v, %v", ok, err)
		}
		var gotInvalid []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "\tINVALID: ") {
				gotInvalid = append(gotInvalid, l)
			}
		}
		slices.Sort(gotInvalid)
		slices.Sort(wantInvalid)
		if !slices.Equal(gotInvalid, wantInvalid) {
			t.Errorf("INVALID lines\n got %q\nwant %q\n%s", gotInvalid, wantInvalid, out.String())
		}
		// Valid: digests 2, 3, 4 and their log files except the two touched.
		valid := slices.Clone(digests[2:])
		for _, ks := range byDigest[2:] {
			for _, k := range ks {
				if k != byDigest[2][0] && k != byDigest[3][0] {
					valid = append(valid, k)
				}
			}
		}
		nLogs := len(valid) - 3 + 2
		for _, k := range valid {
			if !strings.Contains(out.String(), "s3://"+testBucket+"/"+k+"\tvalid\n") {
				t.Errorf("%s not reported valid\n%s", k, out.String())
			}
		}
		if !strings.Contains(out.String(), fmt.Sprintf("\n3/5 digest files valid, 2/5 digest files INVALID\n%d/%d log files valid, 2/%d log files INVALID\n", nLogs-2, nLogs, nLogs)) {
			t.Errorf("summary:\n%s", out.String())
		}
	})
}

func TestValidateReportsTamperedFilesLocally(t *testing.T) {
	testValidate(t, objectstore.NewDir(filepath.Join(t.TempDir(), "s3")))
}

func TestValidateReportsTamperedFilesInMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, testBucket)
	testValidate(t, objectstore.NewS3(srv.Client(t)))
}

func TestValidateWithoutDigests(t *testing.T) {
	st := localStore(t)
	_ = st.Put(context.Background(), testBucket, "other", []byte("x"), objectstore.Meta{})
	var out bytes.Buffer
	ok, err := Validate(context.Background(), st, testBucket, "", testAccount, testRegion, time.Now().Add(-time.Hour), time.Now(), nil, &out)
	if err != nil || !ok || !strings.Contains(out.String(), "No digests found") {
		t.Errorf("Validate = %v, %v\n%s", ok, err, out.String())
	}
}

// FuzzParseDigest: parseDigest never panics, and what it accepts
// re-marshals into something it accepts again with the same signing
// fields.
func FuzzParseDigest(f *testing.F) {
	d := &Digest{AWSAccountID: testAccount, DigestStartTime: Time{time.Unix(1e9, 0)}, DigestEndTime: Time{time.Unix(1e9+3600, 0)},
		DigestS3Bucket: "b", DigestS3Object: "k", DigestPublicKeyFingerprint: "00", DigestSignatureAlgorithm: SignatureAlgorithm}
	raw, _ := marshalDigest(d)
	f.Add(raw)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"digestStartTime":null,"logFiles":[{"s3Bucket":1}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, ok := parseDigest(raw)
		if !ok {
			return
		}
		if d.DigestEndTime.IsZero() || d.DigestSignatureAlgorithm != SignatureAlgorithm {
			t.Fatalf("accepted a digest without end time or with algorithm %q", d.DigestSignatureAlgorithm)
		}
		_ = SigningString(d, raw)
		again, err := marshalDigest(d)
		if err != nil {
			t.Fatal(err)
		}
		if d.DigestEndTime.Year() < 0 || d.DigestEndTime.Year() > 9999 || d.DigestStartTime.Year() < 0 || d.DigestStartTime.Year() > 9999 {
			return
		}
		d2, ok := parseDigest(again)
		if !ok || d2.DigestS3Object != d.DigestS3Object || !d2.DigestEndTime.Equal(d.DigestEndTime.Truncate(time.Second)) {
			t.Fatalf("re-marshalled digest not accepted the same: %s", again)
		}
	})
}

// FuzzDigestKeyTime: a key's time parses back from DigestKey.
func FuzzDigestKeyTime(f *testing.F) {
	f.Add("p", int64(1748779291), "t")
	f.Add("", int64(0), "modelwatch")
	f.Fuzz(func(t *testing.T, prefix string, sec int64, trail string) {
		at := time.Unix(sec%(1<<34), 0).UTC()
		if at.Year() < 1 || at.Year() > 9999 {
			return
		}
		k := DigestKey(prefix, testAccount, testRegion, trail, at)
		got, ok := digestKeyTime(k)
		if !ok || !got.Equal(at) {
			t.Fatalf("digestKeyTime(%q) = %v, %v; want %v", k, got, ok, at)
		}
		_, _ = digestKeyTime(prefix + trail) // never panics
	})
}
