package budget

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Options configure a Tracker.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// StatePath is a JSON file where spend per budget and period, and
	// which notifications fired, are persisted (write to a temporary file
	// then rename). It is loaded by New, written at most about once a
	// second when something changed, and on Close. Empty: no persistence.
	StatePath string
	// Notify is called in its own goroutine, never on the request path,
	// when a notification's threshold is crossed: once per notification
	// per period, across restarts when StatePath is set. Nil: only the
	// metric and Status record it.
	Notify func(Message)
	// Registerer receives the budget metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Logger logs persistence failures; slog.Default when nil.
	Logger *slog.Logger
}

// Tracker tracks spend against budgets. It is safe for concurrent use.
type Tracker struct {
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics

	mu      sync.Mutex
	budgets []*budget
	dirty   bool
	pending []Message

	writeMu sync.Mutex // serializes state file writes
	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
}

// budget is one definition's live state; guarded by Tracker.mu.
type budget struct {
	def     Definition
	key     string
	limit   int64 // nano-dollars or tokens
	removed bool  // dropped by Replace; late Settles are harmless

	start, end time.Time
	active     bool
	begun      bool // start/end hold a period

	actual   int64
	held     int64
	unpriced int64
	calls    int64
	refusals int64
	fired    []time.Time // per notification; zero: OK this period
	previous *PeriodTotals

	spendG    prometheus.Gauge
	forecastG *forecastGauge
	refusalsC prometheus.Counter
}

// New returns a Tracker for defs (validated with ValidateAll), restoring
// spend from Options.StatePath when the file exists. An unreadable state
// file is an error rather than a silent reset of every budget.
func New(defs []Definition, opts Options) (*Tracker, error) {
	if err := ValidateAll(defs); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	t := &Tracker{opts: opts, now: opts.Now, log: opts.Logger, metrics: m, stop: make(chan struct{}), done: make(chan struct{})}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	now := t.now()
	t.budgets = t.build(defs, nil, now)
	if opts.StatePath != "" {
		st, err := readState(opts.StatePath)
		if err != nil {
			return nil, err
		}
		t.restore(st, now)
	}
	t.mu.Lock()
	for _, b := range t.budgets {
		b.publish(now)
	}
	t.mu.Unlock()
	go t.loop()
	return t, nil
}

// build returns budgets for defs, reusing the state of old budgets with
// the same name and spend key. Called with t.mu held (or before start).
func (t *Tracker) build(defs []Definition, old []*budget, now time.Time) []*budget {
	byName := make(map[string]*budget, len(old))
	for _, b := range old {
		byName[b.def.Name] = b
	}
	out := make([]*budget, 0, len(defs))
	for i := range defs {
		d := defs[i]
		d.Notifications = append([]Notification(nil), d.Notifications...)
		key := d.spendKey()
		b := byName[d.Name]
		if b != nil && b.key == key {
			delete(byName, d.Name)
			prev := make(map[string]time.Time, len(b.fired))
			for j := range b.def.Notifications {
				if !b.fired[j].IsZero() {
					prev[b.def.Notifications[j].key()] = b.fired[j]
				}
			}
			b.def = d
			b.fired = make([]time.Time, len(d.Notifications))
			for j := range d.Notifications {
				b.fired[j] = prev[d.Notifications[j].key()]
			}
		} else {
			b = &budget{def: d, key: key, fired: make([]time.Time, len(d.Notifications))}
			b.start, b.end, b.active = periodAt(&b.def, now)
			b.begun = true
		}
		b.limit = toUnits(d.Type, d.Limit)
		t.metrics.bind(b)
		out = append(out, b)
	}
	for name, b := range byName {
		b.removed = true
		if !slices.ContainsFunc(defs, func(d Definition) bool { return d.Name == name }) {
			t.metrics.forget(name) // else the replacement owns the series
		}
	}
	return out
}

