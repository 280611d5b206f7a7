package alarm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	promodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// PutMetricAlarmInput is CloudWatch's PutMetricAlarm request (JSON 1.0
// form), single-metric or metric-math (anomaly) form.
type PutMetricAlarmInput struct {
	AlarmName               string          `json:"AlarmName"`
	AlarmDescription        string          `json:"AlarmDescription,omitempty"`
	ActionsEnabled          bool            `json:"ActionsEnabled"`
	OKActions               []string        `json:"OKActions,omitempty"`
	AlarmActions            []string        `json:"AlarmActions,omitempty"`
	InsufficientDataActions []string        `json:"InsufficientDataActions,omitempty"`
	MetricName              string          `json:"MetricName,omitempty"`
	Namespace               string          `json:"Namespace,omitempty"`
	Statistic               string          `json:"Statistic,omitempty"`
	ExtendedStatistic       string          `json:"ExtendedStatistic,omitempty"`
	Dimensions              []Dimension     `json:"Dimensions,omitempty"`
	Period                  int             `json:"Period,omitempty"`
	EvaluationPeriods       int             `json:"EvaluationPeriods"`
	DatapointsToAlarm       int             `json:"DatapointsToAlarm"`
	Threshold               *float64        `json:"Threshold,omitempty"`
	ComparisonOperator      string          `json:"ComparisonOperator"`
	TreatMissingData        string          `json:"TreatMissingData"`
	Metrics                 []TriggerMetric `json:"Metrics,omitempty"`
	ThresholdMetricID       string          `json:"ThresholdMetricId,omitempty"`
}

// TopicArn is the SNS topic the exported alarms notify when they have
// webhooks: subscribe the webhooks' HTTPS endpoints to it.
func TopicArn(accountID, region string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:modelwatch-alarms", region, accountID)
}

