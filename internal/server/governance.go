package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelwatch/modelwatch/internal/alarm"
	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/quota"
	"github.com/modelwatch/modelwatch/internal/sharedlimit"
)

// governance is the server's quotas, budgets and alarms. It is the
// gateway's Admission: every call is admitted against the quotas and the
// budgets' hard limits before a provider is called, with its worst case
// reserved, and settled with what it used when it ends. The alarms
// evaluate the metric history in the background and roll models back to
// their fallbacks while they hold.
type governance struct {
	quotas  *quota.Limiter
	budgets *budget.Tracker
	alarms  *alarm.Evaluator
	prices  *cost.PriceList
	log     *slog.Logger
	// limits, with cluster.redis set, admit calls against quotas and
	// budgets shared by every replica (quotas and budgets then only
	// describe the configuration).
	limits *sharedlimit.Limits
	// cluster is the replica's cluster (alarm evaluation is its leader's
	// duty when the configuration is shared).
	cluster *cluster
	// active says whether any quota or budget is configured: with none,
	// admission costs one atomic load per call.
	active atomic.Bool

	stop context.CancelFunc
	done sync.WaitGroup
}

// openGovernance builds the quotas, budgets and alarms of cfg. The alarms
// do not run until start.
func (s *Server) openGovernance(cfg *config.Config) (*governance, error) {
	g := &governance{prices: s.prices, log: s.log.With("component", "governance"), cluster: s.cluster}
	for _, dir := range []string{"budgets", "alarms"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, dir), 0o700); err != nil {
			return nil, err
		}
	}
	var err error
	g.quotas, err = quota.New(cfg.Quotas, quota.Options{Registerer: s.registry})
	if err != nil {
		return nil, fmt.Errorf("quotas: %w", err)
	}
	budgetOpts := budget.Options{
		StatePath:  filepath.Join(cfg.DataDir, "budgets", "state.json"),
		Notify:     g.notifyBudget,
		Registerer: s.registry,
		Logger:     g.log,
	}
	if cfg.Cluster.Redis != "" {
		// Spend is counted in Redis: this tracker only mirrors the shared
		// totals into the budget metrics (mirrorBudgets), and notifies
		// nothing (runBudgetNotifications does, once for the cluster).
		budgetOpts.StatePath, budgetOpts.Notify = "", nil
	}
	g.budgets, err = budget.New(cfg.Budgets, budgetOpts)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	if cfg.Cluster.Redis != "" {
		if g.limits, err = openSharedLimits(cfg, s.registry, g.log); err != nil {
			g.budgets.Close()
			return nil, err
		}
	}
	var querier alarm.Querier = s.history
	if s.prom != nil {
		querier = s.prom // the whole cluster's metrics
	}
	g.alarms, err = alarm.New(cfg.Alarms, alarm.Options{
		Querier:    querier,
		Saved:      s.cluster.publishAlarmState,
		Remediator: rollbackTo{s.gw},
		AccountID:  cfg.AccountID,
		Region:     cfg.Region,
		StatePath:  filepath.Join(cfg.DataDir, "alarms", "state.json"),
		Registerer: s.registry,
		Logger:     g.log,
	})
	if err != nil {
		g.budgets.Close()
		return nil, fmt.Errorf("alarms: %w", err)
	}
	g.active.Store(len(cfg.Quotas)+len(cfg.Budgets) > 0)
	return g, nil
}

// start runs the alarms' evaluation until close. In a cluster sharing
// its configuration, evaluation (and the budget notifications) are the
// elected leader's duties (cluster.start); without PostgreSQL each
// replica evaluates, and shared budget notifications are still sent once
// (sharedlimit marks each in Redis).
func (g *governance) start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	if g.limits != nil {
		g.done.Add(1)
		go func() {
			defer g.done.Done()
			g.mirrorBudgets(ctx)
		}()
	}
	if g.cluster.shared() {
		return
	}
	g.done.Add(1)
	go func() {
		defer g.done.Done()
		g.alarms.Run(ctx)
	}()
	if g.limits != nil {
		g.done.Add(1)
		go func() {
			defer g.done.Done()
			g.runBudgetNotifications(ctx)
		}()
	}
}

// mirrorEvery is how often the shared budget totals are copied into this
// replica's budget metrics.
const mirrorEvery = 2 * time.Second

