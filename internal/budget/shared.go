package budget

import (
	"sync"
	"time"
)

// This file exports what a tracker keeping its totals elsewhere (package
// sharedlimit, in Redis) needs to apply budgets exactly as Tracker does:
// filter matching, periods, units, the spend key, refusals, notification
// evaluation and Status. It does not change Tracker's behaviour; the
// helpers run Tracker's own code on a detached copy of a budget.

// MaxExactUnits is the largest amount (nano-dollars for COST budgets,
// tokens for USAGE) that a float64 — a Lua number in Redis scripts —
// holds exactly: 2^53, about $9.007 million per period for COST budgets.
const MaxExactUnits = 1 << 53

// Matches reports whether the filter selects c, as Tracker.Reserve
// decides it.
func (f *Filter) Matches(c *Call) bool { return f.match(c) }

// SpendKey identifies what the definition counts (type, time unit,
// bounds and filter): two definitions with the same name and SpendKey
// share their spend across Replace and restarts.
func (d *Definition) SpendKey() string { return d.spendKey() }

// LimitUnits is Limit in internal units: nano-dollars (COST) or tokens
// (USAGE).
func (d *Definition) LimitUnits() int64 { return toUnits(d.Type, d.Limit) }

// Key identifies the notification within its budget ("fired" state); it
// is stable across restarts and reloads that keep the notification.
func (n *Notification) Key() string { return n.key() }

// PeriodAt returns the budget period containing now and whether the
// budget is active then (inside its Start/End bounds).
func PeriodAt(d *Definition, now time.Time) (start, end time.Time, active bool) {
	return periodAt(d, now)
}

// ToUnits converts an amount of the budget type typ (USD or tokens) to
// internal units (nano-dollars or tokens), rounding and clamping at 0.
func ToUnits(typ string, v float64) int64 { return toUnits(typ, v) }

// FromUnits is the inverse of ToUnits.
func FromUnits(typ string, u int64) float64 { return fromUnits(typ, u) }

// Forecast is the run-rate forecast of a period with actual spend so far
// (an amount of the budget's type); ok is false until 10 % of the period
// has elapsed.
func Forecast(actual float64, start, end, now time.Time) (f float64, ok bool) {
	return forecast(actual, start, end, now)
}

// PeriodSpend is one budget period's totals in internal units, as kept
// outside a Tracker.
type PeriodSpend struct {
	// Start and End bound the period; Active says whether the budget is
	// active in it (PeriodAt).
	Start, End time.Time
	Active     bool
	// Actual is settled spend, Held the worst case held by calls in
	// flight (nano-dollars or tokens).
	Actual, Held int64
	// Unpriced and Calls count settled calls; Refusals refused ones.
	Unpriced, Calls, Refusals int64
}

var detachedOnce sync.Once
var detachedMetrics *metrics

// detached returns a budget carrying d and p, with a throwaway Tracker,
// so that the Tracker's own methods can run on shared totals. fired
// reports, per notification key, when it fired this period (zero: not).
func detached(d Definition, p PeriodSpend, fired func(key string) time.Time) (*Tracker, *budget) {
	detachedOnce.Do(func() { detachedMetrics, _ = newMetrics(nil) })
	t := &Tracker{metrics: detachedMetrics, now: time.Now}
	d.Notifications = append([]Notification(nil), d.Notifications...)
	b := &budget{def: d, key: d.spendKey(), limit: toUnits(d.Type, d.Limit),
		start: p.Start, end: p.End, active: p.Active, begun: true,
		actual: p.Actual, held: p.Held, unpriced: p.Unpriced, calls: p.Calls, refusals: p.Refusals,
		fired: make([]time.Time, len(d.Notifications))}
	if fired != nil {
		for i := range d.Notifications {
			b.fired[i] = fired(d.Notifications[i].key())
		}
	}
	return t, b
}

// NewExceeded is the refusal Tracker.Reserve returns when the hard-limit
// budget d refuses call c of worst case amount (internal units) with the
// period's totals p: same fields, same caller-facing text.
func NewExceeded(d Definition, c Call, p PeriodSpend, amount int64) *Exceeded {
	_, b := detached(d, p, nil)
	return b.exceeded(&c, amount)
}

// EvaluateShared returns the notifications of d whose thresholds the
// period's totals p cross and that have not fired this period (fired
// reports, per Notification.Key, when one fired; zero: not yet), with
// exactly the Messages a Tracker would send. With closed set, p is a
// period that has ended and only ACTUAL LESS_THAN notifications are
// evaluated, as a Tracker does at rollover; otherwise GREATER_THAN,
// EQUAL_TO and FORECASTED LESS_THAN are. The caller records which fired
// (once per period across replicas) and delivers the messages.
func EvaluateShared(d Definition, p PeriodSpend, now time.Time, closed bool, fired func(key string) time.Time) []Message {
	t, b := detached(d, p, fired)
	if closed {
		b.close(t, now)
	} else {
		b.evaluate(t, now)
	}
	return t.pending
}

// SharedStatus is the Status a Tracker's Snapshot reports for budget d
// with the current period's totals p, the previous period prev (nil:
// none) and the notifications' fired times (fired may be nil).
func SharedStatus(d Definition, p PeriodSpend, prev *PeriodTotals, now time.Time, fired func(key string) time.Time) Status {
	_, b := detached(d, p, fired)
	actual := fromUnits(d.Type, b.actual)
	fc, fok := forecast(actual, b.start, b.end, now)
	s := Status{
		Name: d.Name, Type: d.Type, Unit: unitOf(d.Type), Limit: d.Limit,
		HardLimit: d.HardLimit, TimeUnit: d.TimeUnit, Active: b.active,
		PeriodStart: b.start, PeriodEnd: b.end,
		Actual: actual, Held: fromUnits(d.Type, b.held),
		Forecast: fc, ForecastAvailable: fok && b.active,
		Unpriced: b.unpriced, Calls: b.calls, Refusals: b.refusals,
		PercentUsed: 100 * actual / d.Limit,
	}
	if !s.ForecastAvailable {
		s.Forecast = 0
	}
	if prev != nil {
		p := *prev
		s.Previous = &p
	}
	for i, n := range b.def.Notifications {
		ns := NotificationStatus{Notification: n, State: StateOK, FiredAt: b.fired[i]}
		if ns.ThresholdType == "" {
			ns.ThresholdType = Percentage
		}
		if !b.fired[i].IsZero() {
			ns.State = StateAlarm
		}
		s.Notifications = append(s.Notifications, ns)
	}
	return s
}

// Seed sets the settled spend (actual, internal units), unpriced and call
// counts of budget name's period starting at start, replacing what the
// Tracker counted for it. It is for a Tracker standing in for shared
// totals (package sharedlimit falls back to one while Redis is
// unreachable): seeded with the cluster's last known totals, its hard
// limits admit only what is left. Notifications are not evaluated. It
// does nothing when there is no such budget or its current period starts
// elsewhere.
func (t *Tracker) Seed(name string, start time.Time, actual, unpriced, calls int64) {
	now := t.now()
	t.mu.Lock()
	for _, b := range t.budgets {
		if b.def.Name != name {
			continue
		}
		b.roll(t, now)
		if b.start.Equal(start) {
			b.actual, b.unpriced, b.calls = max(actual, 0), max(unpriced, 0), max(calls, 0)
			t.dirty = true
			b.publish(now)
		}
	}
	msgs := t.takePending() // a rollover's
	t.mu.Unlock()
	t.dispatch(msgs)
}
