package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// alarmsConfig has one alarm of each kind: a static-threshold metric
// alarm, an anomaly detection alarm and a PromQL (expr) alarm.
const alarmsConfig = `region: eu-west-1
accountId: "123456789012"

alarms:
  # Throttling on Claude 3 Haiku.
  - name: haiku-throttling
    description: Claude 3 Haiku is throttled
    metric: {name: InvocationThrottles, statistic: Sum, dimensions: {ModelId: anthropic.claude-3-haiku-20240307-v1:0}}
    period: 1m
    evaluationPeriods: 3
    datapointsToAlarm: 2
    threshold: 10
    comparisonOperator: GreaterThanThreshold
    treatMissingData: notBreaching
    actions:
      alarmWebhooks: [https://hooks.example.com/modelwatch]
      okWebhooks: [https://hooks.example.com/modelwatch]
  - name: output-tokens-anomaly
    metric: {name: OutputTokenCount, statistic: Sum}
    period: 5m
    evaluationPeriods: 3
    datapointsToAlarm: 2
    comparisonOperator: LessThanLowerOrGreaterThanUpperThreshold
    anomalyDetection: {band: 2}
  - name: error-ratio
    expr: sum(rate(modelwatch_invocation_errors_total[5m])) / sum(rate(modelwatch_invocations_total[5m]))
    period: 1m
    evaluationPeriods: 5
    threshold: 0.05
    comparisonOperator: GreaterThanOrEqualToThreshold
`

// exportAlarms runs `modelwatch alarms export --config <alarmsConfig>`
// with args.
func exportAlarms(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	f := writeConfig(t, alarmsConfig)
	return run(t, nil, append([]string{"alarms", "export", "--config", f}, args...)...)
}

func TestAlarmsExportCloudWatch(t *testing.T) {
	code, out, errs := exportAlarms(t, "--format", "cloudwatch")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	const wantStderr = "not exported: error-ratio: a PromQL expr has no CloudWatch metric (exported to Prometheus rules only)\n"
	if errs != wantStderr {
		t.Errorf("stderr:\n got %q\nwant %q", errs, wantStderr)
	}
	// One JSON document and one newline, as `jq` or --cli-input-json
	// expect from a file written with `>`.
	if !strings.HasSuffix(out, "]\n") || strings.HasSuffix(out, "\n\n") {
		t.Errorf("output must end with exactly one newline after the array; it ends %q", out[max(0, len(out)-8):])
	}
	var inputs []map[string]any
	if err := json.Unmarshal([]byte(out), &inputs); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(inputs) != 2 {
		t.Fatalf("%d PutMetricAlarm inputs, want 2 (the expr alarm has none):\n%s", len(inputs), out)
	}
	topic := "arn:aws:sns:eu-west-1:123456789012:modelwatch-alarms"
	wantMetric := map[string]any{
		"AlarmName":          "haiku-throttling",
		"AlarmDescription":   "Claude 3 Haiku is throttled",
		"ActionsEnabled":     true,
		"OKActions":          []any{topic},
		"AlarmActions":       []any{topic},
		"MetricName":         "InvocationThrottles",
		"Namespace":          "AWS/Bedrock",
		"Statistic":          "Sum",
		"Dimensions":         []any{map[string]any{"Name": "ModelId", "Value": "anthropic.claude-3-haiku-20240307-v1:0"}},
		"Period":             60.0,
		"EvaluationPeriods":  3.0,
		"DatapointsToAlarm":  2.0,
		"Threshold":          10.0,
		"ComparisonOperator": "GreaterThanThreshold",
		"TreatMissingData":   "notBreaching",
	}
	if !reflect.DeepEqual(inputs[0], wantMetric) {
		got, _ := json.MarshalIndent(inputs[0], "", "  ")
		want, _ := json.MarshalIndent(wantMetric, "", "  ")
		t.Errorf("metric alarm's PutMetricAlarm input:\n got %s\nwant %s", got, want)
	}
	anomaly := inputs[1]
	metrics, _ := anomaly["Metrics"].([]any)
	if anomaly["AlarmName"] != "output-tokens-anomaly" || anomaly["ThresholdMetricId"] != "ad1" ||
		anomaly["ComparisonOperator"] != "LessThanLowerOrGreaterThanUpperThreshold" || len(metrics) != 2 ||
		metrics[1].(map[string]any)["Expression"] != "ANOMALY_DETECTION_BAND(m1, 2)" {
		t.Errorf("anomaly alarm's PutMetricAlarm input:\n%s", out)
	}
	for _, k := range []string{"MetricName", "Threshold", "Period", "Statistic"} {
		if _, ok := anomaly[k]; ok {
			t.Errorf("anomaly alarm has %s beside Metrics (CloudWatch refuses both)", k)
		}
	}
}

func TestAlarmsExportPrometheusPassesPromtool(t *testing.T) {
	code, out, errs := exportAlarms(t, "--format", "prometheus")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, alert := range []string{"haiku-throttling", "output-tokens-anomaly", "error-ratio"} {
		if !strings.Contains(out, "- alert: "+alert+"\n") {
			t.Errorf("no rule for alarm %s:\n%s", alert, out)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (Debian: apt-get install prometheus); CI must run this check")
		}
		t.Skip("promtool is not installed (Debian: apt-get install prometheus): the rule file is not checked")
	}
	rules := filepath.Join(t.TempDir(), "modelwatch-rules.yaml")
	if err := os.WriteFile(rules, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	check, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput()
	if err != nil || !strings.Contains(string(check), "SUCCESS: 3 rules found") {
		t.Errorf("promtool check rules: %v\n%s\nrule file:\n%s", err, check, out)
	}
}

func TestAlarmsExportUsage(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{"no format", "", `modelwatch alarms export: usage: --format must be cloudwatch or prometheus, not ""`},
		{"unknown format", "datadog", `modelwatch alarms export: usage: --format must be cloudwatch or prometheus, not "datadog"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			code, out, errs := exportAlarms(t, args...)
			if first, _, _ := strings.Cut(errs, "\n"); code != 2 || out != "" || first != tt.want {
				t.Errorf("exit %d (want 2), stdout %q, stderr:\n%s\nwant its first line %q", code, out, errs, tt.want)
			}
		})
	}
}
