package sharedlimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
)

// What admission does while Redis is unreachable (Options.OnUnavailable)
// and the modes Mode reports.
const (
	// ModeShared: counters are in Redis, shared by every replica.
	ModeShared = "shared"
	// ModeLocal: Redis is unreachable and this replica admits against its
	// own in-memory quota.Limiter and budget.Tracker (fail open).
	ModeLocal = "local"
	// ModeClosed: Redis is unreachable and calls are refused with
	// *Unavailable (fail closed).
	ModeClosed = "closed"
)

const (
	// probeEvery is how often Redis is probed while unreachable (and how
	// often pending settlements are retried).
	probeEvery = 500 * time.Millisecond
	workers    = 4
	// settleAttempts is how many times a worker tries a settlement before
	// leaving it to the backlog.
	settleAttempts = 3
	// markerTTL is how long a ticket's marker lives: it must outlast the
	// longest call plus an outage, so that a settlement is never applied
	// twice.
	markerTTL = 48 * time.Hour
	// reconcileChunk bounds the counters in one reconciliation script.
	reconcileChunk = 64
)

// queueSize bounds the settlements waiting for a worker; beyond it they
// go to the backlog, applied by the probe loop. A variable for tests.
var queueSize = 8192

// DefaultHoldTTL is how long a budget hold lives in Redis when its ticket
// is never settled (the replica holding it crashed): it is then released
// by the next admission on that budget. Calls lasting longer lose their
// hold after it (their spend still counts when they settle).
const DefaultHoldTTL = time.Hour

// Options configure Limits.
type Options struct {
	// Prefix starts every key; "mw:" when empty. Replicas sharing
	// counters must use the same prefix.
	Prefix string
	// Replica names this replica in logs and ticket ids; random when
	// empty.
	Replica string
	// OnUnavailable is what admission does while Redis is unreachable:
	// "local" (the default) admits against this replica's own counters;
	// "closed" refuses calls with *Unavailable.
	OnUnavailable string
	// HoldTTL is DefaultHoldTTL when zero.
	HoldTTL time.Duration
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
	// Logger logs mode transitions; slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock of budgets' periods (quota buckets use Redis's
	// clock); time.Now when nil.
	Now func() time.Time
}

// Unavailable is the refusal of a call while Redis is unreachable and
// Options.OnUnavailable is "closed". The server maps it to Bedrock's
// ServiceUnavailableException (503).
type Unavailable struct {
	// RetryAfter suggests when to try again.
	RetryAfter time.Duration
	cause      error
}

// Error is the caller-facing text; it carries no internal detail.
func (e *Unavailable) Error() string {
	return "The service is temporarily unable to check usage limits. Please try again shortly."
}

// Unwrap returns the Redis error behind the refusal, for logs.
func (e *Unavailable) Unwrap() error { return e.cause }

// Admission is one call to admit.
type Admission struct {
	// Key is what quotas count the call under.
	Key quota.Key
	// QuotaTokens is the call's worst case in quota tokens (input
	// estimate + max output × burndown).
	QuotaTokens int64
	// Call is what budget filters match.
	Call budget.Call
	// USD is the call's worst-case cost, USDKnown false when the model is
	// unpriced; BudgetTokens its worst-case usage (input + max output).
	USD          float64
	USDKnown     bool
	BudgetTokens int64
}

// Limits admits calls against quotas and budgets shared by every replica
// through Redis. It is safe for concurrent use.
type Limits struct {
	client  redis.UniversalClient
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	base    string // key prefix including the hash tag
	idBase  string
	nextID  atomic.Uint64
	holdTTL time.Duration

	cfg    atomic.Pointer[config]
	down   atomic.Bool
	localQ *quota.Limiter
	localB *budget.Tracker
	repMu  sync.Mutex

	queue   chan *op
	closeMu sync.RWMutex
	closed  bool
	wg      sync.WaitGroup
	stop    chan struct{}

	backMu  sync.Mutex
	backlog []*op
	agg     map[string]*aggEntry

	seeds atomic.Pointer[map[string]seed]

	m *metrics
}

// config is one set of rules and budgets with their key prefixes.
type config struct {
	rules   []ruleCfg
	budgets []budgetCfg
}

type ruleCfg struct {
	rule   quota.Rule
	prefix string // base + "q:<name>:<fingerprint>:"
}

type budgetCfg struct {
	def    budget.Definition
	prefix string // base + "b:<name>:<spend key hash>:"
	limit  string // LimitUnits, decimal
}

