package invocationlog

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// spoolFiles returns the spool's segment files under dataDir, and those of
// them this process has mapped (from /proc/self/maps: what the kernel
// says, not what the spool believes).
func spoolFiles(t *testing.T, dataDir string) (files, mapped []string) {
	t.Helper()
	dir := filepath.Join(dataDir, "spool")
	files, _ = filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 6 && strings.HasPrefix(fields[5], dir+string(filepath.Separator)) {
			mapped = append(mapped, filepath.Base(fields[5]))
		}
	}
	return files, mapped
}

// waitReleased waits until the spool has given back its mappings and its
// spare: logging is off and every record was delivered.
func waitReleased(t *testing.T, dataDir string) (files []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, mapped := spoolFiles(t, dataDir)
		if len(mapped) == 0 && len(files) <= 1 {
			return files
		}
		if time.Now().After(deadline) {
			t.Fatalf("logging off and everything delivered, yet the spool keeps files %v mapped %v", files, mapped)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Nothing when off: while invocation logging is off (never configured,
// deleted, or off at a restart) the logger keeps no spool segment mapped,
// prefaulted or preallocated, and creates none for calls it does not
// record; turning it on readies the segments before the first record,
// which then costs no system call.
func TestLoggingOff_NoSpoolSegments(t *testing.T) {
	open := func(t *testing.T, dir string, store objectstore.Store) *Logger {
		l, err := Open(Options{DataDir: dir, AccountID: "000000000000", Region: "us-east-1", Settings: testSettings(),
			Store: store, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	observe := func(l *Logger, n int) {
		for i := range n {
			l.Observe(bigInvocation(i))
		}
	}
	waitDelivered := func(t *testing.T, l *Logger) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); l.Stats().PendingRecords > 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("records not delivered: %+v", l.Stats())
			}
		}
	}
	on := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}}
	for _, tc := range []struct {
		name string
		// run returns the logger open, with logging off: its spool must
		// then hold nothing.
		run func(t *testing.T, dir string, store *switchable) *Logger
		// noFiles: not even the last segment file (logging was never on).
		noFiles bool
	}{
		{"never configured", func(t *testing.T, dir string, store *switchable) *Logger {
			l := open(t, dir, store)
			observe(l, 50)
			if err := l.Admit(); err != nil {
				t.Fatal(err)
			}
			_ = l.Stats()
			return l
		}, true},
		{"turned on, then off", func(t *testing.T, dir string, store *switchable) *Logger {
			l := open(t, dir, store)
			mustPut(t, l, on)
			if files, mapped := spoolFiles(t, dir); len(files) == 0 || len(mapped) == 0 {
				t.Fatalf("logging on: spool files %v, mapped %v; want segments ready before the first record", files, mapped)
			}
			observe(l, 10)
			if st := l.Stats(); st.SlowRotations != 0 || st.Appended != 10 {
				t.Fatalf("the first records found no segment ready: %+v", st)
			}
			observe(l, 40)
			if err := l.Delete(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitDelivered(t, l)
			waitReleased(t, dir)
			observe(l, 50) // logging off: not recorded, nothing created
			return l
		}, false},
		{"off at a restart", func(t *testing.T, dir string, store *switchable) *Logger {
			l := open(t, dir, store)
			mustPut(t, l, on)
			observe(l, 50)
			waitDelivered(t, l)
			if err := l.Delete(context.Background()); err != nil {
				t.Fatal(err)
			}
			shutdownTestLogger(l)
			l = open(t, dir, store)
			observe(l, 50)
			_ = l.Stats()
			return l
		}, false},
		{"off at a restart with records to deliver", func(t *testing.T, dir string, store *switchable) *Logger {
			l := open(t, dir, store)
			mustPut(t, l, on)
			store.down.Store(true)
			observe(l, 20)
			if err := l.Delete(context.Background()); err != nil {
				t.Fatal(err)
			}
			shutdownTestLogger(l)
			store.down.Store(false)
			puts := store.puts.Load()
			l = open(t, dir, store)
			waitDelivered(t, l)
			if store.puts.Load() == puts {
				t.Fatal("the records spooled before the restart were not delivered")
			}
			return l
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := &switchable{Store: objectstore.NewDir(filepath.Join(dir, "s3"))}
			l := tc.run(t, dir, store)
			defer shutdownTestLogger(l)
			files := waitReleased(t, dir)
			if tc.noFiles && len(files) > 0 {
				t.Fatalf("logging never on, yet spool segment files %v", files)
			}
		})
	}
}
