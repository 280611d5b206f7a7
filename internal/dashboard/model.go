package dashboard

// Dashboard is a dashboard as code: what the built-in web UI draws and what
// the CloudWatch and Grafana exports render. It is served to the web UI as
// JSON (GET /api/dashboard), so the JSON names are part of the contract.
type Dashboard struct {
	Title string `json:"title"`
	// PeriodSeconds is the default aggregation period of graphs and single
	// values (CloudWatch period; the PromQL range of rates).
	PeriodSeconds int `json:"periodSeconds"`
	// Sections are drawn top to bottom: the all-models section first, then
	// one per monitored model, then cost.
	Sections []Section `json:"sections"`
	// ModelTemplate is the per-model section with its queries selecting
	// model_id="$model_id" rather than one model, and with the widgets of
	// every kind of model (cost from modelwatch_cost_dollars_total, output
	// images). The Grafana export repeats it once per value of its model_id
	// variable. Added for the exports; the web UI may ignore it.
	ModelTemplate *Section `json:"modelTemplate,omitempty"`
}

// Section is a titled group of widgets on a 24-column grid.
type Section struct {
	// ID is a stable slug, used in URLs of the web UI (#/model/<id>).
	ID    string `json:"id"`
	Title string `json:"title"`
	// ModelID is set on a per-model section: its queries are already
	// filtered to the model.
	ModelID string   `json:"modelId,omitempty"`
	Widgets []Widget `json:"widgets"`
}

// Widget kinds.
const (
	KindText  = "text"  // Markdown text
	KindValue = "value" // a single number (CloudWatch singleValue, Grafana stat)
	KindGraph = "graph" // a time series chart
	KindTable = "table" // one row per label value (the per-model table)
)

// Units of widget values, which the UI and the exports format.
const (
	UnitCount   = "count"
	UnitSeconds = "seconds"
	UnitTokens  = "tokens"
	UnitUSD     = "usd"
	UnitPercent = "percent"
)

// Widget is one tile.
type Widget struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Width and Height are in grid units (24 columns, as CloudWatch and
	// Grafana use).
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Text   string `json:"text,omitempty"`
	Unit   string `json:"unit,omitempty"`
	// Series are the values drawn.
	Series []Series `json:"series,omitempty"`
	// GroupBy is the label a table's rows are keyed by (default model_id;
	// principal for the cost per principal). Added with the cost tables.
	GroupBy string `json:"groupBy,omitempty"`
	// LeftAxisLabel and RightAxisLabel name a graph's axes (as the
	// construct's "Token Cost (USD)" graph does); empty: no label.
	LeftAxisLabel  string `json:"leftAxisLabel,omitempty"`
	RightAxisLabel string `json:"rightAxisLabel,omitempty"`
}

// Series is one value or line of a widget, expressed for each backend.
type Series struct {
	Label string `json:"label"`
	// PromQL is the query the web UI and Grafana run. It may use $range
	// (the period as a PromQL duration, e.g. 5m) and, for Grafana,
	// $model_id is substituted by the export. For a table, the query's
	// result is grouped by model_id. Cost widgets use $today and $month
	// (the time since the start of the day / month, as a PromQL duration;
	// see ExpandQuery), and a cost of NaN means the model is unpriced.
	PromQL string `json:"promql"`
	// Metric and Stat name the AWS/Bedrock CloudWatch metric and statistic
	// (Sum, Average, Minimum, Maximum, p90, ...) for the CloudWatch export;
	// empty when the series has no CloudWatch equivalent (it is then left
	// out of that export). Expression is CloudWatch metric math over other
	// series' IDs instead of a metric (cost).
	Metric     string `json:"metric,omitempty"`
	Stat       string `json:"stat,omitempty"`
	Expression string `json:"expression,omitempty"`
	ID         string `json:"id,omitempty"`
	// Axis is "left" (default) or "right".
	Axis string `json:"axis,omitempty"`
	// Hidden marks an input of another series' Expression (the token
	// counts under the construct's cost graph): the CloudWatch export
	// includes it with visible:false, the web UI and Grafana do not draw
	// it. Its PromQL is still valid, so a client that ignores Hidden draws
	// something sensible. Added to reproduce the construct's cost graph.
	Hidden bool `json:"hidden,omitempty"`
	// Unit overrides the widget's Unit for this series (a table's columns
	// have different units). Added for the tables.
	Unit string `json:"unit,omitempty"`
}