// New returns Limits over client for rules and budgets (validated as
// quota.ValidateRules and budget.ValidateAll do). It starts the settlement
// workers and the probe; Close stops them.
func New(client redis.UniversalClient, rules []quota.Rule, budgets []budget.Definition, opts Options) (*Limits, error) {
	if client == nil {
		return nil, errors.New("sharedlimit: nil Redis client")
	}
	switch opts.OnUnavailable {
	case "":
		opts.OnUnavailable = ModeLocal
	case ModeLocal, ModeClosed:
	default:
		return nil, fmt.Errorf("sharedlimit: onUnavailable %q: want %q or %q", opts.OnUnavailable, ModeLocal, ModeClosed)
	}
	if opts.Prefix == "" {
		opts.Prefix = "mw:"
	}
	if opts.HoldTTL <= 0 {
		opts.HoldTTL = DefaultHoldTTL
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	if opts.Replica == "" {
		opts.Replica = hex.EncodeToString(rnd[:4])
	}
	l := &Limits{client: client, opts: opts, log: opts.Logger, now: opts.Now, holdTTL: opts.HoldTTL,
		base:   opts.Prefix + "{shared}:",
		idBase: url.QueryEscape(opts.Replica) + "." + hex.EncodeToString(rnd[:]) + ".",
		queue:  make(chan *op, queueSize), stop: make(chan struct{}), agg: map[string]*aggEntry{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.log = l.log.With("component", "sharedlimit", "replica", opts.Replica)
	if l.now == nil {
		l.now = time.Now
	}
	cfg, err := l.build(rules, budgets)
	if err != nil {
		return nil, err
	}
	if l.m, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	if l.localQ, err = quota.New(rules, quota.Options{}); err != nil {
		return nil, err
	}
	if l.localB, err = budget.New(budgets, budget.Options{Now: opts.Now, Logger: l.log}); err != nil {
		return nil, err
	}
	l.cfg.Store(cfg)
	l.m.setMode(ModeShared)
	for range workers {
		l.wg.Add(1)
		go l.worker()
	}
	l.wg.Add(1)
	go l.probe()
	return l, nil
}

// build validates and prepares a configuration.
func (l *Limits) build(rules []quota.Rule, budgets []budget.Definition) (*config, error) {
	if err := quota.ValidateRules(rules); err != nil {
		return nil, err
	}
	if err := budget.ValidateAll(budgets); err != nil {
		return nil, err
	}
	c := &config{}
	for _, r := range rules {
		r.Per = append([]string(nil), r.Per...)
		c.rules = append(c.rules, ruleCfg{rule: r, prefix: l.base + "q:" + esc(r.Name) + ":" + r.Fingerprint() + ":"})
	}
	for _, d := range budgets {
		d.Notifications = append([]budget.Notification(nil), d.Notifications...)
		lim := d.LimitUnits()
		if lim > budget.MaxExactUnits {
			l.log.Warn("budget limit above what Redis scripts compare exactly; comparisons near the limit may be off by a few units",
				"budget", d.Name, "limitUnits", lim)
		}
		c.budgets = append(c.budgets, budgetCfg{def: d, prefix: l.base + "b:" + esc(d.Name) + ":" + hash16(d.SpendKey()) + ":",
			limit: strconv.FormatInt(lim, 10)})
	}
	return c, nil
}

// Replace swaps the rules and budgets (configuration reload), all or
// none. A rule whose definition is unchanged keeps its counters (they are
// keyed by its fingerprint); a budget whose name and spend key are
// unchanged keeps its spend. Tickets issued earlier settle against the
// counters they were admitted on.
func (l *Limits) Replace(rules []quota.Rule, budgets []budget.Definition) error {
	cfg, err := l.build(rules, budgets)
	if err != nil {
		return err
	}
	l.repMu.Lock()
	defer l.repMu.Unlock()
	if err := l.localQ.Replace(rules); err != nil {
		return err
	}
	if err := l.localB.Replace(budgets); err != nil {
		return err
	}
	l.cfg.Store(cfg)
	return nil
}

// Mode is what admission uses right now: ModeShared, or, while Redis is
// unreachable, ModeLocal or ModeClosed (Options.OnUnavailable).
func (l *Limits) Mode() string {
	if l.down.Load() {
		return l.opts.OnUnavailable
	}
	return ModeShared
}

func esc(s string) string { return url.QueryEscape(s) }

func hash16(s string) string {
	h := fnv64(s)
	return strconv.FormatUint(h, 16)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// quotaKeys are the minute and day hashes of rule r for key k.
func (r *ruleCfg) keys(k quota.Key) (minute, day string) {
	p := r.rule.Project(k)
	s := r.prefix + esc(p.Model) + ":" + esc(p.Principal) + ":" + esc(p.Profile)
	return s + ":m", s + ":d"
}

// periodKey is the hash of budget b's period starting at start.
func (b *budgetCfg) periodKey(start time.Time) string {
	return b.prefix + strconv.FormatInt(start.Unix(), 10)
}

// expireAt is when a period's keys may vanish: one period after its end.
func expireAt(start, end time.Time) string {
	return strconv.FormatInt(end.Add(end.Sub(start)).UnixMilli(), 10)
}

// markDown records a Redis failure and switches to the fallback mode.
func (l *Limits) markDown(err error) {
	l.m.unavailable.Inc()
	if l.down.CompareAndSwap(false, true) {
		if l.opts.OnUnavailable == ModeLocal {
			l.seedLocal()
		}
		l.m.setMode(l.opts.OnUnavailable)
		l.log.Warn("shared counters unavailable: Redis is unreachable; admitting with "+modeText(l.opts.OnUnavailable),
			"mode", l.opts.OnUnavailable, "reason", err.Error())
	}
}

func modeText(mode string) string {
	if mode == ModeClosed {
		return "nothing (calls are refused until Redis answers)"
	}
	return "this replica's own counters (limits apply per replica until Redis answers)"
}

// markUp switches back to shared counters.
func (l *Limits) markUp() {
	if l.down.CompareAndSwap(true, false) {
		l.m.setMode(ModeShared)
		l.log.Info("shared counters available again: Redis answers; admitting with the shared counters", "mode", ModeShared)
	}
}

// isOutage reports whether err means Redis could not be used (as opposed
// to the caller giving up).
func isOutage(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil
}
