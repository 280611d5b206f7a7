package sharedlimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/modelwatch/modelwatch/internal/budget"
)

// MarkFired records that notification notificationKey (budget
// Notification.Key) of budget budgetName fired in the period starting at
// periodStart, and reports whether this call recorded it first: across
// every replica (and leader failovers) exactly one caller gets first for
// a notification and period. The record lives as long as the period's
// spend.
func (l *Limits) MarkFired(ctx context.Context, budgetName string, periodStart time.Time, notificationKey string) (first bool, err error) {
	cfg := l.cfg.Load()
	for i := range cfg.budgets {
		b := &cfg.budgets[i]
		if b.def.Name != budgetName {
			continue
		}
		_, end, _ := budget.PeriodAt(&b.def, periodStart)
		if b.def.TimeUnit == budget.Custom {
			end = b.def.End
		}
		return l.markFired(ctx, b, periodStart, end, notificationKey, l.now())
	}
	return false, fmt.Errorf("sharedlimit: no budget named %q", budgetName)
}

func (l *Limits) markFired(ctx context.Context, b *budgetCfg, start, end time.Time, key string, now time.Time) (bool, error) {
	k := b.periodKey(start)
	pipe := l.client.TxPipeline()
	set := pipe.HSetNX(ctx, k, "n:"+key, strconv.FormatInt(now.UnixMilli(), 10))
	exp, _ := strconv.ParseInt(expireAt(start, end), 10, 64)
	pipe.PExpireAt(ctx, k, time.UnixMilli(exp))
	if _, err := pipe.Exec(ctx); err != nil {
		return false, err
	}
	return set.Val(), nil
}

// PendingNotifications evaluates every budget's notifications on the
// shared totals — exactly as a budget.Tracker does, through
// budget.EvaluateShared — marks those whose thresholds are crossed, and
// returns the messages this call marked first (MarkFired). The caller
// (one elected replica, though any number may call it safely) delivers
// them, e.g. with budget.PostWebhooks. ACTUAL LESS_THAN notifications are
// evaluated on the previous period once it has closed.
func (l *Limits) PendingNotifications(ctx context.Context) ([]budget.Message, error) {
	cfg := l.cfg.Load()
	now := l.now()
	cur, prev, err := l.readBudgets(ctx, cfg, now)
	if err != nil {
		if isOutage(ctx, err) {
			l.markDown(err)
		}
		return nil, err
	}
	var out []budget.Message
	for i := range cfg.budgets {
		b := &cfg.budgets[i]
		if len(b.def.Notifications) == 0 {
			continue
		}
		type eval struct {
			p      period
			closed bool
		}
		var evals []eval
		if c := cur[i]; c.spend.Active {
			evals = append(evals, eval{c, false})
		} else if b.def.TimeUnit == budget.Custom && !now.Before(c.spend.End) {
			evals = append(evals, eval{c, true}) // the CUSTOM period is over
		}
		if p := prev[i]; p.found && (p.spend.Active || p.spend.Calls > 0) {
			evals = append(evals, eval{p, true})
		}
		for _, e := range evals {
			for _, m := range budget.EvaluateShared(b.def, e.p.spend, now, e.closed, e.p.firedAt) {
				first, err := l.markFired(ctx, b, e.p.spend.Start, e.p.spend.End, m.Notification.Key(), now)
				if err != nil {
					return out, err
				}
				if first {
					out = append(out, m)
				}
			}
		}
	}
	return out, nil
}
