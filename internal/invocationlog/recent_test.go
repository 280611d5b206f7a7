package invocationlog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRecentRecords(t *testing.T) {
	s := testSettings()
	s.Spool.MaxBytes = 16 << 20
	s.Spool.SegmentBytes = 2 << 20
	l, _ := openTestLogger(t, s, prometheus.NewRegistry())
	for i := range recentCapacity + 10 {
		inv := bigInvocation(i)
		if i == recentCapacity+9 {
			inv.Input.Data = []byte(`{"big":"` + strings.Repeat("x", recentBodyLimit) + `"}`)
		}
		l.Observe(inv)
	}
	recs := l.Recent(5, "")
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5", len(recs))
	}
	var newest, second Record
	if err := json.Unmarshal(recs[0], &newest); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(recs[1], &second)
	if newest.RequestID != fmt.Sprintf("00000000-0000-0000-0000-%012d", recentCapacity+9) || len(newest.Input.InputBodyJSON) != 0 {
		t.Errorf("newest %s: a body over the limit must be left out", recs[0])
	}
	if second.RequestID != fmt.Sprintf("00000000-0000-0000-0000-%012d", recentCapacity+8) || !strings.Contains(string(second.Input.InputBodyJSON), "aaaa") {
		t.Errorf("second newest %s", recs[1])
	}
	if got := l.Recent(10_000, ""); len(got) != recentCapacity {
		t.Errorf("%d records kept, want the capacity %d", len(got), recentCapacity)
	}
	if rec, ok := l.RecentRecord(second.RequestID, ""); !ok || string(rec) != string(recs[1]) {
		t.Errorf("RecentRecord(%s) = %s, %v", second.RequestID, rec, ok)
	}
	if _, ok := l.RecentRecord(fmt.Sprintf("00000000-0000-0000-0000-%012d", 0), ""); ok {
		t.Error("a record pushed out of the ring was still found")
	}
}
