package bedrockapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Bedrock's exact messages for requestMetadata violations.
const (
	msgHeaderShape = "The X-Amzn-Bedrock-Request-Metadata header must be a JSON object of string keys and string values."
	msgKeys        = "Value at 'requestMetadata' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}]"
	msgValues      = "Value at 'requestMetadata' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}]"
	msgTooMany     = "Value at 'requestMetadata' failed to satisfy constraint: Member must have length less than or equal to 16"
	msgEmpty       = "Value at 'requestMetadata' failed to satisfy constraint: Member must have length greater than or equal to 1"
)

func metadataJSON(md map[string]string) string {
	b, _ := json.Marshal(md)
	return string(b)
}

func pairs(n int, value string) map[string]string {
	md := map[string]string{}
	for i := range n {
		md[fmt.Sprintf("k%d", i)] = value
	}
	return md
}

func TestParseRequestMetadata_AppliesBedrocksConstraints(t *testing.T) {
	one := func(m string) string { return "1 validation error detected: " + m }
	two := func(a, b string) string { return "2 validation errors detected: " + a + "; " + b }
	for _, tc := range []struct {
		name, header, want string // want "" means accepted
	}{
		{"every allowed character", metadataJSON(map[string]string{"team": "search", "a-b.c/d:e@f$g#h=i+j,k_l m\tn": "Z9 :_@$#=/+,-."}), ""},
		{"empty value", `{"team":""}`, ""},
		{"16 pairs", metadataJSON(pairs(16, "v")), ""},
		{"key of 256", metadataJSON(map[string]string{strings.Repeat("k", 256): "v"}), ""},
		{"value of 256", metadataJSON(map[string]string{"k": strings.Repeat("v", 256)}), ""},
		{"empty object", `{}`, one(msgEmpty)},
		{"17 pairs", metadataJSON(pairs(17, "v")), one(msgTooMany)},
		{"angle bracket in a key", `{"<script>":"v"}`, one(msgKeys)},
		{"quote in a value", `{"team":"a\"b"}`, one(msgValues)},
		{"angle bracket in a value", `{"team":"<b>"}`, one(msgValues)},
		{"empty key", `{"":"v"}`, one(msgKeys)},
		{"key of 257", metadataJSON(map[string]string{strings.Repeat("k", 257): "v"}), one(msgKeys)},
		{"value of 257", metadataJSON(map[string]string{"k": strings.Repeat("v", 257)}), one(msgValues)},
		{"non-ASCII letter", `{"team":"café"}`, one(msgValues)},
		{"no-break space", "{\"team\":\"a\u00a0b\"}", one(msgValues)},
		{"NUL", `{"team":"a\u0000b"}`, one(msgValues)},
		{"invalid UTF-8 (decoded as U+FFFD)", "{\"team\":\"a\xffb\"}", one(msgValues)},
		{"bad key and bad value", `{"a<":"v","b":"<"}`, two(msgKeys, msgValues)},
		{"17 pairs and a bad value", metadataJSON(pairs(17, "<")), two(msgTooMany, msgValues)},
		{"not JSON", `team=search`, msgHeaderShape},
		{"a JSON array", `["team"]`, msgHeaderShape},
		{"null", `null`, msgHeaderShape},
		{"a number value", `{"team":1}`, msgHeaderShape},
		{"a nested object", `{"team":{"a":"b"}}`, msgHeaderShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := parseRequestMetadata(tc.header)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				var want map[string]string
				_ = json.Unmarshal([]byte(tc.header), &want)
				if len(md) != len(want) {
					t.Errorf("parsed %d pairs, want %d", len(md), len(want))
				}
				return
			}
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation || e.Status() != 400 {
				t.Fatalf("error %v, want a 400 ValidationException", err)
			}
			if e.Message != tc.want {
				t.Errorf("message\n %q\nwant\n %q", e.Message, tc.want)
			}
			if md != nil {
				t.Errorf("a refused header still produced metadata %v", md)
			}
		})
	}
}

// metadataOracle is the service model's pattern, written independently of
// the validator (ASCII whitespace for \s).
var metadataOracle = regexp.MustCompile("^[a-zA-Z0-9 \t\n\v\f\r:_@$#=/+,.-]*$")

func FuzzParseRequestMetadata(f *testing.F) {
	for _, seed := range []string{
		`{"team":"search"}`, `{}`, `{"<script>":"v"}`, `{"team":"a\"b"}`, `{"":""}`, "{\"a\":\"\xff\"}",
		metadataJSON(pairs(17, "v")), `{"a":"b","a":"<"}`, `null`, `[]`, `{"k":` + strings.Repeat(`"v`, 3),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		md, err := parseRequestMetadata(header)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("error %v is not a ValidationException", err)
			}
			if e.Message != msgHeaderShape && !strings.Contains(e.Message, "validation error") {
				t.Fatalf("unexpected message %q", e.Message)
			}
			// The map is sensitive: nothing the caller sent is echoed.
			if len(header) > 2 && e.Message != msgHeaderShape && strings.Contains(e.Message, header) {
				t.Fatalf("the message echoes the header: %q", e.Message)
			}
			return
		}
		if len(md) < 1 || len(md) > 16 {
			t.Fatalf("accepted %d pairs", len(md))
		}
		for k, v := range md {
			if len(k) < 1 || len(k) > 256 || len(v) > 256 || !metadataOracle.MatchString(k) || !metadataOracle.MatchString(v) {
				t.Fatalf("accepted %q: %q", k, v)
			}
		}
	})
}
