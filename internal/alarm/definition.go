package alarm

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Namespace is the CloudWatch namespace of Bedrock's runtime metrics, the
// only one modelwatch's history holds.
const Namespace = "AWS/Bedrock"

// DimensionModelID is the only dimension Bedrock's runtime metrics have.
const DimensionModelID = "ModelId"

// Alarm states, as CloudWatch spells them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Comparison operators.
const (
	GreaterThanOrEqualToThreshold            = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold                     = "GreaterThanThreshold"
	LessThanThreshold                        = "LessThanThreshold"
	LessThanOrEqualToThreshold               = "LessThanOrEqualToThreshold"
	LessThanLowerOrGreaterThanUpperThreshold = "LessThanLowerOrGreaterThanUpperThreshold"
	LessThanLowerThreshold                   = "LessThanLowerThreshold"
	GreaterThanUpperThreshold                = "GreaterThanUpperThreshold"
)

// TreatMissingData values.
const (
	MissingMissing      = "missing"
	MissingNotBreaching = "notBreaching"
	MissingBreaching    = "breaching"
	MissingIgnore       = "ignore"
)

// DefaultBand is the anomaly band's width in standard deviations when
// AnomalySpec.Band is 0, as ANOMALY_DETECTION_BAND's default.
const DefaultBand = 2.0

// Definition is one alarm as configured (YAML camelCase; the server
// configuration embeds []Definition under `alarms:`).
type Definition struct {
	// Name identifies the alarm (CloudWatch's AlarmName, ≤255 characters).
	Name string `yaml:"name" json:"name"`
	// Description is CloudWatch's AlarmDescription (≤1024 characters).
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Metric is the CloudWatch form of the alarm's metric; exactly one of
	// Metric and Expr is set.
	Metric *MetricSpec `yaml:"metric,omitempty" json:"metric,omitempty"`
	// Expr is any PromQL returning one number (a scalar or a one-element
	// vector), evaluated at the end of each period; Expr alarms are
	// exported to Prometheus rules only.
	Expr string `yaml:"expr,omitempty" json:"expr,omitempty"`
	// Period is the length of one datapoint: 10s, 20s, 30s or a multiple
	// of 60s.
	Period time.Duration `yaml:"period" json:"period"`
	// EvaluationPeriods is N, the datapoints evaluated.
	EvaluationPeriods int `yaml:"evaluationPeriods" json:"evaluationPeriods"`
	// DatapointsToAlarm is M, the breaching datapoints out of N that put
	// the alarm in ALARM; 0 means N.
	DatapointsToAlarm int `yaml:"datapointsToAlarm,omitempty" json:"datapointsToAlarm,omitempty"`
	// Threshold is the static threshold; nil for anomaly alarms.
	Threshold *float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// ComparisonOperator compares a datapoint with the threshold or band.
	ComparisonOperator string `yaml:"comparisonOperator" json:"comparisonOperator"`
	// TreatMissingData is missing (the default), notBreaching, breaching
	// or ignore.
	TreatMissingData string `yaml:"treatMissingData,omitempty" json:"treatMissingData,omitempty"`
	// AnomalyDetection, when set, makes this an anomaly detection alarm
	// comparing each datapoint with a band learnt from the history.
	AnomalyDetection *AnomalySpec `yaml:"anomalyDetection,omitempty" json:"anomalyDetection,omitempty"`
	// Actions are run when the alarm changes state.
	Actions Actions `yaml:"actions,omitempty" json:"actions,omitempty"`
}

// MetricSpec names a CloudWatch AWS/Bedrock metric and statistic.
type MetricSpec struct {
	// Namespace is AWS/Bedrock (the default when empty).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Name is the CloudWatch metric name, e.g. InvocationThrottles.
	Name string `yaml:"name" json:"name"`
	// Dimensions holds at most ModelId; without it the metric is summed
	// over every model.
	Dimensions map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
	// Statistic is Sum, Average, Minimum, Maximum, SampleCount or pNN
	// (pNN.N), whichever the metric supports (see doc.go).
	Statistic string `yaml:"statistic" json:"statistic"`
}

// AnomalySpec configures an anomaly detection band.
type AnomalySpec struct {
	// Band is the band's half-width in standard deviations; 0 means
	// DefaultBand.
	Band float64 `yaml:"band,omitempty" json:"band,omitempty"`
}

