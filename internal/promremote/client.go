package promremote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/modelwatch/modelwatch/internal/history"
)

// DefaultTimeout is Options.Timeout's default: Prometheus's own default
// query timeout (--query.timeout), so that no query Prometheus would
// answer is cut short here.
const DefaultTimeout = 2 * time.Minute

// DialTimeout bounds connecting to Prometheus when Options.HTTPClient is
// nil: an unreachable Prometheus fails a query (and a dashboard refresh)
// in seconds, not after the whole Timeout.
const DialTimeout = 5 * time.Second

// Options configure a Client.
type Options struct {
	// HTTPClient sends the requests to Prometheus; its Transport also
	// carries the proxied /api/v1/ requests. Nil means a client with
	// http.DefaultTransport's settings and DialTimeout. Its own Timeout,
	// if any, applies to the Client's API calls, not to proxied requests.
	HTTPClient *http.Client
	// Timeout bounds every request to Prometheus (a query, a proxied
	// request until its answer is passed back, a Ping), and is passed to
	// Prometheus as a query's timeout parameter; 0 means DefaultTimeout.
	Timeout time.Duration
	// Header is added to every request to Prometheus: an Authorization for
	// a Prometheus behind an authenticating proxy, X-Scope-OrgID for a
	// tenant of Mimir, Cortex or Thanos. A user:password in the base URL
	// becomes a basic Authorization here (and leaves the URL).
	Header http.Header
	// Logger receives the details of failures to reach Prometheus, which
	// the API's answers leave out; nil discards them.
	Logger *slog.Logger
}

// Client reads the metric history from an external Prometheus. It is
// safe for concurrent use.
type Client struct {
	base    *url.URL // scheme, host and path prefix; no user, query or fragment
	host    string   // base.Host: all an error message says of the address
	http    *http.Client
	api     v1.API
	timeout time.Duration
	log     *slog.Logger
}

// New returns a Client of the Prometheus at baseURL (metrics.prometheusURL,
// such as http://127.0.0.1:9090 or https://prometheus.example/prom, a
// path prefix being the one of Prometheus's --web.route-prefix).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("prometheus URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("prometheus URL %q: the scheme must be http or https", redacted(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: no host", redacted(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("prometheus URL %q: a query or fragment is not allowed", redacted(u))
	}
	header := opts.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)))
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	hc := opts.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = DialTimeout
		hc = &http.Client{Transport: t}
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if len(header) > 0 {
		rt = headerTransport{rt: rt, header: header}
	}
	withHeaders := *hc
	withHeaders.Transport = rt
	ac, err := api.NewClient(api.Config{Address: u.String(), Client: &withHeaders})
	if err != nil {
		return nil, fmt.Errorf("prometheus URL %q: %w", u, err)
	}
	c := &Client{base: u, host: u.Host, http: &withHeaders, api: v1.NewAPI(ac), timeout: opts.Timeout, log: opts.Logger}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// redacted is u without its password, for error messages.
func redacted(u *url.URL) string { return u.Redacted() }

// headerTransport adds Options.Header to every request.
type headerTransport struct {
	rt     http.RoundTripper
	header http.Header
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	for k, vs := range t.header {
		r.Header[k] = vs
	}
	return t.rt.RoundTrip(r)
}

// endpoint is the URL of one of Prometheus's paths (starting with "/").
func (c *Client) endpoint(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	return &u
}

