package alarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/history"
	"github.com/modelwatch/modelwatch/internal/promreg"
)

// Querier answers PromQL range queries; *history.Store satisfies it.
type Querier interface {
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]history.Series, error)
}

// *history.Store is the Querier the server uses.
var _ Querier = (*history.Store)(nil)

// Remediator switches a model to its fallback while an alarm is in ALARM
// (active true) and back when it leaves ALARM (active false).
type Remediator interface {
	Rollback(model string, active bool, alarm string)
}

// Options configure an Evaluator.
type Options struct {
	// Querier is the history the alarms are evaluated on (required when
	// there are alarms).
	Querier Querier
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notify delivers a notification to a webhook; nil means PostWebhook
	// with the default client.
	Notify func(ctx context.Context, url string, msg Message) error
	// Remediator receives the rollbacks of alarms with Actions.Rollback.
	Remediator Remediator
	// AccountID and Region go into ARNs and messages; defaults
	// 000000000000 and us-east-1.
	AccountID, Region string
	// StatePath, if set, is a JSON file keeping states and transition
	// histories across restarts.
	StatePath string
	// Registerer, if set, receives the alarms' metrics.
	Registerer prometheus.Registerer
	// Logger receives evaluation and notification failures; nil discards.
	Logger *slog.Logger
	// Saved, if set, is called with the states (State's document) after
	// every evaluation round that changed one: the replica evaluating the
	// alarms of a cluster publishes them to the others (Adopt).
	Saved func(state []byte)
}

// Transition is one state change in an alarm's history.
type Transition struct {
	Time     time.Time `json:"time"`
	OldState string    `json:"oldState"`
	NewState string    `json:"newState"`
	Reason   string    `json:"reason"`
}

// Status is an alarm's state as Snapshot reports it.
type Status struct {
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	Arn                string   `json:"arn"`
	Query              string   `json:"query"`
	ComparisonOperator string   `json:"comparisonOperator"`
	Threshold          *float64 `json:"threshold,omitempty"`
	// Band is the anomaly band width in standard deviations (anomaly
	// alarms); each datapoint then carries its Lower and Upper.
	Band            float64         `json:"band,omitempty"`
	State           string          `json:"state"`
	StateReason     string          `json:"stateReason"`
	StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
	StateUpdated    time.Time       `json:"stateUpdated"`
	// LastEvaluated is the time of the last evaluation; LastError its
	// failure, if any (the state is then kept).
	LastEvaluated time.Time    `json:"lastEvaluated,omitzero"`
	LastError     string       `json:"lastError,omitempty"`
	Datapoints    []Datapoint  `json:"datapoints"`
	History       []Transition `json:"history"`
}

// HistoryLength is how many transitions an alarm keeps.
const HistoryLength = 100

// alarmState is one alarm's live state.
type alarmState struct {
	def           Definition
	fingerprint   string
	configUpdated time.Time
	state         string
	reason        string
	reasonData    json.RawMessage
	stateTime     time.Time
	lastEval      time.Time
	lastErr       string
	points        []Datapoint
	history       []Transition
	model         *model
	modelErr      bool
}

// Evaluator evaluates alarms on the history and runs their actions.
type Evaluator struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	notify  func(ctx context.Context, url string, msg Message) error
	mu      sync.Mutex
	alarms  []*alarmState
	evalMu  sync.Mutex // one evaluation round (or Replace) at a time
	actMu   sync.Mutex // one round's actions at a time, in order
	remMu   sync.Mutex // orders rollbacks between rounds and Replace
	metrics *evalMetrics
}

