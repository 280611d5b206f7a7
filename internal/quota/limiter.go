package quota

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of refusal (Exceeded.Kind, the kind label of the throttle metric).
const (
	KindRequests = "requests"
	KindTokens   = "tokens"
)

// Bedrock's ThrottlingException texts.
const (
	msgRequests = "Too many requests, please wait before trying again."
	msgTokens   = "Too many tokens, please wait before trying again."
)

const (
	dayNs = int64(24 * time.Hour)
	// sweepEvery is how often (by the limiter's clock) idle counters are
	// dropped.
	sweepEvery = int64(time.Minute)
	// maxMatchCache bounds the per-Key cache of matching rules.
	maxMatchCache = 1 << 14
)

// Exceeded is the refusal of a call by a quota.
type Exceeded struct {
	// Rule is the name of the refusing rule.
	Rule string
	// Kind is KindRequests or KindTokens.
	Kind string
	// Limit is the refusing limit, per Window ("minute" or "day").
	Limit  int64
	Window string
	// RetryAfter is when the call could be admitted if nothing else were
	// admitted meanwhile and no reservation were refunded: whole seconds,
	// at least one.
	RetryAfter time.Duration
	// TooLarge is set when the call asked more tokens than the limit
	// itself: it can never be admitted (lower its max tokens). RetryAfter
	// is then the limit's whole window.
	TooLarge bool
	// Requested is the number of tokens the call asked to reserve.
	Requested int64
}

// Error implements error, for logs: it names the rule and the limit.
func (e *Exceeded) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("quota %q: the call reserves %d tokens, more than the whole limit of %d tokens per %s; lower its max tokens", e.Rule, e.Requested, e.Limit, e.Window)
	}
	return fmt.Sprintf("quota %q: %s per %s exceeded (limit %d); retry after %s", e.Rule, e.Kind, e.Window, e.Limit, e.RetryAfter)
}

// Message is Bedrock's caller-facing ThrottlingException text for the
// refusal.
func (e *Exceeded) Message() string {
	if e.Kind == KindRequests {
		return msgRequests
	}
	return msgTokens
}

// Options configure a Limiter.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Registerer receives the metrics; nil means none are registered.
	Registerer prometheus.Registerer
}

// Limiter admits calls against a set of rules. It is safe for concurrent
// use.
type Limiter struct {
	now     func() time.Time
	metrics *metrics
	set     atomic.Pointer[ruleSet]
	// replaceMu serializes Replace.
	replaceMu sync.Mutex
	// nextID numbers rules; counters are locked in rule-ID order.
	nextID    atomic.Uint64
	lastSweep atomic.Int64
}

// ruleSet is one configuration's rules.
type ruleSet struct {
	ordered []*rule // configuration order (Snapshot)
	byID    []*rule // lock order
	// matches caches, per Key, the counters (in lock order) of the rules
	// whose scope covers it.
	matches  sync.Map // Key → []hold
	nMatches atomic.Int64
}

// rule is a Rule with its counters.
type rule struct {
	Rule
	id  uint64
	per perMask

	counters sync.Map // Key (projected by per) → *counter

	admitted          prometheus.Counter
	reservedGauge     prometheus.Gauge
	throttledRequests prometheus.Counter
	throttledTokens   prometheus.Counter
}

// counter is the state of one (rule, key).
type counter struct {
	mu       sync.Mutex
	dead     bool // swept: look it up again
	requests bucket
	tokens   bucket
	day      int64 // UTC day number of dayUsed
	dayUsed  int64
	reserved int64 // tokens held by unsettled reservations
	inflight int64 // unsettled reservations
}

