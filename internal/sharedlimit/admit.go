package sharedlimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// Ticket is an admitted call's hold on the quotas and budgets it matched,
// until Settle. A nil Ticket (nothing matched) may be settled.
type Ticket struct {
	l        *Limits
	id       string
	shared   bool
	reserved int64
	admitDay int64
	quotas   []quotaRef
	budgets  []budgetRef
	qres     *quota.Reservation // local mode
	bhold    *budget.Hold       // local mode
	done     atomic.Bool
}

type quotaRef struct {
	r      *ruleCfg
	mk, dk string
}

type budgetRef struct {
	b          *budgetCfg
	start, end time.Time // admission period
	amount     int64     // held (hard limits)
	hard       bool
}

// op is one settlement (or reconciliation batch) ready to run: a retry
// runs the same script with the same marker, so it applies exactly once.
type op struct {
	keys []string
	args []any
}

// Admit admits a call on every quota rule and active budget it matches,
// in one Redis round trip, or refuses it: *quota.Exceeded (the longest
// RetryAfter of the refusing rules), *budget.Exceeded (the first refusing
// hard-limit budget), or, while Redis is unreachable with OnUnavailable
// "closed", *Unavailable. It is all-or-nothing. It returns (nil, nil) when
// nothing matches.
func (l *Limits) Admit(ctx context.Context, a Admission) (*Ticket, error) {
	cfg := l.cfg.Load()
	now := l.now()
	t := &Ticket{l: l, reserved: max(a.QuotaTokens, 0)}
	for i := range cfg.rules {
		r := &cfg.rules[i]
		if r.rule.Matches(a.Key) {
			mk, dk := r.keys(a.Key)
			t.quotas = append(t.quotas, quotaRef{r: r, mk: mk, dk: dk})
		}
	}
	for i := range cfg.budgets {
		b := &cfg.budgets[i]
		if !b.def.Filter.Matches(&a.Call) {
			continue
		}
		start, end, active := budget.PeriodAt(&b.def, now)
		if !active {
			continue
		}
		ref := budgetRef{b: b, start: start, end: end, hard: b.def.HardLimit}
		if ref.hard {
			if b.def.Type == budget.TypeCost {
				if a.USDKnown {
					ref.amount = budget.ToUnits(budget.TypeCost, a.USD)
				}
			} else {
				ref.amount = max(a.BudgetTokens, 0)
			}
		}
		t.budgets = append(t.budgets, ref)
	}
	if len(t.quotas) == 0 && len(t.budgets) == 0 {
		return nil, nil
	}
	if !l.down.Load() {
		err := l.admitShared(ctx, t, a)
		if err == nil {
			return t, nil
		}
		var qe *quota.Exceeded
		var be *budget.Exceeded
		if errors.As(err, &qe) || errors.As(err, &be) || !isOutage(ctx, err) {
			return nil, err
		}
		l.markDown(err)
		// The script may have run before the connection failed: cancel
		// it (a no-op if it did not).
		l.enqueue(t.cancelOp())
	}
	if l.opts.OnUnavailable == ModeClosed {
		return nil, &Unavailable{RetryAfter: time.Second, cause: errors.New("shared counters unavailable")}
	}
	return l.admitLocal(t, a)
}