// mirrorBudgets copies the shared budgets' totals (Redis) into this
// replica's budget tracker until ctx is done, so that
// modelwatch_budget_spend and its kin report the cluster's spend on every
// replica, as a single server's do.
func (g *governance) mirrorBudgets(ctx context.Context) {
	t := time.NewTicker(mirrorEvery)
	defer t.Stop()
	for {
		for _, st := range g.limits.BudgetSnapshot(ctx) {
			g.budgets.Seed(st.Name, st.PeriodStart, budget.ToUnits(st.Type, st.Actual), st.Unpriced, st.Calls)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runAlarms evaluates the alarms for the cluster until ctx is done (this
// replica leads the duty): first the boundary its predecessor may have
// missed, then every boundary.
func (g *governance) runAlarms(ctx context.Context) {
	g.alarms.CatchUp(ctx)
	g.alarms.Run(ctx)
}

// runBudgetNotifications sends, every second, the notifications of the
// shared budgets whose thresholds were crossed, each once per period for
// the whole cluster.
func (g *governance) runBudgetNotifications(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		msgs, err := g.limits.PendingNotifications(ctx)
		if err != nil && ctx.Err() == nil {
			g.log.Debug("budget notifications not checked", "error", err)
		}
		for _, m := range msgs {
			g.notifyBudget(m)
		}
	}
}

// close stops the alarms, persists the budgets and settles what the
// shared counters still owe Redis.
func (g *governance) close() error {
	if g.stop != nil {
		g.stop()
		g.done.Wait()
	}
	var errs []error
	if g.limits != nil {
		errs = append(errs, g.limits.Close())
	}
	errs = append(errs, g.budgets.Close())
	return errors.Join(errs...)
}

// replace applies a reloaded configuration's quotas, budgets and alarms,
// all or none: each is validated before any is swapped.
func (g *governance) replace(cfg *config.Config) error {
	if err := quota.ValidateRules(cfg.Quotas); err != nil {
		return fmt.Errorf("quotas: %w", err)
	}
	if err := budget.ValidateAll(cfg.Budgets); err != nil {
		return fmt.Errorf("budgets: %w", err)
	}
	if err := alarm.ValidateAll(cfg.Alarms); err != nil {
		return fmt.Errorf("alarms: %w", err)
	}
	if err := g.quotas.Replace(cfg.Quotas); err != nil {
		return fmt.Errorf("quotas: %w", err)
	}
	if err := g.budgets.Replace(cfg.Budgets); err != nil {
		return fmt.Errorf("budgets: %w", err)
	}
	if g.limits != nil {
		if err := g.limits.Replace(cfg.Quotas, cfg.Budgets); err != nil {
			return fmt.Errorf("shared limits: %w", err)
		}
	}
	if err := g.alarms.Replace(cfg.Alarms); err != nil {
		return fmt.Errorf("alarms: %w", err)
	}
	g.active.Store(len(cfg.Quotas)+len(cfg.Budgets) > 0)
	return nil
}

// rollbackTo is the alarms' remediation: it switches a model's calls to
// its fallbacks while an alarm holds.
type rollbackTo struct{ gw *gateway.Gateway }

func (r rollbackTo) Rollback(model string, active bool, alarmName string) {
	r.gw.SetRollback(model, alarmName, active)
}

// Active implements gateway.Admission: any quota or budget configured.
func (g *governance) Active() bool { return g.active.Load() }

// Admit implements gateway.Admission.
func (g *governance) Admit(a *gateway.AdmitInfo) (func(*invocation.Invocation), error) {
	if !g.active.Load() {
		return nil, nil
	}
	burndown := int64(quota.Burndown(a.Model.ID))
	// The worst case: every output token the call may produce, at the
	// model's burndown rate, so that no call settles above what it held.
	reserve := a.InputTokens + a.MaxOutputTokens*burndown
	var q *quota.Reservation
	if g.limits == nil {
		var err error
		q, err = g.quotas.Reserve(quota.Key{Model: a.Model.ID, Principal: a.Principal, Profile: a.ProfileID}, reserve)
		if err != nil {
			return nil, quotaError(err)
		}
	}
	estimate := invocation.Usage{InputTokens: int(a.InputTokens), OutputTokens: int(a.MaxOutputTokens)}
	if im := a.Image; im != nil {
		estimate = invocation.Usage{InputTokens: int(a.InputTokens), OutputImages: max(im.Count, 1),
			ImageWidth: im.Width, ImageHeight: im.Height, ImageQuality: im.Quality}
	}
	usd, known := g.prices.CallCost(a.Model.ID, a.ProfileID, estimate, "", "")
	if g.limits != nil {
		return g.admitShared(a, reserve, burndown, usd, known)
	}
	hold, err := g.budgets.Reserve(budget.Call{Principal: a.Principal, PrincipalTags: a.PrincipalTags, RequestTags: a.RequestTags, Model: a.Model.ID},
		usd, known, a.InputTokens+a.MaxOutputTokens)
	if err != nil {
		q.Settle(0)
		return nil, budgetError(err)
	}
	return func(inv *invocation.Invocation) {
		q.Settle(quota.QuotaTokens(inv.Usage, int(burndown)))
		dollars, priced := g.prices.InvocationCost(inv)
		hold.Settle(dollars, priced, budget.UsageTokens(inv.Usage))
	}, nil
}

// admitShared admits a call against the quotas and budgets shared through
// Redis: one round trip at admission, the settlement off the request path.
func (g *governance) admitShared(a *gateway.AdmitInfo, reserve, burndown int64, usd float64, known bool) (func(*invocation.Invocation), error) {
	ctx := a.Context
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := g.limits.Admit(ctx, sharedlimit.Admission{
		Key:         quota.Key{Model: a.Model.ID, Principal: a.Principal, Profile: a.ProfileID},
		QuotaTokens: reserve,
		Call:        budget.Call{Principal: a.Principal, PrincipalTags: a.PrincipalTags, RequestTags: a.RequestTags, Model: a.Model.ID},
		USD:         usd, USDKnown: known, BudgetTokens: a.InputTokens + a.MaxOutputTokens,
	})
	if err != nil {
		var un *sharedlimit.Unavailable
		if errors.As(err, &un) {
			e := apierror.New(apierror.ServiceUnavailable, "%s", un.Error())
			e.RetryAfter = un.RetryAfter
			e.Cause = err
			return nil, e
		}
		if qe := quotaError(err); qe != err {
			return nil, qe
		}
		return nil, budgetError(err)
	}
	return func(inv *invocation.Invocation) {
		dollars, priced := g.prices.InvocationCost(inv)
		t.Settle(quota.QuotaTokens(inv.Usage, int(burndown)), dollars, priced, budget.UsageTokens(inv.Usage))
	}, nil
}

// quotaError words a quota's refusal as Bedrock does: ThrottlingException
// (429) with "Too many requests" or "Too many tokens", and when the call
// could be admitted, for the doors that say so (Retry-After).
func quotaError(err error) error {
	var ex *quota.Exceeded
	if errors.As(err, &ex) {
		e := apierror.New(apierror.Throttling, "%s", ex.Message())
		e.RetryAfter = ex.RetryAfter
		e.Cause = err
		return e
	}
	return err
}

// budgetError words a budget's hard limit: ServiceQuotaExceededException
// naming the budget (the OpenAI door's insufficient_quota, the Anthropic
// door's rate_limit_error).
func budgetError(err error) error {
	var ex *budget.Exceeded
	if errors.As(err, &ex) {
		return ex.APIError(time.Now())
	}
	return err
}

// notifyBudget sends a budget notification to its webhooks, off the
// request path.
func (g *governance) notifyBudget(m budget.Message) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := budget.PostWebhooks(ctx, nil, "", m); err != nil {
			g.log.Warn("budget notification not delivered", "subject", m.Subject(), "error", err)
		}
	}()
}

// governanceView is GET /api/governance: the sections the caller may read.
// A section the caller may not read is absent; one it may read is a list,
// empty when nothing is configured.
type governanceView struct {
	Budgets  *[]budgetView    `json:"budgets,omitempty"`
	Quotas   *[]quotaView     `json:"quotas,omitempty"`
	Alarms   *[]alarmView     `json:"alarms,omitempty"`
	Policies *[]principalView `json:"policies,omitempty"`
}

type notificationView struct {
	Type          string     `json:"type"`
	Comparison    string     `json:"comparison"`
	Threshold     float64    `json:"threshold"`
	ThresholdType string     `json:"thresholdType"`
	State         string     `json:"state"`
	FiredAt       *time.Time `json:"firedAt"`
}

type budgetView struct {
	Name          string             `json:"name"`
	Type          string             `json:"type"`
	Unit          string             `json:"unit"`
	Limit         float64            `json:"limit"`
	Actual        float64            `json:"actual"`
	Held          float64            `json:"held"`
	Forecast      *float64           `json:"forecast"`
	UnpricedCalls int64              `json:"unpricedCalls"`
	PeriodStart   time.Time          `json:"periodStart"`
	PeriodEnd     time.Time          `json:"periodEnd"`
	HardLimit     bool               `json:"hardLimit"`
	Notifications []notificationView `json:"notifications"`
}

type quotaView struct {
	Rule              string `json:"rule"`
	Model             string `json:"model"`
	Principal         string `json:"principal"`
	Profile           string `json:"profile"`
	RequestsPerMinute int64  `json:"requestsPerMinute"`
	TokensPerMinute   int64  `json:"tokensPerMinute"`
	TokensPerDay      int64  `json:"tokensPerDay"`
	RequestsUsed      int64  `json:"requestsUsed"`
	TokensUsed        int64  `json:"tokensUsed"`
	TokensReserved    int64  `json:"tokensReserved"`
	TokensToday       int64  `json:"tokensToday"`
}

type datapointView struct {
	T     time.Time `json:"t"`
	V     *float64  `json:"v"`
	Lower *float64  `json:"lower"`
	Upper *float64  `json:"upper"`
}

type transitionView struct {
	Time     time.Time `json:"time"`
	OldState string    `json:"oldState"`
	NewState string    `json:"newState"`
	Reason   string    `json:"reason"`
}

type alarmView struct {
	Name              string           `json:"name"`
	Description       string           `json:"description"`
	State             string           `json:"state"`
	StateReason       string           `json:"stateReason"`
	StateTime         time.Time        `json:"stateTime"`
	Comparison        string           `json:"comparison"`
	Threshold         *float64         `json:"threshold"`
	AnomalyBand       *float64         `json:"anomalyBand"`
	PeriodSeconds     int64            `json:"periodSeconds"`
	EvaluationPeriods int              `json:"evaluationPeriods"`
	DatapointsToAlarm int              `json:"datapointsToAlarm"`
	TreatMissingData  string           `json:"treatMissingData"`
	Query             string           `json:"query"`
	Datapoints        []datapointView  `json:"datapoints"`
	History           []transitionView `json:"history"`
	Rollback          string           `json:"rollback,omitempty"`
	RolledBack        bool             `json:"rolledBack,omitempty"`
}

type principalView struct {
	Principal string            `json:"principal"`
	ARN       string            `json:"arn"`
	Tags      map[string]string `json:"tags,omitempty"`
	Groups    []string          `json:"groups,omitempty"`
	Policies  []auth.PolicyView `json:"policies"`
}

// finite turns NaN and infinities (no data) into null.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// getGovernance serves GET /api/governance: each section only for a
// caller allowed its action (budgets:ViewBudget, servicequotas:
// GetServiceQuota, cloudwatch:DescribeAlarms, iam:GetPolicy).
func (s *Server) getGovernance(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	g := s.gov
	var v governanceView
	if s.gw.Authorize(r, id, auth.ActionViewBudget, "*") == nil {
		b := s.budgetViews(g)
		v.Budgets = &b
	}
	if s.gw.Authorize(r, id, auth.ActionGetServiceQuota, "*") == nil {
		q := quotaViews(g)
		v.Quotas = &q
	}
	if s.gw.Authorize(r, id, auth.ActionDescribeAlarms, "*") == nil {
		a := s.alarmViews(g)
		v.Alarms = &a
	}
	if s.gw.Authorize(r, id, auth.ActionGetPolicy, "*") == nil {
		p := s.policyViews()
		v.Policies = &p
	}
	body, err := json.Marshal(v)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "the governance view could not be encoded")
		return
	}
	gateway.WriteJSON(w, http.StatusOK, body)
}

