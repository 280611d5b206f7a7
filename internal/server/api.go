package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/cost"
)

// The dashboard's data APIs (/api/...). They expose model IDs, principals
// and, for recent invocations, whole request and response bodies, so they
// are authenticated exactly like model calls: anonymous only on loopback
// without principals, otherwise a bearer key or a SigV4 signature. Recent
// invocations need modelwatch:ListInvocations and show the caller's own
// records, everyone's with modelwatch:ListAllInvocations; the metric
// history (/api/v1) and /metrics need modelwatch:GetMetrics, since they
// name every principal and its cost. The dashboard layout and the price
// list need authentication only.

// dataAPILimit bounds a data API request's body (they are GETs; a
// signed POST form of the query API is small).
const dataAPILimit = 1 << 20

// authorizer returns a check that authenticates a request and requires
// action (an AccessDeniedException when the caller lacks it).
func (s *Server) authorizer(action string) func(*http.Request) error {
	return func(r *http.Request) error {
		_, _, err := s.gw.Control(nopWriter{}, r, s.bodies, dataAPILimit, action, "*")
		return err
	}
}

// nopWriter stands in for the ResponseWriter reading a body may set a
// header on.
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

// guarded wraps a data API handler with authentication and, when action
// is not "", authorization: 401 without valid credentials, 403 without the
// grant.
func (s *Server) guarded(action string, h func(http.ResponseWriter, *http.Request, auth.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, id, err := s.gw.Control(nopWriter{}, r, s.bodies, dataAPILimit, action, "*")
		var ae *apierror.Error
		switch {
		case errors.As(err, &ae) && ae.Code == apierror.AccessDenied:
			apiError(w, http.StatusForbidden, ae.Message)
			return
		case err != nil:
			apiError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <api key> (see README \"Authentication\")")
			return
		}
		h(w, r, id)
	})
}

// guardedHandler is guarded for a plain http.Handler.
func (s *Server) guardedHandler(action string, h http.Handler) http.Handler {
	return s.guarded(action, func(w http.ResponseWriter, r *http.Request, _ auth.Identity) { h.ServeHTTP(w, r) })
}

// visibleARN is the principal whose records id may read: its own, or ""
// (everyone's) with modelwatch:ListAllInvocations.
func visibleARN(id auth.Identity) string {
	if id.Allows(auth.ActionListAllInvocations) {
		return ""
	}
	return id.ARN
}

// invocationsList is GET /api/invocations: the most recent invocation log
// records, newest first, when logging is on.
type invocationsList struct {
	Logging     bool              `json:"logging"`
	Invocations []json.RawMessage `json:"invocations"`
}

func (s *Server) listInvocations(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiError(w, http.StatusBadRequest, "limit must be a number between 1 and 1000")
			return
		}
		limit = n
	}
	out := invocationsList{Logging: s.logging.Config() != nil, Invocations: s.logging.Recent(limit, visibleARN(id))}
	writeAPIJSON(w, http.StatusOK, out)
}

func (s *Server) getInvocation(w http.ResponseWriter, r *http.Request, caller auth.Identity) {
	id := strings.TrimSpace(r.PathValue("id"))
	// Another principal's record answers 404 like an unknown one, so that
	// request IDs cannot be probed.
	rec, ok := s.logging.RecentRecord(id, visibleARN(caller))
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
func (s *Server) getDashboard(w http.ResponseWriter, _ *http.Request, _ auth.Identity) {
	if s.prom != nil {
		// Counts exact across the replicas an external Prometheus scrapes
		// (see dashboard.ExactCounts).
		writeAPIJSON(w, http.StatusOK, s.exactDashboard)
		return
	}
	writeAPIJSON(w, http.StatusOK, s.dashboard)
}

// historySpan is GET /api/history: what the metric history holds, so that
// the dashboard draws charts over the time there is data for (a server up
// for two minutes shows its two minutes, not an empty six-hour axis).
type historySpan struct {
	// FirstSample and LastSample are Unix times in seconds, null while
	// the history is empty.
	FirstSample *float64 `json:"firstSample"`
	LastSample  *float64 `json:"lastSample"`
	// SampleTime is the time of a sample taken for this request (Unix
	// seconds, millisecond precision): the dashboard evaluates every query
	// of one refresh at it, so its numbers are the counters as they are
	// now, exact and consistent with each other.
	SampleTime float64 `json:"sampleTime"`
	// IntervalSeconds is metrics.historyInterval.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// RetentionSeconds is metrics.historyRetention.
	RetentionSeconds float64 `json:"retentionSeconds"`
}

func (s *Server) getHistory(w http.ResponseWriter, _ *http.Request, _ auth.Identity) {
	out := historySpan{IntervalSeconds: s.cfg.Metrics.HistoryInterval.Seconds(), RetentionSeconds: s.cfg.Metrics.HistoryRetention.Seconds()}
	if s.prom != nil {
		// An external Prometheus: the queries are evaluated now. How far
		// back it holds data is not known here (its retention is its own),
		// so the charts show the whole range asked for.
		out.SampleTime = float64(time.Now().UnixMilli()) / 1000
		writeAPIJSON(w, http.StatusOK, out)
		return
	}
	out.SampleTime = float64(s.history.LiveSample().UnixMilli()) / 1000
	if first, last, ok := s.history.Span(); ok {
		f, l := float64(first.UnixMilli())/1000, float64(last.UnixMilli())/1000
		out.FirstSample, out.LastSample = &f, &l
	}
	writeAPIJSON(w, http.StatusOK, out)
}

// priceTable is GET /api/prices: the price list in force.
type priceTable struct {
	Version  string       `json:"version"`
	Currency string       `json:"currency"`
	Prices   []cost.Entry `json:"prices"`
}

func (s *Server) getPrices(w http.ResponseWriter, _ *http.Request, _ auth.Identity) {
	writeAPIJSON(w, http.StatusOK, priceTable{Version: s.prices.Version(), Currency: "USD", Prices: s.prices.Entries()})
}