// Replace swaps the definitions (configuration reload). Budgets whose
// name, type, time unit, bounds and filter are unchanged keep their
// spend, holds and notification state; a changed limit, notification
// list or HardLimit applies at once.
func (t *Tracker) Replace(defs []Definition) error {
	if err := ValidateAll(defs); err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	t.budgets = t.build(defs, t.budgets, now)
	for _, b := range t.budgets {
		b.roll(t, now)
		b.evaluate(t, now)
		b.publish(now)
	}
	t.dirty = true
	msgs := t.takePending()
	t.mu.Unlock()
	t.dispatch(msgs)
	return nil
}

// Hold is the reservation of one admitted call on the budgets it matches.
// A nil Hold (no budget matched) may be settled.
type Hold struct {
	t     *Tracker
	done  bool
	n     int
	inl   [4]holdEntry
	extra []holdEntry
}

type holdEntry struct {
	b      *budget
	amount int64
}

func (h *Hold) add(e holdEntry) {
	if h.n < len(h.inl) {
		h.inl[h.n] = e
	} else {
		h.extra = append(h.extra, e)
	}
	h.n++
}

func (h *Hold) entry(i int) *holdEntry {
	if i < len(h.inl) {
		return &h.inl[i]
	}
	return &h.extra[i-len(h.inl)]
}

// Reserve admits a call against every active budget it matches, or
// refuses it with *Exceeded. usd is the call's worst-case cost (usdKnown
// false when the model is unpriced) and tokens its worst-case usage
// (input estimate + max output). For each matching HardLimit budget the
// worst case of the budget's type is held until Settle; the call is
// refused if actual + held + worst case would pass the limit. All
// budgets admit the call or none holds anything. An unpriced call holds
// nothing on a COST budget and is refused only once that budget is
// already used up. Returns nil, nil when no budget matches.
func (t *Tracker) Reserve(c Call, usd float64, usdKnown bool, tokens int64) (*Hold, error) {
	now := t.now()
	t.mu.Lock()
	var h *Hold
	var refusal *budget
	var refusalAmt int64
	for _, b := range t.budgets {
		if !b.def.Filter.match(&c) {
			continue
		}
		b.roll(t, now)
		if !b.active {
			continue
		}
		var amt int64
		if b.def.HardLimit {
			if b.def.Type == TypeCost {
				if usdKnown {
					amt = toUnits(TypeCost, usd)
				}
			} else {
				amt = max(tokens, 0)
			}
			used := b.actual + b.held
			if used+amt > b.limit || (amt == 0 && used >= b.limit) {
				if refusal == nil {
					refusal, refusalAmt = b, amt
				}
				continue
			}
		}
		if h == nil {
			h = &Hold{t: t}
		}
		h.add(holdEntry{b: b, amount: amt})
	}
	if refusal != nil {
		refusal.refusals++
		refusal.refusalsC.Inc()
		e := refusal.exceeded(&c, refusalAmt)
		msgs := t.takePending()
		t.mu.Unlock()
		t.dispatch(msgs)
		return nil, e
	}
	if h != nil {
		for i := 0; i < h.n; i++ {
			e := h.entry(i)
			e.b.held += e.amount
		}
	}
	msgs := t.takePending()
	t.mu.Unlock()
	t.dispatch(msgs)
	return h, nil
}

// Settle records the call's actual cost (usd when priced; an unpriced
// call adds nothing to COST budgets and increments their unpriced count)
// and tokens on each budget the call was admitted to, in the period
// current at settlement, and releases the holds. Idempotent; a nil Hold
// is a no-op.
func (h *Hold) Settle(usd float64, priced bool, tokens int64) {
	if h == nil {
		return
	}
	t := h.t
	now := t.now()
	t.mu.Lock()
	if h.done {
		t.mu.Unlock()
		return
	}
	h.done = true
	usdUnits := toUnits(TypeCost, usd)
	for i := 0; i < h.n; i++ {
		e := h.entry(i)
		b := e.b
		b.held -= e.amount
		b.roll(t, now)
		if !b.active {
			continue
		}
		if b.def.Type == TypeCost {
			if priced {
				b.actual += usdUnits
			} else {
				b.unpriced++
			}
		} else {
			b.actual += max(tokens, 0)
		}
		b.calls++
		if !b.removed {
			b.evaluate(t, now)
			b.publish(now)
		}
	}
	t.dirty = true
	msgs := t.takePending()
	t.mu.Unlock()
	t.dispatch(msgs)
}

