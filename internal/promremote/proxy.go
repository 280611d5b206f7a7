package promremote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/history"
)

// maxFormBytes bounds a POSTed form, as the embedded history's API does.
const maxFormBytes = 1 << 20

// forwardedHeaders are the only request headers passed on to Prometheus
// (plus Options.Header): never the caller's credentials.
var forwardedHeaders = []string{"Accept", "Accept-Encoding", "Content-Type", "User-Agent"}

// endpoints are the paths under /api/v1/ that Handler forwards to
// Prometheus: the read-only query API, what Grafana asks for, and what
// the embedded history's API serves (history.Store.Handler).
var endpoints = []string{
	"/api/v1/query",
	"/api/v1/query_range",
	"/api/v1/query_exemplars",
	"/api/v1/series",
	"/api/v1/labels",
	"/api/v1/label/{name}/values",
	"/api/v1/metadata",
	"/api/v1/rules",
	"/api/v1/alerts",
	"/api/v1/status/buildinfo",
}

// apiResponse is an error of Prometheus's HTTP API.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

// writeError writes an error as Prometheus's HTTP API does, with its
// status code (the mapping history.Store.Handler uses).
func writeError(w http.ResponseWriter, typ, msg string) {
	writeStatus(w, statusOf(typ), typ, msg)
}

func writeStatus(w http.ResponseWriter, code int, typ, msg string) {
	b, _ := json.Marshal(apiResponse{Status: "error", ErrorType: typ, Error: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func statusOf(typ string) int {
	switch typ {
	case history.ErrorBadData:
		return http.StatusBadRequest
	case history.ErrorUnavailable:
		return http.StatusServiceUnavailable
	case history.ErrorNotFound:
		return http.StatusNotFound
	case history.ErrorUnauthorized:
		return http.StatusUnauthorized
	case history.ErrorForbidden:
		return http.StatusForbidden
	case history.ErrorCanceled:
		return 499 // client closed request
	}
	return http.StatusInternalServerError
}

// target is the Prometheus path of a proxied request, kept in its context.
type target struct{ path, rawPath string }

type targetKey struct{}

// Handler serves the Prometheus-compatible query API under /api/v1/ (it
// expects the full request path, as history.Store.Handler does) by
// forwarding each request for query, query_range, query_exemplars, series,
// labels, label/{name}/values, metadata, rules, alerts or
// status/buildinfo, GET or POST (a form body of at
// most 1 MiB), to Prometheus and passing its answer back unchanged: the
// same status, headers (hop-by-hop ones aside), Content-Type and body,
// streamed. Its contract is history.Store.Handler's: authenticate, when
// not nil, is called first on every request (it may read the body, and
// must leave it readable); an error is answered 401 with errorType
// "unauthorized", or 403 "forbidden" when it is an AccessDeniedException
// (*apierror.Error with code apierror.AccessDenied). Other paths are 404
// "not_found", other methods 405 "bad_data", both in Prometheus's error
// shape. A Prometheus that cannot be reached, or does not answer within
// Options.Timeout, is 503 "unavailable".
func (c *Client) Handler(authenticate func(*http.Request) error) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite:      c.rewrite,
		Transport:    c.http.Transport,
		ErrorHandler: c.proxyError,
		// Answers are passed on as they come; a large matrix is not held
		// in memory here.
		FlushInterval: -1,
	}
	mux := http.NewServeMux()
	for _, p := range endpoints {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			t := target{path: p}
			if name := r.PathValue("name"); name != "" {
				esc := url.PathEscape(name)
				t.path = "/api/v1/label/" + name + "/values"
				t.rawPath = "/api/v1/label/" + esc + "/values"
			}
			c.forward(proxy, w, r, t)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, history.ErrorNotFound, "no such endpoint: "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authenticate != nil {
			if err := authenticate(r); err != nil {
				typ := history.ErrorUnauthorized
				var ae *apierror.Error
				if errors.As(err, &ae) && ae.Code == apierror.AccessDenied {
					typ = history.ErrorForbidden // authenticated, without the grant
				}
				writeError(w, typ, err.Error())
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// forward sends r to Prometheus's t.
func (c *Client) forward(proxy *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request, t target) {
	switch r.Method {
	case http.MethodGet:
		r.Body, r.ContentLength = http.NoBody, 0
	case http.MethodPost:
		// Read the form here (authenticate may have read it already): a
		// body over the limit is the caller's error, not Prometheus's.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
		if err != nil {
			writeError(w, history.ErrorBadData, fmt.Sprintf("error parsing form values: %v", err))
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.TransferEncoding = nil
	default:
		w.Header().Set("Allow", "GET, POST")
		writeStatus(w, http.StatusMethodNotAllowed, history.ErrorBadData, "method "+r.Method+" not allowed")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.timeout)
	defer cancel()
	proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, targetKey{}, t)))
}

// rewrite points the outgoing request at Prometheus's endpoint, with the
// caller's query string and only the forwarded headers.
func (c *Client) rewrite(pr *httputil.ProxyRequest) {
	t, _ := pr.In.Context().Value(targetKey{}).(target)
	u := *c.base
	u.Path = c.base.Path + t.path
	if t.rawPath != "" {
		u.RawPath = c.base.EscapedPath() + t.rawPath
	}
	u.RawQuery = pr.In.URL.RawQuery
	pr.Out.URL = &u
	pr.Out.Host = ""
	h := http.Header{}
	for _, k := range forwardedHeaders {
		if vs := pr.In.Header.Values(k); len(vs) > 0 {
			h[k] = vs
		}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // no Go default
	}
	pr.Out.Header = h
}

// proxyError answers a request Prometheus could not be asked or did not
// answer.
func (c *Client) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The caller went away: nobody reads this.
		writeError(w, history.ErrorCanceled, "request canceled")
		return
	}
	c.log.Warn("prometheus unreachable", "host", c.host, "path", r.URL.Path, "err", err)
	writeError(w, history.ErrorUnavailable, c.unavailable(err))
}
