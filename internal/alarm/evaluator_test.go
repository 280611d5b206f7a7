package alarm

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/history"
	"github.com/modelwatch/modelwatch/internal/webhook"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// remediator records rollbacks.
type remediator struct {
	mu    sync.Mutex
	calls []string
}

func (r *remediator) Rollback(model string, active bool, alarm string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	on := "off"
	if active {
		on = "on"
	}
	r.calls = append(r.calls, model+" "+on+" "+alarm)
}

func (r *remediator) Calls() []string { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.calls) }

// hooks is a webhook receiver recording SNS envelopes.
type hooks struct {
	mu   sync.Mutex
	envs []Envelope
	hdrs []http.Header
	srv  *httptest.Server
}

func newHooks(t *testing.T) *hooks {
	h := &hooks{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		h.mu.Lock()
		h.envs = append(h.envs, env)
		h.hdrs = append(h.hdrs, r.Header.Clone())
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) Envelopes() []Envelope { h.mu.Lock(); defer h.mu.Unlock(); return slices.Clone(h.envs) }

// traffic is a real history fed by a throttle counter on a test clock.
type traffic struct {
	clk       *clock
	store     *history.Store
	throttles *prometheus.CounterVec
}

func newTraffic(t *testing.T, start time.Time) *traffic {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bedrock_invocation_throttles_total", Help: "Throttles."}, []string{"model_id", "operation"})
	reg.MustRegister(c)
	c.WithLabelValues("m", "Converse").Add(0)
	clk := &clock{t: start}
	st, err := history.Open(history.Options{Dir: t.TempDir(), Gatherer: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr := &traffic{clk: clk, store: st, throttles: c}
	tr.sample(t)
	return tr
}

func (tr *traffic) sample(t *testing.T) {
	if err := tr.store.SampleNow(); err != nil {
		t.Fatal(err)
	}
}

// advance samples every 15 s up to until.
func (tr *traffic) advance(t *testing.T, until time.Time) {
	for tr.clk.Now().Before(until) {
		tr.clk.Set(tr.clk.Now().Add(15 * time.Second))
		tr.sample(t)
	}
}

func TestEvaluatorGoesOKAlarmOKWithWebhooksAndRollback(t *testing.T) {
	webhook.Backoff = func(int) time.Duration { return time.Millisecond }
	base := time.Now().UTC().Truncate(time.Minute).Add(2 * time.Minute)
	tr := newTraffic(t, base)
	h := newHooks(t)
	rem := &remediator{}
	def := Definition{
		Name:   "throttles",
		Metric: &MetricSpec{Name: "InvocationThrottles", Dimensions: map[string]string{"ModelId": "m"}, Statistic: "Sum"},
		Period: time.Minute, EvaluationPeriods: 1, Threshold: f(10), ComparisonOperator: GreaterThanThreshold,
		TreatMissingData: MissingNotBreaching,
		Actions:          Actions{AlarmWebhooks: []string{h.srv.URL + "/alarm"}, OKWebhooks: []string{h.srv.URL + "/ok"}, Rollback: "m"},
	}
	statePath := filepath.Join(t.TempDir(), "alarms", "state.json")
	opts := Options{Querier: tr.store, Now: tr.clk.Now, Remediator: rem, AccountID: "123456789012", Region: "us-east-1", StatePath: statePath, Registerer: prometheus.NewRegistry()}
	e, err := New([]Definition{def}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	state := func() Status { return e.Snapshot()[0] }

	tr.advance(t, base.Add(3*time.Minute))
	e.Evaluate(ctx, tr.clk.Now())
	if s := state(); s.State != StateOK {
		t.Fatalf("quiet traffic: state %s (%s), want OK", s.State, s.StateReason)
	}

	tr.advance(t, base.Add(3*time.Minute+15*time.Second))
	tr.throttles.WithLabelValues("m", "Converse").Add(30)
	tr.advance(t, base.Add(4*time.Minute))
	e.Evaluate(ctx, tr.clk.Now())
	s := state()
	if s.State != StateAlarm {
		t.Fatalf("30 throttles: state %s (%s), want ALARM", s.State, s.StateReason)
	}
	dp := s.Datapoints[len(s.Datapoints)-1]
	wantReason := "Threshold Crossed: 1 out of the last 1 datapoints [" + FormatNumber(dp.Value) + " (" + base.Add(3*time.Minute).Format("02/01/06 15:04:05") +
		")] was greater than the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
	if s.StateReason != wantReason {
		t.Errorf("reason\n got %s\nwant %s", s.StateReason, wantReason)
	}
	if got := rem.Calls(); !slices.Equal(got, []string{"m on throttles"}) {
		t.Errorf("rollbacks after ALARM: %v", got)
	}

	// A restart keeps the state and applies the rollback again.
	rem2 := &remediator{}
	opts2 := opts
	opts2.Remediator, opts2.Registerer = rem2, nil
	e2, err := New([]Definition{def}, opts2)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := e2.Snapshot()[0]; s2.State != StateAlarm || s2.StateReason != wantReason || len(s2.History) != 2 {
		t.Errorf("after restart: %s %q, %d transitions", s2.State, s2.StateReason, len(s2.History))
	}
	if got := rem2.Calls(); !slices.Equal(got, []string{"m on throttles"}) {
		t.Errorf("rollbacks after restart: %v", got)
	}

	tr.advance(t, base.Add(5*time.Minute))
	e.Evaluate(ctx, tr.clk.Now())
	if s := state(); s.State != StateOK || !strings.Contains(s.StateReason, "was not greater than the threshold (10.0) (minimum 1 datapoint for ALARM -> OK transition).") {
		t.Fatalf("after the burst: state %s (%s), want OK", s.State, s.StateReason)
	}
	e.Evaluate(ctx, tr.clk.Now()) // no change, no action
	if got := rem.Calls(); !slices.Equal(got, []string{"m on throttles", "m off throttles"}) {
		t.Errorf("rollbacks: %v", got)
	}
	if hs := state().History; len(hs) != 3 || hs[0].NewState != StateOK || hs[1].NewState != StateAlarm || hs[2].OldState != StateAlarm {
		t.Errorf("history: %+v", hs)
	}

	envs := h.Envelopes()
	if len(envs) != 3 {
		t.Fatalf("webhooks received %d notifications, want 3 (OK, ALARM, OK)", len(envs))
	}
	env := envs[1]
	if env.Type != "Notification" || env.Subject != `ALARM: "throttles" in US East (N. Virginia)` ||
		env.TopicArn != "arn:aws:sns:us-east-1:123456789012:modelwatch-alarms" || env.MessageID == "" {
		t.Errorf("envelope %+v", env)
	}
	if h.hdrs[1].Get("x-amz-sns-message-type") != "Notification" {
		t.Errorf("headers %v", h.hdrs[1])
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(env.Message), &raw); err != nil {
		t.Fatal(err)
	}
	stateTime := base.Add(4 * time.Minute).Format(TimeFormat)
	for k, want := range map[string]any{
		"AlarmName": "throttles", "AlarmDescription": nil, "AWSAccountId": "123456789012",
		"AlarmConfigurationUpdatedTimestamp": base.Format(TimeFormat),
		"NewStateValue":                      "ALARM", "OldStateValue": "OK", "NewStateReason": wantReason,
		"StateChangeTime": stateTime, "Region": "US East (N. Virginia)",
		"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:throttles",
	} {
		if got, ok := raw[k]; !ok || got != want {
			t.Errorf("Message.%s = %#v, want %#v", k, got, want)
		}
	}
	trig, _ := json.Marshal(raw["Trigger"])
	wantTrig := `{"ComparisonOperator":"GreaterThanThreshold","DatapointsToAlarm":1,"Dimensions":[{"name":"ModelId","value":"m"}],"EvaluateLowSampleCountPercentile":"","EvaluationPeriods":1,"MetricName":"InvocationThrottles","Namespace":"AWS/Bedrock","Period":60,"Statistic":"SUM","StatisticType":"Statistic","Threshold":10,"TreatMissingData":"notBreaching","Unit":null}`
	if string(trig) != wantTrig {
		t.Errorf("Trigger\n got %s\nwant %s", trig, wantTrig)
	}
	for k, want := range map[string]string{"AlarmActions": h.srv.URL + "/alarm", "OKActions": h.srv.URL + "/ok"} {
		if a, _ := raw[k].([]any); len(a) != 1 || a[0] != want {
			t.Errorf("Message.%s = %v", k, raw[k])
		}
	}
	if a, ok := raw["InsufficientDataActions"].([]any); !ok || len(a) != 0 {
		t.Errorf("InsufficientDataActions = %#v, want []", raw["InsufficientDataActions"])
	}
}

func TestReplaceKeepsUnchangedAlarmsAndResetsChangedOnes(t *testing.T) {
	q := &fakeQuerier{value: func(time.Time) (float64, bool) { return 20, true }}
	rem := &remediator{}
	a, b := throttleAlarm(), throttleAlarm()
	b.Name = "other"
	b.Actions.Rollback = ""
	e, err := New([]Definition{a, b}, Options{Querier: q, Remediator: rem, Notify: func(context.Context, string, Message) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.Evaluate(context.Background(), t0)
	for _, s := range e.Snapshot() {
		if s.State != StateAlarm {
			t.Fatalf("%s: %s (%s)", s.Name, s.State, s.StateReason)
		}
	}
	changed := b
	changed.Threshold = f(50)
	if err := e.Replace([]Definition{changed, a}); err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, s := range e.Snapshot() {
		got[s.Name] = s
	}
	if got[a.Name].State != StateAlarm {
		t.Errorf("unchanged alarm: %s", got[a.Name].State)
	}
	if got["other"].State != StateInsufficientData || len(got["other"].History) != 1 {
		t.Errorf("changed alarm: %s, %d transitions", got["other"].State, len(got["other"].History))
	}
	if err := e.Replace(nil); err != nil {
		t.Fatal(err)
	}
	if calls := rem.Calls(); !slices.Equal(calls, []string{a.Actions.Rollback + " on " + a.Name, a.Actions.Rollback + " off " + a.Name}) {
		t.Errorf("removing an alarm in ALARM undoes its rollback: %v", calls)
	}
}

func TestEvaluationErrorKeepsState(t *testing.T) {
	q := &fakeQuerier{value: func(time.Time) (float64, bool) { return 20, true }}
	e, err := New([]Definition{throttleAlarm()}, Options{Querier: q, Notify: func(context.Context, string, Message) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.Evaluate(context.Background(), t0)
	q.fail = true
	e.Evaluate(context.Background(), t0.Add(time.Minute))
	if s := e.Snapshot()[0]; s.State != StateAlarm || s.LastError == "" {
		t.Errorf("state %s, error %q", s.State, s.LastError)
	}
}

func TestEvaluationIntervalFollowsCloudWatch(t *testing.T) {
	for _, tc := range []struct{ p, want time.Duration }{{10 * time.Second, 10 * time.Second}, {30 * time.Second, 10 * time.Second}, {time.Minute, time.Minute}, {5 * time.Minute, time.Minute}} {
		if got := EvaluationInterval(tc.p); got != tc.want {
			t.Errorf("EvaluationInterval(%s) = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := evaluationRange(3); got != 5 {
		t.Errorf("evaluation range for N=3: %d, want 5", got)
	}
}