type evalMetrics struct {
	state         *prometheus.GaugeVec
	evaluations   *prometheus.CounterVec
	notifications *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*evalMetrics, error) {
	m := &evalMetrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelwatch_alarm_state",
			Help: "1 for the state each alarm is in (OK, ALARM, INSUFFICIENT_DATA), 0 for the others."}, []string{"alarm", "state"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelwatch_alarm_evaluations_total",
			Help: "Alarm evaluations by result (ok, error)."}, []string{"result"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modelwatch_alarm_notifications_total",
			Help: "Alarm webhook notifications by result (sent, failed)."}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	// A second Evaluator on the same registry (tests, a rebuilt server)
	// shares the first one's collectors.
	var err error
	if m.state, err = promreg.Register(reg, m.state); err != nil {
		return nil, err
	}
	if m.evaluations, err = promreg.Register(reg, m.evaluations); err != nil {
		return nil, err
	}
	if m.notifications, err = promreg.Register(reg, m.notifications); err != nil {
		return nil, err
	}
	return m, nil
}

// New validates defs and returns an Evaluator for them, with the states
// kept in opts.StatePath. Alarms persisted in ALARM with a rollback have
// it applied again.
func New(defs []Definition, opts Options) (*Evaluator, error) {
	if err := ValidateAll(defs); err != nil {
		return nil, err
	}
	if opts.Querier == nil && len(defs) > 0 {
		return nil, errors.New("alarm: Options.Querier is required")
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	e := &Evaluator{opts: opts, log: opts.Logger, now: opts.Now, notify: opts.Notify}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.notify == nil {
		e.notify = PostWebhook(nil, TopicArn(opts.AccountID, opts.Region))
	}
	var err error
	if e.metrics, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	saved, err := e.load()
	if err != nil {
		return nil, err
	}
	now := e.now()
	for _, d := range defs {
		a := e.fresh(d, now)
		if s, ok := saved[d.Name]; ok {
			a.history = s.History
			if s.Fingerprint == a.fingerprint {
				a.configUpdated, a.state, a.reason, a.reasonData, a.stateTime = s.ConfigUpdated, s.State, s.Reason, s.ReasonData, s.StateTime
			}
		}
		e.alarms = append(e.alarms, a)
		e.setStateMetric(a)
		if a.state == StateAlarm && a.def.Actions.Rollback != "" && opts.Remediator != nil {
			opts.Remediator.Rollback(a.def.Actions.Rollback, true, a.def.Name)
		}
	}
	return e, nil
}

func fingerprint(d *Definition) string {
	b, _ := json.Marshal(d)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func (e *Evaluator) fresh(d Definition, now time.Time) *alarmState {
	return &alarmState{
		def: d, fingerprint: fingerprint(&d), configUpdated: now,
		state: StateInsufficientData, reason: "Unchecked: Initial alarm creation", stateTime: now,
	}
}

func (e *Evaluator) setStateMetric(a *alarmState) {
	for _, s := range []string{StateOK, StateAlarm, StateInsufficientData} {
		v := 0.0
		if s == a.state {
			v = 1
		}
		e.metrics.state.WithLabelValues(a.def.Name, s).Set(v)
	}
}

// Replace applies a reloaded configuration: unchanged alarms keep their
// state, changed ones restart in INSUFFICIENT_DATA with their history,
// removed ones are dropped (a rollback they held is undone).
func (e *Evaluator) Replace(defs []Definition) error {
	if err := ValidateAll(defs); err != nil {
		return err
	}
	if e.opts.Querier == nil && len(defs) > 0 {
		return errors.New("alarm: Options.Querier is required")
	}
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.remMu.Lock() // before mu, as in act
	e.mu.Lock()
	old := map[string]*alarmState{}
	for _, a := range e.alarms {
		old[a.def.Name] = a
	}
	now := e.now()
	var next []*alarmState
	var undo []*alarmState
	for _, d := range defs {
		a := e.fresh(d, now)
		if o, ok := old[d.Name]; ok {
			delete(old, d.Name)
			if o.fingerprint == a.fingerprint {
				a = o
			} else {
				a.history = o.history
				if o.state == StateAlarm && o.def.Actions.Rollback != "" {
					undo = append(undo, o)
				}
			}
		}
		next = append(next, a)
	}
	for _, o := range old {
		if o.state == StateAlarm && o.def.Actions.Rollback != "" {
			undo = append(undo, o)
		}
		for _, s := range []string{StateOK, StateAlarm, StateInsufficientData} {
			e.metrics.state.DeleteLabelValues(o.def.Name, s)
		}
	}
	e.alarms = next
	for _, a := range next {
		e.setStateMetric(a)
	}
	e.mu.Unlock()
	if e.opts.Remediator != nil {
		for _, o := range undo {
			e.opts.Remediator.Rollback(o.def.Actions.Rollback, false, o.def.Name)
		}
	}
	e.remMu.Unlock()
	return e.save()
}

// EvaluationInterval is how often Run evaluates an alarm with period p:
// every minute for periods of 60 s or more, every 10 s for shorter ones.
func EvaluationInterval(p time.Duration) time.Duration {
	if p >= time.Minute {
		return time.Minute
	}
	return 10 * time.Second
}

// Run evaluates the alarms until ctx is done: every 10 s, alarms with
// short periods; on every whole minute, all of them.
func (e *Evaluator) Run(ctx context.Context) {
	for {
		now := time.Now()
		next := now.Truncate(10 * time.Second).Add(10 * time.Second)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		e.evaluate(ctx, next, next.Truncate(time.Minute).Equal(next))
	}
}

// Evaluate runs one evaluation round of every alarm at now.
func (e *Evaluator) Evaluate(ctx context.Context, now time.Time) { e.evaluate(ctx, now, true) }

type pending struct {
	a          *alarmState
	msg        Message
	urls       []string
	rollback   string
	rollbackOn *bool
}

func (e *Evaluator) evaluate(ctx context.Context, now time.Time, all bool) {
	// Actions run in round order, but outside evalMu: a slow webhook
	// holds back the next round's actions, not Replace.
	e.actMu.Lock()
	defer e.actMu.Unlock()
	e.evalMu.Lock()
	out, changed := e.evaluateAll(ctx, now, all)
	e.evalMu.Unlock()
	e.act(ctx, out)
	if changed {
		if err := e.save(); err != nil {
			e.log.Warn("saving alarm state failed", "err", err)
		}
		if e.opts.Saved != nil {
			if b, err := e.State(); err == nil {
				e.opts.Saved(b)
			}
		}
	}
}

func (e *Evaluator) evaluateAll(ctx context.Context, now time.Time, all bool) ([]pending, bool) {
	e.mu.Lock()
	alarms := slices.Clone(e.alarms)
	e.mu.Unlock()
	var out []pending
	changed := false
	for _, a := range alarms {
		if !all && a.def.Period >= time.Minute {
			continue
		}
		p, ch := e.evaluateOne(ctx, a, now)
		changed = changed || ch
		if p != nil {
			out = append(out, *p)
		}
	}
	return out, changed
}

// act runs the remediations and notifications of a round's transitions.
func (e *Evaluator) act(ctx context.Context, out []pending) {
	for _, p := range out {
		if p.rollbackOn != nil && e.opts.Remediator != nil {
			// A Replace since the round may have dropped the alarm and
			// undone its rollback already.
			e.remMu.Lock()
			e.mu.Lock()
			current := slices.Contains(e.alarms, p.a)
			e.mu.Unlock()
			if current {
				e.opts.Remediator.Rollback(p.rollback, *p.rollbackOn, p.a.def.Name)
			}
			e.remMu.Unlock()
		}
		for _, u := range p.urls {
			if err := e.notify(ctx, u, p.msg); err != nil {
				e.metrics.notifications.WithLabelValues("failed").Inc()
				e.log.Warn("alarm notification failed", "alarm", p.a.def.Name, "url", u, "err", err)
			} else {
				e.metrics.notifications.WithLabelValues("sent").Inc()
			}
		}
	}
}

// evaluationRange is how many datapoints are fetched: more than N, as
// CloudWatch does (N=3 → 5).
func evaluationRange(n int) int { return n + 2 }

// datapoints queries the evaluation range ending at end; slots without a
// finite value are Missing.
func (e *Evaluator) datapoints(ctx context.Context, d *Definition, end time.Time, count int) ([]Datapoint, error) {
	p := d.Period
	start := end.Add(-time.Duration(count-1) * p)
	series, err := e.opts.Querier.QueryRange(ctx, d.Query(), start, end, p)
	if err != nil {
		return nil, err
	}
	if len(series) > 1 {
		return nil, fmt.Errorf("query returned %d series, not one number", len(series))
	}
	out := make([]Datapoint, count)
	for i := range out {
		out[i] = Datapoint{Time: start.Add(time.Duration(i)*p - p).UTC(), Missing: true}
	}
	for _, s := range series {
		for _, pt := range s.Points {
			i := int(pt.Time.Sub(start) / p)
			if i < 0 || i >= count || !pt.Time.Equal(start.Add(time.Duration(i)*p)) || math.IsNaN(pt.Value) || math.IsInf(pt.Value, 0) {
				continue
			}
			out[i].Value, out[i].Missing = pt.Value, false
		}
	}
	return out, nil
}

func (e *Evaluator) evaluateOne(ctx context.Context, a *alarmState, now time.Time) (*pending, bool) {
	d := &a.def
	end := now.Truncate(EvaluationInterval(d.Period)).UTC()
	rng, err := e.datapoints(ctx, d, end, evaluationRange(d.EvaluationPeriods))
	var dec decision
	if err == nil && d.AnomalyDetection != nil {
		err = e.applyBand(ctx, a, rng, now)
		if err == nil && a.model == nil {
			dec = decision{state: StateInsufficientData, points: rng[len(rng)-d.EvaluationPeriods:],
				reason: fmt.Sprintf("Insufficient Data: the anomaly detection model has fewer than %d datapoints of history to learn from.", MinTrainingPoints)}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a.lastEval = now
	if err != nil {
		e.metrics.evaluations.WithLabelValues("error").Inc()
		a.lastErr = err.Error()
		e.log.Warn("alarm evaluation failed", "alarm", d.Name, "err", err)
		return nil, false
	}
	e.metrics.evaluations.WithLabelValues("ok").Inc()
	a.lastErr = ""
	if dec.state == "" && dec.points == nil {
		dec = decide(d, rng, a.state)
	}
	a.points = rng
	if dec.state == "" || dec.state == a.state {
		// The reason stays the one of the last transition.
		return nil, false
	}
	old := a.state
	a.state, a.reason, a.stateTime = dec.state, dec.reason, now.UTC()
	a.reasonData = reasonData(d, now, rng, dec.points)
	a.history = append(a.history, Transition{Time: now.UTC(), OldState: old, NewState: dec.state, Reason: dec.reason})
	if len(a.history) > HistoryLength {
		a.history = slices.Clone(a.history[len(a.history)-HistoryLength:])
	}
	e.setStateMetric(a)
	p := &pending{a: a, msg: e.message(a, old)}
	switch dec.state {
	case StateAlarm:
		p.urls = d.Actions.AlarmWebhooks
	case StateOK:
		p.urls = d.Actions.OKWebhooks
	default:
		p.urls = d.Actions.InsufficientDataWebhooks
	}
	if r := d.Actions.Rollback; r != "" && (dec.state == StateAlarm || old == StateAlarm) {
		on := dec.state == StateAlarm
		p.rollback, p.rollbackOn = r, &on
	}
	return p, true
}

// applyBand (re)trains the alarm's model when it is older than the hour
// and sets each datapoint's band.
func (e *Evaluator) applyBand(ctx context.Context, a *alarmState, rng []Datapoint, now time.Time) error {
	d := &a.def
	hour := now.Truncate(time.Hour)
	if a.model == nil || !a.model.trained.Equal(hour) {
		step := d.Period
		if floor := TrainingWindow / maxTrainingPoints; step < floor {
			step = (floor + d.Period - 1) / d.Period * d.Period
		}
		end := rng[0].Time // train on the history before the evaluated datapoints
		series, err := e.opts.Querier.QueryRange(ctx, d.Query(), end.Add(-TrainingWindow), end, step)
		if err != nil {
			return fmt.Errorf("training the anomaly model: %w", err)
		}
		if len(series) > 1 {
			return fmt.Errorf("training the anomaly model: query returned %d series, not one number", len(series))
		}
		var pts []Datapoint
		for _, s := range series {
			for _, p := range s.Points {
				if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
					pts = append(pts, Datapoint{Time: p.Time.Add(-d.Period), Value: p.Value})
				}
			}
		}
		a.model = train(pts, d.Metric != nil, hour)
		if a.model == nil {
			// Retry at the next evaluation rather than next hour.
			return nil
		}
	}
	k := d.band()
	for i := range rng {
		lo, hi := a.model.band(rng[i].Time, k)
		rng[i].Lower, rng[i].Upper = &lo, &hi
	}
	return nil
}

// reasonData is CloudWatch's StateReasonData.
func reasonData(d *Definition, now time.Time, rng, evaluated []Datapoint) json.RawMessage {
	type dp struct {
		Timestamp string    `json:"timestamp"`
		Value     float64   `json:"value"`
		Threshold []float64 `json:"threshold,omitempty"`
	}
	conv := func(pts []Datapoint, newestFirst bool) []dp {
		out := []dp{}
		for i := range pts {
			p := pts[i]
			if newestFirst {
				p = pts[len(pts)-1-i]
			}
			if p.Missing {
				continue
			}
			x := dp{Timestamp: p.Time.UTC().Format(TimeFormat), Value: p.Value}
			if p.Lower != nil && p.Upper != nil {
				x.Threshold = []float64{*p.Lower, *p.Upper}
			}
			out = append(out, x)
		}
		return out
	}
	var recent []float64
	for i := len(rng) - 1; i >= 0; i-- {
		if !rng[i].Missing {
			recent = append(recent, rng[i].Value)
		}
	}
	m := map[string]any{
		"version":             "1.0",
		"queryDate":           now.UTC().Format(TimeFormat),
		"period":              int(d.Period / time.Second),
		"recentDatapoints":    append([]float64{}, recent...),
		"evaluatedDatapoints": conv(evaluated, true),
	}
	if len(rng) > 0 {
		m["startDate"] = rng[0].Time.UTC().Format(TimeFormat)
	}
	if d.Metric != nil {
		m["statistic"] = d.Metric.Statistic
		m["unit"] = metricsByName[d.Metric.Name].unit
	}
	if d.Threshold != nil {
		m["threshold"] = *d.Threshold
	}
	b, _ := json.Marshal(m)
	return b
}

// message builds the notification of a's transition from old.
func (e *Evaluator) message(a *alarmState, old string) Message {
	d := &a.def
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return slices.Clone(s)
	}
	return Message{
		AlarmName:                          d.Name,
		AlarmDescription:                   trimDesc(d.Description),
		AWSAccountID:                       e.opts.AccountID,
		AlarmConfigurationUpdatedTimestamp: a.configUpdated.UTC().Format(TimeFormat),
		NewStateValue:                      a.state,
		NewStateReason:                     a.reason,
		StateChangeTime:                    a.stateTime.UTC().Format(TimeFormat),
		Region:                             RegionName(e.opts.Region),
		AlarmArn:                           AlarmArn(e.opts.Region, e.opts.AccountID, d.Name),
		OldStateValue:                      old,
		OKActions:                          nz(d.Actions.OKWebhooks),
		AlarmActions:                       nz(d.Actions.AlarmWebhooks),
		InsufficientDataActions:            nz(d.Actions.InsufficientDataWebhooks),
		Trigger:                            trigger(d),
	}
}

func trigger(d *Definition) Trigger {
	t := Trigger{
		Dimensions:                       []TriggerDimension{},
		Period:                           int(d.Period / time.Second),
		EvaluationPeriods:                d.EvaluationPeriods,
		DatapointsToAlarm:                d.m(),
		ComparisonOperator:               d.ComparisonOperator,
		Threshold:                        d.Threshold,
		TreatMissingData:                 d.treat(),
		EvaluateLowSampleCountPercentile: "",
	}
	if d.Metric == nil {
		t.Expression = d.Expr
		return t
	}
	for _, k := range slices.Sorted(mapKeys(d.Metric.Dimensions)) {
		t.Dimensions = append(t.Dimensions, TriggerDimension{Value: d.Metric.Dimensions[k], Name: k})
	}
	if d.AnomalyDetection != nil {
		t.Dimensions = nil
		t.Metrics = []TriggerMetric{
			{ID: "m1", MetricStat: &MetricStat{Metric: metricRef(d.Metric), Period: t.Period, Stat: d.Metric.Statistic}, ReturnData: true},
			{ID: "ad1", Expression: fmt.Sprintf("ANOMALY_DETECTION_BAND(m1, %s)", num(d.band())), Label: d.Metric.Name + " (expected)", ReturnData: true},
		}
		t.ThresholdMetricID = "ad1"
		return t
	}
	t.MetricName, t.Namespace = d.Metric.Name, Namespace
	if _, ok := percentile(d.Metric.Statistic); ok {
		t.StatisticType, t.ExtendedStatistic = "ExtendedStatistic", d.Metric.Statistic
	} else {
		t.StatisticType, t.Statistic = "Statistic", strings.ToUpper(d.Metric.Statistic)
		if d.Metric.Statistic == "SampleCount" {
			t.Statistic = "SAMPLE_COUNT"
		}
	}
	return t
}

func metricRef(s *MetricSpec) MetricRef {
	r := MetricRef{MetricName: s.Name, Namespace: Namespace}
	for _, k := range slices.Sorted(mapKeys(s.Dimensions)) {
		r.Dimensions = append(r.Dimensions, Dimension{Name: k, Value: s.Dimensions[k]})
	}
	return r
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Snapshot returns every alarm's status, in configuration order.
func (e *Evaluator) Snapshot() []Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Status, 0, len(e.alarms))
	for _, a := range e.alarms {
		d := &a.def
		s := Status{
			Name: d.Name, Description: d.Description, Arn: AlarmArn(e.opts.Region, e.opts.AccountID, d.Name),
			Query: d.Query(), ComparisonOperator: d.ComparisonOperator, Threshold: d.Threshold,
			State: a.state, StateReason: a.reason, StateReasonData: slices.Clone(a.reasonData), StateUpdated: a.stateTime,
			LastEvaluated: a.lastEval, LastError: a.lastErr,
			Datapoints: slices.Clone(a.points), History: slices.Clone(a.history),
		}
		if d.AnomalyDetection != nil {
			s.Band = d.band()
		}
		if s.Datapoints == nil {
			s.Datapoints = []Datapoint{}
		}
		if s.History == nil {
			s.History = []Transition{}
		}
		out = append(out, s)
	}
	return out
}

// savedAlarm is one alarm in the state file.
type savedAlarm struct {
	Fingerprint   string          `json:"fingerprint"`
	ConfigUpdated time.Time       `json:"configUpdated"`
	State         string          `json:"state"`
	Reason        string          `json:"reason"`
	ReasonData    json.RawMessage `json:"reasonData,omitempty"`
	StateTime     time.Time       `json:"stateTime"`
	History       []Transition    `json:"history"`
}

type stateFile struct {
	Version int                   `json:"version"`
	Alarms  map[string]savedAlarm `json:"alarms"`
}

func (e *Evaluator) load() (map[string]savedAlarm, error) {
	if e.opts.StatePath == "" {
		return nil, nil
	}
	b, err := os.ReadFile(e.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alarm: reading state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		// A corrupt state file must not keep the server down: start over.
		e.log.Warn("alarm state file unreadable, starting over", "path", e.opts.StatePath, "err", err)
		return nil, nil
	}
	return f.Alarms, nil
}

func (e *Evaluator) save() error {
	if e.opts.StatePath == "" {
		return nil
	}
	e.mu.Lock()
	f := stateFile{Version: 1, Alarms: map[string]savedAlarm{}}
	for _, a := range e.alarms {
		f.Alarms[a.def.Name] = savedAlarm{a.fingerprint, a.configUpdated, a.state, a.reason, a.reasonData, a.stateTime, a.history}
	}
	e.mu.Unlock()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(e.opts.StatePath), 0o750); err != nil {
		return err
	}
	tmp := e.opts.StatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, e.opts.StatePath)
}
