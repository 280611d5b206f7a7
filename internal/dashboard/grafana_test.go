package dashboard

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaUnitIDs are the Grafana unit ids the export may use.
var grafanaUnitIDs = []string{"ms", "s", "short", "none", "currencyUSD", "percent"}

// grafanaVars are substituted by sample values before parsing a target, as
// Grafana would before sending it.
var grafanaVars = strings.NewReplacer(`=~"$model_id"`, `=~"anthropic\\.claude"`, "$__rate_interval", "1m", "$__range", "6h", "$range", "1h")

func checkGrafana(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var g map[string]any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for _, k := range []string{"__inputs", "title", "uid", "schemaVersion", "time", "templating", "panels"} {
		if _, ok := g[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	in := g["__inputs"].([]any)[0].(map[string]any)
	if in["name"] != "DS_PROMETHEUS" || in["type"] != "datasource" || in["pluginId"] != "prometheus" {
		t.Errorf("__inputs %v", in)
	}
	vars := map[string]map[string]any{}
	for _, v := range g["templating"].(map[string]any)["list"].([]any) {
		v := v.(map[string]any)
		vars[v["name"].(string)] = v
	}
	if m := vars["model_id"]; m == nil || m["query"] != "label_values(bedrock_invocations_total, model_id)" || m["type"] != "query" {
		t.Errorf("model_id variable %v", m)
	}
	if r := vars["range"]; r == nil || r["type"] != "interval" {
		t.Errorf("range variable %v", r)
	}
	ids := map[float64]bool{}
	type rect struct{ x, y, w, h int }
	var rects []rect
	repeated := 0
	for i, pv := range g["panels"].([]any) {
		p := pv.(map[string]any)
		id, _ := p["id"].(float64)
		if id == 0 || ids[id] {
			t.Errorf("panel %d: id %v missing or not unique", i, p["id"])
		}
		ids[id] = true
		gp := p["gridPos"].(map[string]any)
		r := rect{int(gp["x"].(float64)), int(gp["y"].(float64)), int(gp["w"].(float64)), int(gp["h"].(float64))}
		if r.x < 0 || r.w < 1 || r.h < 1 || r.x+r.w > 24 {
			t.Errorf("panel %d %q: gridPos %+v", i, p["title"], r)
		}
		for j, o := range rects {
			if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
				t.Errorf("panel %d %+v overlaps panel %d %+v", i, r, j, o)
			}
		}
		rects = append(rects, r)
		typ := p["type"]
		if !slices.Contains([]any{"row", "text", "stat", "timeseries", "table"}, typ) {
			t.Errorf("panel %d: type %v", i, typ)
		}
		if typ == "row" {
			if p["repeat"] == "model_id" {
				repeated++
			}
			continue
		}
		if typ == "text" {
			if p["options"].(map[string]any)["content"] == "" {
				t.Errorf("panel %d: empty text", i)
			}
			continue
		}
		if ds := p["datasource"].(map[string]any); ds["uid"] != "${DS_PROMETHEUS}" || ds["type"] != "prometheus" {
			t.Errorf("panel %d: datasource %v", i, ds)
		}
		fc := p["fieldConfig"].(map[string]any)
		units := []any{fc["defaults"].(map[string]any)["unit"]}
		for _, o := range fc["overrides"].([]any) {
			for _, pr := range o.(map[string]any)["properties"].([]any) {
				if pr := pr.(map[string]any); pr["id"] == "unit" {
					units = append(units, pr["value"])
				}
			}
		}
		for _, u := range units {
			if !slices.Contains(grafanaUnitIDs, u.(string)) {
				t.Errorf("panel %d %q: unit %v is not a Grafana unit id", i, p["title"], u)
			}
		}
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("panel %d %q: no targets", i, p["title"])
		}
		refs := map[string]bool{}
		for _, tv := range targets {
			tg := tv.(map[string]any)
			expr, _ := tg["expr"].(string)
			if refs[tg["refId"].(string)] {
				t.Errorf("panel %d: duplicate refId", i)
			}
			refs[tg["refId"].(string)] = true
			if _, ok := tg["legendFormat"].(string); !ok {
				t.Errorf("panel %d: no legendFormat", i)
			}
			sample := grafanaVars.Replace(expr)
			if strings.Contains(sample, "$") {
				t.Errorf("panel %d: unknown variable left in %q", i, expr)
			}
			if _, err := promParser.ParseExpr(sample); err != nil {
				t.Errorf("panel %d %q: %q does not parse: %v", i, p["title"], expr, err)
			}
			if strings.Contains(expr, "$__range") && p["timeFrom"] == nil {
				t.Errorf("panel %d %q: $__range without a relative time", i, p["title"])
			}
		}
	}
	if repeated != 1 {
		t.Errorf("%d rows repeated for model_id, want 1", repeated)
	}
	return g
}

