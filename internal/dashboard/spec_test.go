package dashboard

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// exampleYAML is the example of Spec's doc comment.
const exampleYAML = `
dashboard:
  title: Bedrock at Example Corp
  period: 1h
  models:
    - id: anthropic.claude-3-haiku-20240307-v1:0
      name: claude3haiku
  widgets:
    allModels:
      - kind: graph
        title: Cache read tokens
        unit: tokens
        width: 12
        height: 6
        promql: sum(increase(bedrock_cache_read_input_tokens_total[$range]))
    eachModel:
      - kind: value
        title: Output images
        promql: sum(increase(bedrock_output_images_total{model_id="$model_id"}[$range]))
        metric: OutputImageCount
        stat: Sum
      - kind: graph
        title: Cache tokens
        series:
          - {label: read, promql: 'sum(increase(bedrock_cache_read_input_tokens_total{model_id="$model_id"}[$range]))'}
          - {label: write, promql: 'sum(increase(bedrock_cache_write_input_tokens_total{model_id="$model_id"}[$range]))', axis: right}
`

// exampleSpec decodes exampleYAML strictly, as the configuration loader
// does.
func exampleSpec(t *testing.T) Spec {
	t.Helper()
	var doc struct {
		Dashboard Spec `yaml:"dashboard"`
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(exampleYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Dashboard
}

var testModels = []ModelInfo{
	{ID: haikuID, Name: "Claude 3 Haiku", Priced: true, InputPrice: 2.5e-7, OutputPrice: 1.25e-6},
	{ID: "amazon.nova-lite-v1:0", Name: "Nova Lite"},
}

func TestBuildExampleSpec(t *testing.T) {
	d, err := Build(exampleSpec(t), testModels)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Bedrock at Example Corp" || d.PeriodSeconds != 3600 {
		t.Errorf("title %q period %d", d.Title, d.PeriodSeconds)
	}
	var ids []string
	for _, s := range d.Sections {
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, " "); got != "all model-anthropic-claude-3-haiku-20240307-v1-0 cost" {
		t.Fatalf("sections %s", got)
	}
	all, haiku := d.Sections[0], d.Sections[1]
	if last := all.Widgets[len(all.Widgets)-1]; last.Title != "Cache read tokens" || last.Width != 12 || last.Series[0].Label != "Cache read tokens" {
		t.Errorf("all-models extra widget %+v", last)
	}
	if haiku.Title != "claude3haiku" || haiku.ModelID != haikuID {
		t.Errorf("model section %q %q", haiku.Title, haiku.ModelID)
	}
	n := len(haiku.Widgets)
	images, cache := haiku.Widgets[n-2], haiku.Widgets[n-1]
	if images.Width != 6 || images.Height != 3 || images.Series[0].Metric != "OutputImageCount" ||
		images.Series[0].PromQL != `sum(increase(bedrock_output_images_total{model_id="`+haikuID+`"}[$range]))` {
		t.Errorf("eachModel value widget %+v", images)
	}
	if cache.Series[1].Axis != "right" || !strings.Contains(cache.Series[1].PromQL, `model_id="`+haikuID+`"`) {
		t.Errorf("eachModel graph widget %+v", cache)
	}
	tmpl := d.ModelTemplate.Widgets
	if got := tmpl[len(tmpl)-1].Series[0].PromQL; !strings.Contains(got, `model_id="$model_id"`) {
		t.Errorf("template keeps $model_id: %s", got)
	}
}

func TestBuildDefaults(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		sections []string
		titles   []string
		period   int
	}{
		{"every catalog model", Spec{}, []string{"all", "model-anthropic-claude-3-haiku-20240307-v1-0", "model-amazon-nova-lite-v1-0", "cost"},
			[]string{"All Models", "Claude 3 Haiku", "Nova Lite", "Cost"}, 3600},
		{"no model views", Spec{Models: []ModelSpec{}}, []string{"all", "cost"}, []string{"All Models", "Cost"}, 3600},
		{"chosen models in order", Spec{Models: []ModelSpec{{ID: "amazon.nova-lite-v1:0"}, {ID: haikuID, Name: "haiku"}}, Period: 5 * time.Minute},
			[]string{"all", "model-amazon-nova-lite-v1-0", "model-anthropic-claude-3-haiku-20240307-v1-0", "cost"},
			[]string{"All Models", "Nova Lite", "haiku", "Cost"}, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Build(tt.spec, testModels)
			if err != nil {
				t.Fatal(err)
			}
			var ids, titles []string
			for _, s := range d.Sections {
				ids, titles = append(ids, s.ID), append(titles, s.Title)
			}
			if strings.Join(ids, ",") != strings.Join(tt.sections, ",") || strings.Join(titles, ",") != strings.Join(tt.titles, ",") || d.PeriodSeconds != tt.period {
				t.Errorf("sections %v %v period %d; want %v %v %d", ids, titles, d.PeriodSeconds, tt.sections, tt.titles, tt.period)
			}
			if d.Title != DefaultTitle {
				t.Errorf("title %q", d.Title)
			}
		})
	}
}