// admitShared runs the admission script.
func (l *Limits) admitShared(ctx context.Context, t *Ticket, a Admission) error {
	t.id = l.idBase + strconv.FormatUint(l.nextID.Add(1), 36)
	nHard := 0
	for _, b := range t.budgets {
		if b.hard {
			nHard++
		}
	}
	keys := make([]string, 0, 1+2*len(t.quotas)+2*nHard)
	args := make([]any, 0, 5+3*len(t.quotas)+4*nHard)
	keys = append(keys, l.base+"t:"+t.id)
	args = append(args, t.id, t.reserved, len(t.quotas), nHard, markerTTL.Milliseconds())
	for _, q := range t.quotas {
		keys = append(keys, q.mk, q.dk)
		args = append(args, q.r.rule.RequestsPerMinute, q.r.rule.TokensPerMinute, q.r.rule.TokensPerDay)
	}
	hard := make([]*budgetRef, 0, nHard)
	for i := range t.budgets {
		b := &t.budgets[i]
		if !b.hard {
			continue
		}
		hard = append(hard, b)
		pk := b.b.periodKey(b.start)
		keys = append(keys, pk, pk+":holds")
		args = append(args, b.b.limit, strconv.FormatInt(b.amount, 10), l.holdTTL.Milliseconds(), expireAt(b.start, b.end))
	}
	res, err := admitScript.Run(ctx, l.client, keys, args...).Slice()
	if err != nil {
		return err
	}
	code, _ := res[0].(int64)
	switch code {
	case 0:
		sec, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
		t.admitDay = sec / 86400
		t.shared = true
		for _, q := range t.quotas {
			l.m.admitted.WithLabelValues(q.r.rule.Name).Inc()
		}
		return nil
	case 1:
		kind, window, limit, retry, big, idx := toInt(res[1]), toInt(res[2]), toInt(res[3]), toInt(res[4]), toInt(res[5]), toInt(res[6])
		e := &quota.Exceeded{Rule: t.quotas[idx-1].r.rule.Name, Kind: quota.KindRequests, Limit: limit, Window: "minute",
			RetryAfter: quota.RetryAfter(time.Duration(retry) * time.Microsecond), TooLarge: big == 1, Requested: t.reserved}
		if kind == 2 {
			e.Kind = quota.KindTokens
		}
		if window == 2 {
			e.Window = "day"
		}
		l.m.throttles.WithLabelValues(e.Rule, e.Kind).Inc()
		return e
	case 2:
		b := hard[toInt(res[1])-1]
		actual, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
		held, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64)
		l.m.refusals.WithLabelValues(b.b.def.Name).Inc()
		return budget.NewExceeded(b.b.def, a.Call, budget.PeriodSpend{Start: b.start, End: b.end, Active: true, Actual: actual, Held: held}, b.amount)
	}
	return fmt.Errorf("sharedlimit: unexpected admission answer %v", res)
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// admitLocal admits against this replica's own counters.
func (l *Limits) admitLocal(t *Ticket, a Admission) (*Ticket, error) {
	l.repMu.Lock() // consistent with Replace of the local counters
	defer l.repMu.Unlock()
	q, err := l.localQ.Reserve(a.Key, a.QuotaTokens)
	if err != nil {
		var qe *quota.Exceeded
		if errors.As(err, &qe) {
			l.m.throttles.WithLabelValues(qe.Rule, qe.Kind).Inc()
		}
		return nil, err
	}
	h, err := l.localB.Reserve(a.Call, a.USD, a.USDKnown, a.BudgetTokens)
	if err != nil {
		q.Settle(0)
		var be *budget.Exceeded
		if errors.As(err, &be) {
			l.m.refusals.WithLabelValues(be.Budget).Inc()
		}
		return nil, err
	}
	for _, q := range t.quotas {
		l.m.admitted.WithLabelValues(q.r.rule.Name).Inc()
	}
	t.qres, t.bhold = q, h
	return t, nil
}

// Settle records what the call used: quotaTokens (quota.QuotaTokens),
// its cost usd when priced, and tokens (budget.UsageTokens). Quota
// reservations are refunded or charged the difference, as
// quota.Reservation.Settle does, and budget holds become actual spend in
// the period current now, as budget.Hold.Settle does. It never waits for
// Redis: the settlement is queued, retried, and kept until Redis answers
// when it cannot be applied now. Idempotent; a nil Ticket is a no-op.
func (t *Ticket) Settle(quotaTokens int64, usd float64, priced bool, tokens int64) {
	if t == nil || !t.done.CompareAndSwap(false, true) {
		return
	}
	l := t.l
	now := l.now()
	if !t.shared {
		t.qres.Settle(quotaTokens)
		t.bhold.Settle(usd, priced, tokens)
		l.aggregate(t, max(quotaTokens, 0), usd, priced, tokens, now)
		return
	}
	l.enqueue(t.settleOp(max(quotaTokens, 0), usd, priced, tokens, now, false))
}

// spendOf is what a settled call adds to budget b: units, unpriced count.
func spendOf(b *budgetCfg, usd float64, priced bool, tokens int64) (int64, int64) {
	if b.def.Type == budget.TypeCost {
		if priced {
			return budget.ToUnits(budget.TypeCost, usd), 0
		}
		return 0, 1
	}
	return max(tokens, 0), 0
}

// settleOp is the settlement script's call for t; cancel releases an
// admission that may or may not have happened, adding nothing.
func (t *Ticket) settleOp(used int64, usd float64, priced bool, tokens int64, now time.Time, cancel bool) *op {
	l := t.l
	o := &op{keys: make([]string, 0, 1+2*len(t.quotas)+3*len(t.budgets)),
		args: make([]any, 0, 6+3*len(t.quotas)+5*len(t.budgets))}
	o.keys = append(o.keys, l.base+"t:"+t.id)
	o.args = append(o.args, t.id, t.reserved, t.admitDay, len(t.quotas), len(t.budgets), markerTTL.Milliseconds())
	for _, q := range t.quotas {
		o.keys = append(o.keys, q.mk, q.dk)
		o.args = append(o.args, q.r.rule.TokensPerMinute, q.r.rule.TokensPerDay, used)
	}
	for _, b := range t.budgets {
		hk := b.b.periodKey(b.start)
		start, end, active := budget.PeriodAt(&b.b.def, now)
		amt, unpriced := spendOf(b.b, usd, priced, tokens)
		act := "1"
		if !active || cancel {
			act = "0"
		}
		o.keys = append(o.keys, hk, hk+":holds", b.b.periodKey(start))
		o.args = append(o.args, strconv.FormatInt(amt, 10), unpriced, 1, act, expireAt(start, end))
	}
	return o
}