// roll moves b to the period containing now. Leaving a period records
// its final numbers as previous, evaluates ACTUAL LESS_THAN
// notifications on them, and resets actual spend, counts and
// notification states; amounts held by calls in flight carry over.
func (b *budget) roll(t *Tracker, now time.Time) {
	if b.active && !now.Before(b.start) && now.Before(b.end) {
		return
	}
	s, e, a := periodAt(&b.def, now)
	if s.Equal(b.start) && e.Equal(b.end) {
		if b.active && !a && !now.Before(b.end) {
			b.close(t, now) // a CUSTOM period (or the End bound) ended
		}
		b.active = a
		return
	}
	if b.begun && (b.active || b.calls > 0) {
		b.close(t, now)
		b.previous = &PeriodTotals{Start: b.start, End: b.end, Actual: fromUnits(b.def.Type, b.actual), Unpriced: b.unpriced, Calls: b.calls}
	}
	b.start, b.end, b.active, b.begun = s, e, a, true
	b.actual, b.unpriced, b.calls = 0, 0, 0
	if !b.removed && b.spendG != nil {
		b.publish(now)
	}
	for i := range b.fired {
		b.fired[i] = time.Time{}
	}
}

// close evaluates ACTUAL LESS_THAN notifications at the end of a period.
func (b *budget) close(t *Tracker, now time.Time) {
	if b.removed {
		return
	}
	actual := fromUnits(b.def.Type, b.actual)
	for i := range b.def.Notifications {
		n := &b.def.Notifications[i]
		if n.Type != Actual || n.ComparisonOperator != LessThan || !b.fired[i].IsZero() {
			continue
		}
		if actual < b.threshold(n) {
			b.fire(t, i, actual, 0, false, now)
		}
	}
}

// threshold is n's threshold as an amount of the budget's type.
func (b *budget) threshold(n *Notification) float64 {
	if n.thresholdType() == AbsoluteValue {
		return n.Threshold
	}
	return b.def.Limit * n.Threshold / 100
}

// evaluate fires the notifications whose threshold is now crossed:
// GREATER_THAN when the amount is above the threshold, EQUAL_TO when it
// reaches it (spend moves in steps, so exact equality would mostly be
// stepped over), FORECASTED LESS_THAN when a forecast exists and is
// below. ACTUAL LESS_THAN is evaluated when the period closes.
func (b *budget) evaluate(t *Tracker, now time.Time) {
	if len(b.def.Notifications) == 0 {
		return
	}
	actual := fromUnits(b.def.Type, b.actual)
	fc, fok := forecast(actual, b.start, b.end, now)
	for i := range b.def.Notifications {
		if !b.fired[i].IsZero() {
			continue
		}
		n := &b.def.Notifications[i]
		v := actual
		if n.Type == Forecasted {
			if !fok {
				continue
			}
			v = fc
		} else if n.ComparisonOperator == LessThan {
			continue
		}
		th := b.threshold(n)
		var hit bool
		switch n.ComparisonOperator {
		case GreaterThan:
			hit = v > th
		case EqualTo:
			hit = v >= th
		case LessThan:
			hit = v < th
		}
		if hit {
			b.fire(t, i, actual, fc, fok, now)
		}
	}
}

func (b *budget) fire(t *Tracker, i int, actual, fc float64, fok bool, now time.Time) {
	n := b.def.Notifications[i]
	b.fired[i] = now
	t.dirty = true
	t.metrics.notifications.WithLabelValues(b.def.Name, n.Type).Inc()
	n.Subscribers.Webhooks = append([]string(nil), n.Subscribers.Webhooks...)
	t.pending = append(t.pending, Message{
		BudgetName:        b.def.Name,
		BudgetType:        b.def.Type,
		Notification:      n,
		ThresholdAmount:   b.threshold(&n),
		Actual:            actual,
		Forecast:          fc,
		ForecastAvailable: fok,
		Limit:             b.def.Limit,
		PeriodStart:       b.start,
		PeriodEnd:         b.end,
		TimeUnit:          b.def.TimeUnit,
		Time:              now.UTC(),
	})
}

