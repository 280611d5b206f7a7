package iampolicy

import (
	"strings"
	"testing"
)

const (
	haikuARN   = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
	sonnetARN  = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
	titanARN   = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
	profileARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
	userARN    = "arn:aws:iam::123456789012:user/alice"
)

func mustParse(t testing.TB, id, doc string) *Policy {
	t.Helper()
	p, err := Parse(Source{ID: id, Type: SourceUser}, []byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", id, err)
	}
	return p
}

// stmt wraps statements in a 2012-10-17 policy.
func stmt(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

type evalCase struct {
	name     string
	policies []string
	action   string
	resource string
	ctx      map[string][]string
	want     Decision
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pols []*Policy
			for i, d := range tc.policies {
				pols = append(pols, mustParse(t, "P"+string(rune('0'+i)), d))
			}
			set := Compile(pols...)
			ctx := NewContext(len(tc.ctx))
			for k, v := range tc.ctx {
				ctx.Set(k, v...)
			}
			r := &Request{Action: tc.action, Resource: tc.resource, Context: ctx}
			if got := set.Evaluate(r); got != tc.want {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
			if got := set.Explain(r).Decision; got != tc.want {
				t.Errorf("Explain.Decision = %v, want %v", got, tc.want)
			}
		})
	}
}

const allowAllBedrock = `{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}`

func TestExplicitDenyOverridesAllow(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"deny in another policy wins", []string{stmt(allowAllBedrock),
			stmt(`{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"` + haikuARN + `"}`)},
			"bedrock:InvokeModel", haikuARN, nil, ExplicitDeny},
		{"deny elsewhere leaves other resources allowed", []string{stmt(allowAllBedrock),
			stmt(`{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"` + haikuARN + `"}`)},
			"bedrock:InvokeModel", sonnetARN, nil, Allowed},
		{"no statement means implicit deny", []string{stmt(`{"Effect":"Allow","Action":"bedrock:ListFoundationModels","Resource":"*"}`)},
			"bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"empty set is implicit deny", nil, "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"deny alone never allows", []string{stmt(`{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"*"}`)},
			"bedrock:Converse", haikuARN, nil, ImplicitDeny},
	})
}

