package openaiapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/gateway"
)

// openAIError is OpenAI's error body.
type openAIError struct {
	Error struct {
		Message, Type, Code string
		Param               *string
	}
}

func decodeError(t *testing.T, resp *http.Response) openAIError {
	t.Helper()
	var e openAIError
	body := readAll(t, resp)
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return e
}

// The OpenAI front door holds metadata to OpenAI's own limits (16 pairs,
// keys of 1–64 characters, values of at most 512), which its clients
// expect, and passes any characters through: OpenAI restricts none, and
// the record stores them JSON-escaped.
func TestChatMetadata_KeepsOpenAILimitsAndPassesCharactersThrough(t *testing.T) {
	e := newEnv(t, Options{})
	chat := func(extra string) *http.Response {
		return post(t, e, "/v1/chat/completions", `{"model":"haiku","messages":[{"role":"user","content":"hi"}]`+extra+`}`)
	}

	resp := chat(`,"metadata":{"<k>":"<b>\"quoted\"</b>","team":"café"},"user":"u\"<1>"`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp))
	}
	inv := e.rec.get(t, requestID(t, resp))
	want := map[string]string{"<k>": `<b>"quoted"</b>`, "team": "café", "user": `u"<1>`}
	if fmt.Sprint(inv.RequestMetadata) != fmt.Sprint(want) {
		t.Errorf("recorded metadata %v, want %v", inv.RequestMetadata, want)
	}

	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	for _, tc := range []struct{ name, extra, param, message string }{
		{"17 pairs", `,"metadata":{` + strings.Join(many, ",") + `}`, "metadata", "Invalid 'metadata': too many pairs (17). At most 16 are allowed."},
		{"key of 65", `,"metadata":{"` + strings.Repeat("k", 65) + `":"v"}`, "metadata", "Invalid 'metadata': keys must be 1 to 64 characters long."},
		{"value of 513", `,"metadata":{"k":"` + strings.Repeat("v", 513) + `"}`, "metadata.k", "Invalid 'metadata.k': values must be at most 512 characters long."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := chat(tc.extra)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			oe := decodeError(t, resp)
			if oe.Error.Type != "invalid_request_error" || oe.Error.Param == nil || *oe.Error.Param != tc.param || oe.Error.Message != tc.message {
				t.Errorf("error %+v, want param %q message %q", oe.Error, tc.param, tc.message)
			}
		})
	}
}

// A body past the server's body budget is refused in OpenAI's shape: 503
// server_error, code service_unavailable, counted once; the charge of a
// served call is released when it is answered.
func TestBodyBudget_RefusesInOpenAIShape(t *testing.T) {
	reg := prometheus.NewRegistry()
	bodies := gateway.NewBodyBudget(300, reg)
	e := newEnv(t, Options{Bodies: bodies})
	small := `{"model":"haiku","messages":[{"role":"user","content":"hi"}]}`
	resp := post(t, e, "/v1/chat/completions", small)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body within the budget: status %d: %s", resp.StatusCode, readAll(t, resp))
	}
	resp.Body.Close()
	if bodies.InFlight() != 0 {
		t.Errorf("%d bytes still charged after the call was answered", bodies.InFlight())
	}

	large := `{"model":"haiku","messages":[{"role":"user","content":"` + strings.Repeat("a", 400) + `"}]}`
	resp = post(t, e, "/v1/chat/completions", large)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	oe := decodeError(t, resp)
	if oe.Error.Type != "server_error" || oe.Error.Code != "service_unavailable" ||
		oe.Error.Message != "The server is receiving more request data than it can hold at once. The call was not processed. Try again later." {
		t.Errorf("error %+v", oe.Error)
	}
	inv := e.rec.get(t, requestID(t, resp))
	if inv.Status != http.StatusServiceUnavailable || inv.ErrorCode != "ServiceUnavailableException" {
		t.Errorf("recorded %d %q", inv.Status, inv.ErrorCode)
	}
	if got := counterValue(t, reg, "modelwatch_request_body_budget_refusals_total"); got != 1 {
		t.Errorf("refusals counted %v, want 1", got)
	}
	if bodies.InFlight() != 0 {
		t.Errorf("%d bytes still charged after the refusal", bodies.InFlight())
	}
}

// counterValue returns the value of the registered counter name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s registered", name)
	return 0
}