// publish sets b's gauges.
func (b *budget) publish(now time.Time) {
	actual := fromUnits(b.def.Type, b.actual)
	b.spendG.Set(actual)
	if fc, ok := forecast(actual, b.start, b.end, now); ok && b.active {
		b.forecastG.Set(fc)
	} else {
		b.forecastG.Clear()
	}
}

func (t *Tracker) takePending() []Message {
	if len(t.pending) == 0 {
		return nil
	}
	m := t.pending
	t.pending = nil
	return m
}

// dispatch hands msgs to Options.Notify off the caller's goroutine.
func (t *Tracker) dispatch(msgs []Message) {
	if len(msgs) == 0 || t.opts.Notify == nil {
		return
	}
	go func() {
		for _, m := range msgs {
			t.opts.Notify(m)
		}
	}()
}

// PeriodTotals are a closed period's final numbers.
type PeriodTotals struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Actual   float64   `json:"actual"`
	Unpriced int64     `json:"unpriced"`
	Calls    int64     `json:"calls"`
}

// Status is a budget's state for the dashboard and API.
type Status struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Unit      string  `json:"unit"` // "USD" or "tokens"
	Limit     float64 `json:"limit"`
	HardLimit bool    `json:"hardLimit"`
	TimeUnit  string  `json:"timeUnit"`
	// Active is false outside the budget's Start/End bounds (a CUSTOM
	// period not yet begun or over): calls are then neither counted nor
	// refused.
	Active      bool      `json:"active"`
	PeriodStart time.Time `json:"periodStart"`
	PeriodEnd   time.Time `json:"periodEnd"`
	// Actual is the spend settled this period; Held is the worst case
	// held by calls in flight (HardLimit budgets only).
	Actual float64 `json:"actual"`
	Held   float64 `json:"held"`
	// Forecast is the run-rate forecast, when ForecastAvailable.
	Forecast          float64 `json:"forecast"`
	ForecastAvailable bool    `json:"forecastAvailable"`
	// Unpriced counts calls this period whose cost is unknown (COST
	// budgets): they are in Calls but added nothing to Actual.
	Unpriced int64 `json:"unpriced"`
	Calls    int64 `json:"calls"`
	// PercentUsed is 100 × Actual / Limit.
	PercentUsed float64 `json:"percentUsed"`
	// Refusals counts calls refused since start (HardLimit).
	Refusals      int64                `json:"refusals"`
	Notifications []NotificationStatus `json:"notifications,omitempty"`
	// Previous is the last closed period, if any.
	Previous *PeriodTotals `json:"previous,omitempty"`
}

// NotificationStatus is a notification's state in the current period.
type NotificationStatus struct {
	Notification
	// State is OK or ALARM.
	State string `json:"state"`
	// FiredAt is when it fired this period (zero when OK).
	FiredAt time.Time `json:"firedAt,omitzero"`
}

