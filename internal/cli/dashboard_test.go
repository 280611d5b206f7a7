package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDashboardExport(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		stdoutHas  string
		stderrHas  string
		wantFormat string
	}{
		// The default catalog's model views do not all fit CloudWatch's 500
		// widgets: the export keeps what fits and names the rest.
		{"cloudwatch", nil, []string{"export", "--format", "cloudwatch"}, 0, `"region": "us-east-1"`,
			"CloudWatch allows 500 widgets per dashboard: the per-model views of ", "cloudwatch"},
		{"cloudwatch region flag", nil, []string{"export", "--format=cloudwatch", "--region", "eu-west-1"}, 0, `"region": "eu-west-1"`, "", "cloudwatch"},
		{"cloudwatch region from env", map[string]string{"MODELWATCH_REGION": "ap-south-1"}, []string{"export", "--format", "cloudwatch"}, 0, `"region": "ap-south-1"`, "", "cloudwatch"},
		{"grafana", nil, []string{"export", "--format", "grafana"}, 0, `"DS_PROMETHEUS"`, "", "grafana"},
		{"format not from env", map[string]string{"MODELWATCH_FORMAT": "grafana"}, []string{"export"}, 2, "", "--format must be cloudwatch or grafana", ""},
		{"bad format", nil, []string{"export", "--format", "pdf"}, 2, "", `--format must be cloudwatch or grafana, not "pdf"`, ""},
		{"unknown flag", nil, []string{"export", "--format", "grafana", "--frob"}, 2, "", "flag provided but not defined", ""},
		{"extra argument", nil, []string{"export", "--format", "grafana", "now"}, 2, "", `unexpected argument "now"`, ""},
		{"no subcommand", nil, nil, 2, "", "modelwatch dashboard export", ""},
		{"unknown subcommand", nil, []string{"import"}, 2, "", "modelwatch dashboard export", ""},
		{"help", nil, []string{"help"}, 0, "--format cloudwatch|grafana", "", ""},
		{"export help", nil, []string{"export", "-h"}, 0, "", "-format", ""},
		{"missing config file", nil, []string{"export", "--format", "grafana", "--config", "/nonexistent/modelwatch.yaml"}, 1, "", "modelwatch:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.env, append([]string{"dashboard"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.stdoutHas) || !strings.Contains(errs, tt.stderrHas) {
				t.Fatalf("exit %d (want %d)\nstdout %.300q (want %q)\nstderr %.300q (want %q)", code, tt.code, out, tt.stdoutHas, errs, tt.stderrHas)
			}
			if tt.wantFormat == "" {
				return
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			switch tt.wantFormat {
			case "cloudwatch":
				ws, _ := doc["widgets"].([]any)
				// the all-models section and one per default catalog model
				if len(ws) < 20 || !strings.Contains(out, `"ModelId"`) {
					t.Errorf("%d widgets", len(ws))
				}
			case "grafana":
				ps, _ := doc["panels"].([]any)
				if len(ps) < 20 || doc["uid"] != "modelwatch-bedrock" {
					t.Errorf("%d panels, uid %v", len(ps), doc["uid"])
				}
			}
		})
	}
}
