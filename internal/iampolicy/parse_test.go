package iampolicy

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseErrorsNameLineAndColumn(t *testing.T) {
	cases := []struct {
		name, doc, want string
		opts            []ParseOption
	}{
		{"lower-case effect", `{"Version": "2012-10-17",
  "Statement": [{
    "Sid": "A",
    "Action": "bedrock:InvokeModel",
    "Effect": "allow", "Resource": "*"}]}`,
			`policy "InvokeHaiku": line 5, column 15: Effect must be "Allow" or "Deny", not "allow"`, nil},
		{"bad version", `{"Version":"2012-10-18","Statement":[]}`,
			`policy "InvokeHaiku": line 1, column 12: Version must be "2012-10-17" or "2008-10-17", not "2012-10-18"`, nil},
		{"not JSON", `{"Version":`, `policy "InvokeHaiku": line 1: not valid JSON: did not find expected node content`, nil},
		{"not an object", `["x"]`, `policy "InvokeHaiku": line 1, column 1: a policy must be a JSON object, not an array`, nil},
		{"empty", ``, `policy "InvokeHaiku": policy document is empty`, nil},
		{"no statement", `{"Version":"2012-10-17"}`, `policy "InvokeHaiku": line 1, column 1: the policy has no Statement`, nil},
		{"empty statement array", `{"Statement":[]}`, `policy "InvokeHaiku": line 1, column 14: Statement must not be empty`, nil},
		{"Id refused", `{"Id":"x","Statement":[]}`, `policy "InvokeHaiku": line 1, column 2: Id is not allowed in an identity-based policy`, nil},
		{"unknown top-level", `{"version":"2012-10-17"}`, `policy "InvokeHaiku": line 1, column 2: unknown element "version" in the policy (element names are case-sensitive: did you mean "Version"?)`, nil},
		{"principal refused", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 32: Principal is not allowed in an identity-based policy`, nil},
		{"unknown statement key", `{"Statement":{"Effect":"Allow","Actions":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 32: unknown element "Actions" in a statement`, nil},
		{"Action and NotAction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 57: a statement must have Action or NotAction, not both`, nil},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 14: the statement has neither Action nor NotAction`, nil},
		{"no resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`,
			`policy "InvokeHaiku": line 1, column 14: the statement has neither Resource nor NotResource`, nil},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 14: the statement has no Effect`, nil},
		{"bad sid", `{"Statement":{"Sid":"a-b","Effect":"Allow","Action":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 21: Sid "a-b" may contain only letters and digits`, nil},
		{"duplicate sid", `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}]}`,
			`policy "InvokeHaiku": line 1, column 72: duplicate Sid "A": Sids must be unique within a policy`, nil},
		{"duplicate key", `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 32: duplicate element "Effect"`, nil},
		{"bad action", `{"Statement":{"Effect":"Allow","Action":"InvokeModel","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 41: Action "InvokeModel" must look like "service:ActionName" (wildcards allowed) or be "*"`, nil},
		{"empty action array", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 41: Action must not be an empty array`, nil},
		{"object action", `{"Statement":{"Effect":"Allow","Action":{"a":1},"Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 41: Action must be a string or an array of strings, not an object`, nil},
		{"unknown action", `{"Statement":{"Effect":"Allow","Action":"bedrock:InvokeModle","Resource":"*"}}`,
			`policy "InvokeHaiku": line 1, column 41: Action "bedrock:InvokeModle" matches no action modelwatch authorizes`,
			[]ParseOption{WithKnownActions("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")}},
		{"bad resource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"foundation-model/x"}}`,
			`policy "InvokeHaiku": line 1, column 56: Resource "foundation-model/x" must be an ARN ("arn:partition:service:region:account:resource") or "*"`, nil},
		{"service wildcard", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:bed*:::x"}}`,
			`policy "InvokeHaiku": line 1, column 56: Resource "arn:aws:bed*:::x": the service segment of an ARN cannot contain wildcards`, nil},
		{"bad variable", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:bedrock:::x/${aws:username"}}`,
			`policy "InvokeHaiku": line 1, column 79: Resource "arn:aws:bedrock:::x/${aws:username": malformed policy variable: write ${key} or ${key, 'default'}`, nil},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"aws:UserAgent":"x"}}}}`,
			`policy "InvokeHaiku": line 1, column 73: unknown condition operator "StringEqual"`, nil},
		{"null IfExists", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:UserAgent":"true"}}}}`,
			`policy "InvokeHaiku": line 1, column 73: unknown condition operator "NullIfExists"`, nil},
		{"bad cidr", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`,
			`policy "InvokeHaiku": line 1, column 101: IpAddress value "10.0.0.0/33" for "aws:SourceIp" is not an IP address or CIDR block`, nil},
		{"bad date", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`,
			`policy "InvokeHaiku": line 1, column 107: DateLessThan value "tomorrow" for "aws:CurrentTime" is not an ISO 8601 date (e.g. 2026-01-31T23:59:59Z) or epoch seconds`, nil},
		{"bad number", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"1h"}}}}`,
			`policy "InvokeHaiku": line 1, column 117: NumericLessThan value "1h" for "aws:MultiFactorAuthAge" is not a number`, nil},
		{"bad bool", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`,
			`policy "InvokeHaiku": line 1, column 103: Bool value "yes" for "aws:SecureTransport" must be "true" or "false"`, nil},
		{"bad base64", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"BinaryEquals":{"k:b":"!!"}}}}`,
			`policy "InvokeHaiku": line 1, column 95: BinaryEquals value "!!" for "k:b" is not base64`, nil},
		{"bad condition key", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"team":"x"}}}}`,
			`policy "InvokeHaiku": line 1, column 89: condition key "team" must look like "service:KeyName"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(Source{ID: "InvokeHaiku", Type: SourceUser}, []byte(tc.doc), tc.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestParseAcceptsIAMForms(t *testing.T) {
	docs := map[string]string{
		"bare statement and values": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}}`,
		"tab indentation":           "{\n\t\"Version\": \"2012-10-17\",\n\t\"Statement\": [{\"Effect\": \"Deny\", \"NotAction\": [\"bedrock:*\"], \"NotResource\": \"*\"}]\n}",
		"element order is free":     `{"Statement":[{"Resource":"*","Action":"*","Effect":"Allow","Sid":"X1"}],"Version":"2008-10-17"}`,
		"unquoted YAML version":     "Version: 2012-10-17\nStatement:\n  - Effect: Allow\n    Action: bedrock:InvokeModel\n    Resource: '*'\n",
		"all operators":             `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCaseIfExists":{"a:b":"x"},"ForAllValues:StringLike":{"aws:TagKeys":["a*"]},"NumericGreaterThanIfExists":{"a:n":5},"DateGreaterThanEquals":{"aws:CurrentTime":"2026-01"},"Bool":{"aws:SecureTransport":true},"IpAddress":{"aws:SourceIp":["::1","10.0.0.0/8"]},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"},"Null":{"aws:RequestTag/x":"false"},"BinaryEquals":{"a:c":"QQ=="}}}}`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(Source{ID: "P", Type: SourceRole}, []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if p.Statements() != 1 || p.Source().ID != "P" {
				t.Errorf("statements %d", p.Statements())
			}
		})
	}
}

