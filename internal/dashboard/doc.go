// Package dashboard defines modelwatch's dashboards as code — the model the
// built-in web UI draws and the CloudWatch and Grafana exports render — and
// builds the default one: the widgets of AWS's BedrockCwDashboard construct
// for all models and for each monitored model, plus what operators ask for
// on top (latency percentiles, error rates, time to first token, cost).
//
// # What it provides
//
//   - Spec, the `dashboard:` section of the configuration (title, period,
//     which models get a view, widgets added to the all-models section or
//     to every model's), and Build, which turns a Spec and the catalog's
//     models (ModelInfo, with prices) into a Dashboard.
//   - Validate, which checks any Dashboard (Build's and the exports' input).
//   - CloudWatch, a CloudWatch dashboard body on AWS/Bedrock, and Grafana, a
//     classic Grafana dashboard JSON model on the Prometheus names.
//   - ExpandQuery and CheckPromQL for the query placeholders $range, $today,
//     $month and $model_id.
//
// # Decisions
//
// Each widget carries both forms of every series: PromQL on modelwatch's
// Prometheus names (what the web UI and Grafana run, unchanged against a
// real Prometheus) and the AWS/Bedrock metric and statistic, or metric
// math, for CloudWatch. One model, two renderings, so the exports cannot
// drift from the built-in dashboard. Series with no CloudWatch form (the
// table, cost from modelwatch_cost_dollars_total) are left out of the
// CloudWatch export, and so is a section left with no metric widget.
//
// The layout is the construct's: a 24-column grid filled left to right,
// a line as tall as its tallest widget (text 2, single value 3, graph 6,
// per-model token graphs 10). Widgets have no coordinates in the model;
// both exports compute the same ones, and the UI may lay out freely.
// modelwatch's own widgets follow the construct's in each section, so the
// construct's keep their relative positions.
//
// The CloudWatch export reproduces the construct's body widget by widget
// (tested against its synthesized output), except for its flaws:
//   - the "Token Cost (USD)" graph uses the dashboard's period (the
//     construct's fell back to CloudWatch's 5 minutes next to hourly token
//     graphs): the widget's period and its hidden token metrics' are set;
//   - OutputImageCount is shown only for models that output images, with
//     the ModelId dimension (the construct's was "<id>undefinedundefined");
//   - the body sets periodOverride "inherit" so that the period is obeyed;
//   - the construct's guardrail views are not exported: modelwatch has no
//     guardrails yet.
//
// Prices are per token in ModelInfo and per 1,000 tokens in CloudWatch
// metric math, as the construct writes them (0.00025), printed without
// floating-point noise or exponents. In PromQL the per-model "Total Cost"
// is the recorded cost (modelwatch_cost_dollars_total), which also counts
// cache tokens and images; in CloudWatch it is the construct's input +
// output sum. An unpriced model's view has a text widget saying so in
// place of the cost graph, and cost columns read NaN for unpriced models
// (modelwatch_model_priced == 0), which the UI and Grafana show as
// "unpriced" — never $0.
//
// Latency is a histogram in seconds. Average is exact (_sum/_count);
// percentiles come from the buckets. The minimum and maximum, which a
// histogram does not keep, are exact, as CloudWatch's Minimum and Maximum
// are: min_over_time and max_over_time over the period of the gauges of
// the latency extremes of a sliding window
// (modelwatch_invocation_latency_min_seconds and _max_seconds, package
// metrics), which see every call as long as samples are closer together
// than the window; at the period's start they may also see calls of up to
// one window (two minutes by default) before it. Grafana's unit "s" shows
// sub-second latencies in ms, as the construct does.
//
// Grafana gets one row repeated for each value of a model_id variable
// instead of a copy per model, built from Dashboard.ModelTemplate (whose
// queries use model_id=~"$model_id": Grafana regex-escapes multi-value
// variables); $range is an interval variable defaulting to the period;
// $today and $month become $__range in panels whose relative time is
// "today so far" (now/d) or "this month so far" (now/M).
package dashboard
