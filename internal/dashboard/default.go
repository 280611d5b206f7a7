package dashboard

import (
	"fmt"
	"strconv"
	"strings"
)

// Prometheus metric names (internal/metrics and the cost recorder).
const (
	mInvocations  = "bedrock_invocations_total"
	mLatency      = "bedrock_invocation_latency_seconds"
	mClientErrors = "bedrock_invocation_client_errors_total"
	mServerErrors = "bedrock_invocation_server_errors_total"
	mThrottles    = "bedrock_invocation_throttles_total"
	mInputTokens  = "bedrock_input_tokens_total"
	mOutputTokens = "bedrock_output_tokens_total"
	mImages       = "bedrock_output_images_total"
	mTTFT         = "bedrock_time_to_first_token_seconds"
	mLegacy       = "bedrock_legacy_model_invocations_total"
	mLatencyMin   = "modelwatch_invocation_latency_min_seconds"
	mLatencyMax   = "modelwatch_invocation_latency_max_seconds"
	mCost         = "modelwatch_cost_dollars_total"
	mPriced       = "modelwatch_model_priced"
)

// CloudWatch AWS/Bedrock metric names.
const (
	cwLatency      = "InvocationLatency"
	cwCount        = "Invocations"
	cwClientErrors = "InvocationClientErrors"
	cwServerErrors = "InvocationServerErrors"
	cwThrottles    = "InvocationThrottles"
	cwInputTokens  = "InputTokenCount"
	cwOutputTokens = "OutputTokenCount"
	cwImages       = "OutputImageCount"
	cwTTFT         = "TimeToFirstToken"
	cwLegacy       = "LegacyModelInvocations"
)

const (
	allSectionID  = "all"
	costSectionID = "cost"
)

// q builds the PromQL of one dashboard: sel is the label matcher of the
// section ("" for all models, model_id="..." for one).
type q struct{ sel string }

func (q q) m(name string) string {
	if q.sel == "" {
		return name
	}
	return name + "{" + q.sel + "}"
}

// sum is the total increase of a counter over the period.
func (q q) sum(name string) string {
	return fmt.Sprintf("sum(increase(%s[%s]))", q.m(name), VarRange)
}

// count is sum, or 0 when the counter has no series yet (no error so far),
// for single values that must read 0 rather than "no data".
func (q q) count(name string) string { return q.sum(name) + " or vector(0)" }

func (q q) avg(hist string) string {
	return fmt.Sprintf("%s / %s", q.sum(hist+"_sum"), q.sum(hist+"_count"))
}

func (q q) quantile(phi float64, hist string) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s[%s])))", num(phi), q.m(hist+"_bucket"), VarRange)
}

// errorRate is client+server errors per invocation, in percent.
func (q q) errorRate() string {
	return fmt.Sprintf("100 * ((%s) + (%s)) / %s", q.count(mClientErrors), q.count(mServerErrors), q.sum(mInvocations))
}