// Actions are what an alarm does when its state changes.
type Actions struct {
	// AlarmWebhooks receive the SNS-style notification on entering ALARM.
	AlarmWebhooks []string `yaml:"alarmWebhooks,omitempty" json:"alarmWebhooks,omitempty"`
	// OKWebhooks receive it on entering OK.
	OKWebhooks []string `yaml:"okWebhooks,omitempty" json:"okWebhooks,omitempty"`
	// InsufficientDataWebhooks receive it on entering INSUFFICIENT_DATA.
	InsufficientDataWebhooks []string `yaml:"insufficientDataWebhooks,omitempty" json:"insufficientDataWebhooks,omitempty"`
	// Rollback is a model ID switched to its fallback while the alarm is
	// in ALARM (Remediator.Rollback).
	Rollback string `yaml:"rollback,omitempty" json:"rollback,omitempty"`
}

// metricKind is how a CloudWatch metric is held in the history.
type metricKind int

const (
	kindCount     metricKind = iota // a counter of events, each worth 1
	kindTokens                      // a counter of tokens, one datapoint per call
	kindHistogram                   // a histogram in seconds, exported in milliseconds
)

type metricInfo struct {
	prom string
	kind metricKind
	unit string
}

// metricsByName maps the supported AWS/Bedrock metric names to the
// history's metrics.
var metricsByName = map[string]metricInfo{
	"Invocations":            {"bedrock_invocations_total", kindCount, "Count"},
	"InvocationThrottles":    {"bedrock_invocation_throttles_total", kindCount, "Count"},
	"InvocationClientErrors": {"bedrock_invocation_client_errors_total", kindCount, "Count"},
	"InvocationServerErrors": {"bedrock_invocation_server_errors_total", kindCount, "Count"},
	"InputTokenCount":        {"bedrock_input_tokens_total", kindTokens, "Count"},
	"OutputTokenCount":       {"bedrock_output_tokens_total", kindTokens, "Count"},
	"InvocationLatency":      {"bedrock_invocation_latency_seconds", kindHistogram, "Milliseconds"},
	"TimeToFirstToken":       {"bedrock_time_to_first_token_seconds", kindHistogram, "Milliseconds"},
}