// policyViews lists every principal's policies.
func (s *Server) policyViews() []principalView {
	authn := s.gw.Auth()
	cfg := s.currentConfig()
	out := []principalView{}
	for _, p := range cfg.Auth.Principals {
		id, ok := authn.Principal(p.Name)
		if !ok {
			continue
		}
		out = append(out, principalView{Principal: p.Name, ARN: id.ARN, Tags: p.Tags, Groups: p.Groups, Policies: authn.PolicyViews(p.Name)})
	}
	return out
}

// quotaViews lists every quota counter in use.
func quotaViews(g *governance) []quotaView {
	out := []quotaView{}
	snap := g.quotas.Snapshot
	if g.limits != nil {
		snap = func() []quota.Status { return g.limits.QuotaSnapshot(context.Background()) }
	}
	for _, st := range snap() {
		out = append(out, quotaView{Rule: st.Rule, Model: st.Model, Principal: st.Principal, Profile: st.Profile,
			RequestsPerMinute: st.RequestsPerMinute, TokensPerMinute: st.TokensPerMinute, TokensPerDay: st.TokensPerDay,
			RequestsUsed: st.RequestsUsed, TokensUsed: st.TokensUsed, TokensReserved: st.TokensReserved, TokensToday: st.TokensToday})
	}
	return out
}

