// Package history keeps the metric history behind modelwatch's dashboard and
// serves it through a Prometheus-compatible query API, so that Grafana can
// use modelwatch itself as a Prometheus data source and the same PromQL runs
// unchanged against a real Prometheus at scale.
//
// A Store samples the server's prometheus.Gatherer every Interval (15
// seconds by default) into an on-disk TSDB under <data-dir>/history, and
// answers PromQL over it, both to Go callers (Query, QueryRange) and over
// HTTP (Handler: /api/v1/query, query_range, series, labels,
// label/{name}/values, metadata, query_exemplars, status/buildinfo).
//
// Decisions:
//
//   - The engine is Prometheus's own: github.com/prometheus/prometheus/tsdb
//     for storage (write-ahead log, compaction, time-based retention, 15 days
//     by default) and promql for queries. A hand-made store would have to
//     re-create counter-reset handling, extrapolation and
//     histogram_quantile bit for bit to give the same numbers as a real
//     Prometheus; using the engine makes that true by construction.
//   - Samples are written exactly as a scrape would write them: counters and
//     gauges as is, classic histograms as name_bucket{le}, name_sum and
//     name_count (the +Inf bucket made explicit), summaries as
//     name{quantile} plus _sum and _count, le and quantile values formatted
//     as Prometheus 3 normalises them ("1.0", "+Inf"). No job or instance
//     label is added: there is a single target. Native histograms are not
//     written, so every query also works on a Prometheus without that
//     feature. Series that disappear get a staleness marker, and Close marks
//     every series stale after a final sample, as Prometheus does when a
//     target goes away.
//   - A new series starts from zero at its creation: a counter, histogram
//     or summary series seen for the first time gets a zero sample at its
//     created timestamp (client_golang exposes it), as Prometheus's
//     created-timestamp zero ingestion writes it. Without it, the calls
//     that created a series would be in its first sample and invisible to
//     increase() for ever.
//   - The live end of a query is the current counters: a query without an
//     evaluation time is evaluated at a sample taken then, and one whose
//     time or end is after the last sample (and at most a second past the
//     clock) gets a sample stamped exactly there; live samples are at
//     least 200 ms apart, queries in between are answered from the newest. LiveSample takes one for a caller that then
//     evaluates several queries at its time (the dashboard's refresh,
//     through GET /api/history). With the zero sample at the start and a
//     sample at the end, increase() over a range that covers a series'
//     life has nothing to extrapolate: the counts are exact integers.
//   - Counters restart from zero when the server restarts; PromQL's counter
//     reset detection (rate, increase) accounts for that, as it does for a
//     restarted target. PreviousSeries names the series the previous run
//     was writing when it stopped, so that the server creates them again
//     at zero before its first sample (metrics.Resumable): a series that
//     ended at the restart would be extrapolated past its last sample.
//   - The HTTP API is a small re-implementation of Prometheus's web/api/v1
//     rather than that package itself: web/api/v1 pulls in the rule manager,
//     notifier, remote write and OpenAPI modules that are not in this
//     module's graph. The JSON shapes, parameter parsing (RFC 3339 or Unix
//     seconds; durations or float seconds), the 11,000-points-per-series
//     bound and the error types and status codes (bad_data 400, execution
//     422, timeout 503) follow Prometheus's; the official Go client is the
//     compatibility test.
//   - Queries are bounded by a timeout (30 s by default, lowered per request
//     by the "timeout" parameter) and by a maximum of samples in memory (5
//     million by default, a tenth of Prometheus's default, as this runs
//     inside a gateway).
//   - Sampling runs on its own goroutine and never on the request path; the
//     store's own health (samples appended and rejected, failed rounds,
//     series, last sample time) goes to Options.Registerer.
package history
