package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// simulateConfig has two principals: carol may invoke Claude 3 Haiku from
// 10.0.0.0/8 and is denied Claude 3 Opus outright (a YAML-mapping policy,
// whose statements keep this file's lines: InvokeHaiku on line 16, NoOpus
// on line 22); dave may invoke anything (a JSON-string policy, whose
// statement positions are the JSON text's own). The blank line and the
// comments are there on purpose: the lines reported must be the file's.
const simulateConfig = `region: us-east-1
accountId: "123456789012"

auth:
  principals:
    # Carol calls Claude 3 Haiku from the office network only.
    - name: carol
      apiKeys: ["carol-key-0123456789abcdef"]
      tags: {team: a}

      policies:
        - name: haiku-from-office
          document:
            Version: "2012-10-17"
            Statement:
              - Sid: InvokeHaiku
                Effect: Allow
                Action: bedrock:InvokeModel
                Resource: arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*
                Condition:
                  IpAddress: {aws:SourceIp: 10.0.0.0/8}
              - Sid: NoOpus
                Effect: Deny
                Action: "bedrock:*"
                Resource: arn:aws:bedrock:*::foundation-model/anthropic.claude-3-opus-*
    - name: dave
      apiKeys: ["dave-key-0123456789abcdefgh"]
      managedPolicies: [ReadMetrics]
      policies:
        - name: invoke-anything
          document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": "*"}]}'
  policies:
    - name: ReadMetrics
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: modelwatch:GetMetrics
            Resource: "*"
`

// Resource ARNs of the simulations.
const (
	haikuARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
	opusARN  = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-opus-20240229-v1:0"
)

// writeConfig writes a configuration file into a temporary directory and
// returns its path.
func writeConfig(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelwatch.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// simulate runs `modelwatch policy simulate --config <simulateConfig>`
// with args and returns its exit code, stdout and stderr.
func simulate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	f := writeConfig(t, simulateConfig)
	return run(t, nil, append([]string{"policy", "simulate", "--config", f}, args...)...)
}

// table renders the expected text output: a header and rows of
// ACTION, RESOURCE, DECISION, MATCHED STATEMENTS, MISSING CONTEXT, padded as
// the command's tabwriter pads them (two spaces after the widest cell).
func table(rows ...[5]string) string {
	all := append([][5]string{{"ACTION", "RESOURCE", "DECISION", "MATCHED STATEMENTS", "MISSING CONTEXT"}}, rows...)
	var width [5]int
	for _, r := range all {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i, c := range r[:4] {
			b.WriteString(c + strings.Repeat(" ", width[i]-len(c)+2))
		}
		b.WriteString(r[4] + "\n")
	}
	return b.String()
}

func TestPolicySimulateTable(t *testing.T) {
	invoke := "bedrock:InvokeModel"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{
			name:     "outside the office network, IpAddress does not match",
			args:     []string{"--principal", "carol", "--action", invoke, "--resource", haikuARN},
			wantCode: 1,
			want:     table([5]string{invoke, haikuARN, "implicitDeny", "-", "-"}),
		},
		{
			name:     "--context aws:SourceIp inside 10.0.0.0/8 allows",
			args:     []string{"--principal", "carol", "--action", invoke, "--resource", haikuARN, "--context", "aws:SourceIp=10.1.2.3"},
			wantCode: 0,
			want:     table([5]string{invoke, haikuARN, "allowed", "haiku-from-office (user) line 16", "-"}),
		},
		{
			name:     "--source-ip inside 10.0.0.0/8 allows",
			args:     []string{"--principal", "carol", "--action", invoke, "--resource", haikuARN, "--source-ip", "10.200.0.1"},
			wantCode: 0,
			want:     table([5]string{invoke, haikuARN, "allowed", "haiku-from-office (user) line 16", "-"}),
		},
		{
			name:     "--context overrides --source-ip",
			args:     []string{"--principal", "carol", "--action", invoke, "--resource", haikuARN, "--source-ip", "10.200.0.1", "--context", "aws:SourceIp=192.0.2.1"},
			wantCode: 1,
			want:     table([5]string{invoke, haikuARN, "implicitDeny", "-", "-"}),
		},
		{
			name:     "an explicit Deny beats the Allow and any denial exits 1",
			args:     []string{"--principal", "carol", "--action", invoke, "--resource", haikuARN + "," + opusARN, "--context", "aws:SourceIp=10.1.2.3"},
			wantCode: 1,
			want: table(
				[5]string{invoke, haikuARN, "allowed", "haiku-from-office (user) line 16", "-"},
				[5]string{invoke, opusARN, "explicitDeny", "haiku-from-office (user) line 22", "-"},
			),
		},
		{
			name:     "the other principal's JSON policy: lines of the JSON text",
			args:     []string{"--principal", "dave", "--action", invoke, "--resource", opusARN},
			wantCode: 0,
			want:     table([5]string{invoke, opusARN, "allowed", "invoke-anything (user) line 1", "-"}),
		},
		{
			name:     "a managed policy",
			args:     []string{"--principal", "dave", "--action", "modelwatch:GetMetrics"},
			wantCode: 0,
			want:     table([5]string{"modelwatch:GetMetrics", "*", "allowed", "arn:aws:iam::123456789012:policy/ReadMetrics (user-managed) line 37", "-"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := simulate(t, tt.args...)
			if code != tt.wantCode || out != tt.want || errs != "" {
				t.Errorf("exit %d (want %d), stderr %q\n got:\n%s\nwant:\n%s", code, tt.wantCode, errs, out, tt.want)
			}
		})
	}
}