// Snapshot returns every budget's status in definition order.
func (t *Tracker) Snapshot() []Status {
	now := t.now()
	t.mu.Lock()
	out := make([]Status, 0, len(t.budgets))
	for _, b := range t.budgets {
		b.roll(t, now)
		actual := fromUnits(b.def.Type, b.actual)
		fc, fok := forecast(actual, b.start, b.end, now)
		s := Status{
			Name: b.def.Name, Type: b.def.Type, Unit: unitOf(b.def.Type), Limit: b.def.Limit,
			HardLimit: b.def.HardLimit, TimeUnit: b.def.TimeUnit, Active: b.active,
			PeriodStart: b.start, PeriodEnd: b.end,
			Actual: actual, Held: fromUnits(b.def.Type, b.held),
			Forecast: fc, ForecastAvailable: fok && b.active,
			Unpriced: b.unpriced, Calls: b.calls, Refusals: b.refusals,
			PercentUsed: 100 * actual / b.def.Limit,
		}
		if !s.ForecastAvailable {
			s.Forecast = 0
		}
		if b.previous != nil {
			p := *b.previous
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
		out = append(out, s)
	}
	msgs := t.takePending()
	t.mu.Unlock()
	t.dispatch(msgs)
	return out
}

func unitOf(typ string) string {
	if typ == TypeCost {
		return "USD"
	}
	return "tokens"
}

// Exceeded is the refusal of a call by a HardLimit budget.
type Exceeded struct {
	// Budget is the refusing budget's name and Type its type.
	Budget string
	Type   string
	// Limit, Actual, Held and Requested are amounts of the budget's type:
	// its limit, the spend settled this period, the worst case held by
	// calls in flight, and this call's worst case (0 when unpriced).
	Limit, Actual, Held, Requested float64
	// PeriodStart and PeriodEnd bound the current period; ResetAt is when
	// calls are admitted again (the period's end).
	PeriodStart, PeriodEnd, ResetAt time.Time
	// Principal and Model are the refused call's, named in the message
	// when the budget filters on them.
	Principal, Model string
	scope            string
}

func (b *budget) exceeded(c *Call, amt int64) *Exceeded {
	var scope strings.Builder
	scope.WriteString("calls")
	if len(b.def.Filter.Principals) > 0 {
		fmt.Fprintf(&scope, " by principal %s", c.Principal)
	}
	if len(b.def.Filter.Models) > 0 {
		fmt.Fprintf(&scope, " to model %s", c.Model)
	}
	if len(b.def.Filter.PrincipalTags)+len(b.def.Filter.RequestTags) > 0 {
		scope.WriteString(" with its tags")
	}
	if scope.Len() == len("calls") {
		scope.Reset()
		scope.WriteString("all calls it covers")
	}
	return &Exceeded{
		Budget: b.def.Name, Type: b.def.Type,
		Limit: b.def.Limit, Actual: fromUnits(b.def.Type, b.actual), Held: fromUnits(b.def.Type, b.held),
		Requested:   fromUnits(b.def.Type, amt),
		PeriodStart: b.start, PeriodEnd: b.end, ResetAt: b.end,
		Principal: c.Principal, Model: c.Model, scope: scope.String(),
	}
}

// Error is the caller-facing refusal, e.g. `Budget "team-a-monthly" has
// reached its limit of $100.00 for 2026-12-01 to 2026-12-31 (spent
// $99.98, $0.00 held by calls in progress; this call may cost up to
// $0.05); calls by principal alice are refused until
// 2027-01-01T00:00:00Z.`
func (e *Exceeded) Error() string {
	amt := func(v float64) string {
		if e.Type == TypeCost {
			return fmt.Sprintf("$%.2f", v)
		}
		return fmt.Sprintf("%.0f tokens", v)
	}
	call := ""
	if e.Requested > 0 {
		call = "; this call may use up to " + amt(e.Requested)
		if e.Type == TypeCost {
			call = "; this call may cost up to " + amt(e.Requested)
		}
	}
	return fmt.Sprintf("Budget %q has reached its limit of %s for %s (spent %s, %s held by calls in progress%s); %s are refused until %s.",
		e.Budget, amt(e.Limit), periodLabel(e.PeriodStart, e.PeriodEnd), amt(e.Actual), amt(e.Held), call,
		e.scope, e.ResetAt.UTC().Format(time.RFC3339))
}

// APIError is the refusal as the gateway reports it: a
// ServiceQuotaExceededException (HTTP 400: retrying will not help before
// the reset) carrying Error() as its message and RetryAfter until the
// period resets, for the doors that send Retry-After.
func (e *Exceeded) APIError(now time.Time) *apierror.Error {
	ae := &apierror.Error{Code: apierror.ServiceQuotaExceeded, Message: e.Error()}
	if d := e.ResetAt.Sub(now); d > 0 {
		ae.RetryAfter = d
	}
	return ae
}