// PutMetricAlarmJSON renders defs as a JSON array of PutMetricAlarm
// inputs. Expr alarms have no CloudWatch metric and are skipped, as
// "name: reason" in skipped. Webhooks become the SNS topic TopicArn; a
// rollback has no CloudWatch equivalent and is left out.
func PutMetricAlarmJSON(defs []Definition, accountID, region string) ([]byte, []string, error) {
	if err := ValidateAll(defs); err != nil {
		return nil, nil, err
	}
	if accountID == "" || region == "" {
		return nil, nil, errors.New("alarm: account ID and region are required for the CloudWatch export")
	}
	out := []PutMetricAlarmInput{}
	var skipped []string
	topic := TopicArn(accountID, region)
	actions := func(urls []string) []string {
		if len(urls) == 0 {
			return nil
		}
		return []string{topic}
	}
	for i := range defs {
		d := &defs[i]
		if d.Metric == nil {
			skipped = append(skipped, d.Name+": a PromQL expr has no CloudWatch metric (exported to Prometheus rules only)")
			continue
		}
		in := PutMetricAlarmInput{
			AlarmName: d.Name, AlarmDescription: d.Description, ActionsEnabled: true,
			OKActions: actions(d.Actions.OKWebhooks), AlarmActions: actions(d.Actions.AlarmWebhooks),
			InsufficientDataActions: actions(d.Actions.InsufficientDataWebhooks),
			EvaluationPeriods:       d.EvaluationPeriods, DatapointsToAlarm: d.m(),
			ComparisonOperator: d.ComparisonOperator, TreatMissingData: d.treat(),
		}
		if d.AnomalyDetection != nil {
			t := trigger(d)
			in.Metrics, in.ThresholdMetricID = t.Metrics, t.ThresholdMetricID
		} else {
			ref := metricRef(d.Metric)
			in.MetricName, in.Namespace, in.Dimensions = ref.MetricName, ref.Namespace, ref.Dimensions
			in.Period, in.Threshold = int(d.Period/time.Second), d.Threshold
			if _, ok := percentile(d.Metric.Statistic); ok {
				in.ExtendedStatistic = d.Metric.Statistic
			} else {
				in.Statistic = d.Metric.Statistic
			}
		}
		out = append(out, in)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return append(b, '\n'), skipped, nil
}

// AnomalyWindow is the trailing window of the Prometheus rules' anomaly
// band (avg_over_time ± k × stddev_over_time over it).
const AnomalyWindow = 24 * time.Hour

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

var promOps = map[string]string{
	GreaterThanOrEqualToThreshold: ">=",
	GreaterThanThreshold:          ">",
	LessThanThreshold:             "<",
	LessThanOrEqualToThreshold:    "<=",
}

// RuleExpr is the Prometheus alerting condition of d: its query compared
// with the threshold (or the anomaly band), or-ed with absent() when
// missing data is breaching.
func RuleExpr(d *Definition) string {
	q := d.RuleQuery()
	if t, err := exprType(q); err == nil && t == parser.ValueTypeScalar {
		q = "vector(" + q + ")"
	}
	var cond string
	if d.AnomalyDetection == nil {
		cond = fmt.Sprintf("(%s) %s %s", q, promOps[d.ComparisonOperator], num(*d.Threshold))
	} else {
		sub := "(" + q + ")[" + promDuration(AnomalyWindow) + ":" + promDuration(d.Period) + "]"
		k := num(d.band())
		upper := fmt.Sprintf("(avg_over_time(%s) + %s * stddev_over_time(%s))", sub, k, sub)
		lower := fmt.Sprintf("(avg_over_time(%s) - %s * stddev_over_time(%s))", sub, k, sub)
		if d.Metric != nil {
			lower = "clamp_min(" + lower + ", 0)"
		}
		switch d.ComparisonOperator {
		case GreaterThanUpperThreshold:
			cond = fmt.Sprintf("(%s) > %s", q, upper)
		case LessThanLowerThreshold:
			cond = fmt.Sprintf("(%s) < %s", q, lower)
		default:
			cond = fmt.Sprintf("(%s) > %s or (%s) < %s", q, upper, q, lower)
		}
	}
	if d.treat() == MissingBreaching {
		cond = "(" + cond + ") or absent(" + q + ")"
	}
	return cond
}

// escapeTemplate keeps user text from being read as a Go template.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// PrometheusRules renders defs as a Prometheus rule file with one group,
// modelwatch, of one alerting rule per alarm; the file is checked with
// Prometheus's own rule parser before it is returned.
func PrometheusRules(defs []Definition) ([]byte, error) {
	if err := ValidateAll(defs); err != nil {
		return nil, err
	}
	g := ruleGroup{Name: "modelwatch", Rules: []rule{}}
	short := false
	for i := range defs {
		d := &defs[i]
		short = short || d.Period < time.Minute
		r := rule{
			Alert:  d.Name,
			Expr:   RuleExpr(d),
			Labels: map[string]string{"alarm": escapeTemplate(d.Name)},
			Annotations: map[string]string{
				"summary": escapeTemplate(fmt.Sprintf("Alarm %s: %s", d.Name, conditionText(d))) + " (value {{ $value }})",
			},
		}
		if m := d.m(); m > 1 {
			r.For = promDuration(time.Duration(m-1) * d.Period)
		}
		if d.Description != "" {
			r.Annotations["description"] = escapeTemplate(d.Description)
		}
		if d.Metric != nil {
			r.Annotations["cloudwatch_metric"] = d.Metric.Name + " " + d.Metric.Statistic
			if id := d.modelID(); id != "" {
				r.Labels["model_id"] = escapeTemplate(id)
			}
		}
		g.Rules = append(g.Rules, r)
	}
	if short {
		g.Interval = "10s"
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(ruleFile{Groups: []ruleGroup{g}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if _, errs := rulefmt.Parse(buf.Bytes(), false, promodel.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler)); len(errs) > 0 {
		return nil, fmt.Errorf("alarm: generated rules are invalid: %w", errors.Join(errs...))
	}
	return buf.Bytes(), nil
}

// conditionText describes d's condition in words.
func conditionText(d *Definition) string {
	what := d.Expr
	if d.Metric != nil {
		what = d.Metric.Statistic + " of " + d.Metric.Name
		if id := d.modelID(); id != "" {
			what += " for " + id
		}
	}
	per := strconv.Itoa(int(d.Period/time.Second)) + "s"
	if d.AnomalyDetection != nil {
		return fmt.Sprintf("%s per %s outside %s standard deviations of its usual range (%s)", what, per, num(d.band()), d.ComparisonOperator)
	}
	return fmt.Sprintf("%s per %s %s %s", what, per, promOps[d.ComparisonOperator], num(*d.Threshold))
}