func (t *Ticket) cancelOp() *op {
	return t.settleOp(0, 0, false, 0, t.l.now(), true)
}

// enqueue hands o to a worker, or to the backlog when the queue is full
// or Limits is closed.
func (l *Limits) enqueue(o *op) {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if !l.closed {
		select {
		case l.queue <- o:
			return
		default:
		}
	}
	l.toBacklog(o)
}

func (l *Limits) toBacklog(ops ...*op) {
	l.backMu.Lock()
	l.backlog = append(l.backlog, ops...)
	n := len(l.backlog)
	l.backMu.Unlock()
	l.m.pending.Set(float64(n))
}

// worker applies queued settlements, retrying briefly; what fails goes
// to the backlog, which the probe applies once Redis answers.
func (l *Limits) worker() {
	defer l.wg.Done()
	for o := range l.queue {
		if l.down.Load() {
			l.toBacklog(o)
			continue
		}
		var err error
		for attempt := range settleAttempts {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
			}
			if err = l.run(o); err == nil {
				break
			}
		}
		if err != nil {
			l.markDown(err)
			l.toBacklog(o)
		}
	}
}

func (l *Limits) run(o *op) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return settleScript.Run(ctx, l.client, o.keys, o.args...).Err()
}

// aggEntry accumulates what this replica admitted and settled on its own
// counters while Redis was unreachable, per Redis key, to add to the
// shared counters when Redis answers again.
type aggEntry struct {
	quota    bool
	mk, dk   string // quota: tokens per day
	tpd      int64
	used     int64
	hk       string // budget period hash
	exp      string
	amount   int64
	unpriced int64
	calls    int64
}

// aggregate records a locally settled ticket for reconciliation: tokens
// per day on the rules that count them and spend on the budgets active
// now. Per-minute buckets are not reconciled (they refill within a
// minute anyway).
func (l *Limits) aggregate(t *Ticket, used int64, usd float64, priced bool, tokens int64, now time.Time) {
	l.backMu.Lock()
	defer l.backMu.Unlock()
	for _, q := range t.quotas {
		if q.r.rule.TokensPerDay <= 0 || used == 0 {
			continue
		}
		e := l.agg[q.dk]
		if e == nil {
			e = &aggEntry{quota: true, mk: q.mk, dk: q.dk, tpd: q.r.rule.TokensPerDay}
			l.agg[q.dk] = e
		}
		e.used += used
	}
	for _, b := range t.budgets {
		start, end, active := budget.PeriodAt(&b.b.def, now)
		if !active {
			continue
		}
		hk := b.b.periodKey(start)
		e := l.agg[hk]
		if e == nil {
			e = &aggEntry{hk: hk, exp: expireAt(start, end)}
			l.agg[hk] = e
		}
		amt, unpriced := spendOf(b.b, usd, priced, tokens)
		e.amount += amt
		e.unpriced += unpriced
		e.calls++
	}
}

// takeAggregate turns the accumulated local spend into reconciliation
// ops (each with its own marker, so a retry applies it once) on the
// backlog.
func (l *Limits) takeAggregate() {
	l.backMu.Lock()
	if len(l.agg) == 0 {
		l.backMu.Unlock()
		return
	}
	entries := make([]*aggEntry, 0, len(l.agg))
	for _, e := range l.agg {
		entries = append(entries, e)
	}
	l.agg = map[string]*aggEntry{}
	l.backMu.Unlock()
	var ops []*op
	for len(entries) > 0 {
		n := min(len(entries), reconcileChunk)
		chunk := entries[:n]
		entries = entries[n:]
		var qs, bs []*aggEntry
		for _, e := range chunk {
			if e.quota {
				qs = append(qs, e)
			} else {
				bs = append(bs, e)
			}
		}
		id := l.idBase + "r" + strconv.FormatUint(l.nextID.Add(1), 36)
		o := &op{keys: []string{l.base + "t:" + id}, args: []any{id, 0, 0, len(qs), len(bs), markerTTL.Milliseconds()}}
		for _, e := range qs {
			o.keys = append(o.keys, e.mk, e.dk)
			o.args = append(o.args, 0, e.tpd, e.used)
		}
		for _, e := range bs {
			o.keys = append(o.keys, e.hk, e.hk+":holds", e.hk)
			o.args = append(o.args, strconv.FormatInt(e.amount, 10), e.unpriced, e.calls, "1", e.exp)
		}
		ops = append(ops, o)
	}
	l.toBacklog(ops...)
}