// QueryRange runs q over [start, end] at step, as history.Store.QueryRange
// does on the embedded history: it is the alarms' Querier (alarm.Querier)
// when the history is an external Prometheus. Float series only (native
// histograms are left out, as the embedded history writes none).
// Prometheus's errors are *history.Error with Prometheus's errorType;
// failing to reach it is a *history.Error of type "unavailable".
func (c *Client) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]history.Series, error) {
	if step <= 0 {
		return nil, &history.Error{Type: history.ErrorBadData, Err: errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer")}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warns, _, err := c.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step}, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, c.queryError(ctx, err)
	}
	if len(warns) > 0 {
		c.log.Debug("prometheus query warnings", "query", q, "warnings", warns)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, &history.Error{Type: history.ErrorInternal, Err: fmt.Errorf("prometheus at %s answered a range query with a %s, not a matrix", c.host, typeOf(v))}
	}
	out := make([]history.Series, 0, len(m))
	for _, s := range m {
		if len(s.Values) == 0 {
			continue // native histograms only
		}
		pts := make([]history.Point, len(s.Values))
		for i, p := range s.Values {
			pts[i] = history.Point{Time: p.Timestamp.Time().UTC(), Value: float64(p.Value)}
		}
		out = append(out, history.Series{Labels: labelMap(s.Metric), Points: pts})
	}
	return out, nil
}

// Query runs the instant query q at ts (now when ts is zero), as
// history.Store.Query does: one history.Sample per series of a vector, or
// one without labels for a scalar. Errors are as QueryRange's.
func (c *Client) Query(ctx context.Context, q string, ts time.Time) ([]history.Sample, error) {
	if ts.IsZero() {
		ts = time.Now()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warns, _, err := c.api.Query(ctx, q, ts, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, c.queryError(ctx, err)
	}
	if len(warns) > 0 {
		c.log.Debug("prometheus query warnings", "query", q, "warnings", warns)
	}
	switch v := v.(type) {
	case model.Vector:
		out := make([]history.Sample, 0, len(v))
		for _, s := range v {
			if s.Histogram != nil {
				continue
			}
			out = append(out, history.Sample{Labels: labelMap(s.Metric), Time: s.Timestamp.Time().UTC(), Value: float64(s.Value)})
		}
		return out, nil
	case *model.Scalar:
		return []history.Sample{{Labels: map[string]string{}, Time: v.Timestamp.Time().UTC(), Value: float64(v.Value)}}, nil
	}
	return nil, &history.Error{Type: history.ErrorInternal, Err: fmt.Errorf("prometheus at %s answered an instant query with a %s", c.host, typeOf(v))}
}

func typeOf(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

func labelMap(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// queryError classifies an error of Prometheus's API client.
func (c *Client) queryError(ctx context.Context, err error) error {
	if e, ok := errors.AsType[*v1.Error](err); ok {
		switch e.Type {
		case v1.ErrBadData, v1.ErrTimeout, v1.ErrCanceled, v1.ErrExec, v1.ErrBadResponse, "internal", "not_found", "unavailable":
			typ := string(e.Type)
			if e.Type == v1.ErrBadResponse {
				typ = history.ErrorInternal
			}
			return &history.Error{Type: typ, Err: errors.New(e.Msg)}
		}
		// A status without Prometheus's error body (client_error,
		// server_error): a proxy in front of it, or not a Prometheus.
		c.log.Warn("prometheus answered without an API error", "host", c.host, "err", e.Msg, "detail", truncate(e.Detail, 200))
		return &history.Error{Type: history.ErrorUnavailable, Err: fmt.Errorf("prometheus at %s is unavailable: %s", c.host, e.Msg)}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &history.Error{Type: history.ErrorCanceled, Err: errors.New("query canceled")}
	}
	c.log.Warn("prometheus unreachable", "host", c.host, "err", err)
	return &history.Error{Type: history.ErrorUnavailable, Err: errors.New(c.unavailable(err))}
}

// unavailable is the message of a failure to reach Prometheus: its host
// and the kind of failure, nothing of the Go error (which may name a
// resolved address, a proxy, or the request's URL with its query).
func (c *Client) unavailable(err error) string {
	return fmt.Sprintf("prometheus at %s is unavailable: %s", c.host, reason(err, c.timeout))
}

// reason names the kind of a transport failure.
func reason(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "host not found"
		}
		return "name resolution failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return "TLS certificate not trusted"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	}
	return "request failed"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Ping asks Prometheus whether it is ready to serve queries
// (GET /-/ready): nil when it answers 200.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/-/ready").String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.Debug("prometheus unreachable", "host", c.host, "err", err)
		return errors.New(c.unavailable(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("prometheus at %s is not ready: %s", c.host, resp.Status)
	}
	return nil
}
