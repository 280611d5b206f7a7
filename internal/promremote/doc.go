// Package promremote reads the metric history from an external Prometheus
// instead of the embedded one: the history of a cluster of replicas that
// one Prometheus scrapes (metrics.prometheusURL).
//
// A Client does three things:
//
//   - It is the alarms' Querier: QueryRange runs a range query through
//     Prometheus's HTTP API (client_golang's api/prometheus/v1) and returns
//     the matrix as []history.Series, with Prometheus's errors as
//     *history.Error of the same errorType, so alarms evaluate the
//     cluster's totals exactly as they evaluate a single server's history.
//   - Handler serves modelwatch's own /api/v1/ query API (the dashboard's,
//     Grafana's) by forwarding it, after modelwatch's authentication, to
//     Prometheus: a reverse proxy of an allow-list of read-only endpoints
//     (query, query_range, series, labels, label/{name}/values, metadata,
//     query_exemplars, rules, alerts, status/buildinfo) that passes the
//     answer back unchanged — status, Content-Type, body. Nothing else of
//     Prometheus (its admin, write, config, flags or targets endpoints) is
//     reachable through it, and the caller's credentials (Authorization,
//     cookies, SigV4 headers) are never forwarded: only Accept,
//     Accept-Encoding, Content-Type and User-Agent are, plus
//     Options.Header. When Prometheus cannot be reached the answer is
//     Prometheus's own error shape, 503 with errorType "unavailable" and
//     a message that names the URL's host and the kind of failure, never
//     an internal address or a Go error string.
//   - Ping asks Prometheus's /-/ready, for a readiness or health check.
//
// Every request is bounded by Options.Timeout (Prometheus's own default
// query timeout, two minutes, unless set).
//
// Anyone allowed to query modelwatch's /api/v1/ (modelwatch:GetMetrics)
// can then query everything that Prometheus holds: give modelwatch a
// Prometheus (or a tenant of Thanos/Mimir, with Options.Header carrying
// X-Scope-OrgID) of its own.
package promremote