// budgetViews lists every budget's spend against its limit.
func (s *Server) budgetViews(g *governance) []budgetView {
	out := []budgetView{}
	snap := g.budgets.Snapshot
	if g.limits != nil {
		snap = func() []budget.Status { return g.limits.BudgetSnapshot(context.Background()) }
	}
	for _, st := range snap() {
		v := budgetView{Name: st.Name, Type: st.Type, Unit: st.Unit, Limit: st.Limit, Actual: st.Actual, Held: st.Held,
			UnpricedCalls: st.Unpriced, PeriodStart: st.PeriodStart, PeriodEnd: st.PeriodEnd, HardLimit: st.HardLimit,
			Notifications: []notificationView{}}
		if st.ForecastAvailable {
			v.Forecast = finite(st.Forecast)
		}
		for _, n := range st.Notifications {
			nv := notificationView{Type: n.Type, Comparison: n.ComparisonOperator, Threshold: n.Threshold,
				ThresholdType: n.ThresholdType, State: n.State}
			if nv.ThresholdType == "" {
				nv.ThresholdType = "PERCENTAGE"
			}
			if !n.FiredAt.IsZero() {
				at := n.FiredAt
				nv.FiredAt = &at
			}
			v.Notifications = append(v.Notifications, nv)
		}
		out = append(out, v)
	}
	return out
}