func TestParseNodeReportsEnclosingFilePositions(t *testing.T) {
	cfg := `server:
  listen: ":8080"
principals:
  alice:
    policies:
      - name: InvokeHaiku
        document:
          Version: 2012-10-17
          Statement:
            - Sid: Haiku
              Effect: Allow
              Action: bedrock:InvokeModel
              Resource: arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*
            - Sid: Bad
              Effect: allow
              Action: "*"
              Resource: "*"
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(cfg), &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0].Content[3].Content[1].Content[1].Content[0].Content[3]
	_, err := ParseNode(Source{ID: "InvokeHaiku", Type: SourceUser}, doc)
	want := `policy "InvokeHaiku": line 15, column 23: Effect must be "Allow" or "Deny", not "allow"`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	doc.Content[3].Content[1].Content[3].Value = "Allow"
	p, err := ParseNode(Source{ID: "InvokeHaiku", Type: SourceUser}, doc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version() != Version2012 {
		t.Errorf("version %q (a YAML timestamp must still read as the text)", p.Version())
	}
	r := Compile(p).Explain(&Request{Action: "bedrock:InvokeModel", Resource: haikuARN})
	if len(r.MatchedStatements) != 2 {
		t.Fatalf("matched %+v", r.MatchedStatements)
	}
	if got := r.MatchedStatements[0].StartPosition; got != (Position{10, 15}) {
		t.Errorf("start %+v", got)
	}
}

func TestSimulateJSONReadsLikeAWS(t *testing.T) {
	p := mustParse(t, "arn:aws:iam::123456789012:policy/DenyX", `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	got := Simulate(Compile(p), []string{"bedrock:InvokeModel", "bedrock:CountTokens"}, []string{haikuARN}, NewContext(0))
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"EvalActionName":"bedrock:InvokeModel","EvalResourceName":"` + haikuARN + `","EvalDecision":"implicitDeny","MatchedStatements":[],"MissingContextValues":["aws:SourceIp"]},` +
		`{"EvalActionName":"bedrock:CountTokens","EvalResourceName":"` + haikuARN + `","EvalDecision":"implicitDeny","MatchedStatements":[],"MissingContextValues":[]}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	got = Simulate(Compile(p), []string{"bedrock:InvokeModel"}, nil, NewContext(1).Set("aws:SourceIp", "10.0.0.1"))
	b, _ = json.Marshal(got)
	want = `[{"EvalActionName":"bedrock:InvokeModel","EvalResourceName":"*","EvalDecision":"allowed","MatchedStatements":[{"SourcePolicyId":"arn:aws:iam::123456789012:policy/DenyX","SourcePolicyType":"user","StartPosition":{"Line":2,"Column":1},"EndPosition":{"Line":2,"Column":120}}],"MissingContextValues":[]}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestErrorsHaveNoLibraryPrefixes(t *testing.T) {
	for _, doc := range []string{`{"a":`, "\t- x", `{"Statement": "x`, "{\"k\": 1, \"k\": 2}", "\x00"} {
		_, err := Parse(Source{ID: "x"}, []byte(doc))
		if err == nil {
			continue
		}
		if s := err.Error(); strings.Contains(s, "yaml:") || strings.Contains(s, "json:") {
			t.Errorf("%q: %s", doc, s)
		}
	}
}
