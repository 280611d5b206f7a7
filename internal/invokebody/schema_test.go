package invokebody

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestSchemaViolations(t *testing.T) {
	s := object(props{
		"name":  str().length(1, 5),
		"n":     integer().atLeast(1).upToModelMax(),
		"f":     number().between(0, 1),
		"e":     enum("a", "b"),
		"list":  array(integer()).count(1, 2),
		"b":     boolean(),
		"sub":   object(props{"x": str()}, "x"),
		"open":  openObject(),
		"any":   anything(),
		"alt":   str().or(array(str())),
		"pat":   str().matching(`^\d+$`),
		"data":  str().b64(),
		"words": str().nonBlank(),
		"kind": union("type", map[string]*schema{
			"one": object(props{"v": integer()}, "v"),
		}),
	}, "name")
	for _, c := range []struct {
		body string
		want []string
	}{
		{`{"name":"ok"}`, nil},
		{`{"name":"ok","open":{"z":[1]},"any":null,"alt":["a"],"kind":{"type":"one","v":3},"b":true}`, nil},
		{`{}`, []string{"#: required key [name] not found"}},
		{`{"z":1,"a":2}`, []string{"#: required key [name] not found", "#: extraneous key [a] is not permitted", "#: extraneous key [z] is not permitted"}},
		{`{"name":""}`, []string{"#/name: expected minLength: 1, actual: 0"}},
		{`{"name":"ééééééé"}`, []string{"#/name: expected maxLength: 5, actual: 7"}},
		{`{"name":"x","n":0}`, []string{"#/n: 0 is not greater or equal to 1"}},
		{`{"name":"x","n":101}`, []string{"#/n: 101 is not less or equal to 100"}},
		{`{"name":"x","n":1.0}`, []string{"#/n: expected type: Integer, found: BigDecimal"}},
		{`{"name":"x","n":99999999999}`, []string{"#/n: 99999999999 is not less or equal to 100"}},
		{`{"name":"x","n":99999999999999999999}`, []string{"#/n: expected type: Integer, found: BigInteger"}},
		{`{"name":"x","f":"1"}`, []string{"#/f: expected type: Number, found: String"}},
		{`{"name":"x","f":null}`, []string{"#/f: expected type: Number, found: Null"}},
		{`{"name":"x","f":-0.5}`, []string{"#/f: -0.5 is not greater or equal to 0"}},
		{`{"name":"x","f":1e400}`, []string{"#/f: 1e400 is not less or equal to 1"}},
		{`{"name":"x","e":"c"}`, []string{"#/e: c is not a valid enum value"}},
		{`{"name":"x","e":1}`, []string{"#/e: expected type: String, found: Integer"}},
		{`{"name":"x","list":[]}`, []string{"#/list: expected minimum item count: 1, found: 0"}},
		{`{"name":"x","list":[1,2,"3"]}`, []string{"#/list: expected maximum item count: 2, found: 3", "#/list/2: expected type: Integer, found: String"}},
		{`{"name":"x","b":"true"}`, []string{"#/b: expected type: Boolean, found: String"}},
		{`{"name":"x","sub":{}}`, []string{"#/sub: required key [x] not found"}},
		{`{"name":"x","sub":[]}`, []string{"#/sub: expected type: JSONObject, found: JSONArray"}},
		{`{"name":"x","alt":{}}`, []string{"#/alt: expected type: String, found: JSONObject", "#/alt: expected type: JSONArray, found: JSONObject"}},
		{`{"name":"x","alt":[1]}`, []string{"#/alt/0: expected type: String, found: Integer"}},
		{`{"name":"x","pat":"12a"}`, []string{`#/pat: string [12a] does not match pattern ^\d+$`}},
		{`{"name":"x","data":"AB=C"}`, []string{"#/data: string is not valid base64"}},
		{`{"name":"x","words":" \n"}`, []string{"#/words: string must contain non-whitespace characters"}},
		{`{"name":"x","kind":{}}`, []string{"#/kind: required key [type] not found"}},
		{`{"name":"x","kind":{"type":2}}`, []string{"#/kind/type: expected type: String, found: Integer"}},
		{`{"name":"x","kind":{"type":"two"}}`, []string{"#/kind/type: two is not a valid enum value"}},
		{`{"name":"x","kind":{"type":"one","v":"1","w":1}}`, []string{"#/kind: extraneous key [w] is not permitted", "#/kind/v: expected type: Integer, found: String"}},
	} {
		root, err := parseBody([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		got := s.violations(root, 100)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", c.body, got, c.want)
		}
	}
}

func TestSchemaModelMaxUnset(t *testing.T) {
	s := object(props{"n": integer().upToModelMax()})
	root, _ := parseBody([]byte(`{"n":1000000}`))
	if v := s.violations(root, 0); v != nil {
		t.Errorf("no model limit: got %q", v)
	}
}

func TestViolationCap(t *testing.T) {
	body := `{"l":[` + strings.Repeat(`"x",`, 500) + `"x"]}`
	root, err := parseBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(object(props{"l": array(integer())}).violations(root, 0)); n != maxViolations {
		t.Errorf("%d violations, want the cap %d", n, maxViolations)
	}
}

func TestParseBodyErrors(t *testing.T) {
	for body, want := range map[string]string{
		"":             "A JSONObject text must begin with '{' at 0 [character 1 line 1]",
		"  \n":         "A JSONObject text must begin with '{' at 3 [character 1 line 2]",
		"[1]":          "A JSONObject text must begin with '{' at 0 [character 1 line 1]",
		`"x"`:          "A JSONObject text must begin with '{' at 0 [character 1 line 1]",
		`{"a":1`:       "A JSONObject text must end with '}' at 6 [character 7 line 1]",
		`{"a":1}x`:     "Unexpected character at 7 [character 8 line 1]",
		`{"a":1} {}`:   "Unexpected character at 7 [character 8 line 1]",
		`{"a" 1}`:      "Unexpected character at 5 [character 6 line 1]",
		"{\n\"a\": x}": "Unexpected character at 7 [character 6 line 2]",
	} {
		_, err := parseBody([]byte(body))
		wantValidation(t, err, malformedMsg(want))
	}
	if _, err := parseBody([]byte(" {\"a\":1} \n")); err != nil {
		t.Errorf("surrounding whitespace: %v", err)
	}
}

func TestValidBase64(t *testing.T) {
	for _, s := range []string{"", "A", "AA", "AAA", "AAAA", "AA==", "AAA=", "A===", "====", "AA=A", "AAAA\nAAAA", "AA\r\n==", "AAAA====", "AB-_", "QUJD", "QUI=", "QQ==", "\n"} {
		_, err := base64.StdEncoding.DecodeString(s)
		decoded, _ := base64.StdEncoding.DecodeString(s)
		want := err == nil && len(decoded) > 0
		if got := validBase64(s); got != want {
			t.Errorf("validBase64(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidBase64(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QUI=", "QQ==", "A===", "AA\r\n=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		decoded, err := base64.StdEncoding.DecodeString(s)
		if want := err == nil && len(decoded) > 0; validBase64(s) != want {
			t.Errorf("validBase64(%q) = %v, stdlib decodes: %v (%d bytes)", s, !want, err == nil, len(decoded))
		}
	})
}