// alarmViews lists every alarm's state, datapoints and history, with its
// definition's evaluation settings.
func (s *Server) alarmViews(g *governance) []alarmView {
	defs := map[string]*alarm.Definition{}
	cfg := s.currentConfig()
	for i := range cfg.Alarms {
		defs[cfg.Alarms[i].Name] = &cfg.Alarms[i]
	}
	out := []alarmView{}
	for _, st := range g.alarms.Snapshot() {
		v := alarmView{Name: st.Name, Description: st.Description, State: st.State, StateReason: st.StateReason,
			StateTime: st.StateUpdated, Comparison: st.ComparisonOperator, Threshold: st.Threshold, Query: st.Query,
			Datapoints: []datapointView{}, History: []transitionView{}}
		if d := defs[st.Name]; d != nil {
			v.PeriodSeconds = int64(d.Period / time.Second)
			v.EvaluationPeriods = d.EvaluationPeriods
			v.DatapointsToAlarm = d.DatapointsToAlarm
			if v.DatapointsToAlarm == 0 {
				v.DatapointsToAlarm = d.EvaluationPeriods
			}
			v.TreatMissingData = d.TreatMissingData
			if v.TreatMissingData == "" {
				v.TreatMissingData = "missing"
			}
			if d.AnomalyDetection != nil {
				band := st.Band
				v.AnomalyBand = &band
			}
			if d.Actions.Rollback != "" {
				v.Rollback = d.Actions.Rollback
				v.RolledBack = s.gw.RolledBack(d.Actions.Rollback)
			}
		}
		for _, p := range st.Datapoints {
			dp := datapointView{T: p.Time, Lower: p.Lower, Upper: p.Upper}
			if !p.Missing {
				dp.V = finite(p.Value)
			}
			v.Datapoints = append(v.Datapoints, dp)
		}
		for i := len(st.History) - 1; i >= 0; i-- { // newest first
			h := st.History[i]
			v.History = append(v.History, transitionView{Time: h.Time, OldState: h.OldState, NewState: h.NewState, Reason: h.Reason})
		}
		out = append(out, v)
	}
	return out
}
