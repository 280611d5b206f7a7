package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestNewValidation(t *testing.T) {
	key := func(id, secret string) AccessKey { return AccessKey{ID: id, Secret: Secret(secret)} }
	tests := []struct {
		name       string
		principals []Principal
		opts       Options
		wantErr    string // substring; "" means valid
	}{
		{name: "anonymous", principals: nil, opts: Options{}},
		{name: "valid", principals: testPrincipals(), opts: Options{Region: testRegion}},
		{name: "api key only", principals: []Principal{{Name: "ci", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}},
		{name: "sts ARN", principals: []Principal{{Name: "r", ARN: "arn:aws:sts::123456789012:assumed-role/dev/alice", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}},
		{name: "gov partition ARN", principals: []Principal{{Name: "r", ARN: "arn:aws-us-gov:iam::123456789012:user/x", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}},
		{name: "upper-case sha256 digest", principals: []Principal{{Name: "r", APIKeys: []Secret{Secret("sha256:" + strings.ToUpper(sha256Hex([]byte("k"))))}}}, opts: Options{Region: testRegion}},

		{name: "region required", principals: testPrincipals(), opts: Options{}, wantErr: "region is required"},
		{name: "bad region", principals: nil, opts: Options{Region: "US East"}, wantErr: "not a valid region"},
		{name: "bad account", principals: nil, opts: Options{AccountID: "12345"}, wantErr: "account ID must be 12 digits"},
		{name: "negative skew", principals: nil, opts: Options{MaxSkew: -time.Second}, wantErr: "skew"},
		{name: "empty name", principals: []Principal{{APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}, wantErr: "principals[0]: name is required"},
		{name: "name with space", principals: []Principal{{Name: "a b", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}, wantErr: "must not contain spaces"},
		{
			name: "duplicate name",
			principals: []Principal{
				{Name: "a", APIKeys: []Secret{testAPIKey}},
				{Name: "a", APIKeys: []Secret{hashedAPIKey}},
			},
			opts:    Options{Region: testRegion},
			wantErr: `principals[1]: name "a" is already used by principals[0]`,
		},
		{name: "bad ARN", principals: []Principal{{Name: "a", ARN: "arn:aws:iam::12:user/a", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}, wantErr: "not an IAM or STS ARN"},
		{name: "bedrock ARN", principals: []Principal{{Name: "a", ARN: "arn:aws:bedrock:us-east-1:123456789012:foo", APIKeys: []Secret{testAPIKey}}}, opts: Options{Region: testRegion}, wantErr: "not an IAM or STS ARN"},
		{name: "no credentials", principals: []Principal{{Name: "a"}}, opts: Options{Region: testRegion}, wantErr: `principal "a": has neither`},
		{name: "short key ID", principals: []Principal{{Name: "a", AccessKeys: []AccessKey{key("AKID", testSecret)}}}, opts: Options{Region: testRegion}, wantErr: "accessKeys[0]: id must be 16-128"},
		{name: "lower-case key ID", principals: []Principal{{Name: "a", AccessKeys: []AccessKey{key(strings.ToLower(testAKID), testSecret)}}}, opts: Options{Region: testRegion}, wantErr: "accessKeys[0]: id must be"},
		{name: "empty secret", principals: []Principal{{Name: "a", AccessKeys: []AccessKey{key(testAKID, "")}}}, opts: Options{Region: testRegion}, wantErr: "accessKeys[0]: secret is required"},
		{
			name: "duplicate key ID",
			principals: []Principal{
				{Name: "a", AccessKeys: []AccessKey{key(testAKID, testSecret)}},
				{Name: "b", AccessKeys: []AccessKey{key(otherAKID, otherSecret), key(testAKID, otherSecret)}},
			},
			opts:    Options{Region: testRegion},
			wantErr: `principal "b": accessKeys[1]: id ` + testAKID + ` is already used by principal "a" accessKeys[0]`,
		},
		{name: "short API key", principals: []Principal{{Name: "a", APIKeys: []Secret{"short-key"}}}, opts: Options{Region: testRegion}, wantErr: "apiKeys[0]: key must be at least 20 characters"},
		{name: "bad sha256 form", principals: []Principal{{Name: "a", APIKeys: []Secret{"sha256:abcd"}}}, opts: Options{Region: testRegion}, wantErr: `apiKeys[0]: "sha256:" form must be followed by 64 hex digits`},
		{name: "non-hex sha256 form", principals: []Principal{{Name: "a", APIKeys: []Secret{Secret("sha256:" + strings.Repeat("g", 64))}}}, opts: Options{Region: testRegion}, wantErr: "64 hex digits"},
		{
			name: "duplicate API key, once hashed",
			principals: []Principal{
				{Name: "a", APIKeys: []Secret{testAPIKey}},
				{Name: "b", APIKeys: []Secret{Secret("sha256:" + sha256Hex([]byte(testAPIKey)))}},
			},
			opts:    Options{Region: testRegion},
			wantErr: `principal "b": apiKeys[0] is the same key as principal "a" apiKeys[0]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.principals, tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if a.Anonymous() != (len(tt.principals) == 0) {
					t.Errorf("Anonymous() = %v", a.Anonymous())
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	a, err := New([]Principal{{Name: "alice", APIKeys: []Secret{testAPIKey}}}, Options{Region: "eu-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.service != "bedrock" || a.maxSkew != 5*time.Minute || a.accountID != "000000000000" || a.now == nil {
		t.Errorf("defaults: service %q skew %v account %q", a.service, a.maxSkew, a.accountID)
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer "+testAPIKey)
	p, err := a.Check(r)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Verify(nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.ARN != "arn:aws:iam::000000000000:user/alice" {
		t.Errorf("default ARN = %q", id.ARN)
	}
}

// secretsOf lists every value that must never be printed.
var secretsOf = []string{testSecret, otherSecret, testAPIKey, hashedAPIKey}

func assertNoSecret(t *testing.T, what, s string, extra ...string) {
	t.Helper()
	for _, secret := range append(append([]string{}, secretsOf...), extra...) {
		if strings.Contains(s, secret) {
			t.Errorf("%s leaks a secret: %q", what, s)
		}
	}
}

func TestNoSecretsInNewErrors(t *testing.T) {
	configs := map[string][]Principal{
		"secret in ID field":   {{Name: "a", AccessKeys: []AccessKey{{ID: testSecret, Secret: testAKID}}}},
		"upper-case secret ID": {{Name: "a", AccessKeys: []AccessKey{{ID: strings.ToUpper(testAPIKey), Secret: "x"}}}},
		"duplicate key pair": {
			{Name: "a", AccessKeys: []AccessKey{{ID: testAKID, Secret: testSecret}}},
			{Name: "b", AccessKeys: []AccessKey{{ID: testAKID, Secret: testSecret}}},
		},
		"duplicate API key": {
			{Name: "a", APIKeys: []Secret{testAPIKey}},
			{Name: "b", APIKeys: []Secret{testAPIKey}},
		},
		"short API key":        {{Name: "a", APIKeys: []Secret{Secret(testAPIKey[:10])}}},
		"API key with space":   {{Name: "a", APIKeys: []Secret{testAPIKey + " " + hashedAPIKey}}},
		"bad sha256 form":      {{Name: "a", APIKeys: []Secret{"sha256:" + testAPIKey}}},
		"bad ARN, bad name":    {{Name: "", ARN: testSecret, APIKeys: []Secret{testAPIKey}}},
		"no region, good keys": testPrincipals(),
	}
	for name, ps := range configs {
		_, err := New(ps, Options{})
		if err == nil {
			t.Errorf("%s: New succeeded", name)
			continue
		}
		assertNoSecret(t, name, err.Error(), testAPIKey[:10], strings.ToUpper(testAPIKey))
	}
}

func TestNoSecretsInCheckErrors(t *testing.T) {
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	good := signSpec{body: invokeBody()}.sign(t, "http://gw.example")
	authz := good.Header.Get("Authorization")

	mutations := map[string]func(r *http.Request){
		"API key without Bearer": func(r *http.Request) { r.Header.Set("Authorization", testAPIKey) },
		"wrong API key":          func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testSecret) },
		"secret as algorithm": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, "AWS4-HMAC-SHA256", testSecret, 1))
		},
		"API key as algorithm": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, "AWS4-HMAC-SHA256", "AWS4-"+strings.ToUpper(testAPIKey), 1))
		},
		"secret as access key": func(r *http.Request) { r.Header.Set("Authorization", strings.Replace(authz, testAKID, testSecret, 1)) },
		"secret as credential": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, testAKID+"/", testSecret, 1))
		},
		"secret as scope date": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, "/20240101/", "/"+testAPIKey+"/", 1))
		},
		"secret as region": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, "/us-east-1/", "/"+testAPIKey+"/", 1))
		},
		"secret as terminator": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(authz, "aws4_request", testAPIKey, 1))
		},
		"secret as date":         func(r *http.Request) { r.Header.Set("X-Amz-Date", testSecret) },
		"secret as payload hash": func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", testSecret) },
		"API key as signature": func(r *http.Request) {
			r.Header.Set("Authorization", authz[:strings.LastIndex(authz, "=")+1]+testAPIKey)
		},
		"API key as a parameter name": func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+testAPIKey+", Signature") },
		"presigned with secret": func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=" + testSecret + "&X-Amz-Credential=" + testAPIKey + "&X-Amz-Signature=" + testSecret + "&X-Amz-Date=20240101T001000Z&X-Amz-SignedHeaders=host"
		},
		"presigned with bad expires": func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + testAKID + "/20240101/us-east-1/bedrock/aws4_request&X-Amz-Signature=00&X-Amz-Date=20240101T001000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=" + testAPIKey
		},
	}
	for name, mutate := range mutations {
		r := signSpec{body: invokeBody()}.sign(t, "http://gw.example")
		mutate(r)
		p, err := a.Check(r)
		if err == nil {
			_, err = p.Verify(invokeBody())
		}
		if err == nil {
			t.Errorf("%s: authenticated", name)
			continue
		}
		assertNoSecret(t, name, err.Error(), strings.ToUpper(testAPIKey))
	}
}

func TestRedaction(t *testing.T) {
	p := testPrincipals()[0]
	k := p.AccessKeys[0]
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, p), fmt.Sprintf(verb, &p), fmt.Sprintf(verb, k), fmt.Sprintf(verb, &k),
			fmt.Sprintf(verb, []Principal{p}), fmt.Sprintf(verb, []AccessKey{k}),
			fmt.Sprintf(verb, struct{ P Principal }{p}),
		)
	}
	for _, v := range []any{p, k, []Principal{p}, map[string]AccessKey{"k": k}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j), string(y))
	}

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("config", "principal", p, "key", k, "principals", []Principal{p})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "principal", p, "key", k)
	outputs = append(outputs, buf.String())

	for _, s := range outputs {
		assertNoSecret(t, "rendering", s)
	}
	// Still useful for debugging.
	if s := fmt.Sprint(p); !strings.Contains(s, testAKID) || !strings.Contains(s, "alice") || !strings.Contains(s, redacted) {
		t.Errorf("String() = %q", s)
	}
	if !strings.Contains(buf.String(), `"id":"`+testAKID+`"`) {
		t.Errorf("slog output lacks the key ID: %s", buf.String())
	}
}

// TestYAMLDecode checks the yaml tags the config loader relies on, and that
// the redacting MarshalYAML does not get in the way of decoding.
func TestYAMLDecode(t *testing.T) {
	const doc = `
- name: alice
  arn: arn:aws:iam::123456789012:user/alice
  accessKeys:
    - id: AKIDEXAMPLE000000001
      secret: s3cr3t
  apiKeys: ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]
`
	var ps []Principal
	if err := yaml.Unmarshal([]byte(doc), &ps); err != nil {
		t.Fatal(err)
	}
	want := Principal{
		Name:       "alice",
		ARN:        "arn:aws:iam::123456789012:user/alice",
		AccessKeys: []AccessKey{{ID: "AKIDEXAMPLE000000001", Secret: "s3cr3t"}},
		APIKeys:    []Secret{Secret("sha256:" + strings.Repeat("0", 64))},
	}
	if len(ps) != 1 || ps[0].Name != want.Name || ps[0].ARN != want.ARN || len(ps[0].AccessKeys) != 1 ||
		ps[0].AccessKeys[0] != want.AccessKeys[0] || len(ps[0].APIKeys) != 1 || ps[0].APIKeys[0] != want.APIKeys[0] {
		t.Fatalf("decoded %#v", ps)
	}
	if _, err := New(ps, Options{Region: testRegion}); err != nil {
		t.Fatal(err)
	}
}

func TestAPIKeysStoredHashed(t *testing.T) {
	a := newTestAuthenticator(t, nil)
	if len(a.apiKeys) != 2 {
		t.Fatalf("%d API keys", len(a.apiKeys))
	}
	sum := sha256.Sum256([]byte(testAPIKey))
	if _, ok := a.apiKeys[sum]; !ok {
		t.Errorf("plain key not found by digest")
	}
	if s := fmt.Sprintf("%#v", *a); strings.Contains(s, testAPIKey) || strings.Contains(s, hex.EncodeToString([]byte(testAPIKey))) {
		t.Errorf("authenticator holds the plain API key")
	}
}
