package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestDirContract(t *testing.T) {
	testContract(t, NewDir(filepath.Join(t.TempDir(), "s3")), "logs")
}

func TestDirLayoutAndAtomicity(t *testing.T) {
	root := filepath.Join(t.TempDir(), "does", "not", "exist", "yet")
	d := NewDir(root)
	ctx := context.Background()
	if err := d.Put(ctx, "bkt", "AWSLogs/123/BedrockModelInvocationLogs/x.json.gz", []byte("data"), Meta{ContentEncoding: "gzip"}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "bkt", "AWSLogs", "123", "BedrockModelInvocationLogs", "x.json.gz")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "data" {
		t.Fatalf("object file %s: %q, %v", p, b, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if got := d.Describe("bkt"); got != filepath.Join(root, "bkt") {
		t.Errorf("Describe = %q", got)
	}
	if d.Kind() != "local" {
		t.Errorf("Kind = %q", d.Kind())
	}
	assertNoTemp(t, root)
}

func TestDirSkipsTempFiles(t *testing.T) {
	root := t.TempDir()
	d := NewDir(root)
	ctx := context.Background()
	for _, k := range []string{"a/x", "b"} {
		if err := d.Put(ctx, "bkt", k, []byte(k), Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	// Leftovers of a crash mid-Put, and a temp directory.
	for _, p := range []string{"bkt/" + TempPrefix + "123", "bkt/a/" + TempPrefix + "456"} {
		if err := os.WriteFile(filepath.Join(root, p), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "bkt", TempPrefix+"dir", "k"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, d, "bkt", "", ""); !slices.Equal(got, []string{"a/x", "b"}) {
		t.Errorf("List = %q", got)
	}
}

func TestDirInvalidNames(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	d := NewDir(root)
	ctx := context.Background()
	for _, tc := range []struct{ bucket, key string }{
		{"b", ""},
		{"b", "../x"},
		{"b", "../../x"},
		{"b", "a/../../x"},
		{"b", "a/.."},
		{"b", ".."},
		{"b", "."},
		{"b", "./a"},
		{"b", "/etc/passwd"},
		{"b", "/abs"},
		{"b", "a//b"},
		{"b", "a/"},
		{"b", "a/\x00b"},
		{"b", TempPrefix + "x"},
		{"b", "a/" + TempPrefix + "y"},
		{"b", MetaPrefix + "x"},
		{"b", "a/" + MetaPrefix + "y"},
		{"", "k"},
		{".", "k"},
		{"..", "k"},
		{"../root2", "k"},
		{"a/b", "k"},
		{"b\x00", "k"},
	} {
		name := fmt.Sprintf("%q/%q", tc.bucket, tc.key)
		if err := d.Put(ctx, tc.bucket, tc.key, []byte("x"), Meta{}); err == nil {
			t.Errorf("Put(%s) succeeded", name)
		}
		if _, err := d.Get(ctx, tc.bucket, tc.key); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) = %v, want a validation error", name, err)
		}
	}
	// Nothing may have been written anywhere.
	var files []string
	_ = filepath.WalkDir(parent, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
	// A prefix is only a filter: it cannot make List escape.
	if err := d.Put(ctx, "b", "k", []byte("x"), Meta{}); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, d, "b", "../", ""); len(got) != 0 {
		t.Errorf("List with prefix ../ = %q", got)
	}
	if err := d.List(ctx, "../root", "", "", func(Object) error { return nil }); err == nil {
		t.Errorf("List of bucket ../root succeeded")
	}
}

func TestDirMissing(t *testing.T) {
	root := t.TempDir()
	d := NewDir(root)
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"get, no bucket", func() error { _, err := d.Get(ctx, "nb", "k"); return err }, ErrNoSuchBucket},
		{"list, no bucket", func() error { return d.List(ctx, "nb", "", "", func(Object) error { return nil }) }, ErrNoSuchBucket},
		{"get, no root", func() error { _, err := NewDir(filepath.Join(root, "x")).Get(ctx, "b", "k"); return err }, ErrNoSuchBucket},
		{"get, no key", func() error { _, err := d.Get(ctx, "b", "k"); return err }, ErrNotFound},
		{"get, key below an object", func() error { _, err := d.Get(ctx, "b", "obj/k"); return err }, ErrNotFound},
		{"get, key is a prefix", func() error { _, err := d.Get(ctx, "b", "dir"); return err }, ErrNotFound},
	}
	if err := d.Put(ctx, "b", "obj", []byte("x"), Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "b", "dir/k2", []byte("x"), Meta{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrNoSuchBucket, ErrNotFound, ErrAccessDenied} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestDirKeyPrefixConflicts(t *testing.T) {
	d := NewDir(t.TempDir())
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Put(ctx, "b", "x", []byte("1"), Meta{}))
	if err := d.Put(ctx, "b", "x/y", []byte("2"), Meta{}); err == nil {
		t.Error(`Put("x/y") over object "x" succeeded`)
	}
	must(d.Put(ctx, "b", "p/q", []byte("3"), Meta{}))
	if err := d.Put(ctx, "b", "p", []byte("4"), Meta{}); err == nil {
		t.Error(`Put("p") over prefix "p/" succeeded`)
	}
	if got := listKeys(t, d, "b", "", ""); !slices.Equal(got, []string{"p/q", "x"}) {
		t.Errorf("List = %q", got)
	}
	assertNoTemp(t, d.root)
}

func TestDirConcurrentPuts(t *testing.T) {
	d := NewDir(t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	vals := map[string]bool{}
	for i := 0; i < 16; i++ {
		v := strings.Repeat(fmt.Sprint(i%10), 1000+i)
		vals[v] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if err := d.Put(ctx, "b", "same/key", []byte(v), Meta{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := d.Get(ctx, "b", "same/key")
	if err != nil || !vals[string(got)] {
		t.Errorf("Get = %d bytes, %v: not one of the written values", len(got), err)
	}
	assertNoTemp(t, d.root)
}

func TestDirCanceled(t *testing.T) {
	d := NewDir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Put(ctx, "b", "k", nil, Meta{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v", err)
	}
	if err := d.Put(context.Background(), "b", "k", nil, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "b", "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if err := d.List(ctx, "b", "", "", func(Object) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
}

func TestDirAccessDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permissions")
	}
	root := t.TempDir()
	d := NewDir(root)
	ctx := context.Background()
	if err := d.Put(ctx, "b", "k", []byte("x"), Meta{}); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(root, "b")
	if err := os.Chmod(bdir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(bdir, 0o755) })
	if err := d.Put(ctx, "b", "k2", []byte("x"), Meta{}); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("Put into read-only dir: %v, want ErrAccessDenied", err)
	}
}

func listKeys(t *testing.T, st Store, bucket, prefix, startAfter string) []string {
	t.Helper()
	var keys []string
	if err := st.List(context.Background(), bucket, prefix, startAfter, func(o Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return keys
}

func assertNoTemp(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
}
