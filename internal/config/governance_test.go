package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/config"
)

// governanceExample is the governance section proposed for the README: a
// principal with inline policies in both forms (a YAML mapping and IAM's
// JSON as a string), a group, a managed policy, quotas, a budget, alarms
// and the audit trail. Blank lines and comments are part of the example:
// the lines the server reports must be the file's own.
const governanceExample = `region: us-east-1
accountId: "123456789012"

auth:
  principals:
    # Carol calls Claude 3 Haiku from the office network only.
    - name: carol
      apiKeys: ["carol-key-0123456789abcdef"]
      tags: {team: a}
      groups: [engineers]
      policies:
        - name: haiku-from-office
          document:
            Version: "2012-10-17"
            Statement:
              - Sid: InvokeHaiku
                Effect: Allow
                Action: [bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream]
                Resource: arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*
                Condition:
                  IpAddress: {aws:SourceIp: [10.0.0.0/8, 192.0.2.0/24]}
              - Sid: UseAPIKeys
                Effect: Allow
                Action: bedrock:CallWithBearerToken
                Resource: "*"

    # Dave reads the metrics and may call anything but Opus.
    - name: dave
      accessKeys:
        - {id: AKIADAVE0000000000001, secret: dave-secret}
      managedPolicies: [ReadMetrics]
      policies:
        - name: no-opus
          document: |
            {
              "Version": "2012-10-17",
              "Statement": [
                {"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": "*"},
                {"Sid": "NoOpus", "Effect": "Deny", "Action": "bedrock:Invoke*",
                 "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-opus-*"}
              ]
            }
  groups:
    - name: engineers
      managedPolicies: [ReadMetrics]
      policies:
        - name: list-models
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: ["bedrock:List*", "bedrock:Get*"]
                Resource: "*"
  policies:
    - name: ReadMetrics
      document:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [modelwatch:GetMetrics, cloudwatch:DescribeAlarms]
            Resource: "*"

quotas:
  - name: claude-per-principal
    model: "anthropic.claude-*"
    per: [principal]
    requestsPerMinute: 50
    tokensPerMinute: 200000

budgets:
  - name: team-a-monthly
    type: COST
    limit: 100
    timeUnit: MONTHLY
    hardLimit: true
    filter: {principalTags: {team: a}}
    notifications:
      - {type: ACTUAL, comparisonOperator: GREATER_THAN, threshold: 80,
         subscribers: {webhooks: ["https://hooks.example.com/budgets"]}}

alarms:
  - name: haiku-throttling
    metric: {name: InvocationThrottles, statistic: Sum, dimensions: {ModelId: anthropic.claude-3-haiku-20240307-v1:0}}
    period: 1m
    evaluationPeriods: 3
    datapointsToAlarm: 2
    threshold: 10
    comparisonOperator: GreaterThanThreshold
    treatMissingData: notBreaching
  - name: output-tokens-anomaly
    metric: {name: OutputTokenCount, statistic: Sum}
    period: 5m
    evaluationPeriods: 3
    comparisonOperator: LessThanLowerOrGreaterThanUpperThreshold
    anomalyDetection: {band: 2}

audit:
  store: local
  deliveryInterval: 5m
  digestInterval: 1h
`

// carol is the head of every failing file below: the policies each case
// adds belong to her. Its lines are 1-7.
const carol = `region: us-east-1

# Carol calls Claude.
auth:
  principals:
    - name: carol
      apiKeys: ["carol-key-0123456789abcdef"]
`

