package logquery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const (
	bucket  = "logs-bucket"
	account = "123456789012"
	region  = "us-east-1"
)

var t0 = time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)

// rec is a test record; line renders it with the key order and an extra
// field a real record might have, so tests can check lines are passed
// through byte for byte.
type rec struct {
	at                    time.Time
	id, op, model, arn    string
	errorCode             string
	inputPath, outputPath string
}

func (r rec) line() string {
	m := fmt.Sprintf(`{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":%q,"accountId":%q,"identity":{"arn":%q},"region":%q,"requestId":%q,"operation":%q,"modelId":%q,"x-unknown":  {"b":1,"a":2}`,
		r.at.UTC().Format(time.RFC3339), account, r.arn, region, r.id, r.op, r.model)
	if r.inputPath != "" {
		m += fmt.Sprintf(`,"input":{"inputContentType":"application/json","inputBodyS3Path":%q,"inputTokenCount":3}`, r.inputPath)
	} else {
		m += `,"input":{"inputContentType":"application/json","inputBodyJson":{"q":"<hi>"},"inputTokenCount":3}`
	}
	if r.outputPath != "" {
		m += fmt.Sprintf(`,"output":{"outputContentType":"application/json","outputBodyS3Path":%q,"outputTokenCount":5}`, r.outputPath)
	} else {
		m += `,"output":{"outputContentType":"application/json","outputBodyJson":{"a":1},"outputTokenCount":5}`
	}
	if r.errorCode != "" {
		m += fmt.Sprintf(`,"errorCode":%q`, r.errorCode)
	}
	return m + "}"
}

func gz(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newSource(t testing.TB) Source {
	t.Helper()
	return Source{
		Store:      objectstore.NewDir(t.TempDir()),
		Bucket:     bucket,
		LogsPrefix: invocationlog.LogsPrefix("team/logs", account, region),
	}
}

// putBatch writes recs as one batch object named after the first record's
// time and returns its key.
func putBatch(t testing.TB, s Source, id string, recs ...rec) string {
	t.Helper()
	var lines strings.Builder
	for _, r := range recs {
		lines.WriteString(r.line() + "\n")
	}
	key := invocationlog.BatchKey(s.LogsPrefix, recs[0].at, id)
	put(t, s, key, gz(t, lines.String()))
	return key
}

func put(t testing.TB, s Source, key string, body []byte) {
	t.Helper()
	if err := s.Store.Put(context.Background(), s.Bucket, key, body, objectstore.Meta{}); err != nil {
		t.Fatal(err)
	}
}

// collect runs Query and returns the request IDs and raw lines it yields.
func collect(t *testing.T, s Source, f Filter) ([]string, []string, error) {
	t.Helper()
	var ids, lines []string
	err := s.Query(context.Background(), f, func(raw []byte, r *invocationlog.Record) error {
		ids = append(ids, r.RequestID)
		lines = append(lines, string(raw))
		return nil
	})
	return ids, lines, err
}

const (
	alice = "arn:aws:iam::123456789012:user/dev/alice"
	bob   = "arn:aws:sts::123456789012:assumed-role/Builder/bob-session"
	nova  = "amazon.nova-lite-v1:0"
)

func fixture(t *testing.T) (Source, map[string]rec) {
	s := newSource(t)
	recs := []rec{
		{at: t0, id: "r1", op: "Converse", model: nova, arn: alice},
		{at: t0.Add(10 * time.Minute), id: "r2", op: "InvokeModel", model: "arn:aws:bedrock:us-east-1::foundation-model/" + nova, arn: bob},
		{at: t0.Add(70 * time.Minute), id: "r3", op: "ConverseStream", model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + nova, arn: alice, errorCode: "ThrottlingException"},
		{at: t0.Add(75 * time.Minute), id: "r4", op: "ChatCompletions", model: "gpt-x", arn: bob, errorCode: "ValidationException"},
		{at: t0.Add(26 * time.Hour), id: "r5", op: "Converse", model: nova, arn: "arn:aws:iam::123456789012:root"},
	}
	putBatch(t, s, "b1", recs[0], recs[1])
	putBatch(t, s, "b2", recs[2], recs[3])
	putBatch(t, s, "b3", recs[4])
	// Neither the offloaded bodies nor the permission check are batches.
	put(t, s, invocationlog.DataKey(s.LogsPrefix, t0, "r1", "input"), gz(t, `{"not":"a record"}`))
	put(t, s, s.LogsPrefix+"amazon-bedrock-logs-permission-check", nil)
	put(t, s, invocationlog.PermissionCheckKey("team/logs"), nil)
	m := map[string]rec{}
	for _, r := range recs {
		m[r.id] = r
	}
	return s, m
}

func TestQueryFilters(t *testing.T) {
	s, recs := fixture(t)
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"r1", "r2", "r3", "r4", "r5"}},
		{"model bare matches ARNs", Filter{ModelID: nova}, []string{"r1", "r2", "r5"}},
		{"model profile", Filter{ModelID: "us." + nova}, []string{"r3"}},
		{"model full ARN", Filter{ModelID: "arn:aws:bedrock:us-east-1::foundation-model/" + nova}, []string{"r2"}},
		{"model no partial", Filter{ModelID: "nova-lite-v1:0"}, nil},
		{"principal ARN", Filter{Principal: alice}, []string{"r1", "r3"}},
		{"principal user name", Filter{Principal: "alice"}, []string{"r1", "r3"}},
		{"principal session", Filter{Principal: "bob-session"}, []string{"r2", "r4"}},
		{"principal role", Filter{Principal: "Builder"}, []string{"r2", "r4"}},
		{"principal no path prefix", Filter{Principal: "dev"}, nil},
		{"operation any case", Filter{Operation: "converse"}, []string{"r1", "r5"}},
		{"request id", Filter{RequestID: "r4"}, []string{"r4"}},
		{"errors", Filter{Errors: true}, []string{"r3", "r4"}},
		{"error code", Filter{ErrorCode: "ThrottlingException"}, []string{"r3"}},
		{"since inclusive", Filter{Since: t0.Add(10 * time.Minute)}, []string{"r2", "r3", "r4", "r5"}},
		{"until exclusive", Filter{Until: t0.Add(70 * time.Minute)}, []string{"r1", "r2"}},
		{"window", Filter{Since: t0.Add(time.Minute), Until: t0.Add(75*time.Minute + time.Second)}, []string{"r2", "r3", "r4"}},
		{"combined", Filter{Since: t0, Principal: "bob-session", Errors: true}, []string{"r4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, lines, err := collect(t, s, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
			for i, l := range lines {
				if want := recs[ids[i]].line(); l != want {
					t.Errorf("raw line changed:\n got %s\nwant %s", l, want)
				}
			}
		})
	}
}