// MetricNames lists the CloudWatch metric names an alarm's Metric may use.
func MetricNames() []string {
	out := make([]string, 0, len(metricsByName))
	for k := range metricsByName {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var percentileRe = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,2})?)$`)

// percentile returns the quantile of a pNN statistic.
func percentile(stat string) (float64, bool) {
	m := percentileRe.FindStringSubmatch(stat)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v <= 0 || v >= 100 {
		return 0, false
	}
	return v / 100, true
}

func (d *Definition) m() int {
	if d.DatapointsToAlarm == 0 {
		return d.EvaluationPeriods
	}
	return d.DatapointsToAlarm
}

func (d *Definition) treat() string {
	if d.TreatMissingData == "" {
		return MissingMissing
	}
	return d.TreatMissingData
}

func (d *Definition) band() float64 {
	if d.AnomalyDetection == nil || d.AnomalyDetection.Band == 0 {
		return DefaultBand
	}
	return d.AnomalyDetection.Band
}

func (d *Definition) modelID() string {
	if d.Metric == nil {
		return ""
	}
	return d.Metric.Dimensions[DimensionModelID]
}

// Validate checks d against CloudWatch's PutMetricAlarm rules and
// modelwatch's metrics; the error names the alarm and the field.
func (d *Definition) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("alarm %q: %s: %s", d.Name, field, fmt.Sprintf(format, args...)))
	}
	switch {
	case strings.TrimSpace(d.Name) == "":
		bad("name", "is required")
	case len(d.Name) > 255:
		bad("name", "is %d characters, at most 255 allowed", len(d.Name))
	case strings.ContainsFunc(d.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		bad("name", "contains a control character")
	}
	if len(d.Description) > 1024 {
		bad("description", "is %d characters, at most 1024 allowed", len(d.Description))
	}
	switch {
	case d.Metric == nil && d.Expr == "":
		bad("metric", "one of metric and expr is required")
	case d.Metric != nil && d.Expr != "":
		bad("metric", "metric and expr are mutually exclusive")
	case d.Metric != nil:
		if err := d.Metric.validate(); err != nil {
			bad("metric", "%v", err)
		}
	default:
		if err := checkExpr(d.Expr); err != nil {
			bad("expr", "%v", err)
		}
	}
	p := d.Period
	switch {
	case p <= 0:
		bad("period", "is required (10s, 20s, 30s or a multiple of 60s)")
	case p != 10*time.Second && p != 20*time.Second && p != 30*time.Second && p%time.Minute != 0:
		bad("period", "%s is not 10s, 20s, 30s or a multiple of 60s", p)
	}
	n := d.EvaluationPeriods
	switch {
	case n < 1:
		bad("evaluationPeriods", "must be at least 1, got %d", n)
	case p > 0 && time.Duration(n)*p > 24*time.Hour:
		bad("evaluationPeriods", "period × evaluationPeriods = %s exceeds 24h", time.Duration(n)*p)
	}
	if m := d.DatapointsToAlarm; m < 0 || (n >= 1 && m > n) {
		bad("datapointsToAlarm", "must be between 1 and evaluationPeriods (%d), got %d", n, m)
	}
	switch d.treat() {
	case MissingMissing, MissingNotBreaching, MissingBreaching, MissingIgnore:
	default:
		bad("treatMissingData", "%q is not missing, notBreaching, breaching or ignore", d.TreatMissingData)
	}
	if d.AnomalyDetection != nil {
		if d.Threshold != nil {
			bad("threshold", "must not be set on an anomaly detection alarm (the band is the threshold)")
		}
		if b := d.AnomalyDetection.Band; b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
			bad("anomalyDetection.band", "must be a positive number of standard deviations, got %v", b)
		}
		if p > 0 && p < time.Minute {
			bad("period", "anomaly detection needs a period of at least 60s, got %s", p)
		}
		switch d.ComparisonOperator {
		case LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold:
		default:
			bad("comparisonOperator", "%q is not an anomaly detection operator (LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold)", d.ComparisonOperator)
		}
	} else {
		if d.Threshold == nil {
			bad("threshold", "is required (or anomalyDetection)")
		} else if math.IsNaN(*d.Threshold) || math.IsInf(*d.Threshold, 0) {
			bad("threshold", "must be a finite number")
		}
		switch d.ComparisonOperator {
		case GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold:
		default:
			bad("comparisonOperator", "%q is not GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold", d.ComparisonOperator)
		}
	}
	for field, urls := range map[string][]string{
		"actions.alarmWebhooks":            d.Actions.AlarmWebhooks,
		"actions.okWebhooks":               d.Actions.OKWebhooks,
		"actions.insufficientDataWebhooks": d.Actions.InsufficientDataWebhooks,
	} {
		if len(urls) > 5 {
			bad(field, "has %d URLs, at most 5 allowed", len(urls))
		}
		for _, s := range urls {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(field, "%q is not an http(s) URL", s)
			}
		}
	}
	if r := d.Actions.Rollback; r != strings.TrimSpace(r) {
		bad("actions.rollback", "%q has surrounding spaces", r)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func (s *MetricSpec) validate() error {
	if s.Namespace != "" && s.Namespace != Namespace {
		return fmt.Errorf("namespace %q: only %s is held in the history", s.Namespace, Namespace)
	}
	info, ok := metricsByName[s.Name]
	if !ok {
		return fmt.Errorf("name %q is not one of %s", s.Name, strings.Join(MetricNames(), ", "))
	}
	for k, v := range s.Dimensions {
		if k != DimensionModelID {
			return fmt.Errorf("dimensions: %q is not a dimension of %s (only %s)", k, s.Name, DimensionModelID)
		}
		if v == "" {
			return fmt.Errorf("dimensions: %s is empty", k)
		}
	}
	if _, ok := statisticsOf(info.kind)[s.Statistic]; ok {
		return nil
	}
	if _, ok := percentile(s.Statistic); ok && info.kind == kindHistogram {
		return nil
	}
	allowed := slices.Sorted(func(yield func(string) bool) {
		for k := range statisticsOf(info.kind) {
			if !yield(k) {
				return
			}
		}
	})
	if info.kind == kindHistogram {
		allowed = append(allowed, "pNN")
	}
	return fmt.Errorf("statistic %q is not available for %s from modelwatch's metrics (use %s)", s.Statistic, s.Name, strings.Join(allowed, ", "))
}

func statisticsOf(k metricKind) map[string]bool {
	switch k {
	case kindCount:
		return map[string]bool{"Sum": true, "SampleCount": true}
	case kindTokens:
		return map[string]bool{"Sum": true, "SampleCount": true, "Average": true}
	default:
		return map[string]bool{"Sum": true, "SampleCount": true, "Average": true}
	}
}

// checkExpr parses q as PromQL returning a scalar or an instant vector.
func checkExpr(q string) error {
	_, err := exprType(q)
	return err
}

func exprType(q string) (parser.ValueType, error) {
	if strings.TrimSpace(q) == "" {
		return "", errors.New("empty PromQL")
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return "", fmt.Errorf("invalid PromQL %q: %w", q, err)
	}
	switch t := e.Type(); t {
	case parser.ValueTypeScalar, parser.ValueTypeVector:
		return t, nil
	default:
		return "", fmt.Errorf("PromQL %q returns a %s, not a number (scalar or instant vector)", q, t)
	}
}

// ValidateAll validates every definition and that names are unique.
func ValidateAll(defs []Definition) error {
	var errs []error
	seen := map[string]bool{}
	for i := range defs {
		if err := defs[i].Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[defs[i].Name] {
			errs = append(errs, fmt.Errorf("alarm %q: name: defined more than once", defs[i].Name))
		}
		seen[defs[i].Name] = true
	}
	return errors.Join(errs...)
}

// Query returns the PromQL giving d's datapoint for the period ending at
// the evaluation time: the statistic over the last Period, as the
// evaluator computes it on the history (see metricQuery).
func (d *Definition) Query() string {
	if d.Metric == nil {
		return d.Expr
	}
	return metricQuery(d.Metric, d.Period, true)
}

// RuleQuery is Query for a Prometheus rule file: the same statistic with
// increase() over the period, the form a Prometheus that scrapes on its
// own schedule (not at period boundaries) is written for.
func (d *Definition) RuleQuery() string {
	if d.Metric == nil {
		return d.Expr
	}
	return metricQuery(d.Metric, d.Period, false)
}

func promDuration(p time.Duration) string {
	switch {
	case p%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(p/(24*time.Hour)), 10) + "d"
	case p%time.Hour == 0:
		return strconv.FormatInt(int64(p/time.Hour), 10) + "h"
	}
	if p%time.Minute == 0 {
		return strconv.FormatInt(int64(p/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(p/time.Second), 10) + "s"
}

// metricQuery is the PromQL of a metric alarm's datapoint. bounded is the
// evaluator's form (differences of instant values at the period's
// boundaries); otherwise increase() over the period.
func metricQuery(s *MetricSpec, period time.Duration, bounded bool) string {
	info := metricsByName[s.Name]
	sel := ""
	if id := s.Dimensions[DimensionModelID]; id != "" {
		sel = `{model_id=` + strconv.Quote(id) + `}`
	}
	// A datapoint is the counter at the period's end minus the counter
	// at its start, both instant values: the evaluator samples the
	// history at every period boundary, and an instant value includes a
	// sample stamped exactly at the start, which a range [P] leaves out
	// (ranges are open at the start), so events just after a boundary
	// would count in neither period. A series whose counter went down
	// (the server restarted) or that began within the period counts all
	// it holds: its events since it began. "* 1" drops the metric name,
	// so that "or" adds only the series the difference lacks.
	off := " offset " + promDuration(period)
	delta := func(name string) string {
		m := name + sel
		return "(" + m + " - " + m + off + " >= 0 or " + m + " * 1)"
	}
	if !bounded {
		r := "[" + promDuration(period) + "]"
		delta = func(name string) string { return "(increase(" + name + sel + r + "))" }
	}
	inc := func(name string) string { return "sum" + delta(name) }
	switch info.kind {
	case kindCount:
		return inc(info.prom) // Sum and SampleCount: each event is a datapoint of 1
	case kindTokens:
		switch s.Statistic {
		case "SampleCount":
			return inc("bedrock_invocations_total")
		case "Average":
			return inc(info.prom) + " / " + inc("bedrock_invocations_total")
		}
		return inc(info.prom)
	}
	switch s.Statistic {
	case "SampleCount":
		return inc(info.prom + "_count")
	case "Sum":
		return "1000 * " + inc(info.prom+"_sum")
	case "Average":
		return "1000 * " + inc(info.prom+"_sum") + " / " + inc(info.prom+"_count")
	}
	q, _ := percentile(s.Statistic)
	return "1000 * histogram_quantile(" + strconv.FormatFloat(q, 'g', 12, 64) + ", sum by (le) " + delta(info.prom+"_bucket") + ")"
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
