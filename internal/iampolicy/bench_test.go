package iampolicy

import (
	"testing"
)

// realisticSet is a principal with a user policy, a group policy and a
// managed deny policy: about twelve statements.
func realisticSet(t testing.TB) *Set {
	user := mustParse(t, "InvokeModels", `{"Version":"2012-10-17","Statement":[
 {"Sid":"Haiku","Effect":"Allow","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*"},
 {"Sid":"Sonnet","Effect":"Allow","Action":"bedrock:InvokeModel*","Resource":["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-*","arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-*"],
  "Condition":{"StringLike":{"aws:PrincipalTag/team":["ml-*","research"]}}},
 {"Sid":"Titan","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/amazon.titan-*"},
 {"Sid":"Profiles","Effect":"Allow","Action":"bedrock:InvokeModel*","Resource":"arn:aws:bedrock:*:123456789012:inference-profile/us.*"},
 {"Sid":"Tokens","Effect":"Allow","Action":"bedrock:CountTokens","Resource":"*"}]}`)
	group := mustParse(t, "arn:aws:iam::123456789012:policy/TeamAccess", `{"Version":"2012-10-17","Statement":[
 {"Sid":"List","Effect":"Allow","Action":["bedrock:List*","bedrock:Get*"],"Resource":"*"},
 {"Sid":"Temporary","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/meta.llama3-*",
  "Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}},
 {"Sid":"Mistral","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/mistral.*",
  "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}}]}`)
	deny := mustParse(t, "arn:aws:iam::123456789012:policy/DenyOutsideOffice", `{"Version":"2012-10-17","Statement":[
 {"Sid":"Office","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}},
 {"Sid":"TLS","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
 {"Sid":"NoOpus","Effect":"Deny","Action":"bedrock:Invoke*","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-opus-*"},
 {"Sid":"LongTermKeys","Effect":"Deny","Action":"bedrock:CallWithBearerToken","Resource":"*","Condition":{"StringEquals":{"bedrock:BearerTokenType":"LONG_TERM"}}}]}`)
	return Compile(user, group, deny)
}

func realisticRequest() *Request {
	ctx := NewContext(8).
		Set("aws:SourceIp", "203.0.113.7").
		Set("aws:CurrentTime", "2026-12-07T16:00:00Z").
		Set("aws:SecureTransport", "true").
		Set("aws:PrincipalTag/team", "ml-platform").
		Set("aws:PrincipalArn", userARN).
		Set("aws:RequestedRegion", "us-east-1")
	return &Request{Action: "bedrock:InvokeModel", Resource: sonnetARN, Context: ctx}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	set := realisticSet(t)
	r := realisticRequest()
	if d := set.Evaluate(r); d != Allowed {
		t.Fatalf("decision %v", d)
	}
	vars := Compile(mustParse(t, "V", stmt(`{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*:123456789012:application-inference-profile/${aws:username}",
		"Condition":{"StringLike":{"aws:PrincipalTag/team":"${aws:username}-*"}}}`)))
	vr := &Request{Action: "bedrock:InvokeModel", Resource: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/alice",
		Context: NewContext(2).Set("aws:username", "alice").Set("aws:PrincipalTag/team", "alice-x")}
	if d := vars.Evaluate(vr); d != Allowed {
		t.Fatalf("variables decision %v", d)
	}
	for name, f := range map[string]func(){
		"realistic": func() { set.Evaluate(r) },
		"variables": func() { vars.Evaluate(vr) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per Evaluate", name, n)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	set := realisticSet(b)
	r := realisticRequest()
	b.ReportAllocs()
	for b.Loop() {
		if set.Evaluate(r) != Allowed {
			b.Fatal("not allowed")
		}
	}
}

func BenchmarkEvaluateImplicitDeny(b *testing.B) {
	set := realisticSet(b)
	r := realisticRequest()
	r.Resource = "arn:aws:bedrock:us-east-1::foundation-model/cohere.command-r-v1:0"
	b.ReportAllocs()
	for b.Loop() {
		if set.Evaluate(r) != ImplicitDeny {
			b.Fatal("not denied")
		}
	}
}
