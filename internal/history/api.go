package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// EngineVersion is the Prometheus release whose engine answers queries;
// /api/v1/status/buildinfo reports it so that Grafana enables the PromQL
// features that release has.
const EngineVersion = "3.16.0"

// maxFormBytes bounds a POSTed form (a query is rarely over a few KB).
const maxFormBytes = 1 << 20

// The default and bounding times of optional time ranges, as in
// Prometheus's HTTP API.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()

	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// response is the envelope of every answer of Prometheus's HTTP API.
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

// Handler serves the Prometheus-compatible query API under /api/v1/ (it
// expects the full request path): query, query_range, series, labels,
// label/{name}/values, metadata, status/buildinfo, and query_exemplars,
// rules and alerts (always empty: none are kept). authenticate, when not nil, is called first on every
// request; an error is answered 401 with errorType "unauthorized", or 403
// "forbidden" when it is an AccessDeniedException.
func (s *Store) Handler(authenticate func(*http.Request) error) http.Handler {
	mux := http.NewServeMux()
	route := func(path string, h func(*http.Request) (any, annotations.Annotations, *Error)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h) })
	}
	route("/api/v1/query", s.apiQuery)
	route("/api/v1/query_range", s.apiQueryRange)
	route("/api/v1/series", s.apiSeries)
	route("/api/v1/labels", s.apiLabels)
	route("/api/v1/label/{name}/values", s.apiLabelValues)
	route("/api/v1/metadata", s.apiMetadata)
	route("/api/v1/query_exemplars", s.apiExemplars)
	route("/api/v1/status/buildinfo", apiBuildInfo)
	// No recording or alerting rules exist (yet); Grafana's alerting view
	// asks, and an empty answer is the truth.
	route("/api/v1/rules", func(*http.Request) (any, annotations.Annotations, *Error) {
		return map[string][]struct{}{"groups": {}}, nil, nil
	})
	route("/api/v1/alerts", func(*http.Request) (any, annotations.Annotations, *Error) {
		return map[string][]struct{}{"alerts": {}}, nil, nil
	})
	route("/", func(r *http.Request) (any, annotations.Annotations, *Error) {
		return nil, nil, &Error{Type: ErrorNotFound, Err: fmt.Errorf("no such endpoint: %s", r.URL.Path)}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authenticate != nil {
			if err := authenticate(r); err != nil {
				typ := ErrorUnauthorized
				var ae *apierror.Error
				if errors.As(err, &ae) && ae.Code == apierror.AccessDenied {
					typ = ErrorForbidden // authenticated, without the grant
				}
				writeError(w, &Error{Type: typ, Err: err})
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// serve parses the form, runs h and writes its answer. Query endpoints
// write their own body (rawJSON) because a result must be encoded before
// the query's memory is released.
func (s *Store) serve(w http.ResponseWriter, r *http.Request, h func(*http.Request) (any, annotations.Annotations, *Error)) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, response{Status: "error", ErrorType: ErrorBadData, Error: "method " + r.Method + " not allowed"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, badData(fmt.Errorf("error parsing form values: %w", err)))
		return
	}
	data, warns, apiErr := h(r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if raw, ok := data.(json.RawMessage); ok {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
		return
	}
	resp := response{Status: "success", Data: data}
	resp.Warnings, resp.Infos = warns.AsStrings("", 10, 10)
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(response{Status: "error", ErrorType: ErrorInternal, Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, statusOf(e.Type), response{Status: "error", ErrorType: e.Type, Error: e.Err.Error()})
}

// statusOf is Prometheus's mapping of error types to HTTP status codes.
func statusOf(typ string) int {
	switch typ {
	case ErrorBadData:
		return http.StatusBadRequest
	case ErrorExec:
		return http.StatusUnprocessableEntity
	case ErrorCanceled:
		return 499 // client closed request
	case ErrorTimeout, ErrorUnavailable:
		return http.StatusServiceUnavailable
	case ErrorNotFound:
		return http.StatusNotFound
	case ErrorUnauthorized:
		return http.StatusUnauthorized
	case ErrorForbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func invalidParam(name string, err error) *Error {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

// queryContext applies the request's optional "timeout" parameter; the
// engine's own timeout (Options.QueryTimeout) bounds it anyway.
func (s *Store) queryContext(r *http.Request) (context.Context, context.CancelFunc, *Error) {
	ctx := r.Context()
	v := r.FormValue("timeout")
	if v == "" {
		return ctx, func() {}, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return nil, nil, invalidParam("timeout", err)
	}
	if d <= 0 {
		return nil, nil, invalidParam("timeout", fmt.Errorf("timeout must be positive, got %s", d))
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

func (s *Store) apiQuery(r *http.Request) (any, annotations.Annotations, *Error) {
	// Without a time the query is evaluated now, at a live sample (see
	// Store.live), as Prometheus evaluates it at its own now.
	var ts time.Time
	if v := r.FormValue("time"); v != "" {
		var err error
		if ts, err = parseTime(v); err != nil {
			return nil, nil, invalidParam("time", err)
		}
	}
	ctx, cancel, apiErr := s.queryContext(r)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	defer cancel()
	return s.encodeQuery(ctx, r.FormValue("query"), ts, ts, 0)
}

func (s *Store) apiQueryRange(r *http.Request) (any, annotations.Annotations, *Error) {
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return nil, nil, invalidParam("start", err)
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return nil, nil, invalidParam("end", err)
	}
	if end.Before(start) {
		return nil, nil, invalidParam("end", errors.New("end timestamp must not be before start time"))
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return nil, nil, invalidParam("step", err)
	}
	if step <= 0 {
		return nil, nil, invalidParam("step", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
	}
	ctx, cancel, apiErr := s.queryContext(r)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	defer cancel()
	return s.encodeQuery(ctx, r.FormValue("query"), start, end, step)
}

// encodeQuery runs a query and encodes the whole response while the
// result is still valid.
func (s *Store) encodeQuery(ctx context.Context, q string, start, end time.Time, step time.Duration) (any, annotations.Annotations, *Error) {
	var (
		body   []byte
		encErr error
	)
	apiErr := s.run(ctx, q, start, end, step, func(res *promql.Result) {
		// An empty result is [] in Prometheus's answers, not null.
		val := res.Value
		switch v := val.(type) {
		case promql.Vector:
			if v == nil {
				val = promql.Vector{}
			}
		case promql.Matrix:
			if v == nil {
				val = promql.Matrix{}
			}
		}
		resp := response{Status: "success", Data: queryData{ResultType: val.Type(), Result: val}}
		resp.Warnings, resp.Infos = res.Warnings.AsStrings(q, 10, 10)
		body, encErr = json.Marshal(resp)
	})
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if encErr != nil {
		return nil, nil, &Error{Type: ErrorInternal, Err: fmt.Errorf("encoding result: %w", encErr)}
	}
	return json.RawMessage(body), nil, nil
}

// rangeParams reads the optional start, end, match[] and limit parameters
// of the metadata endpoints (series, labels, label values).
type rangeParams struct {
	start, end int64
	matchers   [][]*labels.Matcher
	limit      int
}

func (s *Store) parseRangeParams(r *http.Request, needMatch bool) (rangeParams, *Error) {
	var p rangeParams
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		return p, invalidParam("start", err)
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		return p, invalidParam("end", err)
	}
	if end.Before(start) {
		return p, invalidParam("end", errors.New("end timestamp must not be before start time"))
	}
	p.start, p.end = timestamp.FromTime(start), timestamp.FromTime(end)
	match := r.Form["match[]"]
	if needMatch && len(match) == 0 {
		return p, badData(errors.New("no match[] parameter provided"))
	}
	if len(match) > 0 {
		if p.matchers, err = s.parser.ParseMetricSelectors(match); err != nil {
			return p, badData(err)
		}
		for _, set := range p.matchers {
			if !slices.ContainsFunc(set, func(m *labels.Matcher) bool { return m != nil && !m.Matches("") }) {
				return p, badData(errors.New("match[] must contain at least one non-empty matcher"))
			}
		}
	}
	if v := r.FormValue("limit"); v != "" {
		if p.limit, err = strconv.Atoi(v); err != nil || p.limit < 0 {
			return p, invalidParam("limit", errors.New("limit must be a non-negative number"))
		}
	}
	return p, nil
}

// querier opens a TSDB querier for p, or fails if the store is closed.
// The caller must call the returned release.
func (s *Store) querier(p rangeParams) (storage.Querier, func(), *Error) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return nil, nil, classify(ErrClosed)
	}
	q, err := s.db.Querier(p.start, p.end)
	if err != nil {
		s.life.RUnlock()
		return nil, nil, &Error{Type: ErrorInternal, Err: err}
	}
	return q, func() { _ = q.Close(); s.life.RUnlock() }, nil
}

func truncated(n, limit int, warns annotations.Annotations) (int, annotations.Annotations) {
	if limit > 0 && n > limit {
		return limit, warns.Add(errors.New("results truncated due to limit"))
	}
	return n, warns
}

func (s *Store) apiSeries(r *http.Request) (any, annotations.Annotations, *Error) {
	p, apiErr := s.parseRangeParams(r, true)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	q, release, apiErr := s.querier(p)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	defer release()
	ctx := r.Context()
	hints := &storage.SelectHints{Start: p.start, End: p.end, Func: "series"}
	sets := make([]storage.SeriesSet, 0, len(p.matchers))
	for _, ms := range p.matchers {
		sets = append(sets, q.Select(ctx, len(p.matchers) > 1, hints, ms...))
	}
	set := sets[0]
	if len(sets) > 1 {
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	}
	out := []map[string]string{}
	for set.Next() {
		if p.limit > 0 && len(out) > p.limit {
			break
		}
		out = append(out, set.At().Labels().Map())
	}
	warns := set.Warnings()
	if err := set.Err(); err != nil {
		return nil, warns, classify(err)
	}
	n, warns := truncated(len(out), p.limit, warns)
	return out[:n], warns, nil
}

func (s *Store) apiLabels(r *http.Request) (any, annotations.Annotations, *Error) {
	return s.labelQuery(r, func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(r.Context(), hints, ms...)
	})
}

func (s *Store) apiLabelValues(r *http.Request) (any, annotations.Annotations, *Error) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, nil, badData(fmt.Errorf("invalid label name: %q", name))
	}
	return s.labelQuery(r, func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(r.Context(), name, hints, ms...)
	})
}

// labelQuery runs a label names or values lookup over the request's time
// range and matchers (their union), truncated to its limit.
func (s *Store) labelQuery(r *http.Request, lookup func(storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)) (any, annotations.Annotations, *Error) {
	p, apiErr := s.parseRangeParams(r, false)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	q, release, apiErr := s.querier(p)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	defer release()
	hints := &storage.LabelHints{}
	out, warns, err := unionOver(p.matchers, func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return lookup(q, hints, ms)
	})
	if err != nil {
		return nil, warns, &Error{Type: ErrorExec, Err: err}
	}
	n, warns := truncated(len(out), p.limit, warns)
	return out[:n], warns, nil
}

// unionOver calls f once without matchers, or once per matcher set, and
// returns the sorted union of the answers (never nil).
func unionOver(sets [][]*labels.Matcher, f func([]*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, annotations.Annotations, error) {
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	var (
		all   []string
		warns annotations.Annotations
	)
	for _, ms := range sets {
		vals, w, err := f(ms)
		warns.Merge(w)
		if err != nil {
			return nil, warns, err
		}
		all = append(all, vals...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if all == nil {
		all = []string{}
	}
	return all, warns, nil
}

func (s *Store) apiMetadata(r *http.Request) (any, annotations.Annotations, *Error) {
	limit, perMetric := -1, -1
	for name, dst := range map[string]*int{"limit": &limit, "limit_per_metric": &perMetric} {
		if v := r.FormValue(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, nil, badData(fmt.Errorf("%s must be a number", name))
			}
			*dst = n
		}
	}
	metric := r.FormValue("metric")
	s.metaMu.RLock()
	defer s.metaMu.RUnlock()
	names := make([]string, 0, len(s.meta))
	for name := range s.meta {
		if metric == "" || metric == name {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := map[string][]metadata{}
	for _, name := range names {
		if limit >= 0 && len(out) >= limit {
			break
		}
		md := s.meta[name]
		if perMetric >= 0 && len(md) > perMetric {
			md = md[:perMetric]
		}
		out[name] = md
	}
	return out, nil, nil
}

func (s *Store) apiExemplars(r *http.Request) (any, annotations.Annotations, *Error) {
	if _, err := s.parser.ParseExpr(r.FormValue("query")); err != nil {
		return nil, nil, badData(err)
	}
	return []struct{}{}, nil, nil // no exemplars are kept
}

func apiBuildInfo(*http.Request) (any, annotations.Annotations, *Error) {
	return map[string]string{
		"version":   EngineVersion,
		"revision":  "modelwatch",
		"branch":    "",
		"buildUser": "",
		"buildDate": "",
		"goVersion": runtime.Version(),
	}, nil, nil
}

// parseTime parses an RFC 3339 time or a Unix time in (fractional)
// seconds, as Prometheus's HTTP API does.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f < float64(minTime.Unix()) || f > float64(maxTime.Unix()) {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp: out of range", s)
		}
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

func parseTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	return parseTime(v)
}

// parseDuration parses a Prometheus duration ("5m", "1h30m") or a number
// of (fractional) seconds.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(ns) || ns >= float64(math.MaxInt64) || ns < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}
