package sharedlimit

import (
	"context"
	"math/bits"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

const minuteUs = uint64(60_000_000)

// refillAt is the Lua refill in Go: the bucket's consumption at now (µs).
func refillAt(used int64, frac uint64, last, now, limit int64) int64 {
	if used <= 0 || now <= last {
		return max(used, 0)
	}
	hi, lo := bits.Mul64(uint64(limit), uint64(now-last))
	var c uint64
	lo, c = bits.Add64(lo, frac, 0)
	hi += c
	if hi >= minuteUs {
		return 0
	}
	q, _ := bits.Div64(hi, lo, minuteUs)
	if q >= uint64(used) {
		return 0
	}
	return used - int64(q)
}

// scan lists the keys matching pattern on every master.
func (l *Limits) scan(ctx context.Context, pattern string) ([]string, error) {
	var keys []string
	one := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		return it.Err()
	}
	if cc, ok := l.client.(*redis.ClusterClient); ok {
		// All keys share one hash slot; ForEachMaster visits it too.
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			var ks []string
			it := c.Scan(ctx, 0, pattern, 1000).Iterator()
			for it.Next(ctx) {
				ks = append(ks, it.Val())
			}
			mu.Lock()
			keys = append(keys, ks...)
			mu.Unlock()
			return it.Err()
		})
		return keys, err
	}
	return keys, one(ctx, l.client)
}

// QuotaSnapshot returns every rule's usage per counter, read from Redis,
// in the shape and order of quota.Limiter.Snapshot. While Redis is
// unreachable it returns this replica's own counters.
func (l *Limits) QuotaSnapshot(ctx context.Context) []quota.Status {
	out, err := l.quotaSnapshot(ctx)
	if err != nil {
		if isOutage(ctx, err) {
			l.markDown(err)
		}
		return l.localQ.Snapshot()
	}
	return out
}

func (l *Limits) quotaSnapshot(ctx context.Context) ([]quota.Status, error) {
	cfg := l.cfg.Load()
	tm, err := l.client.Time(ctx).Result()
	if err != nil {
		return nil, err
	}
	now := tm.UnixMicro()
	today := tm.Unix() / 86400
	keys, err := l.scan(ctx, l.base+"q:*")
	if err != nil {
		return nil, err
	}
	type counter struct {
		st     quota.Status
		mk, dk string
	}
	byPrefix := map[string]int{}
	for i := range cfg.rules {
		byPrefix[cfg.rules[i].prefix] = i
	}
	counters := map[string]*counter{}
	var order []string
	for _, k := range keys {
		prefix, key, kind, ok := parseQuotaKey(l.base, k)
		if !ok {
			continue
		}
		ri, ok := byPrefix[prefix]
		if !ok {
			continue // a rule no longer configured (or changed)
		}
		id := k[:len(k)-len(kind)]
		c := counters[id]
		if c == nil {
			r := cfg.rules[ri].rule
			c = &counter{st: quota.Status{Rule: r.Name, Key: key,
				RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, TokensPerDay: r.TokensPerDay}}
			counters[id] = c
			order = append(order, id)
		}
		if kind == ":m" {
			c.mk = k
		} else {
			c.dk = k
		}
	}
	pipe := l.client.Pipeline()
	mcmds := map[string]*redis.SliceCmd{}
	dcmds := map[string]*redis.SliceCmd{}
	for _, id := range order {
		c := counters[id]
		if c.mk != "" {
			mcmds[id] = pipe.HMGet(ctx, c.mk, "ru", "rf", "rl", "tu", "tf", "tl", "res")
		}
		if c.dk != "" {
			dcmds[id] = pipe.HMGet(ctx, c.dk, "day", "du")
		}
	}
	if len(order) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, err
		}
	}
	num := func(v any) int64 {
		s, _ := v.(string)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, _ := strconv.ParseFloat(s, 64)
			n = int64(f)
		}
		return n
	}
	byRule := map[string][]quota.Status{}
	for _, id := range order {
		c := counters[id]
		if cmd := mcmds[id]; cmd != nil {
			v := cmd.Val()
			if len(v) == 7 {
				c.st.RequestsUsed = refillAt(num(v[0]), uint64(num(v[1])), num(v[2]), now, max(c.st.RequestsPerMinute, 1))
				c.st.TokensUsed = refillAt(num(v[3]), uint64(num(v[4])), num(v[5]), now, max(c.st.TokensPerMinute, 1))
				c.st.TokensReserved = max(num(v[6]), 0)
			}
		}
		if cmd := dcmds[id]; cmd != nil {
			if v := cmd.Val(); len(v) == 2 && num(v[0]) == today {
				c.st.TokensToday = num(v[1])
			}
		}
		byRule[c.st.Rule] = append(byRule[c.st.Rule], c.st)
	}
	var out []quota.Status
	for _, rc := range cfg.rules {
		r := rc.rule
		sts := byRule[r.Name]
		if len(sts) == 0 {
			out = append(out, quota.Status{Rule: r.Name, RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute, TokensPerDay: r.TokensPerDay})
			continue
		}
		slices.SortFunc(sts, func(a, b quota.Status) int {
			return strings.Compare(a.Model+"\x00"+a.Principal+"\x00"+a.Profile, b.Model+"\x00"+b.Principal+"\x00"+b.Profile)
		})
		out = append(out, sts...)
	}
	return out, nil
}

