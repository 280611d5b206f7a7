package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestControlHeldKeepsTheBodyChargedUntilRelease: Control releases its
// charge before it returns; ControlHeld keeps it for the handler's work.
func TestControlHeldKeepsTheBodyChargedUntilRelease(t *testing.T) {
	g := newGateway(t)
	bodies := NewBodyBudget(1<<20, nil)
	body := strings.Repeat("x", 1000)
	newReq := func() *http.Request {
		return httptest.NewRequest(http.MethodPost, "/model/m/count-tokens", strings.NewReader(body))
	}

	if _, _, err := g.Control(httptest.NewRecorder(), newReq(), bodies, 1<<20, "", ""); err != nil {
		t.Fatal(err)
	}
	if n := bodies.InFlight(); n != 0 {
		t.Errorf("after Control: %d bytes in flight, want 0", n)
	}

	got, _, release, err := g.ControlHeld(httptest.NewRecorder(), newReq(), bodies, 1<<20, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != body {
		t.Errorf("body %d bytes, want %d", len(got), len(body))
	}
	// The charge is the buffer the body was read into: at least the body.
	if n := bodies.InFlight(); n < int64(len(body)) {
		t.Errorf("while held: %d bytes in flight, want at least %d", n, len(body))
	}
	release()
	if n := bodies.InFlight(); n != 0 {
		t.Errorf("after release: %d bytes in flight, want 0", n)
	}
}
