package iampolicy

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestResourceMatchingPerSegment(t *testing.T) {
	cases := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", haikuARN, true},
		{haikuARN, haikuARN, true},
		{"arn:aws:bedrock:*::foundation-model/*", haikuARN, true},
		{"arn:aws:bedrock:*::foundation-model/*", profileARN, false},
		{"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:?", haikuARN, true},
		{"arn:aws:bedrock:us-east-1::foundation-model/*:0", haikuARN, true},
		{"arn:aws:bedrock:us-east-1:*:inference-profile/us.*", profileARN, true},
		{"arn:aws:bedrock:us-*", profileARN, true}, // trailing * of a segment expands past ":"
		{"arn:aws:bedrock:us-*:inference-profile/*", profileARN, true},
		{"arn:aws:bedrock:u*-1:123456789012:*", profileARN, true},
		{"arn:aws:bedrock:us-east-1", profileARN, false},   // too few segments, no trailing *
		{"arn:aws:bedrock:US-EAST-1:*", profileARN, false}, // case-sensitive
		{"arn:aws:bedrock:*:*:*", "*", false},
		{"arn:aws:bedrock:us-east-1::foundation-model/x", "arn:aws:bedrock:us-east-1::foundation-model", false},
	}
	for _, tc := range cases {
		if got := MatchResource(tc.pattern, tc.arn); got != tc.want {
			t.Errorf("MatchResource(%q, %q) = %v, want %v", tc.pattern, tc.arn, got, tc.want)
		}
	}
}

func TestWildcardMatchingIsNotExponential(t *testing.T) {
	pattern := strings.Repeat("a*", 30) + "b"
	input := strings.Repeat("a", 5000)
	start := time.Now()
	if MatchWildcard(pattern, input, false) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestWildcardQuestionMarkIsOneCharacter(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"?", "é", true}, {"??", "é", false}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"*?", "", false}, {"bedrock:invoke*", "BEDROCK:InvokeModel", false},
	}
	for _, tc := range cases {
		if got := MatchWildcard(tc.p, tc.s, false); got != tc.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
	if !MatchWildcard("bedrock:invoke*", "BEDROCK:InvokeModel", true) {
		t.Error("ignoreCase did not fold")
	}
}

func TestParseNodeFollowsAnchors(t *testing.T) {
	cfg := `shared: &invoke [bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream]
policy:
  Version: "2012-10-17"
  Statement:
    Effect: Allow
    Action: *invoke
    Resource: "*"
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(cfg), &root); err != nil {
		t.Fatal(err)
	}
	p, err := ParseNode(Source{ID: "P", Type: SourceRole}, root.Content[0].Content[3])
	if err != nil {
		t.Fatal(err)
	}
	if Compile(p).Evaluate(&Request{Action: "bedrock:InvokeModelWithResponseStream", Resource: haikuARN}) != Allowed {
		t.Error("aliased Action not honoured")
	}
}
