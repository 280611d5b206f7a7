package alarm

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/dashboard"
)

func throttleAlarm() Definition {
	return Definition{
		Name:   "bedrock-throttles",
		Metric: &MetricSpec{Name: "InvocationThrottles", Dimensions: map[string]string{"ModelId": "anthropic.claude-3-haiku-20240307-v1:0"}, Statistic: "Sum"},
		Period: 5 * time.Minute, EvaluationPeriods: 5, DatapointsToAlarm: 3,
		Threshold: f(10), ComparisonOperator: GreaterThanThreshold, TreatMissingData: MissingNotBreaching,
		Actions: Actions{AlarmWebhooks: []string{"https://hooks.example.com/a"}, Rollback: "anthropic.claude-3-haiku-20240307-v1:0"},
	}
}

func TestValidateRejectsWhatCloudWatchRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Definition)
		want   string // "" = valid
	}{
		{"valid", func(*Definition) {}, ""},
		{"missing name", func(d *Definition) { d.Name = "" }, "name: is required"},
		{"long name", func(d *Definition) { d.Name = strings.Repeat("a", 256) }, "at most 255"},
		{"long description", func(d *Definition) { d.Description = strings.Repeat("a", 1025) }, "description"},
		{"neither metric nor expr", func(d *Definition) { d.Metric = nil }, "one of metric and expr"},
		{"both metric and expr", func(d *Definition) { d.Expr = "vector(1)" }, "mutually exclusive"},
		{"bad expr", func(d *Definition) { d.Metric, d.Expr = nil, "sum(" }, "invalid PromQL"},
		{"range vector expr", func(d *Definition) { d.Metric, d.Expr = nil, "up[5m]" }, "not a number"},
		{"unknown metric", func(d *Definition) { d.Metric.Name = "Foo" }, `name "Foo"`},
		{"other namespace", func(d *Definition) { d.Metric.Namespace = "AWS/EC2" }, "namespace"},
		{"unknown dimension", func(d *Definition) { d.Metric.Dimensions = map[string]string{"Region": "x"} }, "dimensions"},
		{"percentile on a count", func(d *Definition) { d.Metric.Statistic = "p90" }, "statistic"},
		{"maximum unsupported", func(d *Definition) { d.Metric.Statistic = "Maximum" }, "statistic"},
		{"period 45s", func(d *Definition) { d.Period = 45 * time.Second }, "period"},
		{"period 90s", func(d *Definition) { d.Period = 90 * time.Second }, "period"},
		{"period 10s", func(d *Definition) { d.Period = 10 * time.Second }, ""},
		{"over 24h", func(d *Definition) { d.Period, d.EvaluationPeriods, d.DatapointsToAlarm = time.Hour, 25, 1 }, "exceeds 24h"},
		{"zero N", func(d *Definition) { d.EvaluationPeriods = 0 }, "evaluationPeriods"},
		{"M above N", func(d *Definition) { d.DatapointsToAlarm = 6 }, "datapointsToAlarm"},
		{"no threshold", func(d *Definition) { d.Threshold = nil }, "threshold: is required"},
		{"anomaly operator on threshold", func(d *Definition) { d.ComparisonOperator = GreaterThanUpperThreshold }, "comparisonOperator"},
		{"anomaly with threshold", func(d *Definition) {
			d.AnomalyDetection, d.ComparisonOperator = &AnomalySpec{}, GreaterThanUpperThreshold
		}, "must not be set on an anomaly"},
		{"anomaly valid", func(d *Definition) {
			d.AnomalyDetection, d.ComparisonOperator, d.Threshold = &AnomalySpec{Band: 3}, LessThanLowerOrGreaterThanUpperThreshold, nil
		}, ""},
		{"anomaly short period", func(d *Definition) {
			d.AnomalyDetection, d.ComparisonOperator, d.Threshold, d.Period = &AnomalySpec{}, GreaterThanUpperThreshold, nil, 30*time.Second
		}, "at least 60s"},
		{"negative band", func(d *Definition) {
			d.AnomalyDetection, d.ComparisonOperator, d.Threshold = &AnomalySpec{Band: -1}, GreaterThanUpperThreshold, nil
		}, "band"},
		{"bad treatMissingData", func(d *Definition) { d.TreatMissingData = "zero" }, "treatMissingData"},
		{"webhook not a URL", func(d *Definition) { d.Actions.OKWebhooks = []string{"ftp://x"} }, "actions.okWebhooks"},
		{"six webhooks", func(d *Definition) {
			d.Actions.AlarmWebhooks = strings.Split("http://a http://b http://c http://d http://e http://f", " ")
		}, "at most 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := throttleAlarm()
			d.Metric.Dimensions = map[string]string{"ModelId": "m"}
			tc.mutate(&d)
			err := d.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case err != nil && !strings.Contains(err.Error(), `alarm "`+d.Name+`"`):
				t.Fatalf("error %v does not name the alarm", err)
			}
		})
	}
}