// loadAndValidate writes src to a file, loads it on top of the defaults
// as serve does and validates it; it returns the first error of the two.
func loadAndValidate(t *testing.T, src string) (*config.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelwatch.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadOnto(config.Default(), path)
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestGovernanceConfigErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "lowercase Effect",
			src: carol + `
      policies:
        - name: invoke
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: allow
                Action: bedrock:InvokeModel
                Resource: "*"
`,
			want: `auth: principal "carol": policy "invoke": line 14, column 25: Effect must be "Allow" or "Deny", not "allow"`,
		},
		{
			name: "unknown statement element",
			src: carol + `      policies:
        - name: invoke
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: bedrock:InvokeModel
                Resource: "*"
                Principle: carol
`,
			want: `auth: principal "carol": policy "invoke": line 16, column 17: unknown element "Principle" in a statement`,
		},
		{
			name: "bad CIDR in IpAddress",
			src: carol + `      policies:
        - name: office
          document:
            Version: "2012-10-17"
            Statement:
              # Only from the office.
              - Effect: Allow
                Action: bedrock:InvokeModel
                Resource: "*"
                Condition:
                  IpAddress:
                    aws:SourceIp: 203.0.113.0/33
`,
			want: `auth: principal "carol": policy "office": line 19, column 35: IpAddress value "203.0.113.0/33" for "aws:SourceIp" is not an IP address or CIDR block`,
		},
		{
			name: "action modelwatch does not authorize",
			src: carol + `      policies:
        - name: invoke
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: bedrock:InvokeModle
                Resource: "*"
`,
			want: `auth: principal "carol": policy "invoke": line 14, column 25: Action "bedrock:InvokeModle" matches no action modelwatch authorizes`,
		},
		{
			name: "JSON string policy",
			src: carol + `      policies:
        - name: office
          document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8x"}}}]}'
`,
			want: `auth: principal "carol": the JSON document at line 10: policy "office": line 1, column 151: IpAddress value "10.0.0.0/8x" for "aws:SourceIp" is not an IP address or CIDR block`,
		},
		{
			name: "unknown group",
			src:  carol + "      groups: [engineers]\n",
			want: `auth: principal "carol": groups: no group "engineers" under auth.groups`,
		},
		{
			name: "unknown managed policy",
			src:  carol + "      managedPolicies: [ReadOnly]\n",
			want: `auth: principal "carol": managedPolicies: no policy "ReadOnly" under auth.policies`,
		},
		{
			name: "negative tokensPerMinute",
			src: carol + `
quotas:
  - name: per-principal
    per: [principal]
    requestsPerMinute: 60

  - name: haiku
    model: anthropic.claude-3-haiku-*
    tokensPerMinute: -1000
`,
			want: `line 14: quotas[1]: quota "haiku": tokensPerMinute must be positive (got -1000)`,
		},
		{
			name: "unknown budget timeUnit",
			src: carol + `budgets:
  - name: monthly
    type: COST
    limit: 100
    timeUnit: WEEKLY
`,
			want: `line 9: budgets[0]: budget "monthly": timeUnit: "WEEKLY": want DAILY, MONTHLY, QUARTERLY, ANNUALLY or CUSTOM`,
		},
		{
			name: "alarm period of 45s",
			src: carol + `alarms:
  - name: throttles
    metric: {name: InvocationThrottles, statistic: Sum}
    period: 45s
    evaluationPeriods: 1
    threshold: 1
    comparisonOperator: GreaterThanOrEqualToThreshold
`,
			want: `line 9: alarms[0]: alarm "throttles": period: 45s is not 10s, 20s, 30s or a multiple of 60s`,
		},
		{
			name: "unparsable alarm expr",
			src: carol + `alarms:
  - name: ok
    expr: sum(rate(modelwatch_invocations_total[5m]))
    period: 1m
    evaluationPeriods: 1
    threshold: 1
    comparisonOperator: GreaterThanThreshold
  - name: errors
    expr: sum(rate(modelwatch_errors_total[5m]) >
    period: 1m
    evaluationPeriods: 1
    threshold: 1
    comparisonOperator: GreaterThanThreshold
`,
			want: `line 15: alarms[1]: alarm "errors": expr: invalid PromQL "sum(rate(modelwatch_errors_total[5m]) >": 1:40: parse error: unclosed left parenthesis`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadAndValidate(t, tt.src)
			if err == nil {
				t.Fatalf("the configuration was accepted; want the error\n%s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestGovernanceConfigRefusesMalformedJSONPolicy checks that a policy
// written as a JSON string is held to JSON, as IAM holds it: a trailing
// comma is a syntax error there (MalformedPolicyDocument), not a YAML
// flow mapping to be forgiven.
func TestGovernanceConfigRefusesMalformedJSONPolicy(t *testing.T) {
	_, err := loadAndValidate(t, carol+`      policies:
        - name: json
          document: |
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*",}]}
`)
	const want = `auth: principal "carol": the JSON document at line 10: policy "json": line 2, column `
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error: %v\nwant one starting %q", err, want)
	}
}

func TestGovernanceConfigLoads(t *testing.T) {
	c, err := loadAndValidate(t, governanceExample)
	if err != nil {
		t.Fatalf("the README's governance example does not validate:\n%v", err)
	}
	if len(c.Auth.Principals) != 2 || len(c.Auth.Groups) != 1 || len(c.Auth.Policies) != 1 ||
		len(c.Quotas) != 1 || len(c.Budgets) != 1 || len(c.Alarms) != 2 || c.Audit.Store != "local" {
		t.Fatalf("loaded %d principals, %d groups, %d managed policies, %d quotas, %d budgets, %d alarms, audit store %q",
			len(c.Auth.Principals), len(c.Auth.Groups), len(c.Auth.Policies), len(c.Quotas), len(c.Budgets), len(c.Alarms), c.Audit.Store)
	}
	authn, err := auth.New(c.Auth.Principals, c.AuthOptions())
	if err != nil {
		t.Fatal(err)
	}
	wantPolicies := map[string][]string{
		"carol": {"haiku-from-office", "list-models", "arn:aws:iam::123456789012:policy/ReadMetrics"},
		"dave":  {"no-opus", "arn:aws:iam::123456789012:policy/ReadMetrics"},
	}
	for name, want := range wantPolicies {
		var got []string
		for _, v := range authn.PolicyViews(name) {
			got = append(got, v.ID)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s's policies: got %v, want %v", name, got, want)
		}
	}
}
