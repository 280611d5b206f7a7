// Package cmdtest builds the modelwatch binary for tests that run it as a
// real process (the kill -9 drill, the load harness, the dashboard's
// first-call test): once per test process, into a temporary directory that
// Cleanup removes. Serve runs its `serve` command as a user does.
package cmdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Binary returns the path of a freshly built cmd/modelwatch, building it on
// first use. Under -short the calling test is skipped.
func Binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the modelwatch binary")
	}
	once.Do(func() {
		dir, derr := os.MkdirTemp("", "modelwatch-bin-")
		if derr != nil {
			err = derr
			return
		}
		path = filepath.Join(dir, "modelwatch")
		if out, berr := exec.Command("go", "build", "-o", path, "github.com/modelwatch/modelwatch/cmd/modelwatch").CombinedOutput(); berr != nil {
			err = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if path != "" {
		os.RemoveAll(filepath.Dir(path))
	}
}
