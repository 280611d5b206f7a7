package alarm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// exportAlarms covers the single-metric, percentile, anomaly and Expr
// forms.
func exportAlarms() []Definition {
	thr := throttleAlarm()
	thr.Description = "Throttling on Haiku"
	return []Definition{
		thr,
		{
			Name:   "latency-p99",
			Metric: &MetricSpec{Name: "InvocationLatency", Statistic: "p99"},
			Period: time.Minute, EvaluationPeriods: 3, Threshold: f(20000), ComparisonOperator: GreaterThanOrEqualToThreshold,
			TreatMissingData: MissingBreaching,
		},
		{
			Name:   "output-tokens-anomaly",
			Metric: &MetricSpec{Name: "OutputTokenCount", Dimensions: map[string]string{"ModelId": "amazon.nova-lite-v1:0"}, Statistic: "Sum"},
			Period: 5 * time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 2,
			ComparisonOperator: LessThanLowerOrGreaterThanUpperThreshold, AnomalyDetection: &AnomalySpec{Band: 2.5},
			Actions: Actions{OKWebhooks: []string{"https://hooks.example.com/ok"}},
		},
		{
			Name: "error-ratio", Expr: `sum(increase(bedrock_invocation_server_errors_total[1m])) / sum(increase(bedrock_invocations_total[1m]))`,
			Period: 30 * time.Second, EvaluationPeriods: 2, Threshold: f(0.05), ComparisonOperator: GreaterThanThreshold,
		},
		{
			Name: "scalar-expr", Expr: `scalar(sum(bedrock_invocations_total))`,
			Period: time.Minute, EvaluationPeriods: 1, Threshold: f(1), ComparisonOperator: LessThanThreshold,
		},
		{
			Name: "tokens-drop", Metric: &MetricSpec{Name: "InputTokenCount", Statistic: "Average"},
			Period: time.Hour, EvaluationPeriods: 2, ComparisonOperator: LessThanLowerThreshold, AnomalyDetection: &AnomalySpec{},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestPutMetricAlarmJSONMatchesGolden(t *testing.T) {
	b, skipped, err := PutMetricAlarmJSON(exportAlarms(), "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "putmetricalarm.golden.json", b)
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], "error-ratio: ") || !strings.HasPrefix(skipped[1], "scalar-expr: ") {
		t.Errorf("skipped %q", skipped)
	}
	var inputs []map[string]any
	if err := json.Unmarshal(b, &inputs); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, k := range strings.Fields(`AlarmName AlarmDescription ActionsEnabled OKActions AlarmActions InsufficientDataActions MetricName Namespace
		Statistic ExtendedStatistic Dimensions Period Unit EvaluationPeriods DatapointsToAlarm Threshold ComparisonOperator TreatMissingData
		EvaluateLowSampleCountPercentile Metrics Tags ThresholdMetricId`) {
		allowed[k] = true
	}
	for _, in := range inputs {
		for k := range in {
			if !allowed[k] {
				t.Errorf("%v: %s is not a PutMetricAlarm field", in["AlarmName"], k)
			}
		}
		_, single := in["MetricName"]
		_, metrics := in["Metrics"]
		if single == metrics {
			t.Errorf("%v: exactly one of MetricName and Metrics must be set", in["AlarmName"])
		}
	}
}

func TestPrometheusRulesMatchGolden(t *testing.T) {
	b, err := PrometheusRules(exportAlarms())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rules.golden.yml", b)
}

func TestPrometheusRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is required in CI (Debian package prometheus)")
		}
		t.Skip("promtool not installed (Debian package prometheus); required when CI is set")
	}
	b, err := PrometheusRules(exportAlarms())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 6 rules found") {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestRuleExprComparesWithThresholdOrBand(t *testing.T) {
	defs := exportAlarms()
	for _, tc := range []struct {
		def  Definition
		want string
	}{
		{defs[0], `(sum(increase(bedrock_invocation_throttles_total{model_id="anthropic.claude-3-haiku-20240307-v1:0"}[5m]))) > 10`},
		{defs[1], `((1000 * histogram_quantile(0.99, sum by (le) (increase(bedrock_invocation_latency_seconds_bucket[1m])))) >= 20000) or absent(1000 * histogram_quantile(0.99, sum by (le) (increase(bedrock_invocation_latency_seconds_bucket[1m]))))`},
		{defs[4], `(vector(scalar(sum(bedrock_invocations_total)))) < 1`},
	} {
		t.Run(tc.def.Name, func(t *testing.T) {
			if got := RuleExpr(&tc.def); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