func TestValidateAllRejectsDuplicateNames(t *testing.T) {
	if err := ValidateAll([]Definition{throttleAlarm(), throttleAlarm()}); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Fatalf("got %v", err)
	}
}

// boundaryDelta matches "(increase(m[1m]))" with m captured.
var boundaryDelta = regexp.MustCompile(`\(increase\(([a-z_]+(?:\{[^}]*\})?)\[1m\]\)\)`)

func TestQueryMapsStatisticsToPromQL(t *testing.T) {
	for _, tc := range []struct{ metric, stat, model, want string }{
		{"InvocationThrottles", "Sum", "X", `sum(increase(bedrock_invocation_throttles_total{model_id="X"}[1m]))`},
		{"Invocations", "SampleCount", "", `sum(increase(bedrock_invocations_total[1m]))`},
		{"OutputTokenCount", "Average", "", `sum(increase(bedrock_output_tokens_total[1m])) / sum(increase(bedrock_invocations_total[1m]))`},
		{"InputTokenCount", "SampleCount", "", `sum(increase(bedrock_invocations_total[1m]))`},
		{"InvocationLatency", "Average", "X", `1000 * sum(increase(bedrock_invocation_latency_seconds_sum{model_id="X"}[1m])) / sum(increase(bedrock_invocation_latency_seconds_count{model_id="X"}[1m]))`},
		{"TimeToFirstToken", "p99", "", `1000 * histogram_quantile(0.99, sum by (le) (increase(bedrock_time_to_first_token_seconds_bucket[1m])))`},
		{"InvocationLatency", "p99.9", "", `1000 * histogram_quantile(0.999, sum by (le) (increase(bedrock_invocation_latency_seconds_bucket[1m])))`},
	} {
		t.Run(tc.metric+" "+tc.stat, func(t *testing.T) {
			d := Definition{Metric: &MetricSpec{Name: tc.metric, Statistic: tc.stat}, Period: time.Minute}
			if tc.model != "" {
				d.Metric.Dimensions = map[string]string{"ModelId": tc.model}
			}
			if err := d.Metric.validate(); err != nil {
				t.Fatal(err)
			}
			if got := d.RuleQuery(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			// The evaluator's form: the same with each increase(m[P])
			// as the boundary difference of instant values.
			bounded := boundaryDelta.ReplaceAllStringFunc(tc.want, func(inc string) string {
				m := boundaryDelta.FindStringSubmatch(inc)[1]
				return "(" + m + " - " + m + " offset 1m >= 0 or " + m + " * 1)"
			})
			if got := d.Query(); got != bounded {
				t.Errorf("Query()\ngot  %s\nwant %s", got, bounded)
			}
			for _, q := range []string{d.Query(), d.RuleQuery()} {
				if err := dashboard.CheckPromQL(q); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestDefinitionDecodesFromCamelCaseYAML(t *testing.T) {
	src := `
name: throttles
metric: {name: InvocationThrottles, dimensions: {ModelId: m}, statistic: Sum}
period: 1m
evaluationPeriods: 3
datapointsToAlarm: 2
threshold: 10
comparisonOperator: GreaterThanThreshold
treatMissingData: notBreaching
actions: {alarmWebhooks: ["https://h.example/x"], rollback: m}
`
	var d Definition
	if err := yaml.Unmarshal([]byte(src), &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Period != time.Minute || d.EvaluationPeriods != 3 || d.m() != 2 || *d.Threshold != 10 || d.Actions.Rollback != "m" {
		t.Fatalf("decoded %+v", d)
	}
}