func TestQueryStop(t *testing.T) {
	s, _ := fixture(t)
	var ids []string
	err := s.Query(context.Background(), Filter{}, func(_ []byte, r *invocationlog.Record) error {
		ids = append(ids, r.RequestID)
		if len(ids) == 3 {
			return Stop
		}
		return nil
	})
	if err != nil || !slices.Equal(ids, []string{"r1", "r2", "r3"}) {
		t.Errorf("Stop: %v %v", ids, err)
	}
	boom := errors.New("boom")
	err = s.Query(context.Background(), Filter{}, func([]byte, *invocationlog.Record) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("fn error: %v", err)
	}
}

// countingStore records the keys read.
type countingStore struct {
	objectstore.Store
	mu   sync.Mutex
	gets []string
}

func (c *countingStore) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Store.Get(ctx, bucket, key)
}

func TestQueryHourPruning(t *testing.T) {
	s, _ := fixture(t)
	// A batch per hour across two days.
	var keys []string
	for h := range 48 {
		at := t0.Add(time.Duration(h)*time.Hour + 30*time.Minute)
		keys = append(keys, putBatch(t, s, fmt.Sprintf("h%02d", h), rec{at: at, id: fmt.Sprintf("h%02d", h), op: "Converse", model: nova, arn: alice}))
	}
	cs := &countingStore{Store: s.Store}
	s.Store = cs
	ids, _, err := collect(t, s, Filter{Since: t0.Add(5*time.Hour + 45*time.Minute), Until: t0.Add(8 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"h06", "h07"}; !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	// Hours 5, 6 and 7 may hold matches; nothing else is read.
	if want := keys[5:8]; !slices.Equal(cs.gets, want) {
		t.Errorf("read %v, want %v", cs.gets, want)
	}
}

func TestQueryCorrupt(t *testing.T) {
	s := newSource(t)
	good := rec{at: t0, id: "good", op: "Converse", model: nova, arn: alice}
	putBatch(t, s, "a", good)
	// Not gzip at all after the magic number.
	bad := invocationlog.BatchKey(s.LogsPrefix, t0.Add(time.Minute), "b")
	put(t, s, bad, []byte{0x1f, 0x8b, 0, 1, 2, 3})
	// Truncated: the complete first line survives.
	full := gz(t, rec{at: t0.Add(2 * time.Minute), id: "before-cut", op: "Converse", model: nova, arn: alice}.line()+"\n"+
		strings.Repeat(rec{at: t0.Add(2 * time.Minute), id: "cut", op: "Converse", model: nova, arn: alice}.line()+"\n", 50))
	trunc := invocationlog.BatchKey(s.LogsPrefix, t0.Add(2*time.Minute), "c")
	put(t, s, trunc, full[:len(full)-20])
	// A bad line between good ones.
	lines := rec{at: t0.Add(3 * time.Minute), id: "l1", op: "Converse", model: nova, arn: alice}.line() + "\n{not json\n\n" +
		rec{at: t0.Add(3 * time.Minute), id: "l4", op: "Converse", model: nova, arn: alice}.line() + "\n"
	badLine := invocationlog.BatchKey(s.LogsPrefix, t0.Add(3*time.Minute), "d")
	put(t, s, badLine, gz(t, lines))
	putBatch(t, s, "e", rec{at: t0.Add(4 * time.Minute), id: "last", op: "Converse", model: nova, arn: alice})

	ids, _, err := collect(t, s, Filter{})
	if ids[0] != "good" || ids[1] != "before-cut" || !slices.Contains(ids, "l1") || !slices.Contains(ids, "l4") || ids[len(ids)-1] != "last" {
		t.Errorf("ids %v", ids)
	}
	var skips []*SkipError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *SkipError
		if !errors.As(e, &se) {
			t.Fatalf("not a SkipError: %v", e)
		}
		skips = append(skips, se)
	}
	if len(skips) != 3 || skips[0].Key != bad || skips[1].Key != trunc || skips[2].Key != badLine || skips[2].Line != 2 {
		t.Errorf("skips %v", err)
	}

	var warned []error
	s.Warn = func(err error) { warned = append(warned, err) }
	ids2, _, err := collect(t, s, Filter{})
	if err != nil || len(warned) != 3 || !slices.Equal(ids, ids2) {
		t.Errorf("with Warn: err %v, warnings %v", err, warned)
	}
}

func TestQueryMissingBucket(t *testing.T) {
	s := newSource(t)
	if _, _, err := collect(t, s, Filter{}); !errors.Is(err, objectstore.ErrNoSuchBucket) {
		t.Errorf("err %v", err)
	}
}

func TestResolve(t *testing.T) {
	s := newSource(t)
	inKey := invocationlog.DataKey(s.LogsPrefix, t0, "big", "input")
	outKey := invocationlog.DataKey(s.LogsPrefix, t0, "big", "output")
	put(t, s, inKey, gz(t, `{"messages":[{"role":"user","content":[{"text":"<long>"}]}]}`))
	put(t, s, outKey, gz(t, "\x00\x01binary"))
	r := rec{at: t0, id: "big", op: "Converse", model: nova, arn: alice,
		inputPath: "s3://" + bucket + "/" + inKey, outputPath: "s3://" + bucket + "/" + outKey}
	putBatch(t, s, "a", r)

	var raw []byte
	var got *invocationlog.Record
	if err := s.Query(context.Background(), Filter{}, func(l []byte, rr *invocationlog.Record) error {
		raw, got = l, rr
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if string(got.Input.InputBodyJSON) != `{"messages":[{"role":"user","content":[{"text":"<long>"}]}]}` {
		t.Errorf("input %s", got.Input.InputBodyJSON)
	}
	if string(got.Output.OutputBodyJSON) != `"AAFiaW5hcnk="` {
		t.Errorf("output %s", got.Output.OutputBodyJSON)
	}

	line, err := s.ResolveLine(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Unknown json.RawMessage `json:"x-unknown"`
		invocationlog.Record
	}
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	if string(m.Unknown) != `{"b":1,"a":2}` || m.Input.InputBodyS3Path == "" || string(m.Input.InputBodyJSON) != string(got.Input.InputBodyJSON) ||
		string(m.Output.OutputBodyJSON) != `"AAFiaW5hcnk="` || !strings.Contains(string(line), "<long>") {
		t.Errorf("resolved line %s", line)
	}
	want := strings.NewReplacer(
		`"x-unknown":  {`, `"x-unknown":{`,
		r.inputPath+`"`, r.inputPath+`","inputBodyJson":{"messages":[{"role":"user","content":[{"text":"<long>"}]}]}`,
		r.outputPath+`"`, r.outputPath+`","outputBodyJson":"AAFiaW5hcnk="`,
	).Replace(string(raw))
	if string(line) != want {
		t.Errorf("resolved line\n got %s\nwant %s", line, want)
	}
	// Nothing to resolve: unchanged.
	plain := []byte(rec{at: t0, id: "x", op: "Converse", model: nova, arn: alice}.line())
	if out, err := s.ResolveLine(context.Background(), plain); err != nil || !bytes.Equal(out, plain) {
		t.Errorf("plain line: %s %v", out, err)
	}
	// A missing body object is an error.
	r.inputPath = "s3://" + bucket + "/" + invocationlog.DataKey(s.LogsPrefix, t0, "gone", "input")
	if _, err := s.ResolveLine(context.Background(), []byte(r.line())); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("missing body: %v", err)
	}
}

// tail runs Tail in the background and returns a channel of request IDs.
func tail(t *testing.T, s Source, f Filter) (<-chan string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan string, 100)
	done := make(chan error, 1)
	started := make(chan struct{})
	var once sync.Once
	s.Now = func() time.Time { once.Do(func() { close(started) }); return time.Now() }
	go func() {
		done <- s.Tail(ctx, f, 5*time.Millisecond, func(_ []byte, r *invocationlog.Record) error {
			ids <- r.RequestID
			return nil
		})
	}()
	<-started
	time.Sleep(50 * time.Millisecond) // let the first listing finish
	return ids, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Tail did not return")
			return nil
		}
	}
}

