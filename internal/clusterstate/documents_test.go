package clusterstate

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestPutAndGetFollowVersionsAndCompareAndSet(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "writer")
	ctx := testCtx(t)

	steps := []struct {
		name        string
		doc         string
		body        string
		ifVersion   int64
		wantErr     error
		wantVersion int64
		wantBody    string
	}{
		{"create must not exist", "cfg", `{"b": 1,  "a": 2}`, 0, nil, 1, `{"a": 2, "b": 1}`},
		{"create again conflicts", "cfg", `{}`, 0, ErrConflict, 0, ""},
		{"compare-and-set at current version", "cfg", `{"on":true}`, 1, nil, 2, `{"on": true}`},
		{"compare-and-set at stale version conflicts", "cfg", `{"on":false}`, 1, ErrConflict, 0, ""},
		{"compare-and-set on a missing document conflicts", "nope", `{}`, 3, ErrConflict, 0, ""},
		{"unconditional put", "cfg", `[1,2]`, -1, nil, 3, `[1, 2]`},
		{"unconditional put creates", "other", `"x"`, -1, nil, 1, `"x"`},
		{"invalid JSON is refused", "cfg", `{"a":`, -1, ErrInvalidJSON, 0, ""},
	}
	for _, st := range steps {
		d, err := s.Put(ctx, st.doc, []byte(st.body), st.ifVersion)
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Errorf("%s: Put err = %v, want %v", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Put: %v", st.name, err)
			continue
		}
		if d.Version != st.wantVersion || string(d.Body) != st.wantBody || d.UpdatedBy != "writer" || d.UpdatedAt.IsZero() {
			t.Errorf("%s: Put = %+v (body %s), want version %d body %s by writer", st.name, d, d.Body, st.wantVersion, st.wantBody)
		}
		got, err := s.Get(ctx, st.doc)
		if err != nil || got.Version != d.Version || string(got.Body) != string(d.Body) || !got.UpdatedAt.Equal(d.UpdatedAt) {
			t.Errorf("%s: Get = %+v, %v; want %+v", st.name, got, err, d)
		}
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) err = %v, want ErrNotFound", err)
	}
	for _, name := range []string{"", "item:x"} {
		if _, err := s.Put(ctx, name, []byte(`{}`), -1); err == nil {
			t.Errorf("Put(%q) succeeded; want a refused name", name)
		}
	}
}

func TestConcurrentCompareAndSetLetsExactlyOneWriterWin(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	a, b := db.open(t, "a"), db.open(t, "b")
	ctx := testCtx(t)
	if _, err := a.Put(ctx, "cfg", []byte(`{"n":0}`), 0); err != nil {
		t.Fatal(err)
	}
	const writers = 10
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			_, errs[i] = s.Put(ctx, "cfg", fmt.Appendf(nil, `{"n":%d}`, i+1), 1)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrConflict):
			t.Errorf("Put: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won the compare-and-set, want 1", won)
	}
	if d, err := a.Get(ctx, "cfg"); err != nil || d.Version != 2 {
		t.Errorf("Get = %+v, %v; want version 2", d, err)
	}
}

func TestVersionsListsHistoryNewestFirstAndPruneKeepsTheNewest(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w")
	ctx := testCtx(t)
	for i := 1; i <= 5; i++ {
		if _, err := s.Put(ctx, "cfg", fmt.Appendf(nil, `{"v":%d}`, i), -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "unrelated", []byte(`{}`), -1); err != nil {
		t.Fatal(err)
	}
	versions := func(limit int) []int64 {
		t.Helper()
		ds, err := s.Versions(ctx, "cfg", limit)
		if err != nil {
			t.Fatal(err)
		}
		var vs []int64
		for _, d := range ds {
			if string(d.Body) != fmt.Sprintf(`{"v": %d}`, d.Version) || d.Name != "cfg" || d.UpdatedBy != "w" {
				t.Errorf("history row %+v (body %s)", d, d.Body)
			}
			vs = append(vs, d.Version)
		}
		return vs
	}
	for _, tc := range []struct {
		step  string
		prune int // <0: no prune
		limit int
		want  string
	}{
		{"all", -1, 0, "[5 4 3 2 1]"},
		{"limited", -1, 2, "[5 4]"},
		{"pruned to 3", 3, 0, "[5 4 3]"},
		{"pruned to more than kept", 10, 0, "[5 4 3]"},
		{"pruned to 0", 0, 0, "[]"},
	} {
		if tc.prune >= 0 {
			if err := s.Prune(ctx, "cfg", tc.prune); err != nil {
				t.Fatalf("%s: Prune: %v", tc.step, err)
			}
		}
		if got := fmt.Sprint(versions(tc.limit)); got != tc.want {
			t.Errorf("%s: versions %s, want %s", tc.step, got, tc.want)
		}
	}
	if d, err := s.Get(ctx, "cfg"); err != nil || d.Version != 5 {
		t.Errorf("Get after Prune = %+v, %v; want version 5", d, err)
	}
	if ds, err := s.Versions(ctx, "unrelated", 0); err != nil || len(ds) != 1 {
		t.Errorf("Prune touched another document's history: %v, %v", ds, err)
	}
	if err := s.Prune(ctx, "cfg", -1); err == nil {
		t.Error("Prune with negative keep succeeded")
	}
}

func TestItemsAreUpsertedListedByKeyAndDeleted(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w")
	ctx := testCtx(t)
	for _, it := range []struct{ coll, key, body string }{
		{"jobs", "b", `{"status":"InProgress"}`},
		{"jobs", "a", `{"status":"InProgress"}`},
		{"jobs", "b", `{"status":"Completed"}`},
		{"other", "a", `1`},
	} {
		if err := s.PutItem(ctx, it.coll, it.key, []byte(it.body)); err != nil {
			t.Fatalf("PutItem %+v: %v", it, err)
		}
	}
	if err := s.PutItem(ctx, "jobs", "c", []byte(`nope`)); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("PutItem(invalid JSON) = %v, want ErrInvalidJSON", err)
	}
	if body, err := s.GetItem(ctx, "jobs", "b"); err != nil || string(body) != `{"status": "Completed"}` {
		t.Errorf("GetItem = %s, %v", body, err)
	}
	if _, err := s.GetItem(ctx, "jobs", "zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetItem(missing) = %v, want ErrNotFound", err)
	}
	items, err := s.ListItems(ctx, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Key != "a" || items[1].Key != "b" || items[0].UpdatedAt.IsZero() {
		t.Errorf("ListItems = %+v, want a, b", items)
	}
	if err := s.DeleteItem(ctx, "jobs", "a"); err != nil {
		t.Errorf("DeleteItem: %v", err)
	}
	if err := s.DeleteItem(ctx, "jobs", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteItem(missing) = %v, want ErrNotFound", err)
	}
	if items, err := s.ListItems(ctx, "jobs"); err != nil || len(items) != 1 {
		t.Errorf("ListItems after delete = %+v, %v", items, err)
	}
	if items, err := s.ListItems(ctx, "empty"); err != nil || len(items) != 0 {
		t.Errorf("ListItems(empty) = %+v, %v", items, err)
	}
}

func TestPingAndHealthy(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "w")
	if err := s.Ping(testCtx(t)); err != nil || !s.Healthy() {
		t.Errorf("Ping = %v, Healthy = %v", err, s.Healthy())
	}
	s.Close()
	if err := s.Ping(testCtx(t)); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if s.Healthy() {
		t.Error("Healthy after a failed Ping")
	}
}
