package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

// Actions are named as IAM names them: "service:Operation". The bedrock
// ones are Bedrock's own IAM actions (there is no bedrock:Converse: Converse
// is authorized as bedrock:InvokeModel and ConverseStream as
// bedrock:InvokeModelWithResponseStream, as on AWS). The modelwatch ones
// cover what only modelwatch serves.
const (
	ActionInvokeModel                   = "bedrock:InvokeModel"
	ActionInvokeModelWithResponseStream = "bedrock:InvokeModelWithResponseStream"
	ActionListFoundationModels          = "bedrock:ListFoundationModels"
	ActionGetFoundationModel            = "bedrock:GetFoundationModel"
	ActionCountTokens                   = "bedrock:CountTokens"
	ActionListInferenceProfiles         = "bedrock:ListInferenceProfiles"
	ActionGetInferenceProfile           = "bedrock:GetInferenceProfile"
	ActionPutLoggingConfiguration       = "bedrock:PutModelInvocationLoggingConfiguration"
	ActionGetLoggingConfiguration       = "bedrock:GetModelInvocationLoggingConfiguration"
	ActionDeleteLoggingConfiguration    = "bedrock:DeleteModelInvocationLoggingConfiguration"
	// ActionCallWithBearerToken is what every call made with an API key
	// needs beside its own action, as on Bedrock.
	ActionCallWithBearerToken = "bedrock:CallWithBearerToken"
	// ActionGetAsyncInvoke and ActionListAsyncInvokes read asynchronous
	// invocations (StartAsyncInvoke needs bedrock:InvokeModel).
	ActionGetAsyncInvoke   = "bedrock:GetAsyncInvoke"
	ActionListAsyncInvokes = "bedrock:ListAsyncInvokes"
	// ActionLookupEvents and ActionListPublicKeys read the audit trail
	// (CloudTrail's LookupEvents) and the keys its digests are signed
	// with.
	ActionLookupEvents   = "cloudtrail:LookupEvents"
	ActionListPublicKeys = "cloudtrail:ListPublicKeys"
	// ActionDescribeAlarms, ActionViewBudget and ActionGetServiceQuota
	// read the alarms, budgets and quota use (the dashboard's governance
	// view), by the names CloudWatch, AWS Budgets and Service Quotas give
	// those actions.
	ActionDescribeAlarms  = "cloudwatch:DescribeAlarms"
	ActionViewBudget      = "budgets:ViewBudget"
	ActionGetServiceQuota = "servicequotas:GetServiceQuota"
	// ActionGetPolicy reads the configured policies; ActionSimulatePolicy
	// runs the policy simulator on any principal.
	ActionGetPolicy               = "iam:GetPolicy"
	ActionSimulatePrincipalPolicy = "iam:SimulatePrincipalPolicy"
	// ActionGetMetrics reads the metrics (/metrics) and their history
	// (/api/v1/...), which name every principal and its cost.
	ActionGetMetrics = "modelwatch:GetMetrics"
	// ActionListInvocations reads the caller's own recent invocation
	// records (/api/invocations).
	ActionListInvocations = "modelwatch:ListInvocations"
	// ActionListAllInvocations reads every principal's recent invocation
	// records, prompts and answers included.
	ActionListAllInvocations = "modelwatch:ListAllInvocations"
)

// Actions lists every action modelwatch authorizes, in a stable order.
var Actions = []string{
	ActionInvokeModel, ActionInvokeModelWithResponseStream, ActionCountTokens,
	ActionListFoundationModels, ActionGetFoundationModel,
	ActionListInferenceProfiles, ActionGetInferenceProfile,
	ActionPutLoggingConfiguration, ActionGetLoggingConfiguration, ActionDeleteLoggingConfiguration,
	ActionGetMetrics, ActionListInvocations, ActionListAllInvocations,
	ActionCallWithBearerToken, ActionGetAsyncInvoke, ActionListAsyncInvokes,
	ActionLookupEvents, ActionListPublicKeys,
	ActionDescribeAlarms, ActionViewBudget, ActionGetServiceQuota,
	ActionGetPolicy, ActionSimulatePrincipalPolicy,
}

// DefaultAllow is what a principal configured without an allow list may
// do: call models, list them and read its own records. Everything that
// controls or observes the whole server (the logging configuration, the
// metrics, other principals' records) needs an explicit grant.
var DefaultAllow = []string{
	ActionInvokeModel, ActionInvokeModelWithResponseStream, ActionCountTokens,
	ActionListFoundationModels, ActionGetFoundationModel,
	ActionListInferenceProfiles, ActionGetInferenceProfile,
	ActionGetAsyncInvoke, ActionListAsyncInvokes,
	ActionListInvocations,
}

// validateAllow checks an allow list: every entry is "*" or
// "service:pattern", and matches at least one action modelwatch knows, so
// a misspelt grant is an error rather than a silent deny. The list then
// stands for an identity policy allowing those actions on every resource
// (allowPolicy).
func validateAllow(allow []string) error {
	for i, a := range allow {
		p := strings.ToLower(strings.TrimSpace(a))
		svc, _, ok := strings.Cut(p, ":")
		if p != "*" && (!ok || svc == "" || strings.ContainsAny(svc, "*?")) {
			return fmt.Errorf("allow[%d]: %q must be an action such as bedrock:InvokeModel, a pattern such as bedrock:*, or *", i, a)
		}
		if !slices.ContainsFunc(Actions, func(act string) bool { return iampolicy.MatchWildcard(p, act, true) }) {
			return fmt.Errorf("allow[%d]: %q matches no action modelwatch authorizes (%s)", i, a, strings.Join(Actions, ", "))
		}
	}
	return nil
}