func TestGrafanaWellFormed(t *testing.T) {
	models := []ModelInfo{
		{ID: haikuID, Name: "Claude 3 Haiku", Priced: true, InputPrice: 2.5e-7, OutputPrice: 1.25e-6},
		{ID: "amazon.nova-lite-v1:0", Name: "Nova Lite"},
	}
	for _, tt := range []struct {
		name string
		spec Spec
	}{
		{"default", Spec{}},
		{"with extra widgets", exampleSpec(t)},
		{"90-minute period", Spec{Period: 90 * time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Build(tt.spec, models)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Grafana(d)
			if err != nil {
				t.Fatal(err)
			}
			g := checkGrafana(t, b)
			// One repeated row instead of copies: no query names a model.
			if strings.Contains(string(b), "claude-3-haiku") || strings.Contains(string(b), "nova-lite") {
				t.Errorf("the export copies per-model panels")
			}
			var period any
			for _, v := range g["templating"].(map[string]any)["list"].([]any) {
				if v := v.(map[string]any); v["name"] == "range" {
					period = v["current"].(map[string]any)["value"]
				}
			}
			if want := PromDuration(time.Duration(d.PeriodSeconds) * time.Second); period != want {
				t.Errorf("range variable default %v, want %s", period, want)
			}
		})
	}
}

