package budget

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/webhook"
)

// webhook is an httptest server recording SNS-style POSTs.
func webhookServer(t *testing.T, status func(n int) int) (*httptest.Server, chan Envelope) {
	got := make(chan Envelope, 16)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1))
		if r.Method != http.MethodPost || r.Header.Get("x-amz-sns-message-type") != "Notification" {
			t.Errorf("%s with headers %v", r.Method, r.Header)
		}
		b, _ := io.ReadAll(r.Body)
		if code := status(i); code != 200 {
			w.WriteHeader(code)
			return
		}
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			t.Error(err)
		}
		if env.MessageID != r.Header.Get("x-amz-sns-message-id") {
			t.Errorf("message id %q vs header %q", env.MessageID, r.Header.Get("x-amz-sns-message-id"))
		}
		got <- env
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func nextEnvelope(t *testing.T, ch chan Envelope) Envelope {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook POST")
		return Envelope{}
	}
}

func noEnvelope(t *testing.T, ch chan Envelope) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("unexpected POST %q", e.Subject)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestActualNotificationsFireAtExactThresholds(t *testing.T) {
	srv, posts := webhookServer(t, func(int) int { return 200 })
	c := newClock(dec7noon)
	d := cost("team-a-monthly", 100, Monthly)
	for _, th := range []float64{50, 80, 100} {
		d.Notifications = append(d.Notifications, Notification{Type: Actual, ComparisonOperator: GreaterThan, Threshold: th, Subscribers: Subscribers{Webhooks: []string{srv.URL}}})
	}
	tr := newTracker(t, c, Options{Notify: func(m Message) {
		if err := PostWebhooks(context.Background(), nil, "", m); err != nil {
			t.Error(err)
		}
	}}, d)
	steps := []struct {
		usd     float64
		subject string // "" for no notification
		text    string
	}{
		{50, "", ""}, // exactly 50 %: not greater than
		{0.01, "AWS Budgets: team-a-monthly has exceeded your alert threshold", "is greater than $50.00 (50% of $100.00)"},
		{29.99, "", ""}, // exactly 80 %
		{0.01, "AWS Budgets: team-a-monthly has exceeded your alert threshold", "ACTUAL Amount: $80.01"},
		{19.99, "", ""}, // exactly 100 %
		{0.01, "AWS Budgets: team-a-monthly has exceeded your alert threshold", "Alert Threshold: > $100.00 (100% of $100.00)"},
		{50, "", ""}, // each fires once per period
	}
	for i, st := range steps {
		spend(t, tr, alice, st.usd)
		if st.subject == "" {
			noEnvelope(t, posts)
			continue
		}
		env := nextEnvelope(t, posts)
		if env.Type != "Notification" || env.Subject != st.subject || !strings.Contains(env.Message, st.text) || env.Timestamp != "2026-12-07T12:00:00.000Z" {
			t.Fatalf("step %d: envelope %+v", i, env)
		}
	}
	s := status(t, tr, "team-a-monthly")
	for _, n := range s.Notifications {
		if n.State != StateAlarm || !n.FiredAt.Equal(dec7noon) {
			t.Fatalf("notification %+v", n)
		}
	}
	if v := tr.metrics.notifications.WithLabelValues("team-a-monthly", Actual); v == nil {
		t.Fatal("no notification counter")
	}
	// Next month: states reset, thresholds fire again.
	c.Set(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if s := status(t, tr, "team-a-monthly"); s.Notifications[0].State != StateOK {
		t.Fatalf("state after rollover %+v", s.Notifications[0])
	}
	spend(t, tr, alice, 60)
	if env := nextEnvelope(t, posts); !strings.Contains(env.Message, "ACTUAL Amount: $60.00") {
		t.Fatalf("january %+v", env)
	}
}

func TestForecastedNotificationFiresAtHundredPercent(t *testing.T) {
	n := make(notifications, 8)
	c := newClock(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)) // 1/24 of the day: no forecast
	d := cost("daily", 100, Daily)
	d.Notifications = []Notification{{Type: Forecasted, ComparisonOperator: GreaterThan, Threshold: 100}}
	tr := newTracker(t, c, Options{Notify: n.notify}, d)
	spend(t, tr, alice, 20) // run rate would be $480, but too early to forecast
	n.none(t)
	if s := status(t, tr, "daily"); s.ForecastAvailable {
		t.Fatalf("forecast before 10 %% of the period: %+v", s)
	}
	c.Set(dec7noon) // half the day: forecast = 2 × actual
	spend(t, tr, alice, 30)
	n.none(t) // forecast exactly $100
	spend(t, tr, alice, 0.01)
	m := n.next(t)
	if m.Notification.Type != Forecasted || m.Forecast < 100.019 || m.Forecast > 100.021 || !m.ForecastAvailable {
		t.Fatalf("message %+v", m)
	}
	if got := m.Subject(); got != "AWS Budgets: daily is forecasted to exceed your alert threshold" {
		t.Fatalf("subject %q", got)
	}
	if !strings.Contains(m.Text(), "FORECASTED Amount: $100.02") {
		t.Fatalf("text %s", m.Text())
	}
}

