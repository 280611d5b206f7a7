package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLeavesTestHelpersOut: no modelwatch package compiled into the
// binary imports package testing or is a test helper package (named
// …test: miniotest, metricstest, webuitest, cmdtest, …). The load harness
// starts MinIO through internal/minio, not its test wrapper. (Prometheus's
// tsdb imports testing itself, through its util/testutil; that is not
// ours to change.)
func TestBinaryLeavesTestHelpersOut(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports ","}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/modelwatch/modelwatch/"
	checked := 0
	for line := range strings.Lines(string(out)) {
		path, imports, _ := strings.Cut(strings.TrimSpace(line), " ")
		if !strings.HasPrefix(path, module) {
			continue
		}
		checked++
		// loadtest is the load harness of `modelwatch bench`, not a helper.
		if strings.HasSuffix(path, "test") && path != module+"internal/loadtest" {
			t.Errorf("the binary contains the test helper package %s", path)
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == "testing" {
				t.Errorf("%s, compiled into the binary, imports testing", path)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d modelwatch packages in the binary's dependencies:\n%s", checked, out)
	}
}
