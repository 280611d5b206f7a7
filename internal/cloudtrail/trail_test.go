package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var logKeyRE = regexp.MustCompile(`^(audit-prefix/)?AWSLogs/123456789012/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
var digestKeyRE = regexp.MustCompile(`^(audit-prefix/)?AWSLogs/123456789012/CloudTrail-Digest/us-east-1/\d{4}/\d{2}/\d{2}/123456789012_CloudTrail-Digest_us-east-1_modelwatch_us-east-1_\d{8}T\d{6}Z\.json\.gz$`)

func TestTrailDeliversLogFilesUnderCloudTrailKeys(t *testing.T) {
	for _, prefix := range []string{"", "audit-prefix"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			st := localStore(t)
			opts := testOptions(t, t.TempDir(), st)
			opts.Prefix = prefix
			reg := prometheus.NewRegistry()
			opts.Registerer = reg
			tr := openTrail(t, opts)
			tr.Start()
			begin := time.Now()
			for i := range 25 {
				tr.Record(testEvent(i, "InvokeModel", true))
			}
			var recs []map[string]any
			var keys []string
			waitFor(t, "delivery", 10*time.Second, func() bool { keys, recs = logFiles(t, st, prefix); return len(recs) == 25 })
			t.Logf("25 events delivered %v after the first Record (DeliveryInterval %v)", time.Since(begin).Round(time.Millisecond), opts.DeliveryInterval)
			for _, k := range keys {
				if !logKeyRE.MatchString(k) {
					t.Errorf("log key %q does not follow CloudTrail's layout", k)
				}
			}
			if recs[0]["eventVersion"] != "1.09" || recs[0]["awsRegion"] != testRegion || recs[0]["recipientAccountId"] != testAccount {
				t.Errorf("record: %v", recs[0])
			}
			closeTrail(t, tr)
			ds := digestFiles(t, st, prefix)
			if len(ds) != 1 || !digestKeyRE.MatchString(ds[0]) {
				t.Fatalf("digests after Close: %q", ds)
			}
			if got := testutil.ToFloat64(tr.m.delivered); got != 25 {
				t.Errorf("delivered metric = %v", got)
			}
			if n, err := testutil.GatherAndCount(reg, "modelwatch_audit_events_dropped_total", "modelwatch_audit_spool_backlog_bytes"); err != nil || n != 2 {
				t.Errorf("metrics registered: %d, %v", n, err)
			}
		})
	}
}

func TestTrailDeliversEventsSpooledBeforeACrash(t *testing.T) {
	st := localStore(t)
	dir := t.TempDir()
	tr := openTrail(t, testOptions(t, dir, st))
	// Not started: nothing delivered; then "kill -9": the spool is closed
	// without delivery, final digest or Close.
	for i := range 10 {
		tr.Record(testEvent(i, "Converse", true))
	}
	tr.sp.Close()
	tr.index.close()
	if _, recs := logFiles(t, st, ""); len(recs) != 0 {
		t.Fatalf("%d records delivered before the crash", len(recs))
	}
	tr2 := openTrail(t, testOptions(t, dir, st))
	tr2.Start()
	waitFor(t, "redelivery after restart", 10*time.Second, func() bool { _, recs := logFiles(t, st, ""); return len(recs) == 10 })
	closeTrail(t, tr2)
}

func TestTrailResumesAnInterruptedPutUnderTheSameKey(t *testing.T) {
	st := localStore(t)
	dir := t.TempDir()
	fl := &flaky{Store: st}
	fl.down.Store(true)
	opts := testOptions(t, dir, fl)
	tr := openTrail(t, opts)
	for i := range 5 {
		tr.Record(testEvent(i, "InvokeModel", true))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	tr.mu.Lock()
	err := tr.deliverPending(ctx) // records the intent, fails the Put until ctx ends
	intentKey := tr.state.Intent.Key
	tr.mu.Unlock()
	cancel()
	if err == nil || intentKey == "" {
		t.Fatalf("deliverPending during an outage = %v, intent %q", err, intentKey)
	}
	tr.sp.Close() // crash
	tr.index.close()
	fl.down.Store(false)
	tr2 := openTrail(t, opts)
	tr2.Start()
	var keys []string
	waitFor(t, "delivery after restart", 10*time.Second, func() bool { var recs []map[string]any; keys, recs = logFiles(t, st, ""); return len(recs) == 5 })
	if len(keys) != 1 || keys[0] != intentKey {
		t.Errorf("keys %q, want the intent's key %q", keys, intentKey)
	}
	closeTrail(t, tr2)
}

func TestTrailRidesOutAStoreOutageWithoutLosingEvents(t *testing.T) {
	st := localStore(t)
	fl := &flaky{Store: st}
	fl.down.Store(true)
	tr := openTrail(t, testOptions(t, t.TempDir(), fl))
	tr.Start()
	for i := range 20 {
		tr.Record(testEvent(i, "InvokeModel", true))
	}
	waitFor(t, "failed attempts", 10*time.Second, func() bool { return fl.fails.Load() >= 3 })
	if _, recs := logFiles(t, st, ""); len(recs) != 0 {
		t.Fatalf("delivered during the outage")
	}
	fl.down.Store(false)
	for i := range 5 {
		tr.Record(testEvent(i, "Converse", true))
	}
	waitFor(t, "delivery after the outage", 10*time.Second, func() bool { _, recs := logFiles(t, st, ""); return len(recs) == 25 })
	if got := testutil.ToFloat64(tr.m.errors); got < 3 {
		t.Errorf("delivery errors metric = %v", got)
	}
	closeTrail(t, tr)
}

func TestTrailCountsEventsDroppedWhenTheSpoolIsFull(t *testing.T) {
	st := localStore(t)
	opts := testOptions(t, t.TempDir(), st)
	opts.MaxSpoolBytes = 256 << 10 // 4 segments of 64 KiB
	tr := openTrail(t, opts)
	big := strings.Repeat("x", 30<<10)
	for i := range 40 {
		e := testEvent(i, "InvokeModel", true)
		e.UserAgent = big // not truncated here: Record truncates to 1 KiB
		e.RequestParameters = json.RawMessage(`{"pad":"` + big + `"}`)
		tr.Record(e)
	}
	if got := testutil.ToFloat64(tr.m.dropped); got == 0 {
		t.Errorf("no event counted as dropped with a full spool (recorded %v)", testutil.ToFloat64(tr.m.recorded))
	}
	if got := testutil.ToFloat64(tr.m.recorded) + testutil.ToFloat64(tr.m.dropped); got != 40 {
		t.Errorf("recorded + dropped = %v, want 40", got)
	}
	closeTrail(t, tr)
}

func TestDigestChainContinuesAcrossRestartsAndCoversEveryLogFile(t *testing.T) {
	st := localStore(t)
	dir := t.TempDir()
	opts := testOptions(t, dir, st)
	var delivered []string
	for round := range 3 {
		tr := openTrail(t, opts)
		tr.Start()
		for i := range 3 {
			tr.Record(testEvent(i, "InvokeModel", round%2 == 0))
		}
		waitFor(t, "delivery", 10*time.Second, func() bool { k, _ := logFiles(t, st, ""); return len(k) > len(delivered) })
		closeTrail(t, tr)
		delivered, _ = logFiles(t, st, "")
	}
	ds := digestFiles(t, st, "")
	if len(ds) != 3 {
		t.Fatalf("digests %q, want 3", ds)
	}
	ctx := context.Background()
	var prevKey string
	listed := map[string]bool{}
	for i, k := range ds {
		gz, _ := st.Get(ctx, testBucket, k)
		zr, _ := gzip.NewReader(bytes.NewReader(gz))
		raw, _ := io.ReadAll(zr)
		var d Digest
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if i == 0 && (d.PreviousDigestS3Object != nil || d.PreviousDigestSignature != nil || !strings.Contains(string(raw), `"previousDigestS3Bucket":null`)) {
			t.Errorf("first digest has a previous link: %s", raw)
		}
		if i > 0 && (d.PreviousDigestS3Object == nil || *d.PreviousDigestS3Object != prevKey) {
			t.Errorf("digest %d does not chain to %s: %s", i, prevKey, raw)
		}
		meta, err := st.Head(ctx, testBucket, k)
		if err != nil || len(meta.UserMetadata[MetaSignature]) != 512 || meta.UserMetadata[MetaSignatureAlgorithm] != SignatureAlgorithm {
			t.Errorf("digest metadata %v, %v", meta.UserMetadata, err)
		}
		for _, lf := range d.LogFiles {
			listed[lf.S3Object] = true
		}
		prevKey = k
	}
	for _, k := range delivered {
		if !listed[k] {
			t.Errorf("log file %s is in no digest", k)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v", fi, err)
	}
}

func TestDigestWrittenWhenNoLogFileWasDelivered(t *testing.T) {
	st := localStore(t)
	opts := testOptions(t, t.TempDir(), st)
	opts.DigestInterval = time.Second
	tr := openTrail(t, opts)
	tr.Start()
	waitFor(t, "an empty digest", 10*time.Second, func() bool { return len(digestFiles(t, st, "")) >= 1 })
	closeTrail(t, tr)
	gz, _ := st.Get(context.Background(), testBucket, digestFiles(t, st, "")[0])
	raw, _ := gunzip(gz)
	if !strings.Contains(string(raw), `"logFiles":[]`) || !strings.Contains(string(raw), `"newestEventTime":null`) {
		t.Errorf("empty digest: %s", raw)
	}
}

func BenchmarkRecord(b *testing.B) {
	tr := openTrail(b, testOptions(b, b.TempDir(), localStore(b)))
	opts := tr.opts
	opts.MaxSpoolBytes = 1 << 30
	tr.sp.Close()
	tr.index.close()
	opts.MaxSpoolBytes = 1 << 30
	tr = openTrail(b, opts)
	e := testEvent(1, "InvokeModel", true)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := *e
		c.EventID = ""
		tr.Record(&c)
	}
	b.StopTimer()
	if d := testutil.ToFloat64(tr.m.dropped); d > 0 {
		b.Logf("%v dropped", d)
	}
	tr.sp.Close()
	tr.index.close()
}

// BenchmarkEventMarshal is the JSON part of Record's cost.
func BenchmarkEventMarshal(b *testing.B) {
	e := testEvent(1, "InvokeModel", true)
	e.fill(testRegion, testAccount, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

// spoolFiles returns the trail spool's segment files, and those of them
// this process has mapped (from /proc/self/maps).
func spoolFiles(t testing.TB, dir string) (segs, mapped []string) {
	t.Helper()
	sdir := filepath.Join(dir, "spool")
	des, err := os.ReadDir(sdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".seg") {
			segs = append(segs, de.Name())
		}
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(maps), "\n") {
		if f := strings.Fields(l); len(f) >= 6 && strings.HasPrefix(f[5], sdir+string(filepath.Separator)) {
			mapped = append(mapped, filepath.Base(f[5]))
		}
	}
	return segs, mapped
}

// A trail that records no event creates, maps and prefaults no spool
// segment (an idle server pays nothing for it); its first event creates
// one, is delivered and found by LookupEvents, and once it is delivered
// and indexed the spool is released again: the segment stays on disk but
// nothing is mapped.
func TestTrailSpoolIsLazyUntilTheFirstEvent(t *testing.T) {
	st := localStore(t)
	dir := t.TempDir()
	tr := openTrail(t, testOptions(t, dir, st))
	tr.Start()
	t.Cleanup(func() { closeTrail(t, tr) })
	time.Sleep(3 * tr.opts.DeliveryInterval) // a few idle delivery rounds
	if segs, mapped := spoolFiles(t, dir); len(segs) != 0 || len(mapped) != 0 {
		t.Fatalf("idle trail: segment files %q, mapped %q; want none", segs, mapped)
	}

	e := testEvent(0, "PutModelInvocationLoggingConfiguration", false)
	tr.Record(e)
	tr.Flush()
	if segs, _ := spoolFiles(t, dir); len(segs) == 0 {
		t.Fatal("no segment file after the first event")
	}
	waitFor(t, "delivery", 10*time.Second, func() bool { _, recs := logFiles(t, st, ""); return len(recs) == 1 })
	if _, recs := logFiles(t, st, ""); recs[0]["eventID"] != e.EventID {
		t.Fatalf("delivered %v, want event %s", recs[0], e.EventID)
	}

	out, err := sdkClient(t, tr.Handler(nil)).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || aws.ToString(out.Events[0].EventId) != e.EventID {
		t.Fatalf("LookupEvents found %d events, want the recorded one (%s)", len(out.Events), e.EventID)
	}

	waitFor(t, "the spool to be released", 10*time.Second, func() bool {
		segs, mapped := spoolFiles(t, dir)
		return len(segs) == 1 && len(mapped) == 0
	})
}
