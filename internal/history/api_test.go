package history

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const testToken = "Bearer s3cret"

// apiServer serves the restart timeline's store behind a bearer check.
func apiServer(t *testing.T) (*httptest.Server, *Store) {
	t.Helper()
	s, _ := restartTimeline(t)
	auth := func(r *http.Request) error {
		if r.Header.Get("Authorization") != testToken {
			return errors.New("missing or wrong bearer token")
		}
		return nil
	}
	srv := httptest.NewServer(s.Handler(auth))
	t.Cleanup(srv.Close)
	return srv, s
}

// TestWireFormat checks raw answers against Prometheus's documented JSON.
func TestWireFormat(t *testing.T) {
	srv, _ := apiServer(t)
	tests := []struct {
		name, method, path string
		form               url.Values
		token              string
		wantCode           int
		wantBody           string // exact JSON, compared after decoding
		wantErrType        string
		wantErr            string
	}{
		{name: "matrix", method: "GET", path: "/api/v1/query_range", token: testToken,
			form:     url.Values{"query": {`sum(bedrock_invocations_total{model_id="` + modelA + `"})`}, "start": {"2026-03-01T00:09:00Z"}, "end": {"1772323800"}, "step": {"60"}},
			wantCode: 200,
			wantBody: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1772323740,"40"],[1772323800,"50"]]}]}}`},
		{name: "vector by POST", method: "POST", path: "/api/v1/query", token: testToken,
			form:     url.Values{"query": {`sum(bedrock_invocations_total)`}, "time": {"1772323800.000"}},
			wantCode: 200,
			wantBody: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1772323800,"65"]}]}}`},
		{name: "step as duration", method: "GET", path: "/api/v1/query_range", token: testToken,
			form:     url.Values{"query": {`vector(1)`}, "start": {"1772323800"}, "end": {"1772323860"}, "step": {"1m"}},
			wantCode: 200,
			wantBody: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1772323800,"1"],[1772323860,"1"]]}]}}`},
		{name: "string", method: "GET", path: "/api/v1/query", token: testToken,
			form:     url.Values{"query": {`"hello"`}, "time": {"1772323800"}},
			wantCode: 200,
			wantBody: `{"status":"success","data":{"resultType":"string","result":[1772323800,"hello"]}}`},
		{name: "label values", method: "GET", path: "/api/v1/label/operation/values", token: testToken,
			wantCode: 200, wantBody: `{"status":"success","data":["Converse","InvokeModel"]}`},
		{name: "label values limit", method: "GET", path: "/api/v1/label/operation/values", token: testToken,
			form:     url.Values{"limit": {"1"}},
			wantCode: 200, wantBody: `{"status":"success","data":["Converse"],"warnings":["results truncated due to limit"]}`},
		{name: "no values", method: "GET", path: "/api/v1/label/nothing/values", token: testToken,
			wantCode: 200, wantBody: `{"status":"success","data":[]}`},
		{name: "exemplars", method: "GET", path: "/api/v1/query_exemplars", token: testToken,
			form: url.Values{"query": {"bedrock_invocations_total"}}, wantCode: 200, wantBody: `{"status":"success","data":[]}`},

		{name: "rules", method: "GET", path: "/api/v1/rules", token: testToken,
			wantCode: 200, wantBody: `{"status":"success","data":{"groups":[]}}`},
		{name: "no token", method: "GET", path: "/api/v1/query", form: url.Values{"query": {"1"}},
			wantCode: 401, wantErrType: "unauthorized", wantErr: "missing or wrong bearer token"},
		{name: "no token on unknown path", method: "GET", path: "/api/v1/targets",
			wantCode: 401, wantErrType: "unauthorized"},
		{name: "bad query", method: "GET", path: "/api/v1/query", token: testToken, form: url.Values{"query": {"sum("}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "query"`},
		{name: "bad time", method: "GET", path: "/api/v1/query", token: testToken, form: url.Values{"query": {"1"}, "time": {"yesterday"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "time"`},
		{name: "missing start", method: "GET", path: "/api/v1/query_range", token: testToken, form: url.Values{"query": {"1"}, "end": {"1"}, "step": {"1"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "start"`},
		{name: "end before start", method: "GET", path: "/api/v1/query_range", token: testToken, form: url.Values{"query": {"1"}, "start": {"10"}, "end": {"1"}, "step": {"1"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: "end timestamp must not be before start time"},
		{name: "zero step", method: "GET", path: "/api/v1/query_range", token: testToken, form: url.Values{"query": {"1"}, "start": {"1"}, "end": {"10"}, "step": {"0"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: "zero or negative"},
		{name: "bad step", method: "GET", path: "/api/v1/query_range", token: testToken, form: url.Values{"query": {"1"}, "start": {"1"}, "end": {"10"}, "step": {"often"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "step"`},
		{name: "too many points", method: "GET", path: "/api/v1/query_range", token: testToken, form: url.Values{"query": {"1"}, "start": {"0"}, "end": {"86400"}, "step": {"1"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: "11,000 points"},
		{name: "execution error", method: "POST", path: "/api/v1/query", token: testToken, form: url.Values{"query": {"bedrock_invocations_total + on() bedrock_input_tokens_total"}, "time": {"1772323800"}},
			wantCode: 422, wantErrType: "execution", wantErr: "many-to-many"},
		{name: "timeout", method: "GET", path: "/api/v1/query", token: testToken, form: url.Values{"query": {"bedrock_invocations_total"}, "timeout": {"1e-9"}},
			wantCode: 503, wantErrType: "timeout"},
		{name: "bad timeout", method: "GET", path: "/api/v1/query", token: testToken, form: url.Values{"query": {"1"}, "timeout": {"-1s"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "timeout"`},
		{name: "series without match", method: "GET", path: "/api/v1/series", token: testToken,
			wantCode: 400, wantErrType: "bad_data", wantErr: "no match[] parameter provided"},
		{name: "series with empty matcher", method: "GET", path: "/api/v1/series", token: testToken, form: url.Values{"match[]": {`{model_id=~".*"}`}},
			wantCode: 400, wantErrType: "bad_data", wantErr: "at least one non-empty matcher"},
		{name: "bad label name", method: "GET", path: "/api/v1/label/%ff/values", token: testToken,
			wantCode: 400, wantErrType: "bad_data", wantErr: "invalid label name"},
		{name: "bad limit", method: "GET", path: "/api/v1/labels", token: testToken, form: url.Values{"limit": {"x"}},
			wantCode: 400, wantErrType: "bad_data", wantErr: `invalid parameter "limit"`},
		{name: "unknown endpoint", method: "GET", path: "/api/v1/targets", token: testToken,
			wantCode: 404, wantErrType: "not_found"},
		{name: "wrong method", method: "DELETE", path: "/api/v1/series", token: testToken,
			wantCode: 405, wantErrType: "bad_data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			target := srv.URL + tc.path
			if tc.method == "POST" {
				body = strings.NewReader(tc.form.Encode())
			} else if len(tc.form) > 0 {
				target += "?" + tc.form.Encode()
			}
			req, err := http.NewRequest(tc.method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.token != "" {
				req.Header.Set("Authorization", tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantCode, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.wantBody != "" {
				var got, want any
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatalf("body %s: %v", raw, err)
				}
				if err := json.Unmarshal([]byte(tc.wantBody), &want); err != nil {
					t.Fatal(err)
				}
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("body\n got %s\nwant %s", gb, wb)
				}
				return
			}
			var e response
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			if e.Status != "error" || e.ErrorType != tc.wantErrType || !strings.Contains(e.Error, tc.wantErr) {
				t.Errorf("got %s, want errorType %q containing %q", raw, tc.wantErrType, tc.wantErr)
			}
			if strings.Contains(string(raw), "s3cret") {
				t.Error("the token leaked into the answer")
			}
		})
	}
}

// TestHandlerWithoutAuth checks that a nil authenticate allows everything.
func TestHandlerWithoutAuth(t *testing.T) {
	s, _ := restartTimeline(t)
	rec := httptest.NewRecorder()
	s.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status/buildinfo", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":"`+EngineVersion+`"`) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