func expect(t *testing.T, ids <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case id := <-ids:
			if id != w {
				t.Errorf("got %s, want %s", id, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", w)
		}
	}
}

func expectNothing(t *testing.T, ids <-chan string) {
	t.Helper()
	select {
	case id := <-ids:
		t.Errorf("unexpected %s", id)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestTail(t *testing.T) {
	s := newSource(t)
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(at time.Time, id string) rec { return rec{at: at, id: id, op: "Converse", model: nova, arn: alice} }
	putBatch(t, s, "old", mk(now.Add(-time.Minute), "before-start"))

	ids, stop := tail(t, s, Filter{})
	expectNothing(t, ids)
	putBatch(t, s, "new", mk(now.Add(time.Second), "new1"), mk(now.Add(2*time.Second), "new2"))
	expect(t, ids, "new1", "new2")
	// Delivered late: its key sorts before the one already read.
	putBatch(t, s, "late", mk(now.Add(-time.Hour), "late"))
	expect(t, ids, "late")
	// Records of other objects are not repeated; a corrupt object is skipped.
	put(t, s, invocationlog.BatchKey(s.LogsPrefix, now, "corrupt"), []byte{0x1f, 0x8b, 9})
	putBatch(t, s, "z", mk(now.Add(3*time.Second), "after-corrupt"))
	expect(t, ids, "after-corrupt")
	expectNothing(t, ids)
	err := stop()
	var se *SkipError
	if !errors.As(err, &se) || !strings.Contains(se.Key, "corrupt") {
		t.Errorf("Tail returned %v, want the skipped object", err)
	}
}

func TestTailFilterAndSince(t *testing.T) {
	s := newSource(t)
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(at time.Time, id, op string) rec { return rec{at: at, id: id, op: op, model: nova, arn: alice} }
	putBatch(t, s, "a", mk(now.Add(-2*time.Hour), "too-old", "Converse"), mk(now.Add(-2*time.Hour+time.Second), "old-invoke", "InvokeModel"))
	putBatch(t, s, "b", mk(now.Add(-time.Minute), "recent", "Converse"), mk(now.Add(-time.Minute+time.Second), "recent-invoke", "InvokeModel"))

	ids, stop := tail(t, s, Filter{Since: now.Add(-time.Hour), Operation: "Converse"})
	expect(t, ids, "recent")
	putBatch(t, s, "c", mk(now, "skip", "InvokeModel"), mk(now.Add(time.Second), "next", "Converse"))
	expect(t, ids, "next")
	// Late, but older than Since.
	putBatch(t, s, "d", mk(now.Add(-90*time.Minute), "before-since", "Converse"))
	expectNothing(t, ids)
	if err := stop(); err != nil {
		t.Errorf("Tail: %v", err)
	}
}

func TestFilterMatchBadTimestamp(t *testing.T) {
	r := &invocationlog.Record{Timestamp: "yesterday"}
	if !(Filter{}).Match(r) || (Filter{Since: t0}).Match(r) || (Filter{Until: t0}).Match(r) {
		t.Error("a bad timestamp must only fail time bounds")
	}
}