// TestGrafanaPanels checks the mapping of particular widgets.
func TestGrafanaPanels(t *testing.T) {
	d, err := Build(Spec{}, fixtureModels(false))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Grafana(d)
	if err != nil {
		t.Fatal(err)
	}
	panels := map[string]map[string]any{}
	var rows []string
	for _, pv := range checkGrafana(t, b)["panels"].([]any) {
		p := pv.(map[string]any)
		if p["type"] == "row" {
			rows = append(rows, p["title"].(string))
		}
		if _, dup := panels[p["title"].(string)]; !dup {
			panels[p["title"].(string)] = p
		}
	}
	if got := strings.Join(rows, "|"); got != "All Models|$model_id|Cost" {
		t.Errorf("rows %s", got)
	}
	expr := func(title string, i int) string {
		return panels[title]["targets"].([]any)[i].(map[string]any)["expr"].(string)
	}
	unit := func(title string) any {
		return panels[title]["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["unit"]
	}
	tests := []struct {
		title, typ, unit, timeFrom string
		exprRe                     string
	}{
		{"Average Latency (All Models)", "stat", "s", "", `^sum\(increase\(bedrock_invocation_latency_seconds_sum\[\$range\]\)\) / sum\(increase\(bedrock_invocation_latency_seconds_count\[\$range\]\)\)$`},
		{"Input and Output Tokens (All Models)", "timeseries", "short", "", `^sum\(increase\(bedrock_input_tokens_total\[\$range\]\)\)$`},
		{"Average Latency", "stat", "s", "", `model_id=~"\$model_id"`},
		{"Token Cost (USD)", "timeseries", "currencyUSD", "", `^sum\(increase\(modelwatch_cost_dollars_total\{model_id=~"\$model_id"\}\[\$range\]\)\)$`},
		{"Error Rate (All Models)", "timeseries", "percent", "", `^100 \* `},
		{"Cost Today", "stat", "currencyUSD", "now/d", `\[\$__range\]`},
		{"Cost This Month", "stat", "currencyUSD", "now/M", `\[\$__range\]`},
		{"Cost per Principal Today", "table", "short", "now/d", `^sum by \(principal\)`},
		{"Models", "table", "short", "", `^sum by \(model_id\)`},
	}
	for _, tt := range tests {
		p := panels[tt.title]
		if p == nil {
			t.Errorf("no panel %q", tt.title)
			continue
		}
		tf, _ := p["timeFrom"].(string)
		if p["type"] != tt.typ || unit(tt.title) != tt.unit || tf != tt.timeFrom || !regexp.MustCompile(tt.exprRe).MatchString(expr(tt.title, 0)) {
			t.Errorf("%q: type %v unit %v timeFrom %q expr %q; want %s %s %q %s", tt.title, p["type"], unit(tt.title), tf, expr(tt.title, 0), tt.typ, tt.unit, tt.timeFrom, tt.exprRe)
		}
	}
	// The hidden CloudWatch inputs of the error rate are not drawn.
	if n := len(panels["Error Rate (All Models)"]["targets"].([]any)); n != 2 {
		t.Errorf("error rate has %d targets, want 2", n)
	}
	// Table columns are named and have their units.
	overrides := panels["Models"]["fieldConfig"].(map[string]any)["overrides"].([]any)
	last := overrides[len(overrides)-1].(map[string]any)
	if last["matcher"].(map[string]any)["options"] != "Value #G" || !strings.Contains(mustJSON(last), `"currencyUSD"`) || !strings.Contains(mustJSON(last), `"Cost"`) {
		t.Errorf("cost column override %s", mustJSON(last))
	}
	principal := panels["Cost per Principal Today"]["fieldConfig"].(map[string]any)["overrides"].([]any)[0].(map[string]any)
	if principal["matcher"].(map[string]any)["options"] != "Value" {
		t.Errorf("lone table column override %s", mustJSON(principal))
	}
	if !strings.Contains(mustJSON(panels["Cost Today"]["fieldConfig"]), `"unpriced"`) {
		t.Errorf("cost panels do not map NaN to unpriced")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// knownMetrics are the series the default dashboard may query: the spec's
// Prometheus names (histograms as _bucket/_sum/_count), the latency
// extremes and the cost ones.
var knownMetrics = []string{
	"bedrock_invocations_total", "bedrock_invocation_client_errors_total", "bedrock_invocation_server_errors_total",
	"bedrock_invocation_throttles_total", "bedrock_input_tokens_total", "bedrock_output_tokens_total",
	"bedrock_output_images_total", "bedrock_legacy_model_invocations_total",
	"bedrock_invocation_latency_seconds_bucket", "bedrock_invocation_latency_seconds_sum", "bedrock_invocation_latency_seconds_count",
	"bedrock_time_to_first_token_seconds_bucket",
	"modelwatch_invocation_latency_min_seconds", "modelwatch_invocation_latency_max_seconds",
	"modelwatch_cost_dollars_total", "modelwatch_model_priced",
}

// TestDefaultPromQL parses every query of the default dashboard (sections
// and template) and checks that each selects only known metrics, and that
// per-model queries select their model.
func TestDefaultPromQL(t *testing.T) {
	d, err := Build(Spec{}, []ModelInfo{
		{ID: haikuID, Priced: true, InputPrice: 2.5e-7, OutputPrice: 1.25e-6, ImageOutput: true},
		{ID: "amazon.nova-lite-v1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range append(d.Sections, *d.ModelTemplate) {
		wantModel := s.ModelID
		if s.ID == "" {
			wantModel = VarModel
		}
		for _, w := range s.Widgets {
			for _, ser := range w.Series {
				n++
				expr, err := promParser.ParseExpr(ExpandQuery(ser.PromQL, time.Hour, time.Now()))
				if err != nil {
					t.Errorf("%s/%s/%s: %v", s.ID, w.Title, ser.Label, err)
					continue
				}
				parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
					vs, ok := node.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					var names []string
					model := ""
					for _, m := range vs.LabelMatchers {
						switch {
						case m.Name == labels.MetricName && m.Type == labels.MatchEqual:
							names = append(names, m.Value)
						case m.Name == labels.MetricName && m.Type == labels.MatchRegexp:
							names = append(names, strings.Split(m.Value, "|")...)
						case m.Name == "model_id":
							model = m.Value
						}
					}
					for _, name := range names {
						if !slices.Contains(knownMetrics, name) {
							t.Errorf("%s/%s: unknown metric %q in %s", s.ID, w.Title, name, ser.PromQL)
						}
					}
					if model != wantModel && (wantModel == "" || vs.Name != "modelwatch_model_priced") {
						t.Errorf("%s/%s: selector %s selects model %q, want %q", s.ID, w.Title, vs, model, wantModel)
					}
					return nil
				})
			}
		}
	}
	t.Logf("%d queries parsed", n)
	if n < 100 {
		t.Errorf("only %d queries", n)
	}
}
