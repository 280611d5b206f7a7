package asyncinvoke

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// gate is a Generator that finishes a job only when released (or fails
// it when told), so tests control when jobs end.
type gate struct {
	release chan struct{}
	fail    error
}

func (g *gate) generate(ctx context.Context, j *Job) (*provider.VideoResponse, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.release:
	}
	if g.fail != nil {
		return nil, g.fail
	}
	return &provider.VideoResponse{MP4: []byte("mp4"), DurationSeconds: 6, FPS: 24, Width: 1280, Height: 720}, nil
}

type records struct {
	mu   sync.Mutex
	invs []*invocation.Invocation
}

func (r *records) add(inv *invocation.Invocation) {
	r.mu.Lock()
	r.invs = append(r.invs, inv)
	r.mu.Unlock()
}

func open(t *testing.T, dir string, g *gate, rec *records, max int) *Manager {
	t.Helper()
	clock := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	m, err := Open(Options{DataDir: dir, Region: "us-east-1", AccountID: "123456789012", MaxInProgress: max,
		Generate: g.generate, Store: objectstore.NewDir(filepath.Join(dir, "s3")), Record: rec.add,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func request(text, token string) *Request {
	in, _ := json.Marshal(map[string]any{"taskType": "TEXT_VIDEO", "textToVideoParams": map[string]any{"text": text}})
	return &Request{RequestID: "rid-" + text, ModelID: "amazon.nova-reel-v1:0", CatalogModelID: "amazon.nova-reel-v1:0",
		ModelARN: "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:0", ClientRequestToken: token,
		ModelInput: in, S3URI: "s3://bucket/out/"}
}

func waitStatus(t *testing.T, m *Manager, id, status string) Job {
	t.Helper()
	for range 500 {
		if j, _ := m.Get(id); j.Status == status {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s never reached %s", id, status)
	return Job{}
}

func TestStartIdempotentAndQuota(t *testing.T) {
	dir := t.TempDir()
	g := &gate{release: make(chan struct{})}
	m := open(t, dir, g, &records{}, 2)
	defer m.Close()
	a, created, err := m.Start(request("a", "tok"))
	if err != nil || !created || a.Status != InProgress || len(a.ID) != 12 || a.ARN != "arn:aws:bedrock:us-east-1:123456789012:async-invoke/"+a.ID {
		t.Fatalf("%+v %v %v", a, created, err)
	}
	// Same token, same request (JSON spacing aside): the same job.
	same := request("a", "tok")
	same.ModelInput = json.RawMessage(" " + string(same.ModelInput) + " ")
	again, created, err := m.Start(same)
	if err != nil || created || again.ID != a.ID {
		t.Fatalf("retry: %+v %v %v", again, created, err)
	}
	_, _, err = m.Start(request("b", "tok"))
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Conflict || e.Status() != 400 {
		t.Fatalf("conflict: %v", err)
	}
	if _, _, err := m.Start(request("b", "")); err != nil {
		t.Fatal(err)
	}
	_, _, err = m.Start(request("c", ""))
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.ServiceQuotaExceeded {
		t.Fatalf("quota: %v", err)
	}
	close(g.release)
	done := waitStatus(t, m, a.ID, Completed)
	if done.OutputS3Path != "s3://bucket/out/"+a.ID+"/output.mp4" || done.EndTime == nil || !done.EndTime.After(done.SubmitTime) {
		t.Fatalf("%+v", done)
	}
	b, err := os.ReadFile(filepath.Join(dir, "s3", "bucket", "out", a.ID, "output.mp4"))
	if err != nil || string(b) != "mp4" {
		t.Fatalf("output %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "s3", "bucket", "out", a.ID, "manifest.json")); err != nil {
		t.Fatal(err)
	}
}

func TestResumeAfterClose(t *testing.T) {
	dir := t.TempDir()
	g := &gate{release: make(chan struct{})}
	rec := &records{}
	m := open(t, dir, g, rec, 0)
	j, _, err := m.Start(request("a", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if len(rec.invs) != 0 {
		t.Fatal("a stopped job was recorded")
	}
	g2 := &gate{release: make(chan struct{}), fail: apierror.New(apierror.Validation, "no")}
	close(g2.release)
	m2 := open(t, dir, g2, rec, 0)
	defer m2.Close()
	got := waitStatus(t, m2, j.ID, Failed)
	if got.FailureMessage != "no" || !got.SubmitTime.Equal(j.SubmitTime) {
		t.Fatalf("%+v", got)
	}
	for range 100 {
		rec.mu.Lock()
		n := len(rec.invs)
		rec.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	inv := rec.invs[0]
	if inv.Operation != invocation.StartAsyncInvoke || inv.ErrorCode != "ValidationException" || inv.Status != 400 || inv.Usage.OutputVideoSeconds != 0 {
		t.Fatalf("%+v", inv)
	}
	// The token survives too.
	again, created, err := m2.Start(request("a", "tok"))
	if err != nil || created || again.ID != j.ID {
		t.Fatalf("%+v %v %v", again, created, err)
	}
}

func TestListPages(t *testing.T) {
	dir := t.TempDir()
	g := &gate{release: make(chan struct{})}
	close(g.release)
	m := open(t, dir, g, &records{}, 0)
	defer m.Close()
	var ids []string
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		j, _, err := m.Start(request(s, ""))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		waitStatus(t, m, j.ID, Completed)
	}
	var got []string
	token := ""
	for pages := 1; ; pages++ {
		page, next, err := m.List(Filter{Ascending: true, MaxResults: 2, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			got = append(got, j.ID)
		}
		if next == "" {
			if pages != 3 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
		token = next
	}
	if len(got) != 5 || got[0] != ids[0] || got[4] != ids[4] {
		t.Fatalf("got %v want %v", got, ids)
	}
	if _, _, err := m.List(Filter{NextToken: "!!"}); err != ErrBadToken {
		t.Fatalf("bad token: %v", err)
	}
}

func TestDamagedRecordRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Dir, "abcdefabcdef.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gate{release: make(chan struct{})}
	_, err := Open(Options{DataDir: dir, Generate: g.generate, Store: objectstore.NewDir(dir)})
	if err == nil {
		t.Fatal("a damaged record was accepted")
	}
}
