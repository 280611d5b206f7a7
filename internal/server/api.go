package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/gateway"
)

// The dashboard's data APIs (/api/...). They expose model IDs, principals
// and, for recent invocations, whole request and response bodies, so they
// are authenticated exactly like model calls: anonymous only on loopback
// without principals, otherwise a bearer key or a SigV4 signature.

// authenticate checks a data API request.
func (s *Server) authenticate(r *http.Request) error {
	p, err := s.gw.Auth().Check(r)
	if err != nil {
		return err
	}
	body, err := gateway.ReadBody(nopWriter{}, r, 1<<20)
	if err != nil {
		return err
	}
	_, err = p.Verify(body)
	return err
}

// nopWriter stands in for the ResponseWriter ReadBody may set a header on.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// apiError writes a data API error as {"error": message}.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeAPIJSON(w, status, map[string]string{"error": msg})
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// guarded wraps a data API handler with authentication.
func (s *Server) guarded(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authenticate(r); err != nil {
			apiError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <api key> (see README \"Authentication\")")
			return
		}
		h(w, r)
	})
}

// invocationsList is GET /api/invocations: the most recent invocation log
// records, newest first, when logging is on.
type invocationsList struct {
	Logging     bool              `json:"logging"`
	Invocations []json.RawMessage `json:"invocations"`
}

func (s *Server) listInvocations(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiError(w, http.StatusBadRequest, "limit must be a number between 1 and 1000")
			return
		}
		limit = n
	}
	out := invocationsList{Logging: s.logging.Config() != nil, Invocations: s.logging.Recent(limit)}
	writeAPIJSON(w, http.StatusOK, out)
}

func (s *Server) getInvocation(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PathValue("id"))
	rec, ok := s.logging.RecentRecord(id)
	if !ok {
		apiError(w, http.StatusNotFound, "no recent invocation record with that request ID (older records are in the delivered logs: modelwatch logs query --request-id)")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(rec)
}

// getDashboard is GET /api/dashboard: the dashboard as code the web UI
// draws (the same one `modelwatch dashboard export` renders).
func (s *Server) getDashboard(w http.ResponseWriter, _ *http.Request) {
	writeAPIJSON(w, http.StatusOK, s.dashboard)
}

// priceTable is GET /api/prices: the price list in force.
type priceTable struct {
	Version  string       `json:"version"`
	Currency string       `json:"currency"`
	Prices   []cost.Entry `json:"prices"`
}

func (s *Server) getPrices(w http.ResponseWriter, _ *http.Request) {
	writeAPIJSON(w, http.StatusOK, priceTable{Version: s.prices.Version(), Currency: "USD", Prices: s.prices.Entries()})
}
