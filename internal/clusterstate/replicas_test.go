package clusterstate

import (
	"errors"
	"testing"
	"time"
)

func TestRegisterRefusesASharedDataDirectoryAndAcceptsAStaleOne(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	s := db.open(t, "r1")
	ctx := testCtx(t)
	staleness := func(name string, age time.Duration) {
		t.Helper()
		if _, err := db.admin.Exec(ctx, "UPDATE "+db.namespace+
			".replicas SET heartbeat_at = now() - $2 * interval '1 second' WHERE name = $1", name, age.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	const stale = time.Minute
	steps := []struct {
		step          string
		age           map[string]time.Duration // heartbeat ages to set first
		name, dir     string
		wantDirErr    string // replica named by a *DirInUseError
		wantNameInUse bool
	}{
		{step: "first replica", name: "r1", dir: "dir-1"},
		{step: "second replica, own directory", name: "r2", dir: "dir-2"},
		{step: "third replica on r1's directory", name: "r3", dir: "dir-1", wantDirErr: "r1"},
		{step: "r1 restarts", name: "r1", dir: "dir-1"},
		{step: "r1's name on another directory", name: "r1", dir: "dir-3", wantNameInUse: true},
		{step: "r1 is stale: r3 takes its directory", age: map[string]time.Duration{"r1": 2 * stale}, name: "r3", dir: "dir-1"},
		{step: "r2 is stale: its name may move", age: map[string]time.Duration{"r2": 2 * stale}, name: "r2", dir: "dir-4"},
		{step: "r1 comes back: r3 holds its directory", name: "r1", dir: "dir-1", wantDirErr: "r3"},
	}
	for _, st := range steps {
		for name, age := range st.age {
			staleness(name, age)
		}
		err := s.Register(ctx, st.name, st.dir, "host-"+st.name, stale)
		var dirErr *DirInUseError
		var nameErr *ReplicaNameInUseError
		switch {
		case st.wantDirErr != "":
			if !errors.As(err, &dirErr) || dirErr.Replica != st.wantDirErr || dirErr.Host != "host-"+st.wantDirErr {
				t.Errorf("%s: Register = %v; want a DirInUseError naming %s on host-%s", st.step, err, st.wantDirErr, st.wantDirErr)
			} else {
				t.Logf("%s: %v", st.step, err)
			}
		case st.wantNameInUse:
			if !errors.As(err, &nameErr) || nameErr.Replica != st.name {
				t.Errorf("%s: Register = %v; want a ReplicaNameInUseError", st.step, err)
			} else {
				t.Logf("%s: %v", st.step, err)
			}
		case err != nil:
			t.Errorf("%s: Register: %v", st.step, err)
		}
	}

	rs, err := s.Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rs {
		got[r.Name] = r.DataDirID
		if r.StartedAt.IsZero() || r.HeartbeatAt.IsZero() || r.Host != "host-"+r.Name {
			t.Errorf("replica row %+v", r)
		}
	}
	// r1's stale row was removed when r3 took dir-1 over.
	if len(got) != 2 || got["r2"] != "dir-4" || got["r3"] != "dir-1" {
		t.Errorf("Replicas = %v; want r2 on dir-4, r3 on dir-1", got)
	}
	if err := s.Heartbeat(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Heartbeat of a replica whose directory was taken over = %v, want ErrNotFound", err)
	}
	staleness("r3", 2*stale)
	if err := s.Heartbeat(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(ctx, "r5", "dir-1", "h", stale); err == nil {
		t.Error("Heartbeat did not make r3 fresh again")
	}
}