// parseQuotaKey splits a quota counter's key (ruleCfg.keys) into its
// rule prefix, its projected key and its kind (":m" or ":d").
func parseQuotaKey(base, k string) (prefix string, key quota.Key, kind string, ok bool) {
	rest, found := strings.CutPrefix(k, base+"q:")
	if !found {
		return "", quota.Key{}, "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 6 || (parts[5] != "m" && parts[5] != "d") {
		return "", quota.Key{}, "", false
	}
	var err [3]error
	key.Model, err[0] = url.QueryUnescape(parts[2])
	key.Principal, err[1] = url.QueryUnescape(parts[3])
	key.Profile, err[2] = url.QueryUnescape(parts[4])
	if err[0] != nil || err[1] != nil || err[2] != nil {
		return "", quota.Key{}, "", false
	}
	return base + "q:" + parts[0] + ":" + parts[1] + ":", key, ":" + parts[5], true
}

// period is one budget period's totals and notification states in Redis.
type period struct {
	spend budget.PeriodSpend
	fired map[string]time.Time
	found bool
}

func parsePeriod(m map[string]string, start, end time.Time, active bool) period {
	p := period{spend: budget.PeriodSpend{Start: start, End: end, Active: active}, fired: map[string]time.Time{}, found: len(m) > 0}
	n := func(f string) int64 { v, _ := strconv.ParseInt(m[f], 10, 64); return v }
	p.spend.Actual, p.spend.Held, p.spend.Unpriced, p.spend.Calls, p.spend.Refusals = n("a"), max(n("h"), 0), n("u"), n("c"), n("r")
	for f, v := range m {
		if k, ok := strings.CutPrefix(f, "n:"); ok {
			ms, _ := strconv.ParseInt(v, 10, 64)
			p.fired[k] = time.UnixMilli(ms).UTC()
		}
	}
	return p
}

func (p *period) firedAt(key string) time.Time { return p.fired[key] }

// previousStart is the start of the period before the one starting at
// start, for calendar units; ok false for CUSTOM.
func previousPeriod(d *budget.Definition, start time.Time) (s, e time.Time, active, ok bool) {
	if d.TimeUnit == budget.Custom {
		return time.Time{}, time.Time{}, false, false
	}
	s, e, active = budget.PeriodAt(d, start.Add(-time.Nanosecond))
	return s, e, active, true
}

// readBudgets reads the current and previous periods of every budget.
func (l *Limits) readBudgets(ctx context.Context, cfg *config, now time.Time) (cur, prev []period, err error) {
	pipe := l.client.Pipeline()
	type pair struct {
		c, p            *redis.MapStringStringCmd
		s, e, ps, pe    time.Time
		active, pactive bool
	}
	ps := make([]pair, len(cfg.budgets))
	for i := range cfg.budgets {
		b := &cfg.budgets[i]
		s, e, a := budget.PeriodAt(&b.def, now)
		ps[i].s, ps[i].e, ps[i].active = s, e, a
		ps[i].c = pipe.HGetAll(ctx, b.periodKey(s))
		if pst, pen, pa, ok := previousPeriod(&b.def, s); ok {
			ps[i].ps, ps[i].pe, ps[i].pactive = pst, pen, pa
			ps[i].p = pipe.HGetAll(ctx, b.periodKey(pst))
		}
	}
	if len(ps) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, nil, err
		}
	}
	for _, x := range ps {
		cur = append(cur, parsePeriod(x.c.Val(), x.s, x.e, x.active))
		if x.p != nil {
			prev = append(prev, parsePeriod(x.p.Val(), x.ps, x.pe, x.pactive))
		} else {
			prev = append(prev, period{})
		}
	}
	return cur, prev, nil
}

// BudgetSnapshot returns every budget's status, read from Redis, in the
// shape and order of budget.Tracker.Snapshot: actual, held, forecast,
// unpriced and call counts, notification states and the previous period.
// Refusals count this period's refusals (a Tracker counts since start).
// While Redis is unreachable it returns this replica's own tracker's.
func (l *Limits) BudgetSnapshot(ctx context.Context) []budget.Status {
	out, err := l.budgetSnapshot(ctx)
	if err != nil {
		if isOutage(ctx, err) {
			l.markDown(err)
		}
		return l.localB.Snapshot()
	}
	return out
}

func (l *Limits) budgetSnapshot(ctx context.Context) ([]budget.Status, error) {
	cfg := l.cfg.Load()
	now := l.now()
	cur, prev, err := l.readBudgets(ctx, cfg, now)
	if err != nil {
		return nil, err
	}
	out := make([]budget.Status, 0, len(cfg.budgets))
	for i := range cfg.budgets {
		d := cfg.budgets[i].def
		var pt *budget.PeriodTotals
		if p := prev[i]; p.found {
			pt = &budget.PeriodTotals{Start: p.spend.Start, End: p.spend.End, Actual: budget.FromUnits(d.Type, p.spend.Actual),
				Unpriced: p.spend.Unpriced, Calls: p.spend.Calls}
		}
		out = append(out, budget.SharedStatus(d, cur[i].spend, pt, now, cur[i].firedAt))
	}
	return out, nil
}