// flush applies the backlog (and the local spend, turned into
// reconciliation ops) in order; it stops at the first failure, keeping
// the rest. It reports whether everything was applied.
func (l *Limits) flush() bool {
	l.takeAggregate()
	l.backMu.Lock()
	ops := l.backlog
	l.backlog = nil
	l.backMu.Unlock()
	for i, o := range ops {
		if err := l.run(o); err != nil {
			l.markDown(err)
			l.backMu.Lock()
			l.backlog = append(ops[i:], l.backlog...)
			n := len(l.backlog)
			l.backMu.Unlock()
			l.m.pending.Set(float64(n))
			return false
		}
	}
	l.backMu.Lock()
	n := len(l.backlog)
	l.backMu.Unlock()
	l.m.pending.Set(float64(n))
	return n == 0
}

// probe checks Redis every probeEvery while it is unreachable, applies
// what is pending when it answers, then switches back to shared counters;
// while Redis is up it applies whatever is pending.
func (l *Limits) probe() {
	defer l.wg.Done()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	ticks := 0
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		if l.down.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := l.client.Ping(ctx).Err()
			cancel()
			if err != nil {
				l.m.unavailable.Inc()
				continue
			}
			if l.flush() {
				l.markUp()
			}
			continue
		}
		l.backMu.Lock()
		pending := len(l.backlog) + len(l.agg)
		l.backMu.Unlock()
		if pending > 0 {
			l.flush()
		}
		if ticks%seedEvery == 0 {
			l.refreshSeeds()
		}
		ticks++
	}
}

// seed is a hard-limit budget's last known shared totals.
type seed struct {
	start                  time.Time
	spent, unpriced, calls int64
}

// seedEvery is how many probe ticks (while Redis answers) pass between
// readings of the hard-limit budgets' totals.
const seedEvery = 4

// refreshSeeds reads the hard-limit budgets' current totals, so that a
// fall back to local counters starts from them rather than from zero.
func (l *Limits) refreshSeeds() {
	cfg := l.cfg.Load()
	now := l.now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pipe := l.client.Pipeline()
	type read struct {
		name  string
		start time.Time
		cmd   *redis.SliceCmd
	}
	var reads []read
	for i := range cfg.budgets {
		b := &cfg.budgets[i]
		if !b.def.HardLimit {
			continue
		}
		start, _, active := budget.PeriodAt(&b.def, now)
		if !active {
			continue
		}
		reads = append(reads, read{b.def.Name, start, pipe.HMGet(ctx, b.periodKey(start), "a", "h", "u", "c")})
	}
	if len(reads) == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return // the next admission or settlement notices
	}
	seeds := make(map[string]seed, len(reads))
	for _, r := range reads {
		v := r.cmd.Val()
		if len(v) != 4 {
			continue
		}
		n := func(x any) int64 { s, _ := x.(string); i, _ := strconv.ParseInt(s, 10, 64); return i }
		seeds[r.name] = seed{start: r.start, spent: n(v[0]) + max(n(v[1]), 0), unpriced: n(v[2]), calls: n(v[3])}
	}
	l.seeds.Store(&seeds)
}

// seedLocal starts the local tracker's hard-limit budgets from the last
// known shared totals (spend plus what calls in flight held).
func (l *Limits) seedLocal() {
	p := l.seeds.Load()
	if p == nil {
		return
	}
	for name, s := range *p {
		l.localB.Seed(name, s.start, s.spent, s.unpriced, s.calls)
	}
}

// Close stops the workers and the probe after applying every queued
// settlement it can; it returns an error naming how many could not be
// applied (Redis unreachable). Tickets settled after Close are kept in
// the backlog and are lost with the process.
func (l *Limits) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.queue)
	l.closeMu.Unlock()
	close(l.stop)
	l.wg.Wait()
	ok := l.flush()
	err := l.localB.Close()
	if !ok {
		l.backMu.Lock()
		n := len(l.backlog)
		l.backMu.Unlock()
		return errors.Join(err, fmt.Errorf("sharedlimit: %d settlements could not be applied: Redis is unreachable", n))
	}
	return err
}