func TestNotActionAndNotResource(t *testing.T) {
	notAllow := stmt(`{"Effect":"Allow","NotAction":"bedrock:InvokeModelWithResponseStream","Resource":"*"}`)
	notDeny := stmt(allowAllBedrock, `{"Effect":"Deny","NotAction":["bedrock:InvokeModel","bedrock:CountTokens"],"Resource":"*"}`)
	notRes := stmt(allowAllBedrock, `{"Effect":"Deny","Action":"bedrock:InvokeModel*","NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"}`)
	runEvalCases(t, []evalCase{
		{"allow NotAction grants the rest", []string{notAllow}, "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"allow NotAction does not grant the listed", []string{notAllow}, "bedrock:InvokeModelWithResponseStream", haikuARN, nil, ImplicitDeny},
		{"deny NotAction denies the rest", []string{notDeny}, "bedrock:GetFoundationModel", haikuARN, nil, ExplicitDeny},
		{"deny NotAction never denies the listed", []string{notDeny}, "bedrock:CountTokens", haikuARN, nil, Allowed},
		{"deny NotResource denies other resources", []string{notRes}, "bedrock:InvokeModel", titanARN, nil, ExplicitDeny},
		{"deny NotResource spares the listed", []string{notRes}, "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"deny NotResource grants nothing by itself", []string{stmt(`{"Effect":"Deny","Action":"bedrock:*","NotResource":"` + haikuARN + `"}`)},
			"bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"allow NotResource", []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","NotResource":"` + titanARN + `"}`)},
			"bedrock:InvokeModel", haikuARN, nil, Allowed},
	})
}

func TestWildcardsAndCase(t *testing.T) {
	p := stmt(`{"Effect":"Allow","Action":"bedrock:Invoke*","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.*"}`)
	runEvalCases(t, []evalCase{
		{"action prefix wildcard", []string{p}, "bedrock:InvokeModelWithResponseStream", haikuARN, nil, Allowed},
		{"actions are case-insensitive", []string{p}, "BEDROCK:invokemodel", haikuARN, nil, Allowed},
		{"resources are case-sensitive", []string{p}, "bedrock:InvokeModel", strings.Replace(haikuARN, "anthropic", "Anthropic", 1), nil, ImplicitDeny},
		{"region wildcard", []string{p}, "bedrock:InvokeModel", strings.Replace(haikuARN, "us-east-1", "eu-west-3", 1), nil, Allowed},
		{"other provider not matched", []string{p}, "bedrock:InvokeModel", titanARN, nil, ImplicitDeny},
		{"action wildcard does not match other action", []string{p}, "bedrock:CountTokens", haikuARN, nil, ImplicitDeny},
		{"question mark matches one character", []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-?::foundation-model/*"}`)},
			"bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"star crosses slash and colon in resource part", []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1:*:*v1:0"}`)},
			"bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"trailing segment star expands past colons", []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*"}`)},
			"bedrock:InvokeModel", profileARN, nil, Allowed},
		{"star matches everything", []string{stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`)},
			"bedrock:ApplyGuardrail", "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc", nil, Allowed},
		{"resource star for list actions", []string{stmt(`{"Effect":"Allow","Action":"bedrock:List*","Resource":"*"}`)},
			"bedrock:ListFoundationModels", "", nil, Allowed},
		{"ARN pattern does not match resource star", []string{stmt(`{"Effect":"Allow","Action":"bedrock:List*","Resource":"arn:aws:bedrock:*"}`)},
			"bedrock:ListFoundationModels", "*", nil, ImplicitDeny},
	})
}

func TestConditionOperators(t *testing.T) {
	cond := func(c string) []string {
		return []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*","Condition":` + c + `}`)}
	}
	negDeny := func(c string) []string {
		return []string{stmt(allowAllBedrock, `{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"*","Condition":`+c+`}`)}
	}
	ip := map[string][]string{"aws:SourceIp": {"203.0.113.7"}}
	ip6 := map[string][]string{"aws:SourceIp": {"2001:db8::1"}}
	tag := map[string][]string{"aws:PrincipalTag/team": {"ml-research"}}
	now := map[string][]string{"aws:CurrentTime": {"2026-06-01T12:00:00Z"}}
	type kv = map[string][]string
	runEvalCases(t, []evalCase{
		{"StringEquals matches", cond(`{"StringEquals":{"aws:PrincipalTag/team":"ml-research"}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"StringEquals is case-sensitive", cond(`{"StringEquals":{"aws:PrincipalTag/team":"ML-research"}}`), "bedrock:InvokeModel", haikuARN, tag, ImplicitDeny},
		{"condition key names are case-insensitive", cond(`{"StringEquals":{"AWS:principaltag/TEAM":"ml-research"}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"StringEquals star is literal", cond(`{"StringEquals":{"aws:PrincipalTag/team":"ml-*"}}`), "bedrock:InvokeModel", haikuARN, tag, ImplicitDeny},
		{"StringEqualsIgnoreCase", cond(`{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"ML-RESEARCH"}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"StringLike wildcard", cond(`{"StringLike":{"aws:PrincipalTag/team":"ml-*"}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"values are ORed", cond(`{"StringEquals":{"aws:PrincipalTag/team":["ops","ml-research"]}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"keys are ANDed", cond(`{"StringEquals":{"aws:PrincipalTag/team":"ml-research","aws:UserAgent":"x"}}`), "bedrock:InvokeModel", haikuARN, tag, ImplicitDeny},
		{"operators are ANDed", cond(`{"StringLike":{"aws:PrincipalTag/team":"ml-*"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalTag/team": {"ml-x"}, "aws:SourceIp": {"10.1.2.3"}}, Allowed},
		{"StringNotEquals is NOR over values", cond(`{"StringNotEquals":{"aws:PrincipalTag/team":["ops","ml-research"]}}`), "bedrock:InvokeModel", haikuARN, tag, ImplicitDeny},
		{"StringNotLike true when none match", cond(`{"StringNotLike":{"aws:PrincipalTag/team":["ops*","fin*"]}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
		{"missing key makes StringEquals false", cond(`{"StringEquals":{"aws:PrincipalTag/team":"ml-research"}}`), "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"missing key makes negated operator true", cond(`{"StringNotEquals":{"aws:PrincipalTag/team":"ops"}}`), "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"IfExists true when key absent", cond(`{"StringEqualsIfExists":{"aws:PrincipalTag/team":"ops"}}`), "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"IfExists applies when key present", cond(`{"StringEqualsIfExists":{"aws:PrincipalTag/team":"ops"}}`), "bedrock:InvokeModel", haikuARN, tag, ImplicitDeny},
		{"NumericLessThan", cond(`{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:MultiFactorAuthAge": {"100"}}, Allowed},
		{"NumericGreaterThanEquals decimal", cond(`{"NumericGreaterThanEquals":{"bedrock:Tokens":"1.5"}}`), "bedrock:InvokeModel", haikuARN, kv{"bedrock:Tokens": {"1.5"}}, Allowed},
		{"NumericNotEquals", cond(`{"NumericNotEquals":{"bedrock:Tokens":["1","2"]}}`), "bedrock:InvokeModel", haikuARN, kv{"bedrock:Tokens": {"2"}}, ImplicitDeny},
		{"non-numeric context value never matches", cond(`{"NumericEquals":{"bedrock:Tokens":"1"}}`), "bedrock:InvokeModel", haikuARN, kv{"bedrock:Tokens": {"one"}}, ImplicitDeny},
		{"DateLessThan on CurrentTime", cond(`{"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}`), "bedrock:InvokeModel", haikuARN, now, Allowed},
		{"DateGreaterThan false", cond(`{"DateGreaterThan":{"aws:CurrentTime":"2026-12-31"}}`), "bedrock:InvokeModel", haikuARN, now, ImplicitDeny},
		{"Date with epoch policy value", cond(`{"DateGreaterThanEquals":{"aws:CurrentTime":"1780000000"}}`), "bedrock:InvokeModel", haikuARN, now, Allowed},
		{"Date with epoch context value", cond(`{"DateLessThan":{"aws:EpochTime":"2026-12-31T00:00:00Z"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:EpochTime": {"1780000000"}}, Allowed},
		{"DateEquals with offset", cond(`{"DateEquals":{"aws:CurrentTime":"2026-06-01T14:00:00+02:00"}}`), "bedrock:InvokeModel", haikuARN, now, Allowed},
		{"Bool true", cond(`{"Bool":{"aws:SecureTransport":"true"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:SecureTransport": {"true"}}, Allowed},
		{"Bool false does not match true", cond(`{"Bool":{"aws:SecureTransport":"false"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:SecureTransport": {"true"}}, ImplicitDeny},
		{"deny insecure transport", negDeny(`{"Bool":{"aws:SecureTransport":"false"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:SecureTransport": {"false"}}, ExplicitDeny},
		{"BinaryEquals", cond(`{"BinaryEquals":{"bedrock:Blob":"QmluYXJ5"}}`), "bedrock:InvokeModel", haikuARN, kv{"bedrock:Blob": {"QmluYXJ5"}}, Allowed},
		{"IpAddress CIDR", cond(`{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`), "bedrock:InvokeModel", haikuARN, ip, Allowed},
		{"IpAddress bare address is /32", cond(`{"IpAddress":{"aws:SourceIp":"203.0.113.8"}}`), "bedrock:InvokeModel", haikuARN, ip, ImplicitDeny},
		{"IpAddress IPv6", cond(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`), "bedrock:InvokeModel", haikuARN, ip6, Allowed},
		{"NotIpAddress deny outside range", negDeny(`{"NotIpAddress":{"aws:SourceIp":["198.51.100.0/24","2001:db8::/32"]}}`), "bedrock:InvokeModel", haikuARN, ip, ExplicitDeny},
		{"NotIpAddress deny spares inside", negDeny(`{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}`), "bedrock:InvokeModel", haikuARN, ip, Allowed},
		{"ArnLike per segment", cond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al*"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalArn": {userARN}}, Allowed},
		{"ArnLike star stays in its segment", cond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:*:user/alice"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalArn": {userARN}}, ImplicitDeny},
		{"StringLike crosses colons where ArnLike does not", cond(`{"StringLike":{"aws:PrincipalArn":"arn:aws:*:user/alice"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalArn": {userARN}}, Allowed},
		{"ArnNotEquals", cond(`{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/bob"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalArn": {userARN}}, Allowed},
		{"Null true requires absence", cond(`{"Null":{"aws:PrincipalTag/team":"true"}}`), "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"Null false requires presence", cond(`{"Null":{"aws:PrincipalTag/team":"false"}}`), "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"ForAnyValue matches one", cond(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","project"]}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:TagKeys": {"cost", "team"}}, Allowed},
		{"ForAnyValue absent key is false", cond(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}`), "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"ForAllValues all in list", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","project"]}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:TagKeys": {"project", "team"}}, Allowed},
		{"ForAllValues one outside list", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","project"]}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:TagKeys": {"team", "cost"}}, ImplicitDeny},
		{"ForAllValues absent key is true", cond(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}`), "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"ForAnyValue negated", cond(`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team"]}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:TagKeys": {"team", "cost"}}, Allowed},
		{"ForAllValues negated", cond(`{"ForAllValues:StringNotLike":{"aws:TagKeys":["secret*"]}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:TagKeys": {"team", "secretx"}}, ImplicitDeny},
		{"ForAnyValue IfExists absent is true", cond(`{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["team"]}}`), "bedrock:InvokeModel", haikuARN, nil, Allowed},
		{"operator names are case-insensitive", cond(`{"stringequals":{"aws:PrincipalTag/team":"ml-research"}}`), "bedrock:InvokeModel", haikuARN, tag, Allowed},
	})
}

func TestPolicyVariables(t *testing.T) {
	type kv = map[string][]string
	res := func(r string) []string {
		return []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"` + r + `"}`)}
	}
	cond := func(c string) []string {
		return []string{stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*","Condition":` + c + `}`)}
	}
	appProfile := "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/alice"
	runEvalCases(t, []evalCase{
		{"variable in resource part", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"), "bedrock:InvokeModel", appProfile, kv{"aws:username": {"alice"}}, Allowed},
		{"variable with other value", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"), "bedrock:InvokeModel", appProfile, kv{"aws:username": {"bob"}}, ImplicitDeny},
		{"absent variable: resource statement does not take effect", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"), "bedrock:InvokeModel", appProfile, nil, ImplicitDeny},
		{"absent variable with default", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username, 'alice'}"), "bedrock:InvokeModel", appProfile, nil, Allowed},
		{"substituted star is literal", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"), "bedrock:InvokeModel", appProfile, kv{"aws:username": {"*"}}, ImplicitDeny},
		{"escape star is literal", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a${*}"), "bedrock:InvokeModel", appProfile[:len(appProfile)-5] + "a*", nil, Allowed},
		{"escape star does not wildcard", res("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a${*}"), "bedrock:InvokeModel", appProfile, nil, ImplicitDeny},
		{"2008 version keeps variables literal", []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"}}`},
			"bedrock:InvokeModel", appProfile, kv{"aws:username": {"alice"}}, ImplicitDeny},
		{"absent Version keeps variables literal", []string{`{"Statement":{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/${aws:username}"}}`},
			"bedrock:InvokeModel", appProfile[:len(appProfile)-5] + "${aws:username}", nil, Allowed},
		{"variable in StringEquals", cond(`{"StringEquals":{"aws:RequestTag/owner":"${aws:username}"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:username": {"alice"}, "aws:RequestTag/owner": {"alice"}}, Allowed},
		{"absent variable makes StringEquals false", cond(`{"StringEquals":{"aws:RequestTag/owner":"${aws:username}"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:RequestTag/owner": {"alice"}}, ImplicitDeny},
		{"absent variable makes StringNotEquals true", cond(`{"StringNotEquals":{"aws:RequestTag/owner":"${aws:username}"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:RequestTag/owner": {"alice"}}, Allowed},
		{"variable default in StringLike", cond(`{"StringLike":{"aws:RequestTag/team":"${aws:PrincipalTag/team, 'company-wide'}*"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:RequestTag/team": {"company-wide-x"}}, Allowed},
		{"variable in ArnLike", cond(`{"ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/*"}}`), "bedrock:InvokeModel", haikuARN, kv{"aws:PrincipalAccount": {"123456789012"}, "bedrock:InferenceProfileArn": {profileARN}}, Allowed},
	})
}

func TestInferenceProfileScoping(t *testing.T) {
	viaProfile := stmt(
		`{"Sid":"Profile","Effect":"Allow","Action":"bedrock:InvokeModel*","Resource":"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*"}`,
		`{"Sid":"ModelViaProfile","Effect":"Allow","Action":"bedrock:InvokeModel*","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*",
		  "Condition":{"StringEquals":{"bedrock:InferenceProfileArn":"`+profileARN+`"}}}`)
	viaArnLike := stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/*",
		  "Condition":{"ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:123456789012:inference-profile/us.*"}}}`)
	prof := map[string][]string{"bedrock:InferenceProfileArn": {profileARN}}
	east2 := strings.Replace(haikuARN, "us-east-1", "us-east-2", 1)
	runEvalCases(t, []evalCase{
		{"direct call is implicitly denied", []string{viaProfile}, "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"call via profile allowed on the profile", []string{viaProfile}, "bedrock:InvokeModel", profileARN, prof, Allowed},
		{"call via profile allowed on the model", []string{viaProfile}, "bedrock:InvokeModel", haikuARN, prof, Allowed},
		{"call via profile allowed in destination region", []string{viaProfile}, "bedrock:InvokeModelWithResponseStream", east2, prof, Allowed},
		{"ArnLike scoping direct call denied", []string{viaArnLike}, "bedrock:InvokeModel", haikuARN, nil, ImplicitDeny},
		{"ArnLike scoping via profile allowed", []string{viaArnLike}, "bedrock:InvokeModel", haikuARN, prof, Allowed},
	})
}

func TestExplainReportsStatementsAndMissingKeys(t *testing.T) {
	doc := "{\"Version\":\"2012-10-17\",\"Statement\":[\n" +
		"  {\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":\"bedrock:*\",\"Resource\":\"*\",\n" +
		"   \"Condition\":{\"StringLike\":{\"aws:PrincipalTag/team\":\"ml-*\"}}},\n" +
		"  {\"Sid\":\"D\",\"Effect\":\"Deny\",\"Action\":\"bedrock:InvokeModel\",\"Resource\":\"*\",\n" +
		"   \"Condition\":{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}}]}"
	deny := mustParse(t, "arn:aws:iam::123456789012:policy/DenyX", doc)
	set := Compile(deny)
	ctx := NewContext(2).Set("aws:PrincipalTag/team", "ml-x")
	r := set.Explain(&Request{Action: "bedrock:InvokeModel", Resource: haikuARN, Context: ctx})
	if r.Decision != ExplicitDeny || r.DenyingPolicy != "arn:aws:iam::123456789012:policy/DenyX" {
		t.Fatalf("got %+v", r)
	}
	if len(r.MatchedStatements) != 1 || r.MatchedStatements[0].Sid != "D" {
		t.Fatalf("matched %+v", r.MatchedStatements)
	}
	m := r.MatchedStatements[0]
	if m.StartPosition != (Position{4, 3}) || m.EndPosition != (Position{5, 62}) {
		t.Errorf("positions %+v %+v", m.StartPosition, m.EndPosition)
	}
	if strings.Join(r.MissingContextValues, ",") != "aws:SourceIp" {
		t.Errorf("missing %v", r.MissingContextValues)
	}
	ctx.Set("aws:SourceIp", "10.1.1.1")
	r = set.Explain(&Request{Action: "bedrock:InvokeModel", Resource: haikuARN, Context: ctx})
	if r.Decision != Allowed || len(r.MatchedStatements) != 1 || r.MatchedStatements[0].Sid != "A" || len(r.MissingContextValues) != 0 {
		t.Errorf("got %+v", r)
	}
}

func TestDeniedMessageMatchesAWS(t *testing.T) {
	cases := []struct {
		name, principal, action, resource string
		d                                 Decision
		policy, want                      string
	}{
		{"implicit deny", userARN, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", ImplicitDeny, "",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m because no identity-based policy allows the bedrock:InvokeModel action"},
		{"explicit deny by named policy", "arn:aws:sts::123456789012:assumed-role/R/s", "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", ExplicitDeny, "InvokeHaiku",
			"User: arn:aws:sts::123456789012:assumed-role/R/s is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m with an explicit deny in an identity-based policy"},
		{"explicit deny by policy ARN", userARN, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", ExplicitDeny, "arn:aws:iam::123456789012:policy/DenyX",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/DenyX"},
		{"star resource is left out", userARN, "bedrock:ListFoundationModels", "*", ImplicitDeny, "",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:ListFoundationModels because no identity-based policy allows the bedrock:ListFoundationModels action"},
		{"empty resource is left out", userARN, "bedrock:CallWithBearerToken", "", ExplicitDeny, "",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:CallWithBearerToken with an explicit deny in an identity-based policy"},
		{"allowed has no message", userARN, "bedrock:InvokeModel", "", Allowed, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DeniedMessage(tc.principal, tc.action, tc.resource, tc.d, tc.policy); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDecisionStringsAreSimulatorWords(t *testing.T) {
	for d, want := range map[Decision]string{ImplicitDeny: "implicitDeny", ExplicitDeny: "explicitDeny", Allowed: "allowed"} {
		if d.String() != want {
			t.Errorf("%d: %q", d, d.String())
		}
	}
	var zero Decision
	if zero != ImplicitDeny {
		t.Error("zero value must be ImplicitDeny")
	}
}

func TestContextSetReplacesAndRemoves(t *testing.T) {
	c := NewContext(2).Set("AWS:SourceIp", "1.2.3.4")
	c.Set("aws:sourceip", "5.6.7.8")
	if v, ok := c.Get("aws:SOURCEIP"); !ok || len(v) != 1 || v[0] != "5.6.7.8" || c.Len() != 1 {
		t.Fatalf("got %v %v", v, ok)
	}
	c.Set("aws:SourceIp")
	if _, ok := c.Get("aws:SourceIp"); ok || c.Len() != 0 {
		t.Fatal("key not removed")
	}
}

func TestContextSetDoesNotAllocate(t *testing.T) {
	c := NewContext(8)
	n := testing.AllocsPerRun(100, func() {
		c.Reset()
		c.Set("aws:SourceIp", "203.0.113.7").Set("aws:CurrentTime", "2026-12-07T16:00:00Z").
			Set("aws:SecureTransport", "true").Set("aws:PrincipalTag/team", "ml")
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