// New returns a Limiter enforcing rules (validated with ValidateRules).
func New(rules []Rule, opts Options) (*Limiter, error) {
	if err := ValidateRules(rules); err != nil {
		return nil, err
	}
	l := &Limiter{now: opts.Now}
	if l.now == nil {
		l.now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	l.metrics = m
	l.set.Store(l.build(rules, nil))
	return l, nil
}

// Replace swaps the rules atomically (configuration reload). A rule whose
// name and definition are unchanged keeps its counters; a changed rule
// starts afresh. Reservations made under the old rules settle against the
// old counters.
func (l *Limiter) Replace(rules []Rule) error {
	if err := ValidateRules(rules); err != nil {
		return err
	}
	l.replaceMu.Lock()
	defer l.replaceMu.Unlock()
	old := l.set.Load()
	l.set.Store(l.build(rules, old))
	kept := map[string]bool{}
	for _, r := range rules {
		kept[r.Name] = true
	}
	for _, r := range old.ordered {
		if !kept[r.Name] {
			l.metrics.forget(r.Name)
		}
	}
	return nil
}

// build makes the rule set of rules, reusing the unchanged rules of old.
func (l *Limiter) build(rules []Rule, old *ruleSet) *ruleSet {
	prev := map[string]*rule{}
	if old != nil {
		for _, r := range old.ordered {
			prev[r.Name] = r
		}
	}
	s := &ruleSet{}
	for _, def := range rules {
		per, _ := parsePer(def.Per) // validated
		if r := prev[def.Name]; r != nil && sameRule(r, def, per) {
			s.ordered = append(s.ordered, r)
			continue
		}
		r := &rule{Rule: def, id: l.nextID.Add(1), per: per}
		r.Per = slices.Clone(def.Per)
		l.metrics.bind(r)
		s.ordered = append(s.ordered, r)
	}
	s.byID = slices.Clone(s.ordered)
	slices.SortFunc(s.byID, func(a, b *rule) int { return int(a.id) - int(b.id) })
	return s
}

func sameRule(r *rule, def Rule, per perMask) bool {
	return r.Model == def.Model && r.Principal == def.Principal && r.Profile == def.Profile &&
		r.per == per && r.RequestsPerMinute == def.RequestsPerMinute &&
		r.TokensPerMinute == def.TokensPerMinute && r.TokensPerDay == def.TokensPerDay
}

// holds returns the counters of k under every rule covering it, in lock
// order. The answer is cached per Key; a cached counter may since have
// been swept (dead), and then fresh asks for a new answer.
func (s *ruleSet) holds(k Key, fresh bool) []hold {
	if !fresh {
		if v, ok := s.matches.Load(k); ok {
			return v.([]hold)
		}
	}
	var out []hold
	for _, r := range s.byID {
		if r.matches(k) {
			out = append(out, hold{r, r.counter(k)})
		}
	}
	if fresh {
		s.matches.Store(k, out)
	} else if s.nMatches.Load() < maxMatchCache {
		if _, loaded := s.matches.LoadOrStore(k, out); !loaded {
			s.nMatches.Add(1)
		}
	}
	return out
}

// counter returns the live counter of k under r, creating it.
func (r *rule) counter(k Key) *counter {
	k = r.per.key(k)
	if v, ok := r.counters.Load(k); ok {
		return v.(*counter)
	}
	v, _ := r.counters.LoadOrStore(k, &counter{})
	return v.(*counter)
}

// hold is a reservation's share in one (rule, key).
type hold struct {
	r *rule
	c *counter
}

// Reservation is an admitted call's hold on its quotas, until Settle.
type Reservation struct {
	tokens  int64
	day     int64
	now     func() time.Time
	settled atomic.Bool
	holds   []hold
	inline  [3]hold
}

// Reserve admits one call under k: it counts one request against every
// matching rule's requests per minute and reserves tokens (the call's
// worst case) against their tokens per minute and per day. It is
// all-or-nothing: when any matching rule refuses, nothing is held
// anywhere and the error is an *Exceeded, the one with the longest
// RetryAfter. When no rule matches, Reserve returns (nil, nil); Settle on
// nil does nothing. Negative tokens count as 0.
func (l *Limiter) Reserve(k Key, tokens int64) (*Reservation, error) {
	tokens = max(tokens, 0)
	t := l.now()
	now := t.UnixNano()
	l.maybeSweep(now)
	set := l.set.Load()
	holds := set.holds(k, false)
	if len(holds) == 0 {
		return nil, nil
	}
	for dead := true; dead; {
		dead = false
		for _, h := range holds {
			h.c.mu.Lock()
			dead = dead || h.c.dead
		}
		if dead {
			unlock(holds)
			holds = set.holds(k, true)
		}
	}
	res := &Reservation{tokens: tokens, day: dayOf(now), now: l.now}
	res.holds = append(res.inline[:0], holds...)
	var refusal *Exceeded
	for _, h := range res.holds {
		if e := h.c.check(h.r, now, res.day, tokens); e != nil && (refusal == nil || e.RetryAfter > refusal.RetryAfter) {
			refusal = e
		}
	}
	if refusal != nil {
		unlock(res.holds)
		for _, h := range res.holds {
			if h.r.Name == refusal.Rule {
				h.r.throttled(refusal.Kind).Inc()
			}
		}
		return nil, refusal
	}
	for _, h := range res.holds {
		c := h.c
		if h.r.RequestsPerMinute > 0 {
			c.requests.add(1)
		}
		if h.r.TokensPerMinute > 0 {
			c.tokens.add(tokens)
		}
		if h.r.TokensPerDay > 0 {
			c.dayUsed += tokens
		}
		c.reserved += tokens
		c.inflight++
		c.mu.Unlock()
		h.r.admitted.Inc()
		h.r.reservedGauge.Add(float64(tokens))
	}
	return res, nil
}

func unlock(hs []hold) {
	for _, h := range hs {
		h.c.mu.Unlock()
	}
}

// check refreshes c to now and reports whether one more call of tokens
// fits every limit of r; c is locked.
func (c *counter) check(r *rule, now, day, tokens int64) *Exceeded {
	var refusal *Exceeded
	refuse := func(e *Exceeded) {
		e.Rule, e.Requested = r.Name, tokens
		e.RetryAfter = wholeSeconds(e.RetryAfter)
		if refusal == nil || e.RetryAfter > refusal.RetryAfter {
			refusal = e
		}
	}
	if lim := r.RequestsPerMinute; lim > 0 {
		c.requests.refill(now, lim)
		if w := c.requests.wait(1, lim); w > 0 {
			refuse(&Exceeded{Kind: KindRequests, Limit: lim, Window: "minute", RetryAfter: w})
		}
	}
	if lim := r.TokensPerMinute; lim > 0 {
		c.tokens.refill(now, lim)
		if tokens > lim {
			refuse(&Exceeded{Kind: KindTokens, Limit: lim, Window: "minute", RetryAfter: time.Minute, TooLarge: true})
		} else if w := c.tokens.wait(tokens, lim); w > 0 {
			refuse(&Exceeded{Kind: KindTokens, Limit: lim, Window: "minute", RetryAfter: w})
		}
	}
	if lim := r.TokensPerDay; lim > 0 {
		if c.day != day {
			c.day, c.dayUsed = day, 0
		}
		untilMidnight := time.Duration((day+1)*dayNs - now)
		if tokens > lim {
			refuse(&Exceeded{Kind: KindTokens, Limit: lim, Window: "day", RetryAfter: untilMidnight, TooLarge: true})
		} else if c.dayUsed+tokens > lim {
			refuse(&Exceeded{Kind: KindTokens, Limit: lim, Window: "day", RetryAfter: untilMidnight})
		}
	}
	return refusal
}

// Settle replaces the reservation with the quota tokens the call actually
// used (QuotaTokens): the difference is refunded, or the excess charged
// when the call used more than it reserved. The request stays counted. A
// call that failed before the model answered settles with 0. Settle is
// idempotent (only the first call counts), safe from any goroutine, and a
// no-op on a nil Reservation. A refund never lifts a counter above its
// capacity; a reservation made on an earlier UTC day refunds nothing from
// today's tokens per day but is charged any excess.
func (res *Reservation) Settle(used int64) {
	if res == nil || !res.settled.CompareAndSwap(false, true) {
		return
	}
	used = max(used, 0)
	delta := used - res.tokens
	now := res.now().UnixNano()
	day := dayOf(now)
	for _, h := range res.holds {
		c := h.c
		c.mu.Lock()
		if lim := h.r.TokensPerMinute; lim > 0 {
			c.tokens.refill(now, lim)
			c.tokens.add(delta)
		}
		if h.r.TokensPerDay > 0 {
			switch {
			case c.day == res.day && day == res.day:
				c.dayUsed = max(satAdd(c.dayUsed, delta), 0)
			case delta > 0:
				if c.day != day {
					c.day, c.dayUsed = day, 0
				}
				c.dayUsed = satAdd(c.dayUsed, delta)
			}
		}
		c.reserved -= res.tokens
		c.inflight--
		c.mu.Unlock()
		h.r.reservedGauge.Sub(float64(res.tokens))
	}
}

// Tokens is the number of tokens the reservation holds (0 for nil).
func (res *Reservation) Tokens() int64 {
	if res == nil {
		return 0
	}
	return res.tokens
}

// dayOf is the UTC day number of a unix-ns instant.
func dayOf(ns int64) int64 {
	d := ns / dayNs
	if ns < 0 && ns%dayNs != 0 {
		d--
	}
	return d
}

// Status is one (rule, key)'s usage, for the dashboard and the API. Key
// holds the dimensions the rule counts per; the others are empty.
type Status struct {
	Rule string `json:"rule"`
	Key
	RequestsPerMinute int64 `json:"requestsPerMinute"`
	TokensPerMinute   int64 `json:"tokensPerMinute"`
	TokensPerDay      int64 `json:"tokensPerDay"`
	// RequestsUsed and TokensUsed are what the per-minute buckets count
	// now (admitted and not yet refilled; reservations included).
	RequestsUsed int64 `json:"requestsUsed"`
	TokensUsed   int64 `json:"tokensUsed"`
	// TokensReserved is held by calls still in flight.
	TokensReserved int64 `json:"tokensReserved"`
	// TokensToday counts against tokens per day (this UTC day).
	TokensToday int64 `json:"tokensToday"`
}

// Snapshot returns every rule's usage per key, rules in configuration
// order and keys sorted. A rule with no counter yet appears once, with an
// empty Key and zero usage, so that every limit is listed.
func (l *Limiter) Snapshot() []Status {
	now := l.now().UnixNano()
	day := dayOf(now)
	var out []Status
	for _, r := range l.set.Load().ordered {
		start := len(out)
		r.counters.Range(func(k, v any) bool {
			c := v.(*counter)
			st := Status{Rule: r.Name, Key: k.(Key), RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, TokensPerDay: r.TokensPerDay}
			c.mu.Lock()
			dead := c.dead
			c.requests.refill(now, max(r.RequestsPerMinute, 1))
			c.tokens.refill(now, max(r.TokensPerMinute, 1))
			st.RequestsUsed, st.TokensUsed, st.TokensReserved = c.requests.used, c.tokens.used, c.reserved
			if c.day == day {
				st.TokensToday = c.dayUsed
			}
			c.mu.Unlock()
			if !dead {
				out = append(out, st)
			}
			return true
		})
		if len(out) == start {
			out = append(out, Status{Rule: r.Name, RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, TokensPerDay: r.TokensPerDay})
		}
		slices.SortFunc(out[start:], func(a, b Status) int {
			if c := compareStr(a.Model, b.Model); c != 0 {
				return c
			}
			if c := compareStr(a.Principal, b.Principal); c != 0 {
				return c
			}
			return compareStr(a.Profile, b.Profile)
		})
	}
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maybeSweep drops idle counters at most once per sweepEvery.
func (l *Limiter) maybeSweep(now int64) {
	last := l.lastSweep.Load()
	if now-last < sweepEvery || !l.lastSweep.CompareAndSwap(last, now) {
		return
	}
	l.sweep(now)
}

// sweep drops the counters that hold nothing: no call in flight, both
// per-minute buckets refilled, nothing counted today. Dropping them loses
// no state: a new counter would be identical.
func (l *Limiter) sweep(now int64) {
	day := dayOf(now)
	for _, r := range l.set.Load().ordered {
		r.counters.Range(func(k, v any) bool {
			c := v.(*counter)
			c.mu.Lock()
			c.requests.refill(now, max(r.RequestsPerMinute, 1))
			c.tokens.refill(now, max(r.TokensPerMinute, 1))
			if c.inflight == 0 && c.requests.used == 0 && c.tokens.used == 0 && (c.dayUsed == 0 || c.day != day) {
				c.dead = true
				r.counters.Delete(k)
			}
			c.mu.Unlock()
			return true
		})
	}
}
