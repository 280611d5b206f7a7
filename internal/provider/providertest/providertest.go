// Package providertest holds what the upstream adapters' tests share: a
// transport that answers every request with fixed bytes, and the invariant
// every stream parser must keep whatever the upstream sends.
package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// BodyTransport answers every request with status 200, its content type
// and body, so a fuzz iteration exercises a parser without a server.
type BodyTransport struct {
	ContentType string
	Body        []byte
}

// RoundTrip implements http.RoundTripper.
func (t *BodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {t.ContentType}},
		Body: io.NopCloser(bytes.NewReader(t.Body)), Request: r}, nil
}

// CheckStream runs a ConverseStream call on p and checks the contract of
// provider.Stream whatever the upstream answered: no panic, and either a
// Bedrock exception (an *apierror.Error) or a complete stream — ended by
// io.EOF after its metadata event — whose assembled response is valid JSON.
func CheckStream(t testing.TB, p provider.Provider) {
	t.Helper()
	req := &converse.Request{Messages: []converse.Message{{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("hi")}}}}
	st, err := p.ConverseStream(context.Background(), provider.Call{ModelID: "m", UpstreamModel: "m"}, req)
	if err == nil {
		var evs []converse.StreamEvent
		evs, err = provider.Collect(st)
		st.Close()
		if err == nil {
			var a converse.Assembler
			for i := range evs {
				a.Add(&evs[i])
			}
			if !a.Done() {
				t.Fatalf("stream ended without error and without metadata: %d events", len(evs))
			}
			if b, jerr := json.Marshal(a.Response()); jerr != nil || !json.Valid(b) {
				t.Fatalf("assembled response is not JSON: %v", jerr)
			}
		}
	}
	var e *apierror.Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a Bedrock exception", err, err)
	}
}

// CheckValidation checks a configuration's Validate result against want:
// no error when want is empty, else an error containing want, and never an
// error that shows the value the configuration holds in place of a secret
// (tests put "SECRET" in such values).
func CheckValidation(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("Validate() = %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("Validate() = %v, want %q", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error shows the value: %v", err)
	}
}
