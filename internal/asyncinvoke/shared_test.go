package asyncinvoke

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// memShared is a SharedJobs in memory that can be made unavailable, as a
// cluster's PostgreSQL can be.
type memShared struct {
	mu   sync.Mutex
	jobs map[string]Job
	down bool
}

var errDown = errors.New("shared store unavailable")

func (s *memShared) PutJob(_ context.Context, j Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	if s.jobs == nil {
		s.jobs = map[string]Job{}
	}
	s.jobs[j.ID] = j
	return nil
}

func (s *memShared) GetJob(_ context.Context, id string) (Job, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return Job{}, false, errDown
	}
	j, ok := s.jobs[id]
	return j, ok, nil
}

func (s *memShared) ListJobs(context.Context) ([]Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errDown
	}
	var out []Job
	for _, j := range s.jobs {
		out = append(out, j)
	}
	return out, nil
}

func (s *memShared) get(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	return j, ok
}

func (s *memShared) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func openShared(t *testing.T, g *gate, shared SharedJobs) *Manager {
	t.Helper()
	dir := t.TempDir()
	m, err := Open(Options{DataDir: dir, Region: "us-east-1", AccountID: "123456789012",
		Generate: g.generate, Store: objectstore.NewDir(filepath.Join(dir, "s3")), Shared: shared})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestJobsOfOtherReplicasAreVisible: a job started on one replica is got
// and listed on another, in its latest state.
func TestJobsOfOtherReplicasAreVisible(t *testing.T) {
	shared := &memShared{}
	g := &gate{release: make(chan struct{})}
	a := openShared(t, g, shared)
	b := openShared(t, &gate{release: make(chan struct{})}, shared)
	j, _, err := a.Start(request("on a", ""))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { got, ok := b.Get(j.ID); return ok && got.Status == InProgress })
	close(g.release)
	waitFor(t, func() bool { got, ok := b.Get(j.ID); return ok && got.Status == Completed && got.OutputS3Path != "" })
	list, _, err := b.List(Filter{})
	if err != nil || len(list) != 1 || list[0].ID != j.ID {
		t.Fatalf("b lists %+v %v, want a's job", list, err)
	}
	if _, ok := b.Get("000000000000"); ok {
		t.Fatal("an unknown job was found")
	}
}

// TestJobsEndedDuringAnOutageArePublishedAfterIt: what a replica did while
// the shared store was down reaches it when it answers again.
func TestJobsEndedDuringAnOutageArePublishedAfterIt(t *testing.T) {
	shared := &memShared{}
	shared.setDown(true)
	g := &gate{release: make(chan struct{})}
	a := openShared(t, g, shared)
	j, _, err := a.Start(request("during the outage", ""))
	if err != nil {
		t.Fatal(err)
	}
	close(g.release)
	waitStatus(t, a, j.ID, Completed)
	if list, _, err := a.List(Filter{}); err != nil || len(list) != 1 {
		t.Fatalf("a lists %+v %v while the shared store is down, want its own job", list, err)
	}
	shared.setDown(false)
	deadline := time.Now().Add(3 * republishEvery)
	for {
		if got, ok := shared.get(j.ID); ok && got.Status == Completed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job that ended during the outage was not published within %v of the store's return", 3*republishEvery)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met within 2.5 s")
}
