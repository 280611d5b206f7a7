package server_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/config"
)

// governedAlice is alice held by three IAM policies (an IP-conditioned
// deny, model and profile allows, a tag-conditioned bearer allow), a
// per-principal quota and a budget with a hard limit: what a platform
// team configures, for BenchmarkGovernance.
const governedAlice = `
auth:
  principals:
    - name: alice
      apiKeys: ["` + aliceAPIKey + `"]
      tags: {team: search}
      policies:
        - name: Models
          document:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: "bedrock:InvokeModel*", Resource: "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*"}
              - {Effect: Allow, Action: "bedrock:InvokeModel*", Resource: "arn:aws:bedrock:*:*:inference-profile/us.*"}
              - {Effect: Allow, Action: bedrock:CallWithBearerToken, Resource: "*", Condition: {StringEquals: {"aws:PrincipalTag/team": search}}}
        - name: Network
          document:
            Version: "2012-10-17"
            Statement:
              - {Effect: Deny, Action: "bedrock:*", Resource: "*", Condition: {NotIpAddress: {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}}
              - {Effect: Deny, Action: "bedrock:*", Resource: "*", Condition: {DateGreaterThan: {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}}
quotas:
  - {name: per-principal, model: "anthropic.claude-*", per: [principal], requestsPerMinute: 100000000, tokensPerMinute: 100000000000}
budgets:
  - {name: search-monthly, type: COST, limit: 1000000, timeUnit: MONTHLY, hardLimit: true, filter: {principalTags: {team: search}}}
`

// BenchmarkGovernance is one small Converse call by API key, as alice
// with the default access and as alice held by IAM policies, a quota and
// a budget: the difference is what governance costs a call (policy
// evaluation of the bearer action and the model, the quota's reservation
// and settlement, the budget's hold priced from the price list).
func BenchmarkGovernance(b *testing.B) {
	for _, c := range []struct {
		name   string
		mutate func(*config.Config)
	}{
		{"default-access", withAlice},
		{"policies-quota-budget", func(c *config.Config) { applyYAML(b, c, governedAlice) }},
		// The same, with the quota and the budget counted in Redis, shared
		// by every replica (cluster.redis): the difference to the local
		// counters is the shared counters' cost per call.
		{"policies-quota-budget-redis", func(c *config.Config) {
			applyYAML(b, c, governedAlice+"cluster:\n  redis: "+benchRedisURL(b)+"\n")
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv, _ := startServer(b, c.mutate)
			hc := http1Client(nil)
			body := `{"messages":[{"role":"user","content":[{"text":"Benchmark governance."}]}],"inferenceConfig":{"maxTokens":50}}`
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/model/"+haiku+"/converse", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%d %s", resp.StatusCode, out)
				}
			}
		})
	}
}

// benchRedisURL is the machine's Redis (MODELWATCH_TEST_REDIS, default
// redis://127.0.0.1:6379/0); the benchmark skips without one.
func benchRedisURL(b *testing.B) string {
	u := os.Getenv("MODELWATCH_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	c, err := net.DialTimeout("tcp", strings.TrimSuffix(strings.TrimPrefix(u, "redis://"), "/0"), time.Second)
	if err != nil {
		b.Skipf("no Redis at %s: %v", u, err)
	}
	c.Close()
	return u
}
