package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

const policyUsage = `usage: modelwatch policy simulate --principal NAME --action ACTION[,ACTION...] [--resource ARN[,ARN...]] [flags]

Evaluates the configured identity policies of a principal (its own, its
managed policies and its groups') for each action on each resource, as
IAM's policy simulator (SimulatePrincipalPolicy) does: allowed,
explicitDeny or implicitDeny, with the statements that decided it and the
condition keys the request context lacked.

  modelwatch policy simulate --config mw.yaml --principal alice \
      --action bedrock:InvokeModel \
      --resource arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 \
      --context aws:SourceIp=203.0.113.7

The request context holds what a real call would carry: aws:CurrentTime
(now), aws:PrincipalArn, aws:PrincipalAccount, aws:username,
aws:PrincipalTag/*, aws:RequestedRegion; --source-ip, --bearer and
--context add the rest. Exit status 0 when every pair is allowed, 1 when
any is denied, 2 on a usage or configuration error.
`

// policyMain runs "modelwatch policy ...".
func policyMain(args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) > 0 && slices.Contains([]string{"-h", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, policyUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "simulate" {
		fmt.Fprint(stderr, policyUsage)
		return 2
	}
	allowed, err := policySimulate(args[1:], stdout, stderr, env)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "modelwatch policy simulate: %v\n\n%s", err, policyUsage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "modelwatch policy simulate: %v\n", err)
		return 2
	case !allowed:
		return 1
	}
	return 0
}

// listFlag collects a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// contextFlag collects --context key=value entries (a key given twice has
// several values).
type contextFlag [][2]string

func (c *contextFlag) String() string { return fmt.Sprint(*c) }

func (c *contextFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q must be key=value", v)
	}
	*c = append(*c, [2]string{strings.TrimSpace(k), val})
	return nil
}

func policySimulate(args []string, stdout, stderr io.Writer, env Env) (bool, error) {
	fs := flag.NewFlagSet("modelwatch policy simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.StringVar(&s.config, "config", "", "YAML configuration file applied on top of the embedded defaults")
	principal := fs.String("principal", "", "the principal's name (required)")
	var actions, resources listFlag
	var ctxFlags contextFlag
	fs.Var(&actions, "action", "IAM action(s) to evaluate, e.g. bedrock:InvokeModel (required; repeat or comma-separate)")
	fs.Var(&resources, "resource", `resource ARN(s) (default "*")`)
	fs.Var(&ctxFlags, "context", "condition key=value for the request context (repeatable)")
	sourceIP := fs.String("source-ip", "127.0.0.1", "aws:SourceIp of the simulated request")
	bearer := fs.Bool("bearer", false, "simulate a call made with an API key (bedrock:BearerTokenType)")
	asJSON := fs.Bool("json", false, "print SimulatePrincipalPolicy's EvaluationResults as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), policyUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := s.parse(fs, args, env, func(name string) bool { return name == "config" }); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, err
		}
		return false, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *principal == "" || len(actions) == 0 {
		return false, fmt.Errorf("%w: --principal and --action are required", errUsage)
	}
	if len(resources) == 0 {
		resources = listFlag{"*"}
	}
	cfg, err := s.load(env)
	if err != nil {
		return false, err
	}
	authn, err := auth.New(cfg.Auth.Principals, cfg.AuthOptions())
	if err != nil {
		return false, err
	}
	id, ok := authn.Principal(*principal)
	if !ok {
		return false, fmt.Errorf("no principal %q in the configuration", *principal)
	}
	if *bearer {
		id.Method = auth.MethodBearer
	}
	r := &http.Request{RemoteAddr: *sourceIP + ":0", Header: http.Header{"User-Agent": {"modelwatch-policy-simulator"}}}
	ctx := authn.RequestContext(r, id, time.Now())
	for _, kv := range ctxFlags {
		ctx.Set(kv[0], kv[1])
	}
	results := iampolicy.Simulate(id.Policies(), actions, resources, ctx)
	allowed := true
	for _, res := range results {
		if res.EvalDecision != iampolicy.Allowed.String() {
			allowed = false
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return allowed, enc.Encode(map[string]any{"EvaluationResults": results})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tRESOURCE\tDECISION\tMATCHED STATEMENTS\tMISSING CONTEXT")
	for _, res := range results {
		var matched []string
		for _, m := range res.MatchedStatements {
			matched = append(matched, fmt.Sprintf("%s (%s) line %d", m.SourcePolicyID, m.SourcePolicyType, m.StartPosition.Line))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res.EvalActionName, res.EvalResourceName, res.EvalDecision,
			orDash(strings.Join(matched, "; ")), orDash(strings.Join(res.MissingContextValues, ", ")))
	}
	return allowed, tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
