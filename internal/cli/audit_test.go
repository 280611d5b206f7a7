package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/cloudtrail"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// auditFixture delivers a trail of two log files and two digests into
// <dataDir>/s3/modelwatch-audit, as the server would with the defaults.
func auditFixture(t *testing.T) (dataDir string, store *objectstore.Dir) {
	t.Helper()
	dataDir = t.TempDir()
	store = objectstore.NewDir(filepath.Join(dataDir, "s3"))
	for round := range 2 {
		tr, err := cloudtrail.Open(cloudtrail.Options{
			Dir: filepath.Join(dataDir, "cloudtrail"), Store: store, Bucket: "modelwatch-audit",
			AccountID: logsAccount, Region: logsRegion, DeliveryInterval: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		tr.Start()
		tr.Record(cloudtrail.NewEvent(cloudtrail.Call{Operation: "InvokeModel", Time: time.Now(), ReadOnly: true,
			Principal: cloudtrail.Principal{ARN: "arn:aws:iam::" + logsAccount + ":user/u" + string(rune('0'+round))}}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = tr.Close(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	return dataDir, store
}

func TestAuditValidate(t *testing.T) {
	dataDir, store := auditFixture(t)
	env := map[string]string{"MODELWATCH_DATA_DIR": dataDir}
	args := []string{"audit", "validate", "--store", "local", "--start", "1h"}

	code, out, errs := run(t, env, args...)
	if code != 0 || countOf(out, "\tvalid\n") != 4 || !strings.Contains(out, "2/2 digest files valid\n2/2 log files valid") {
		t.Fatalf("untouched trail: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("modelwatch audit validate:\n%s", out)

	var logKey string
	_ = store.List(context.Background(), "modelwatch-audit", cloudtrail.LogsPrefix("", logsAccount, logsRegion), "", func(o objectstore.Object) error {
		logKey = o.Key
		return nil
	})
	if err := store.Delete(context.Background(), "modelwatch-audit", logKey); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, env, args...)
	if code != 1 || !strings.Contains(out, "Log file\ts3://modelwatch-audit/"+logKey+"\tINVALID: not found\n") {
		t.Errorf("after deleting %s: exit %d\n%s", logKey, code, out)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", []string{"audit"}, 2, "usage:"},
		{"bad start", []string{"audit", "validate", "--start", "yesterday-ish"}, 1, "--start"},
		{"no key in the data dir", []string{"audit", "validate", "--data-dir", t.TempDir(), "--store", "local"}, 1, "digest key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			c := Main(context.Background(), tc.args, &o, &e, envOf(env))
			if c != tc.code || !strings.Contains(o.String()+e.String(), tc.want) {
				t.Errorf("exit %d, output %q %q", c, o.String(), e.String())
			}
		})
	}
}

func countOf(s, sub string) int { return strings.Count(s, sub) }