func TestActualLessThanFiresWhenPeriodClosesBelow(t *testing.T) {
	n := make(notifications, 8)
	c := newClock(dec7noon)
	d := cost("floor", 100, Daily)
	d.Notifications = []Notification{{Type: Actual, ComparisonOperator: LessThan, Threshold: 10, ThresholdType: AbsoluteValue}}
	tr := newTracker(t, c, Options{Notify: n.notify}, d)
	spend(t, tr, alice, 5)
	n.none(t)
	c.Advance(12 * time.Hour)
	tr.Snapshot()
	m := n.next(t)
	if m.Actual != 5 || !m.PeriodStart.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) || m.Subject() != "AWS Budgets: floor is below your alert threshold" {
		t.Fatalf("message %+v", m)
	}
}

func TestEqualToFiresWhenReached(t *testing.T) {
	n := make(notifications, 8)
	c := newClock(dec7noon)
	d := Definition{Name: "tok", Type: TypeUsage, Limit: 1000, TimeUnit: Monthly,
		Notifications: []Notification{{Type: Actual, ComparisonOperator: EqualTo, Threshold: 500, ThresholdType: AbsoluteValue}}}
	tr := newTracker(t, c, Options{Notify: n.notify}, d)
	for _, tok := range []int64{499, 1} {
		h, _ := tr.Reserve(alice, 0, false, tok)
		h.Settle(0, false, tok)
	}
	if m := n.next(t); m.Actual != 500 || !strings.Contains(m.Text(), "Alert Threshold: = 500 tokens") {
		t.Fatalf("message %+v\n%s", m, m.Text())
	}
}

func TestNotificationSentOncePerPeriodAcrossRestart(t *testing.T) {
	n := make(notifications, 8)
	c := newClock(dec7noon)
	path := filepath.Join(t.TempDir(), "state.json")
	d := cost("m", 10, Monthly)
	d.Notifications = []Notification{{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 50}}
	tr, err := New([]Definition{d}, Options{Now: c.Now, StatePath: path, Notify: n.notify})
	if err != nil {
		t.Fatal(err)
	}
	spend(t, tr, alice, 6)
	n.next(t)
	tr.Close()
	tr2, err := New([]Definition{d}, Options{Now: c.Now, StatePath: path, Notify: n.notify})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	spend(t, tr2, alice, 1)
	n.none(t)
	if s := status(t, tr2, "m"); s.Notifications[0].State != StateAlarm || s.Actual != 7 {
		t.Fatalf("after restart %+v", s)
	}
}

func TestPostWebhooksRetriesBounded(t *testing.T) {
	old := webhook.Backoff
	webhook.Backoff = func(int) time.Duration { return time.Millisecond }
	t.Cleanup(func() { webhook.Backoff = old })
	tests := []struct {
		name     string
		status   func(int) int
		wantErr  bool
		attempts int32
	}{
		{"retries 503 then succeeds", func(i int) int {
			if i < 3 {
				return 503
			}
			return 200
		}, false, 3},
		{"gives up after three attempts", func(int) int { return 500 }, true, 3},
		{"no retry on 400", func(int) int { return 400 }, true, 1},
		{"retries 429", func(i int) int {
			if i == 1 {
				return 429
			}
			return 200
		}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			srv, posts := webhookServer(t, func(i int) int { attempts.Store(int32(i)); return tt.status(i) })
			defer func() {
				if got := attempts.Load(); got != tt.attempts {
					t.Errorf("%d attempts, want %d", got, tt.attempts)
				}
			}()
			m := Message{BudgetName: "b", BudgetType: TypeCost, Limit: 1, Time: dec7noon,
				Notification: Notification{Type: Actual, ComparisonOperator: GreaterThan, Threshold: 80, Subscribers: Subscribers{Webhooks: []string{srv.URL}}}}
			err := PostWebhooks(context.Background(), srv.Client(), "arn:aws:sns:us-east-1:123456789012:budgets", m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr {
				if env := nextEnvelope(t, posts); env.TopicArn != "arn:aws:sns:us-east-1:123456789012:budgets" {
					t.Fatalf("envelope %+v", env)
				}
			}
		})
	}
}
