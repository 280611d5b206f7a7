package server_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
)

// The first spool case end to end: records wait in the spool while
// CloudWatch Logs is down, the server stops, one length byte of the second
// record is damaged on disk, and the restarted server must deliver every
// other record, count the damage on /metrics and say so in its log.
func TestDamagedSpoolLosesOnlyTheDamagedRecord(t *testing.T) {
	const calls = 20
	fake := cwlogsfake.New(t)
	fake.SetEnv(t)
	cfg := testConfig(t)
	cfg.Limits.ShutdownTimeout = time.Second // gives up on the outage: the records stay in the spool

	logs := &syncBuffer{}
	opts := server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	srv, stop := runServerWith(t, cfg, opts)
	waitHealthy(t, srv.URL(), http.DefaultClient)
	const group = "/modelwatch/damage"
	if _, err := controlClient(srv.URL(), "AKIDEXAMPLE", "secret").PutModelInvocationLoggingConfiguration(context.Background(),
		&bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: &bedrocktypes.LoggingConfig{CloudWatchConfig: &bedrocktypes.CloudWatchConfig{
			LogGroupName: aws.String(group), RoleArn: aws.String("arn:aws:iam::000000000000:role/bedrock-logging")}}}); err != nil {
		t.Fatal(err)
	}
	fake.SetDown(true)
	ids := loadCalls(t, runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret"), calls, 1, nil) // one worker: spool order is call order
	if len(ids) != calls {
		t.Fatalf("%d of %d calls served", len(ids), calls)
	}
	_ = stop() // the drain cannot deliver: CloudWatch Logs is down

	// One bad length byte in the second frame of the segment.
	segs, _ := filepath.Glob(filepath.Join(cfg.DataDir, "spool", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no spool segment")
	}
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var word [4]byte
	if _, err := f.ReadAt(word[:], 16); err != nil {
		t.Fatal(err)
	}
	first := int64(binary.LittleEndian.Uint32(word[:]) &^ (1 << 31))
	second := 16 + (first+7)&^7
	if _, err := f.ReadAt(word[:], second); err != nil {
		t.Fatal(err)
	}
	word[1] ^= 0x5a // the length's second byte: a plausible, wrong length
	if _, err := f.WriteAt(word[:], second); err != nil {
		t.Fatal(err)
	}
	f.Close()

	fake.SetDown(false)
	srv2, stop2 := runServerWith(t, cfg, opts)
	defer func() { _ = stop2() }()
	waitHealthy(t, srv2.URL(), http.DefaultClient)

	deadline := time.Now().Add(20 * time.Second)
	seen := map[string]int{}
	for time.Now().Before(deadline) {
		seen = map[string]int{}
		for _, e := range fake.Events(group, invocationlog.LogStream) {
			var r invocationlog.Record
			if json.Unmarshal([]byte(e.Message), &r) == nil && r.RequestID != "" {
				seen[r.RequestID]++
			}
		}
		if len(seen) >= calls-1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, id := range ids {
		switch n := seen[id]; {
		case i == 1 && n != 0:
			t.Errorf("the damaged record (call 2) was delivered %d times", n)
		case i != 1 && n != 1:
			t.Errorf("call %d delivered %d times, want 1", i+1, n)
		}
	}
	ranges := metric(t, srv2, "modelwatch_invocation_log_spool_corrupt_ranges_total", nil)
	torn := metric(t, srv2, "modelwatch_invocation_log_spool_torn_records_total", nil)
	if ranges+torn != 1 {
		t.Errorf("damage counted as %v corrupt ranges and %v torn records, want exactly one of them", ranges, torn)
	}
	if len(logs.lines(`"spool: corrupt range skipped; any records in it are lost"`))+len(logs.lines(`"spool: torn record skipped (checksum mismatch)"`)) != 1 {
		t.Errorf("the damage was not logged exactly once:\n%s", logs)
	}
}
