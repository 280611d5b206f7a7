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
//     Prometheus HTTP API (/api/v1/query and /api/v1/query_range), the
//     refresh's live sample and the extent of the metric history from
//     GET /api/history (its sampleTime, firstSample and
//     intervalSeconds) and recent calls from /api/invocations, all
//     mounted elsewhere on the same origin and authenticated there; the
//     page asks for an API key when they answer 401 and keeps it in the
//     browser's session storage.
//   - The dashboard tells the truth from the first call. Each refresh first
//     asks /api/history, which takes a live sample of the metrics and
//     returns its time; every instant query of the refresh (value and table
//     widgets) is sent with that time and every range query (chart) ends
//     there, on a grid of points ending there (start = end − k·step). So
//     the numbers are the counters as they were at that one sample,
//     exactly (the server's history makes increase() exact at a sample's
//     time), the tiles agree with each other and with the charts' last
//     points, and a later sample cannot make them disagree. When
//     /api/history fails (an older server, a 401 the widgets then show),
//     instant queries go without a time (the server evaluates them at its
//     present) and charts end at the browser's clock in whole seconds.
//   - Charts show the data there is: when the history began after the
//     selected range's start, the charts start at its first sample (on the
//     step's grid) and the step is picked for that shorter span, so a
//     server up for two minutes draws those two minutes with a point every
//     15 s (the default resolution), and the page says "since the history
//     began 2 minutes ago". Without /api/history the charts draw the
//     selected range. The history's interval comes from /api/history, else
//     from the page's data-resolution (Options.HistoryInterval).
//   - Live by default: auto-refresh is every 10 s unless the browser chose
//     otherwise (off, 5 s, 10 s, 30 s or 1 min, kept in local storage), and
//     the top bar says when the data was last updated (aria-live polite).
//     A refresh replaces each tile in one step, never blanking it; refreshes
//     of a page never overlap (a click during one runs after it), and a
//     hidden tab skips its ticks and catches up when shown.
//   - Every page but the invocations list and the governance page is a
//     dashboard section drawn by
//     one generic renderer: the first section is the all-models view
//     (#/), sections with a ModelID are the per-model pages
//     (#/model/<id>), and the "cost" section is the cost page (#/cost).
//     When the dashboard has no "cost" section the page draws the same
//     widgets itself from modelwatch_cost_dollars_total{model_id,principal}
//     and modelwatch_model_priced, so cost needs no API of its own. A cost
//     of NaN (a model without a price) is shown as "unpriced", never $0.
//   - Placeholders in PromQL are expanded in the browser as
//     dashboard.ExpandQuery does: $today and $month are the time since the
//     viewer's midnight and first of the month (at the refresh's "now");
//     $range is the selected time range for value and table widgets (the
//     number over the range) and, for graphs, the chart step but at least
//     four history intervals (rate() and increase() need two samples, with
//     room for jitter). Steps are round values (1, 2, 5, 10, 15, 30 s,
//     1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d) never finer than the
//     history's interval that keep a chart at no more than 300 points;
//     graphs of summed counters say "per <rate window>".
//   - A leading "# Title" text widget becomes the page heading; Hidden
//     series (inputs of CloudWatch metric math) are not drawn.
//   - Assets are referenced from the page by content-versioned URLs
//     (/ui/app.js?v=<hash>) served as immutable; everything else carries an
//     ETag and revalidates. Text assets are gzipped once, at start-up.
//   - The browser checks live in package webuitest: they take any base URL
//     and depend on nothing else in this package, so the server's full-stack
//     test runs the same checks against a real `serve`. Graph tiles carry
//     data-points (the points drawn) and main a data-state ("ready" when a
//     load has finished) for them to read.
//   - The page sends a strict Content-Security-Policy (same-origin only, no
//     inline script or style), and widget Markdown is escaped before the
//     small subset (headings, bold, code, links, lists) is rendered.
//   - The governance page (#/governance, in the nav) is not a dashboard
//     section: it draws GET /api/governance (budgets, alarms, quotas,
//     policies) and GET /api/audit?limit=50 (recent CloudTrail records,
//     newest first) on the same refresh model as the other pages: both
//     are fetched, every section is built off-screen and swapped in one
//     step, uPlot charts of the previous load are destroyed after the
//     swap, and opened history and policy panels (and the keyboard focus
//     on them) stay open, as does the order chosen in a table. A section whose key /api/governance leaves out
//     (the caller may not read it) says so, naming the action
//     ("Your principal may not read budgets (budgets:ViewBudget)"); a 403
//     of /api/audit shows its message, muted; a 401 offers the API key as
//     everywhere. Budgets show spend against the limit as a meter (money
//     as dollars, tokens as exact counts), held spend in flight as a
//     lighter segment, the forecast or "no forecast yet", and unpriced
//     calls as "N unpriced calls not included", never as $0. Alarm charts
//     are the alarm's own datapoints (not a Prometheus query) with the
//     threshold as a dashed line or, for anomaly detection alarms, the
//     band shaded. States are words in pills ("Alarm", "Insufficient
//     data"), colour only repeats them. Policy documents and all other API
//     text are escaped. Budget cards, alarm rows and cards, quota rows,
//     principals and audit rows carry data attributes with the API's exact
//     numbers and states (data-budget, data-actual, data-alarm,
//     data-state, data-quota-rule, data-tokens-used, data-event-name,
//     data-error-code, …), which webuitest.Governance reads for the
//     server's full-stack test.
package webui