// throttleRate is throttled calls per call (invocations do not count
// throttled calls), in percent.
func (q q) throttleRate() string {
	return fmt.Sprintf("100 * (%s) / (%s + (%s))", q.count(mThrottles), q.sum(mInvocations), q.count(mThrottles))
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// perThousand formats a per-token price as the construct's per-1,000 price
// (0.00025), without binary floating-point noise or an exponent, which
// CloudWatch metric math may not accept.
func perThousand(p float64) string {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(p*1000, 'g', 12, 64), 64)
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// extreme is the exact minimum ("min") or maximum ("max") latency over the
// period, from the gauges of the latency extremes of a sliding window
// (package metrics): a histogram keeps no exact minimum or maximum.
func (q q) extreme(agg string) string {
	name := mLatencyMin
	if agg == "max" {
		name = mLatencyMax
	}
	return fmt.Sprintf("%s(%s_over_time(%s[%s]))", agg, agg, q.m(name), VarRange)
}

func text(md string) Widget {
	return Widget{Kind: KindText, Width: gridWidth, Height: 2, Text: md}
}

func value(title, unit string, w int, s Series) Widget {
	return Widget{Kind: KindValue, Title: title, Unit: unit, Width: w, Height: 3, Series: []Series{s}}
}

// latencyValues are the construct's Average/Min/Max latency single values.
func latencyValues(q q, suffix string) []Widget {
	return []Widget{
		value("Average Latency"+suffix, UnitSeconds, 8, Series{Label: "Average", PromQL: q.avg(mLatency), Metric: cwLatency, Stat: "Average"}),
		value("Min Latency"+suffix, UnitSeconds, 8, Series{Label: "Minimum", PromQL: q.extreme("min"), Metric: cwLatency, Stat: "Minimum"}),
		value("Max Latency"+suffix, UnitSeconds, 8, Series{Label: "Maximum", PromQL: q.extreme("max"), Metric: cwLatency, Stat: "Maximum"}),
	}
}

func tokenGraph(q q, title string, height int) Widget {
	return Widget{Kind: KindGraph, Title: title, Unit: UnitTokens, Width: 12, Height: height, Series: []Series{
		{Label: "Input tokens", PromQL: q.sum(mInputTokens), Metric: cwInputTokens, Stat: "Sum"},
		{Label: "Output tokens", PromQL: q.sum(mOutputTokens), Metric: cwOutputTokens, Stat: "Sum", Axis: "right"},
	}}
}

// operatorWidgets are modelwatch's additions to the construct: latency
// percentiles, error and throttle rates, time to first token. They have
// exact CloudWatch equivalents (percentile statistics, metric math).
func operatorWidgets(q q, suffix string) []Widget {
	pct := func(label, stat string, phi float64, hist, metric string) Series {
		return Series{Label: label, PromQL: q.quantile(phi, hist), Metric: metric, Stat: stat}
	}
	return []Widget{
		{Kind: KindGraph, Title: "Latency Percentiles" + suffix, Unit: UnitSeconds, Width: 12, Height: 6, Series: []Series{
			pct("p50", "p50", 0.5, mLatency, cwLatency),
			pct("p90", "p90", 0.9, mLatency, cwLatency),
			pct("p99", "p99", 0.99, mLatency, cwLatency),
		}},
		{Kind: KindGraph, Title: "Error Rate" + suffix, Unit: UnitPercent, Width: 12, Height: 6, Series: []Series{
			{Label: "Errors (client + server)", PromQL: q.errorRate(), Expression: "100 * (FILL(clientErrors, 0) + FILL(serverErrors, 0)) / invocations"},
			{Label: "Throttled", PromQL: q.throttleRate(), Expression: "100 * FILL(throttles, 0) / (invocations + FILL(throttles, 0))"},
			{Label: "Invocations", ID: "invocations", Hidden: true, PromQL: q.sum(mInvocations), Metric: cwCount, Stat: "Sum", Unit: UnitCount},
			{Label: "Client errors", ID: "clientErrors", Hidden: true, PromQL: q.sum(mClientErrors), Metric: cwClientErrors, Stat: "Sum", Unit: UnitCount},
			{Label: "Server errors", ID: "serverErrors", Hidden: true, PromQL: q.sum(mServerErrors), Metric: cwServerErrors, Stat: "Sum", Unit: UnitCount},
			{Label: "Throttles", ID: "throttles", Hidden: true, PromQL: q.sum(mThrottles), Metric: cwThrottles, Stat: "Sum", Unit: UnitCount},
		}},
		{Kind: KindGraph, Title: "Time to First Token" + suffix, Unit: UnitSeconds, Width: 12, Height: 6, Series: []Series{
			pct("p50", "p50", 0.5, mTTFT, cwTTFT),
			pct("p90", "p90", 0.9, mTTFT, cwTTFT),
		}},
	}
}

// costOf is a per-model cost query that reads NaN for unpriced models
// (modelwatch_model_priced 0) and 0 for priced models without traffic, so
// that "unpriced" is never shown as $0.
func costOf(by, window string) string {
	cost := fmt.Sprintf("sum by (%s) (increase(%s[%s]))", by, mCost, window)
	if by != "model_id" {
		return cost
	}
	priced := fmt.Sprintf("max by (model_id) (%s)", mPriced)
	return fmt.Sprintf("%s or (%s == 1) * 0 or (%s == 0) * NaN", cost, priced, priced)
}

// allModelsSection is the construct's addAllModelsMonitoring, then
// modelwatch's additions and the per-model table.
func allModelsSection() Section {
	q := q{}
	const s = " (All Models)"
	w := []Widget{text("# Metrics Across All Models")}
	w = append(w, latencyValues(q, s)...)
	w = append(w, tokenGraph(q, "Input and Output Tokens"+s, 6),
		value("Invocations"+s, UnitCount, 4, Series{Label: "Invocations", PromQL: q.count(mInvocations), Metric: cwCount, Stat: "SampleCount"}),
		value("Output Image Count"+s, UnitCount, 4, Series{Label: "Images", PromQL: q.count(mImages), Metric: cwImages, Stat: "Sum"}),
		value("Client Errors"+s, UnitCount, 4, Series{Label: "Client errors", PromQL: q.count(mClientErrors), Metric: cwClientErrors, Stat: "SampleCount"}),
		value("Server Errors"+s, UnitCount, 4, Series{Label: "Server errors", PromQL: q.count(mServerErrors), Metric: cwServerErrors, Stat: "SampleCount"}),
		value("Throttling Errors"+s, UnitCount, 4, Series{Label: "Throttles", PromQL: q.count(mThrottles), Metric: cwThrottles, Stat: "SampleCount"}),
		value("Legacy invocations"+s, UnitCount, 4, Series{Label: "Legacy invocations", PromQL: q.count(mLegacy), Metric: cwLegacy, Stat: "SampleCount"}),
	)
	w = append(w, operatorWidgets(q, s)...)
	by := func(name string) string {
		return fmt.Sprintf("sum by (model_id) (increase(%s[%s]))", name, VarRange)
	}
	w = append(w, Widget{Kind: KindTable, Title: "Models", Width: 24, Height: 8, GroupBy: "model_id", Series: []Series{
		{Label: "Invocations", PromQL: by(mInvocations), Unit: UnitCount},
		{Label: "Input tokens", PromQL: by(mInputTokens), Unit: UnitTokens},
		{Label: "Output tokens", PromQL: by(mOutputTokens), Unit: UnitTokens},
		// Client plus server errors, summed per counter first: increase()
		// drops the metric name, and the two counters of a model share
		// their labels. Either alone still counts (older histories).
		{Label: "Errors", PromQL: fmt.Sprintf("%s + %s or %s or %s", by(mClientErrors), by(mServerErrors), by(mClientErrors), by(mServerErrors)), Unit: UnitCount},
		{Label: "Throttles", PromQL: by(mThrottles), Unit: UnitCount},
		{Label: "p90 latency", PromQL: fmt.Sprintf("histogram_quantile(0.9, sum by (model_id, le) (rate(%s_bucket[%s])))", mLatency, VarRange), Unit: UnitSeconds},
		// Only the models called in the period: the table lists what
		// happened, not every priced model of the catalog at $0.
		{Label: "Cost", PromQL: fmt.Sprintf("(%s) and on (model_id) %s", costOf("model_id", VarRange), by(mInvocations)), Unit: UnitUSD},
	}})
	return Section{ID: allSectionID, Title: "All Models", Widgets: w}
}

// modelSection is the construct's addModelMonitoring for m, then
// modelwatch's additions and extra. With m nil it is the template of
// every model (model_id="$model_id"), with a cost graph read from the
// cost counter (prices differ by model) and the output image count.
func modelSection(m *ModelInfo, extra []Widget) Section {
	id, name := VarModel, VarModel
	if m != nil {
		id, name = m.ID, m.Name
	}
	q := q{sel: "model_id=" + strconv.Quote(id)}
	w := []Widget{text("# " + name)}
	w = append(w, latencyValues(q, "")...)
	w = append(w, tokenGraph(q, "Input and Output Token Counts", 10))
	switch {
	case m == nil:
		w = append(w, Widget{Kind: KindGraph, Title: "Token Cost (USD)", Unit: UnitUSD, Width: 12, Height: 10, Series: []Series{
			{Label: "Cost", PromQL: q.sum(mCost)},
		}})
	case m.Priced && m.VideoOutput && m.InputPrice == 0 && m.OutputPrice == 0:
		// Per second of video: no CloudWatch metric counts the seconds, so
		// the graph reads the recorded cost only.
		w = append(w, Widget{Kind: KindGraph, Title: "Video Cost (USD)", Unit: UnitUSD, Width: 12, Height: 10, Series: []Series{
			{Label: "Total Cost", PromQL: q.sum(mCost)},
		}})
	case m.Priced && m.ImageOutput && m.InputPrice == 0 && m.OutputPrice == 0:
		// An image model (a model with token prices keeps its token cost
		// graph). The recorded cost prices each image by its size and quality; a
		// flat per-image price is also derived from OutputImageCount, as
		// the construct derives token cost from token counts.
		series := []Series{{Label: "Total Cost", PromQL: q.sum(mCost)}}
		if m.ImagePrice > 0 {
			series = []Series{
				{Label: "Images", ID: "images", Hidden: true, PromQL: q.sum(mImages), Metric: cwImages, Stat: "Sum", Unit: UnitCount},
				{Label: "Total Cost", PromQL: q.sum(mCost), Expression: "images * " + num(m.ImagePrice)},
			}
		}
		w = append(w, Widget{Kind: KindGraph, Title: "Image Cost (USD)", Unit: UnitUSD, Width: 12, Height: 10, Series: series})
	case m.Priced:
		in, out := perThousand(m.InputPrice), perThousand(m.OutputPrice)
		w = append(w, Widget{Kind: KindGraph, Title: "Token Cost (USD)", Unit: UnitUSD, Width: 12, Height: 10,
			LeftAxisLabel: "Input and Output", RightAxisLabel: "Total",
			Series: []Series{
				{Label: "Input Token Cost", PromQL: q.sum(mInputTokens) + " * " + num(m.InputPrice), Expression: "inputTokens / 1000 * " + in},
				{Label: "Input tokens", ID: "inputTokens", Hidden: true, PromQL: q.sum(mInputTokens), Metric: cwInputTokens, Stat: "Sum", Unit: UnitTokens},
				{Label: "Output Token Cost", PromQL: q.sum(mOutputTokens) + " * " + num(m.OutputPrice), Expression: "outputTokens / 1000 * " + out},
				{Label: "Output tokens", ID: "outputTokens", Hidden: true, PromQL: q.sum(mOutputTokens), Metric: cwOutputTokens, Stat: "Sum", Unit: UnitTokens},
				// The total is the recorded cost: it also counts cache
				// tokens and images, which the construct's sum does not.
				{Label: "Total Cost", PromQL: q.sum(mCost), Axis: "right",
					Expression: "inputTokens / 1000 * " + in + " + outputTokens / 1000 * " + out},
			}})
	default:
		w = append(w, Widget{Kind: KindText, Title: "Token Cost (USD)", Width: 12, Height: 10,
			Text: "### Token Cost (USD)\n\n**Unpriced.** The price list has no price for `" + id + "`, so its cost is not shown (rather than shown as $0). Add one to the configuration's price list."})
	}
	count := func(title, label, metric, cw, stat string) Widget {
		return value(title, UnitCount, 4, Series{Label: label, PromQL: q.count(metric), Metric: cw, Stat: stat})
	}
	w = append(w,
		count("Invocations", "Invocations", mInvocations, cwCount, "SampleCount"),
		count("Client Errors", "Client errors", mClientErrors, cwClientErrors, "SampleCount"),
		count("Server Errors", "Server errors", mServerErrors, cwServerErrors, "SampleCount"),
		count("Throttled invocations", "Throttles", mThrottles, cwThrottles, "SampleCount"),
		count("Legacy invocations", "Legacy invocations", mLegacy, cwLegacy, "SampleCount"),
	)
	if m == nil || m.ImageOutput {
		w = append(w, count("OutputImageCount", "Images", mImages, cwImages, "Sum"))
	}
	w = append(w, operatorWidgets(q, "")...)
	for _, e := range extra {
		w = append(w, substituteModel(e, id))
	}
	s := Section{Title: name, Widgets: w}
	if m != nil {
		s.ModelID = m.ID
	}
	return s
}

// substituteModel returns a copy of w with $model_id replaced by id.
func substituteModel(w Widget, id string) Widget {
	w.Series = append([]Series(nil), w.Series...)
	for i := range w.Series {
		w.Series[i].PromQL = strings.ReplaceAll(w.Series[i].PromQL, VarModel, id)
	}
	w.Title = strings.ReplaceAll(w.Title, VarModel, id)
	w.Text = strings.ReplaceAll(w.Text, VarModel, id)
	return w
}

// costSection is cost today and this month, in total, per model and per
// principal, from the cost counter.
func costSection() Section {
	total := func(window string) string {
		return fmt.Sprintf("sum(increase(%s[%s])) or vector(0)", mCost, window)
	}
	tokens := func(name, window string) string {
		return fmt.Sprintf("sum by (model_id) (increase(%s[%s]))", name, window)
	}
	perModel := func(title, window string) Widget {
		// Full width: four columns (with a long model ID) do not fit half.
		return Widget{Kind: KindTable, Title: title, Width: 24, Height: 8, GroupBy: "model_id", Series: []Series{
			{Label: "Cost", PromQL: costOf("model_id", window), Unit: UnitUSD},
			{Label: "Input tokens", PromQL: tokens(mInputTokens, window), Unit: UnitTokens},
			{Label: "Output tokens", PromQL: tokens(mOutputTokens, window), Unit: UnitTokens},
			// Image models' cost is per image: their count explains it.
			{Label: "Images", PromQL: tokens(mImages, window), Unit: UnitCount},
		}}
	}
	perPrincipal := func(title, window string) Widget {
		return Widget{Kind: KindTable, Title: title, Width: 12, Height: 8, GroupBy: "principal", Series: []Series{
			{Label: "Cost", PromQL: costOf("principal", window), Unit: UnitUSD},
		}}
	}
	return Section{ID: costSectionID, Title: "Cost", Widgets: []Widget{
		text("# Cost\nFrom the price list; models without a price are shown as unpriced, never as $0."),
		value("Cost Today", UnitUSD, 6, Series{Label: "Today", PromQL: total(VarToday)}),
		value("Cost This Month", UnitUSD, 6, Series{Label: "This month", PromQL: total(VarMonth)}),
		value("Cost in Period", UnitUSD, 6, Series{Label: "Period", PromQL: total(VarRange)}),
		value("Unpriced Models", UnitCount, 6, Series{Label: "Unpriced", PromQL: fmt.Sprintf("count(max by (model_id) (%s) == 0) or vector(0)", mPriced)}),
		perModel("Cost per Model Today", VarToday),
		perModel("Cost per Model This Month", VarMonth),
		perPrincipal("Cost per Principal Today", VarToday),
		perPrincipal("Cost per Principal This Month", VarMonth),
	}}
}