// position, matched and result mirror SimulatePrincipalPolicy's JSON, as
// a client of IAM's API reads it.
type (
	position struct{ Line, Column int }
	matched  struct {
		SourcePolicyId   string
		SourcePolicyType string
		StartPosition    position
		EndPosition      position
	}
	result struct {
		EvalActionName       string
		EvalResourceName     string
		EvalDecision         string
		MatchedStatements    []matched
		MissingContextValues []string
	}
)

func TestPolicySimulateJSON(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []result
	}{
		{
			name:     "carol: implicitDeny from 127.0.0.1, explicitDeny on Opus at the file's line",
			args:     []string{"--principal", "carol", "--action", "bedrock:InvokeModel", "--resource", haikuARN + "," + opusARN},
			wantCode: 1,
			want: []result{
				{"bedrock:InvokeModel", haikuARN, "implicitDeny", []matched{}, []string{}},
				{"bedrock:InvokeModel", opusARN, "explicitDeny", []matched{{
					SourcePolicyId: "haiku-from-office", SourcePolicyType: "user",
					// From "Sid" on line 22 to the end of the Resource
					// value on line 25.
					StartPosition: position{22, 17}, EndPosition: position{25, 88},
				}}, []string{}},
			},
		},
		{
			name:     "carol from the office: allowed by InvokeHaiku",
			args:     []string{"--principal", "carol", "--action", "bedrock:InvokeModel", "--resource", haikuARN, "--context", "aws:SourceIp=10.1.2.3"},
			wantCode: 0,
			want: []result{
				{"bedrock:InvokeModel", haikuARN, "allowed", []matched{{
					SourcePolicyId: "haiku-from-office", SourcePolicyType: "user",
					StartPosition: position{16, 17}, EndPosition: position{21, 55},
				}}, []string{}},
			},
		},
		{
			name:     "dave: positions inside the JSON string, an unlisted action implicitly denied",
			args:     []string{"--principal", "dave", "--action", "bedrock:InvokeModel,bedrock:GetFoundationModel"},
			wantCode: 1,
			want: []result{
				{"bedrock:InvokeModel", "*", "allowed", []matched{{
					SourcePolicyId: "invoke-anything", SourcePolicyType: "user",
					// The statement's braces in the one-line JSON text.
					StartPosition: position{1, 41}, EndPosition: position{1, 105},
				}}, []string{}},
				{"bedrock:GetFoundationModel", "*", "implicitDeny", []matched{}, []string{}},
			},
		},
		{
			name:     "dave: a managed policy is named by its ARN, at the file's line",
			args:     []string{"--principal", "dave", "--action", "modelwatch:GetMetrics"},
			wantCode: 0,
			want: []result{
				{"modelwatch:GetMetrics", "*", "allowed", []matched{{
					SourcePolicyId: "arn:aws:iam::123456789012:policy/ReadMetrics", SourcePolicyType: "user-managed",
					StartPosition: position{37, 13}, EndPosition: position{39, 24},
				}}, []string{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := simulate(t, append(tt.args, "--json")...)
			if code != tt.wantCode || errs != "" {
				t.Errorf("exit %d (want %d), stderr %q", code, tt.wantCode, errs)
			}
			var got struct{ EvaluationResults []result }
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("output is not SimulatePrincipalPolicy's JSON: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got.EvaluationResults, tt.want) {
				t.Errorf("EvaluationResults:\n got %+v\nwant %+v\n%s", got.EvaluationResults, tt.want, out)
			}
		})
	}
}

func TestPolicySimulateUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string // its first line
	}{
		{"unknown principal", []string{"--principal", "mallory", "--action", "bedrock:InvokeModel"},
			`modelwatch policy simulate: no principal "mallory" in the configuration`},
		{"no action", []string{"--principal", "carol"},
			"modelwatch policy simulate: usage: --principal and --action are required"},
		{"no principal", []string{"--action", "bedrock:InvokeModel"},
			"modelwatch policy simulate: usage: --principal and --action are required"},
		{"context without =", []string{"--principal", "carol", "--action", "bedrock:InvokeModel", "--context", "aws:SourceIp"},
			`invalid value "aws:SourceIp" for flag -context: "aws:SourceIp" must be key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := simulate(t, tt.args...)
			if first, _, _ := strings.Cut(errs, "\n"); code != 2 || out != "" || first != tt.wantStderr {
				t.Errorf("exit %d (want 2), stdout %q, stderr:\n%s\nwant its first line %q", code, out, errs, tt.wantStderr)
			}
		})
	}
	if code, _, errs := run(t, nil, "policy", "evaluate"); code != 2 || !strings.HasPrefix(errs, "usage: modelwatch policy simulate") {
		t.Errorf("unknown subcommand: exit %d, stderr %q", code, errs)
	}
}
