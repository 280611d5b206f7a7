package alarm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/webhook"
)

func TestPostWebhookRetriesServerErrorsOnly(t *testing.T) {
	webhook.Backoff = func(int) time.Duration { return time.Millisecond }
	for _, tc := range []struct {
		name      string
		statuses  []int
		wantCalls int32
		wantErr   bool
	}{
		{"success first time", []int{200}, 1, false},
		{"server error then success", []int{500, 204}, 2, false},
		{"throttled then success", []int{429, 200}, 2, false},
		{"client error is not retried", []int{400}, 1, true},
		{"gives up after three attempts", []int{503, 503, 503, 200}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := calls.Add(1) - 1
				w.WriteHeader(tc.statuses[min(int(i), len(tc.statuses)-1)])
			}))
			defer srv.Close()
			msg := Message{AlarmName: "a", NewStateValue: StateAlarm, Region: "US East (N. Virginia)"}
			err := PostWebhook(srv.Client(), "arn:aws:sns:us-east-1:1:t")(context.Background(), srv.URL, msg)
			if (err != nil) != tc.wantErr || calls.Load() != tc.wantCalls {
				t.Fatalf("err %v after %d calls, want error %v after %d", err, calls.Load(), tc.wantErr, tc.wantCalls)
			}
		})
	}
}

func TestInsufficientDataNotifiesAndCountsMetrics(t *testing.T) {
	var urls []string
	reg := prometheus.NewRegistry()
	def := throttleAlarm()
	def.TreatMissingData = MissingMissing
	def.Actions = Actions{InsufficientDataWebhooks: []string{"https://h.example/insufficient"}, OKWebhooks: []string{"https://h.example/ok"}}
	present := true
	q := &fakeQuerier{value: func(time.Time) (float64, bool) { return 1, present }}
	e, err := New([]Definition{def}, Options{Querier: q, Registerer: reg, Notify: func(_ context.Context, u string, m Message) error {
		urls = append(urls, u+" "+m.OldStateValue+"->"+m.NewStateValue)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.Evaluate(context.Background(), t0)
	present = false
	e.Evaluate(context.Background(), t0.Add(time.Hour))
	if got := strings.Join(urls, "; "); got != "https://h.example/ok INSUFFICIENT_DATA->OK; https://h.example/insufficient OK->INSUFFICIENT_DATA" {
		t.Errorf("notifications: %s", got)
	}
	if s := e.Snapshot()[0]; s.StateReason != "Insufficient Data: 5 datapoints were unknown." {
		t.Errorf("reason %q", s.StateReason)
	}
	want := `
# HELP modelwatch_alarm_state 1 for the state each alarm is in (OK, ALARM, INSUFFICIENT_DATA), 0 for the others.
# TYPE modelwatch_alarm_state gauge
modelwatch_alarm_state{alarm="bedrock-throttles",state="ALARM"} 0
modelwatch_alarm_state{alarm="bedrock-throttles",state="INSUFFICIENT_DATA"} 1
modelwatch_alarm_state{alarm="bedrock-throttles",state="OK"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "modelwatch_alarm_state"); err != nil {
		t.Error(err)
	}
}
