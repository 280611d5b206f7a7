package auth

import (
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

func TestMatchAction_IAMWildcards(t *testing.T) {
	for _, tt := range []struct {
		pattern, action string
		want            bool
	}{
		{"bedrock:invokemodel", "bedrock:invokemodel", true},
		{"bedrock:invokemodel", "bedrock:invokemodelwithresponsestream", false},
		{"bedrock:invokemodel*", "bedrock:invokemodelwithresponsestream", true},
		{"bedrock:*", "bedrock:putmodelinvocationloggingconfiguration", true},
		{"bedrock:*", "modelwatch:getmetrics", false},
		{"*", "modelwatch:getmetrics", true},
		{"bedrock:*loggingconfiguration", "bedrock:getmodelinvocationloggingconfiguration", true},
		{"bedrock:*logging*", "bedrock:invokemodel", false},
		{"bedrock:?etfoundationmodel", "bedrock:getfoundationmodel", true},
		{"bedrock:?etfoundationmodel", "bedrock:listfoundationmodels", false},
		{"modelwatch:listinvocations", "modelwatch:listallinvocations", false},
		{"modelwatch:list*invocations", "modelwatch:listinvocations", true},
		{"a*a*a*a*a*b", "a" + strings.Repeat("a", 60), false},
	} {
		// Allow lists match actions with IAM's matcher, case-insensitively.
		if got := iampolicy.MatchWildcard(tt.pattern, tt.action, true); got != tt.want {
			t.Errorf("MatchWildcard(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestPrincipalGrants_DefaultIsLeastPrivilege(t *testing.T) {
	a, err := New([]Principal{
		{Name: "alice", APIKeys: []Secret{"mw-alice-0123456789abcdefgh"}},
		{Name: "ops", APIKeys: []Secret{"mw-ops-0123456789abcdefghijk"}, Allow: []string{"Bedrock:*LoggingConfiguration", "modelwatch:GetMetrics"}},
		{Name: "nobody", APIKeys: []Secret{"mw-nobody-0123456789abcdefg"}, Allow: []string{}},
	}, Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	id := func(key string) Identity {
		p, err := a.checkBearer(key)
		if err != nil {
			t.Fatal(err)
		}
		i, _ := p.Verify(nil)
		return i
	}
	alice, ops, nobody := id("mw-alice-0123456789abcdefgh"), id("mw-ops-0123456789abcdefghijk"), id("mw-nobody-0123456789abcdefg")
	want := map[string][3]bool{ // alice, ops, nobody
		ActionInvokeModel:                   {true, false, false},
		ActionInvokeModelWithResponseStream: {true, false, false},
		ActionListFoundationModels:          {true, false, false},
		ActionGetFoundationModel:            {true, false, false},
		ActionCountTokens:                   {true, false, false},
		ActionListInferenceProfiles:         {true, false, false},
		ActionGetInferenceProfile:           {true, false, false},
		ActionPutLoggingConfiguration:       {false, true, false},
		ActionGetLoggingConfiguration:       {false, true, false},
		ActionDeleteLoggingConfiguration:    {false, true, false},
		ActionGetMetrics:                    {false, true, false},
		ActionListInvocations:               {true, false, false},
		ActionListAllInvocations:            {false, false, false},
		// Principals with API keys and an allow list (or the default) may
		// use their keys; an empty allow list allows nothing at all.
		ActionCallWithBearerToken:     {true, true, false},
		ActionGetAsyncInvoke:          {true, false, false},
		ActionListAsyncInvokes:        {true, false, false},
		ActionLookupEvents:            {false, false, false},
		ActionListPublicKeys:          {false, false, false},
		ActionDescribeAlarms:          {false, false, false},
		ActionViewBudget:              {false, false, false},
		ActionGetServiceQuota:         {false, false, false},
		ActionGetPolicy:               {false, false, false},
		ActionSimulatePrincipalPolicy: {false, false, false},
	}
	if len(want) != len(Actions) {
		t.Fatalf("table covers %d of %d actions", len(want), len(Actions))
	}
	for action, w := range want {
		for i, who := range []Identity{alice, ops, nobody} {
			if got := who.Allows(action); got != w[i] {
				t.Errorf("%s Allows(%s) = %v, want %v", who.Name, action, got, w[i])
			}
		}
		if !a.AnonymousIdentity().Allows(action) {
			t.Errorf("anonymous (loopback, no principals) must be allowed %s", action)
		}
	}
	err = Authorize(alice, ActionPutLoggingConfiguration, "*", nil)
	const msg = "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: bedrock:PutModelInvocationLoggingConfiguration because no identity-based policy allows the bedrock:PutModelInvocationLoggingConfiguration action"
	if err == nil || err.Error() != "AccessDeniedException: "+msg && !strings.HasSuffix(err.Error(), msg) {
		t.Errorf("Authorize = %v", err)
	}
	err = Authorize(ops, ActionInvokeModel, "arn:aws:bedrock:us-east-1::foundation-model/m", nil)
	if err == nil || !strings.Contains(err.Error(), "perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m because") {
		t.Errorf("Authorize with a resource = %v", err)
	}
}

func TestPrincipalGrants_MisspeltActionIsAConfigError(t *testing.T) {
	for _, tt := range []struct{ allow, want string }{
		{"bedrock:InvokeModle", `allow[0]: "bedrock:InvokeModle" matches no action modelwatch authorizes`},
		{"InvokeModel", `allow[0]: "InvokeModel" must be an action such as bedrock:InvokeModel`},
		{"*:InvokeModel", `must be an action such as`},
		{"s3:*", `matches no action modelwatch authorizes`},
	} {
		_, err := New([]Principal{{Name: "p", APIKeys: []Secret{"mw-p-0123456789abcdefghijklm"}, Allow: []string{tt.allow}}}, Options{Region: "us-east-1"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("allow %q: %v, want %q", tt.allow, err, tt.want)
		}
	}
}

// BenchmarkAllows is the authorization every model call makes: a map
// lookup, no allocation.
func BenchmarkAllows(b *testing.B) {
	a, err := New([]Principal{{Name: "app", APIKeys: []Secret{"mw-app-0123456789abcdefghijk"}, Allow: []string{"bedrock:Invoke*"}}}, Options{Region: "us-east-1"})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := a.checkBearer("mw-app-0123456789abcdefghijk")
	id, _ := p.Verify(nil)
	b.ReportAllocs()
	for b.Loop() {
		if !id.Allows(ActionInvokeModelWithResponseStream) {
			b.Fatal("denied")
		}
	}
}
