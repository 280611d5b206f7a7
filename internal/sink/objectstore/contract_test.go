package objectstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// contractKeys exercise S3's key order: '-' (0x2d) < '.' (0x2e) < '/'
// (0x2f) < '0', so a directory walk in name order would get them wrong.
var contractKeys = []string{
	"a/b",
	"a-c",
	"a.b/z",
	"a/c/d",
	"a0",
	"b",
	"A",
	"2024/05/01/x.json.gz",
	"2024/05/01/y.json.gz",
	"2024/05/1",
	"2024/05-01",
	"z/ü",
}

// testContract runs the behaviour every Store must have against st; bucket
// must exist (or be creatable by Put) and be empty.
func testContract(t *testing.T, st Store, bucket string) {
	ctx := context.Background()
	for _, k := range contractKeys {
		if err := st.Put(ctx, bucket, k, []byte("v1:"+k), Meta{ContentType: "text/plain"}); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	sorted := slices.Clone(contractKeys)
	sort.Strings(sorted)

	t.Run("get", func(t *testing.T) {
		for _, k := range contractKeys {
			got, err := st.Get(ctx, bucket, k)
			if err != nil || string(got) != "v1:"+k {
				t.Errorf("Get(%q) = %q, %v", k, got, err)
			}
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct{ prefix, startAfter string }{
			{"", ""},
			{"a", ""},
			{"a/", ""},
			{"a/c", ""},
			{"a/c/d", ""},
			{"a/c/d/", ""},
			{"", "a-c"},
			{"", "a/"},
			{"", "a/b"},
			{"", "a."},
			{"a", "a.b/z"},
			{"2024/", "2024/05/01/x.json.gz"},
			{"2024/05", "2024/05-01"},
			{"2024/05/", ""},
			{"b", "a"},
			{"zzz", ""},
			{"", "zzz"},
			{"", "z/ü"},
			{"", "!"},
		} {
			var want []string
			for _, k := range sorted {
				if strings.HasPrefix(k, tc.prefix) && k > tc.startAfter {
					want = append(want, k)
				}
			}
			var got []string
			err := st.List(ctx, bucket, tc.prefix, tc.startAfter, func(o Object) error {
				got = append(got, o.Key)
				if want := int64(len("v1:" + o.Key)); o.Size != want {
					t.Errorf("%s: size %d, want %d", o.Key, o.Size, want)
				}
				if o.LastModified.IsZero() {
					t.Errorf("%s: zero LastModified", o.Key)
				}
				return nil
			})
			if err != nil {
				t.Errorf("List(%q, %q): %v", tc.prefix, tc.startAfter, err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%q, %q)\n got %q\nwant %q", tc.prefix, tc.startAfter, got, want)
			}
		}
	})

	t.Run("list stops on fn error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := st.List(ctx, bucket, "", "", func(Object) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 {
			t.Errorf("List returned %v after %d calls, want the fn's error after 3", err, n)
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		k := "a/b"
		if err := st.Put(ctx, bucket, k, []byte("second version"), Meta{}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, bucket, k)
		if err != nil || string(got) != "second version" {
			t.Errorf("Get after overwrite = %q, %v", got, err)
		}
		var sizes []int64
		_ = st.List(ctx, bucket, k, "", func(o Object) error { sizes = append(sizes, o.Size); return nil })
		if !slices.Equal(sizes, []int64{int64(len("second version"))}) {
			t.Errorf("List after overwrite: sizes %v", sizes)
		}
		if err := st.Put(ctx, bucket, k, []byte("v1:"+k), Meta{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("empty object", func(t *testing.T) {
		if err := st.Put(ctx, bucket, "zz/empty", nil, Meta{}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, bucket, "zz/empty")
		if err != nil || len(got) != 0 {
			t.Errorf("Get(empty) = %q, %v", got, err)
		}
	})

	t.Run("missing key", func(t *testing.T) {
		for _, k := range []string{"nope", "a/nope", "a", "a/c", "2024/05/01/x.json"} {
			_, err := st.Get(ctx, bucket, k)
			if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoSuchBucket) {
				t.Errorf("Get(%q): %v, want ErrNotFound", k, err)
			}
		}
	})

	t.Run("missing bucket", func(t *testing.T) {
		const nb = "modelwatch-no-such-bucket"
		_, err := st.Get(ctx, nb, "k")
		if !errors.Is(err, ErrNoSuchBucket) {
			t.Errorf("Get from missing bucket: %v, want ErrNoSuchBucket", err)
		}
		err = st.List(ctx, nb, "", "", func(Object) error { return nil })
		if !errors.Is(err, ErrNoSuchBucket) {
			t.Errorf("List of missing bucket: %v, want ErrNoSuchBucket", err)
		}
		if err != nil && !strings.Contains(err.Error(), nb) && !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Errorf("error message lost: %v", err)
		}
	})

	t.Run("user metadata", func(t *testing.T) {
		k := "meta/digest.json.gz"
		um := map[string]string{"signature": "0a1b2c", "Signature-Algorithm": "SHA256withRSA"}
		if err := st.Put(ctx, bucket, k, []byte("x"), Meta{ContentType: "application/json", UserMetadata: um}); err != nil {
			t.Fatal(err)
		}
		m, err := Head(ctx, st, bucket, k)
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		want := map[string]string{"signature": "0a1b2c", "signature-algorithm": "SHA256withRSA"}
		if fmt.Sprint(m.UserMetadata) != fmt.Sprint(want) {
			t.Errorf("Head user metadata = %v, want %v", m.UserMetadata, want)
		}
		var listed []string
		_ = st.List(ctx, bucket, "meta/", "", func(o Object) error { listed = append(listed, o.Key); return nil })
		if !slices.Equal(listed, []string{k}) {
			t.Errorf("List(meta/) = %q: metadata must not show as objects", listed)
		}
		// A Put without metadata replaces it.
		if err := st.Put(ctx, bucket, k, []byte("y"), Meta{}); err != nil {
			t.Fatal(err)
		}
		if m, err := Head(ctx, st, bucket, k); err != nil || len(m.UserMetadata) != 0 {
			t.Errorf("Head after Put without metadata = %v, %v", m.UserMetadata, err)
		}
		if _, err := Head(ctx, st, bucket, "meta/nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Head(missing) = %v, want ErrNotFound", err)
		}
		if err := Delete(ctx, st, bucket, k); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := st.Get(ctx, bucket, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete = %v, want ErrNotFound", err)
		}
		if err := Delete(ctx, st, bucket, k); err != nil {
			t.Errorf("Delete of a missing object = %v, want nil", err)
		}
	})

	t.Run("describe", func(t *testing.T) {
		if d := st.Describe(bucket); !strings.Contains(d, bucket) {
			t.Errorf("Describe(%q) = %q", bucket, d)
		}
		if k := st.Kind(); k != "s3" && k != "local" {
			t.Errorf("Kind() = %q", k)
		}
	})
}

func ExampleDir() {
	st := NewDir("/var/lib/modelwatch/s3")
	fmt.Println(st.Kind(), st.Describe("logs"))
	// Output: local /var/lib/modelwatch/s3/logs
}
