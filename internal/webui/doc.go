// Package webui serves modelwatch's built-in dashboard: one static page and
// its assets, embedded in the binary, so `modelwatch serve` shows it at / with
// no build step at install time.
//
// Decisions:
//
//   - The page is plain HTML, CSS and two ES modules (app.js, the
//     application; format.js, pure helpers the browser test imports) with no
//     framework; charts are uPlot, vendored as a file (see
//     assets/README.md for its version and licence). Nothing is compiled.
//   - The page holds no data. It reads the dashboard model from
//     GET /api/dashboard (internal/dashboard's types), metrics through the
//     Prometheus HTTP API (/api/v1/query and /api/v1/query_range) and recent
//     calls from /api/invocations, all mounted elsewhere on the same origin
//     and authenticated there; the page asks for an API key when they answer
//     401 and keeps it in the browser's session storage.
//   - Every page but the invocations list is a dashboard section drawn by
//     one generic renderer: the first section is the all-models view
//     (#/), sections with a ModelID are the per-model pages
//     (#/model/<id>), and the "cost" section is the cost page (#/cost).
//     When the dashboard has no "cost" section the page draws the same
//     widgets itself from modelwatch_cost_dollars_total{model_id,principal}
//     and modelwatch_model_priced, so cost needs no API of its own. A cost
//     of NaN (a model without a price) is shown as "unpriced", never $0.
//   - Placeholders in PromQL are expanded in the browser as
//     dashboard.ExpandQuery does: $today and $month are the time since the
//     viewer's midnight and first of the month; $range is the selected time
//     range for value and table widgets (the number over the range) and,
//     for graphs, the chart step but at least two history samples (rate()
//     and increase() need two). Steps are round values that keep a chart at
//     no more than 300 points; graphs of summed counters say "per <step>".
//   - A leading "# Title" text widget becomes the page heading; Hidden
//     series (inputs of CloudWatch metric math) are not drawn.
//   - Assets are referenced from the page by content-versioned URLs
//     (/ui/app.js?v=<hash>) served as immutable; everything else carries an
//     ETag and revalidates. Text assets are gzipped once, at start-up.
//   - The browser checks (browsercheck_test.go) take any base URL and
//     depend on nothing else in the package, so a full-server test can copy
//     the file and run the same checks against a real `serve`.
//   - The page sends a strict Content-Security-Policy (same-origin only, no
//     inline script or style), and widget Markdown is escaped before the
//     small subset (headings, bold, code, links, lists) is rendered.
package webui