func TestBuildModelIDSlugsAreUnique(t *testing.T) {
	d, err := Build(Spec{}, []ModelInfo{{ID: "a.b"}, {ID: "a:b"}, {ID: "A/B"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range d.Sections[1:4] {
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, " "); got != "model-a-b model-a-b-2 model-a-b-3" {
		t.Errorf("section ids %s", got)
	}
}

func TestBuildErrors(t *testing.T) {
	graph := func(mod func(*WidgetSpec)) Spec {
		w := WidgetSpec{Kind: KindGraph, Title: "t", PromQL: "sum(rate(bedrock_invocations_total[$range]))"}
		mod(&w)
		return Spec{Widgets: WidgetsSpec{AllModels: []WidgetSpec{w}}}
	}
	tests := []struct {
		name   string
		spec   Spec
		models []ModelInfo
		want   string
	}{
		{"unknown kind", graph(func(w *WidgetSpec) { w.Kind = "pie" }), testModels, `dashboard.widgets.allModels[0] "t": unknown kind "pie"`},
		{"no kind", graph(func(w *WidgetSpec) { w.Kind = "" }), testModels, "kind is required"},
		{"too wide", graph(func(w *WidgetSpec) { w.Width = 25 }), testModels, "width 25: must be within 1..24"},
		{"negative width", graph(func(w *WidgetSpec) { w.Width = -1 }), testModels, "width -1"},
		{"too tall", graph(func(w *WidgetSpec) { w.Height = 100 }), testModels, "height 100"},
		{"empty PromQL", graph(func(w *WidgetSpec) { w.PromQL, w.Metric, w.Stat = "", "Invocations", "Sum" }), testModels, "empty PromQL"},
		{"no series", graph(func(w *WidgetSpec) { w.PromQL = "" }), testModels, "needs at least one visible series"},
		{"bad PromQL", graph(func(w *WidgetSpec) { w.PromQL = "sum(rate(x[$range])" }), testModels, "invalid PromQL"},
		{"unknown unit", graph(func(w *WidgetSpec) { w.Unit = "furlongs" }), testModels, `unknown unit "furlongs"`},
		{"unknown stat", graph(func(w *WidgetSpec) { w.Metric, w.Stat = "Invocations", "Median" }), testModels, `unknown CloudWatch statistic "Median"`},
		{"stat without metric", graph(func(w *WidgetSpec) { w.Stat = "Sum" }), testModels, "without a metric"},
		{"both inline and series", graph(func(w *WidgetSpec) { w.Series = []SeriesSpec{{Label: "a", PromQL: "up"}} }), testModels, "not both"},
		{"text without text", graph(func(w *WidgetSpec) { w.Kind, w.PromQL = KindText, "" }), testModels, "needs text"},
		{"text on a graph", graph(func(w *WidgetSpec) { w.Text = "hi" }), testModels, "only for text widgets"},
		{"two values in a value", graph(func(w *WidgetSpec) {
			w.Kind, w.PromQL = KindValue, ""
			w.Series = []SeriesSpec{{Label: "a", PromQL: "up"}, {Label: "b", PromQL: "up"}}
		}), testModels, "shows one series, not 2"},
		{"expression with unknown id", graph(func(w *WidgetSpec) {
			w.PromQL = ""
			w.Series = []SeriesSpec{{Label: "a", PromQL: "up", Expression: "m1 * 2"}}
		}), testModels, `refers to "m1"`},
		{"bad math id", graph(func(w *WidgetSpec) {
			w.PromQL = ""
			w.Series = []SeriesSpec{{Label: "a", PromQL: "up", ID: "M1", Metric: "Invocations"}}
		}), testModels, `id "M1"`},
		{"hidden input without metric", graph(func(w *WidgetSpec) {
			w.PromQL = ""
			w.Series = []SeriesSpec{{Label: "x", PromQL: "up", Expression: "m1"}, {ID: "m1", Hidden: true}}
		}), testModels, "needs an id and a metric"},
		{"bad axis", graph(func(w *WidgetSpec) { w.PromQL = ""; w.Series = []SeriesSpec{{Label: "a", PromQL: "up", Axis: "top"}} }), testModels, `axis "top"`},
		{"today and month mixed", graph(func(w *WidgetSpec) {
			w.PromQL = ""
			w.Series = []SeriesSpec{{Label: "a", PromQL: "sum(increase(x[$today]))"}, {Label: "b", PromQL: "sum(increase(x[$month]))"}}
		}), testModels, "cannot be mixed"},
		{"groupBy on a graph", graph(func(w *WidgetSpec) { w.GroupBy = "principal" }), testModels, "only for tables"},
		{"eachModel not selecting the model", Spec{Widgets: WidgetsSpec{EachModel: []WidgetSpec{{Kind: KindValue, Title: "x", PromQL: "sum(up)"}}}}, testModels,
			`dashboard.widgets.eachModel[0] "x": series[0]: promql must select the section's model`},
		{"period not whole minutes", Spec{Period: 90 * time.Second}, testModels, "dashboard.period: 1m30s must be a whole number of minutes"},
		{"period too short", Spec{Period: time.Second}, testModels, "whole number of minutes"},
		{"unknown model", Spec{Models: []ModelSpec{{ID: "nope"}}}, testModels, `dashboard.models[0]: model "nope" is not in the catalog`},
		{"model without id", Spec{Models: []ModelSpec{{Name: "x"}}}, testModels, "dashboard.models[0]: id is required"},
		{"model twice", Spec{Models: []ModelSpec{{ID: haikuID}, {ID: haikuID}}}, testModels, "listed twice"},
		{"duplicate testModels model", Spec{}, []ModelInfo{{ID: "a"}, {ID: "a"}}, `duplicate model ID "a"`},
		{"empty testModels ID", Spec{}, []ModelInfo{{}}, "empty model ID"},
		{"quote in model ID", Spec{}, []ModelInfo{{ID: `a"b`}}, "quotes"},
		{"negative price", Spec{}, []ModelInfo{{ID: "a", Priced: true, InputPrice: -1}}, "non-negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Build(tt.spec, tt.models)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if d != nil {
				t.Errorf("dashboard returned with an error")
			}
		})
	}
}

func TestExpandQuery(t *testing.T) {
	now := time.Date(2025, 3, 11, 13, 51, 20, 500, time.UTC)
	tests := []struct {
		q      string
		period time.Duration
		now    time.Time
		want   string
	}{
		{"sum(increase(x[$range]))", time.Hour, now, "sum(increase(x[1h]))"},
		{"sum(increase(x[$range]))", 90 * time.Second, now, "sum(increase(x[1m30s]))"},
		{"sum(increase(x[$today]))", time.Hour, now, "sum(increase(x[13h51m20s]))"},
		{"sum(increase(x[$month]))", time.Hour, now, "sum(increase(x[10d13h51m20s]))"},
		{"x[$today]", time.Hour, time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC), "x[1s]"},
		{"x[$today]", time.Hour, time.Date(2025, 3, 11, 1, 0, 0, 0, time.FixedZone("CET", 3600)), "x[1h]"},
		{`x{model_id="$model_id"}`, time.Hour, now, `x{model_id="$model_id"}`},
	}
	for _, tt := range tests {
		got := ExpandQuery(tt.q, tt.period, tt.now)
		if got != tt.want {
			t.Errorf("ExpandQuery(%q) = %q, want %q", tt.q, got, tt.want)
		}
		if err := CheckPromQL(got); err != nil && !strings.Contains(got, "$model_id") {
			t.Errorf("%q: %v", got, err)
		}
	}
}
