package dashboard

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const haikuID = "anthropic.claude-3-haiku-20240307-v1:0"

// fixtureModels are the construct's addModelMonitoring('claude3haiku',
// ..., {inputTokenPrice: 0.00025, outputTokenPrice: 0.00125}) (per 1K).
func fixtureModels(image bool) []ModelInfo {
	return []ModelInfo{{ID: haikuID, Name: "claude3haiku", Priced: true, InputPrice: 0.00025 / 1000, OutputPrice: 0.00125 / 1000, ImageOutput: image}}
}

func cloudWatchWidgets(t *testing.T, d *Dashboard) []map[string]any {
	t.Helper()
	b, err := CloudWatch(d, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Start, PeriodOverride string
		Widgets               []map[string]any
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if body.Start != "-PT6H" || body.PeriodOverride != "inherit" {
		t.Errorf("start %q periodOverride %q", body.Start, body.PeriodOverride)
	}
	return body.Widgets
}

// cwSections splits widgets at their "# heading" text widgets.
func cwSections(ws []map[string]any) (heads []string, secs map[string][]map[string]any) {
	secs = map[string][]map[string]any{}
	head := ""
	for _, w := range ws {
		if md, _ := w["properties"].(map[string]any)["markdown"].(string); w["type"] == "text" && strings.HasPrefix(md, "# ") {
			head = md
			heads = append(heads, head)
		}
		secs[head] = append(secs[head], w)
	}
	return heads, secs
}

// TestCloudWatchMatchesConstruct compares the export of the default
// dashboard for the fixture's models with the body the construct
// synthesizes, widget by widget: type, position (relative to the section's
// heading, since modelwatch's own widgets follow the construct's in each
// section), size and properties (view, title, region, metric arrays,
// stats, periods, axes). The intentional differences are applied to the
// fixture first, and counted, so that each is shown to occur:
//   - the cost graph gets the token graphs' period (the construct left it
//     at CloudWatch's default 5 minutes): properties.period and the period
//     of its two hidden token metrics;
//   - OutputImageCount's ModelId is the model ID, not
//     "<id>undefinedundefined";
//   - the guardrail sections are not exported (modelwatch has no
//     guardrails yet).
func TestCloudWatchMatchesConstruct(t *testing.T) {
	raw, err := os.ReadFile("testdata/cloudwatch-dashboard-construct.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct{ Widgets []map[string]any }
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	d, err := Build(Spec{}, fixtureModels(true))
	if err != nil {
		t.Fatal(err)
	}
	gotHeads, got := cwSections(cloudWatchWidgets(t, d))
	wantHeads, want := cwSections(fixture.Widgets)

	if !slices.Equal(gotHeads, []string{"# Metrics Across All Models", "# claude3haiku"}) {
		t.Fatalf("sections %q", gotHeads)
	}
	fixes := map[string]int{}
	compared := 0
	for _, head := range wantHeads {
		if strings.HasPrefix(head, "# Guardrail Metrics") {
			fixes["guardrail section left out"]++
			continue
		}
		ws, gs := want[head], got[head]
		if len(gs) < len(ws) {
			t.Fatalf("%s: %d widgets, want at least the construct's %d", head, len(gs), len(ws))
		}
		wantTop, gotTop := ws[0]["y"].(float64), gs[0]["y"].(float64)
		for i, w := range ws {
			w = fixConstruct(w, fixes)
			g := gs[i]
			w["y"] = w["y"].(float64) - wantTop
			g["y"] = g["y"].(float64) - gotTop
			if !reflect.DeepEqual(w, g) {
				wj, _ := json.Marshal(w)
				gj, _ := json.Marshal(g)
				t.Errorf("%s widget %d:\n got %s\nwant %s", head, i, gj, wj)
			}
			compared++
		}
	}
	if compared != 23 {
		t.Errorf("compared %d widgets, want the construct's 23 model widgets", compared)
	}
	wantFixes := map[string]int{"cost graph period": 1, "hidden metric period": 2, "image dimension": 1, "guardrail section left out": 2}
	if !reflect.DeepEqual(fixes, wantFixes) {
		t.Errorf("differences applied %v, want %v", fixes, wantFixes)
	}
}

// fixConstruct applies to a fixture widget the construct's flaws that
// modelwatch fixes, counting them in fixes.
func fixConstruct(w map[string]any, fixes map[string]int) map[string]any {
	props := w["properties"].(map[string]any)
	if props["title"] == "Token Cost (USD)" {
		props["period"] = 3600.0
		fixes["cost graph period"]++
	}
	metrics, _ := props["metrics"].([]any)
	for _, m := range metrics {
		entry := m.([]any)
		opts := entry[len(entry)-1].(map[string]any)
		if opts["visible"] == false {
			opts["period"] = 3600.0
			fixes["hidden metric period"]++
		}
		for j, v := range entry {
			if s, ok := v.(string); ok && strings.HasSuffix(s, "undefinedundefined") {
				entry[j] = strings.TrimSuffix(s, "undefinedundefined")
				fixes["image dimension"]++
			}
		}
	}
	return w
}

// TestCloudWatchModelVariants checks what depends on the model: the cost
// graph only with a price, OutputImageCount only for image models.
func TestCloudWatchModelVariants(t *testing.T) {
	tests := []struct {
		name            string
		model           ModelInfo
		cost, image     bool
		unpricedNoteMD  bool
		costExpressions []string
	}{
		{"priced text model", ModelInfo{ID: haikuID, Priced: true, InputPrice: 3e-6, OutputPrice: 1.5e-5}, true, false, false,
			[]string{"inputTokens / 1000 * 0.003", "outputTokens / 1000 * 0.015", "inputTokens / 1000 * 0.003 + outputTokens / 1000 * 0.015"}},
		{"cheap model keeps plain decimals", ModelInfo{ID: "amazon.nova-micro-v1:0", Priced: true, InputPrice: 3.5e-8, OutputPrice: 1.4e-7}, true, false, false,
			[]string{"inputTokens / 1000 * 0.000035", "outputTokens / 1000 * 0.00014", "inputTokens / 1000 * 0.000035 + outputTokens / 1000 * 0.00014"}},
		{"unpriced image model", ModelInfo{ID: "amazon.titan-image-generator-v2:0", ImageOutput: true}, false, true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Build(Spec{}, []ModelInfo{tt.model})
			if err != nil {
				t.Fatal(err)
			}
			_, secs := cwSections(cloudWatchWidgets(t, d))
			var sec []map[string]any
			for head, ws := range secs {
				if head != "# Metrics Across All Models" {
					sec = ws
				}
			}
			var cost, image, note bool
			var exprs []string
			for _, w := range sec {
				props := w["properties"].(map[string]any)
				switch {
				case props["title"] == "Token Cost (USD)":
					cost = true
					for _, m := range props["metrics"].([]any) {
						if o, ok := m.([]any)[0].(map[string]any); ok {
							exprs = append(exprs, o["expression"].(string))
						}
					}
				case props["title"] == "OutputImageCount":
					image = true
					dims := props["metrics"].([]any)[0].([]any)
					if dims[3] != tt.model.ID {
						t.Errorf("image dimension %v", dims[3])
					}
				case strings.Contains(fmt.Sprint(props["markdown"]), "**Unpriced.**"):
					note = true
				}
			}
			if cost != tt.cost || image != tt.image || note != tt.unpricedNoteMD || !slices.Equal(exprs, tt.costExpressions) {
				t.Errorf("cost %v image %v unpriced note %v expressions %q; want %v %v %v %q", cost, image, note, exprs, tt.cost, tt.image, tt.unpricedNoteMD, tt.costExpressions)
			}
		})
	}
}

// checkCloudWatchBody validates a dashboard body against the structure of
// CloudWatch's "Dashboard Body Structure and Syntax".
func checkCloudWatchBody(t *testing.T, b []byte, models []string) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	widgets, ok := body["widgets"].([]any)
	if !ok || len(widgets) == 0 {
		t.Fatalf("no widgets")
	}
	type rect struct{ x, y, w, h int }
	var rects []rect
	for i, wv := range widgets {
		w := wv.(map[string]any)
		for _, k := range []string{"type", "x", "y", "width", "height", "properties"} {
			if _, ok := w[k]; !ok {
				t.Errorf("widget %d: no %s", i, k)
			}
		}
		r := rect{int(w["x"].(float64)), int(w["y"].(float64)), int(w["width"].(float64)), int(w["height"].(float64))}
		if r.x < 0 || r.y < 0 || r.w < 1 || r.h < 1 || r.x+r.w > 24 {
			t.Errorf("widget %d: bad geometry %+v", i, r)
		}
		for j, o := range rects {
			if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
				t.Errorf("widget %d %+v overlaps widget %d %+v", i, r, j, o)
			}
		}
		rects = append(rects, r)
		props := w["properties"].(map[string]any)
		switch w["type"] {
		case "text":
			if props["markdown"] == "" {
				t.Errorf("widget %d: empty markdown", i)
			}
			continue
		case "metric":
		default:
			t.Errorf("widget %d: type %v", i, w["type"])
			continue
		}
		if !slices.Contains([]any{"singleValue", "timeSeries", "table"}, props["view"]) || props["title"] == "" || props["region"] != "us-east-1" {
			t.Errorf("widget %d: view %v title %v region %v", i, props["view"], props["title"], props["region"])
		}
		metrics, _ := props["metrics"].([]any)
		if len(metrics) == 0 {
			t.Errorf("widget %d: no metrics", i)
		}
		ids := map[string]bool{}
		var exprs []string
		for _, mv := range metrics {
			m, ok := mv.([]any)
			if !ok || len(m) == 0 {
				t.Errorf("widget %d: metric entry %v is not an array", i, mv)
				continue
			}
			opts, ok := m[len(m)-1].(map[string]any)
			if !ok {
				t.Errorf("widget %d: entry %v does not end with an options object", i, m)
				continue
			}
			if id, ok := opts["id"].(string); ok {
				ids[id] = true
			}
			if len(m) == 1 {
				e, _ := opts["expression"].(string)
				if e == "" || opts["label"] == "" {
					t.Errorf("widget %d: expression entry %v needs expression and label", i, opts)
				}
				exprs = append(exprs, e)
				continue
			}
			strs := m[:len(m)-1]
			if len(strs)%2 != 0 || len(strs) < 2 {
				t.Errorf("widget %d: entry %v: want namespace, name, then name/value pairs", i, m)
				continue
			}
			for _, s := range strs {
				if s, ok := s.(string); !ok || s == "" {
					t.Errorf("widget %d: entry %v has a non-string or empty part", i, m)
				}
			}
			if strs[0] != "AWS/Bedrock" {
				t.Errorf("widget %d: namespace %v", i, strs[0])
			}
			for k := 2; k < len(strs); k += 2 {
				if strs[k] != "ModelId" || !slices.Contains(models, strs[k+1].(string)) {
					t.Errorf("widget %d: dimension %v=%v", i, strs[k], strs[k+1])
				}
			}
			if st, ok := opts["stat"].(string); ok && !statRe.MatchString(st) {
				t.Errorf("widget %d: stat %q", i, st)
			}
		}
		for _, e := range exprs {
			for _, ref := range exprIDRe.FindAllString(e, -1) {
				if !ids[ref] {
					t.Errorf("widget %d: expression %q uses %q, not an id of the widget", i, e, ref)
				}
			}
		}
	}
}

func TestCloudWatchWellFormed(t *testing.T) {
	models := []ModelInfo{
		{ID: haikuID, Name: "Claude 3 Haiku", Priced: true, InputPrice: 2.5e-7, OutputPrice: 1.25e-6},
		{ID: "amazon.nova-lite-v1:0", Name: "Nova Lite"},
		{ID: "amazon.titan-image-generator-v2:0", Name: "Titan Image", ImageOutput: true, Priced: true, InputPrice: 1e-6},
	}
	ids := []string{haikuID, "amazon.nova-lite-v1:0", "amazon.titan-image-generator-v2:0"}
	for _, tt := range []struct {
		name string
		spec Spec
	}{
		{"default", Spec{}},
		{"with extra widgets", exampleSpec(t)},
		{"no model views", Spec{Models: []ModelSpec{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Build(tt.spec, models)
			if err != nil {
				t.Fatal(err)
			}
			b, err := CloudWatch(d, "us-east-1")
			if err != nil {
				t.Fatal(err)
			}
			checkCloudWatchBody(t, b, ids)
		})
	}
}

func TestCloudWatchErrors(t *testing.T) {
	d, err := Build(Spec{}, fixtureModels(false))
	if err != nil {
		t.Fatal(err)
	}
	broken := *d
	broken.Sections = append([]Section(nil), d.Sections...)
	broken.Sections[0].Widgets = []Widget{{Kind: "pie", Width: 6, Height: 3}}
	for _, tt := range []struct {
		name   string
		d      *Dashboard
		region string
		want   string
	}{
		{"bad region", d, "Mars", "invalid AWS region"},
		{"empty region", d, "", "invalid AWS region"},
		{"nil dashboard", nil, "us-east-1", "nil dashboard"},
		{"invalid widget", &broken, "us-east-1", `unknown kind "pie"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CloudWatch(tt.d, tt.region)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCloudWatchWidgetLimit(t *testing.T) {
	var models []ModelInfo
	for i := range 40 {
		models = append(models, ModelInfo{ID: fmt.Sprintf("vendor.model-%d", i)})
	}
	d, err := Build(Spec{}, models)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CloudWatch(d, "us-east-1"); err == nil || !strings.Contains(err.Error(), "more than CloudWatch's 500") {
		t.Errorf("error %v", err)
	}
	d, err = Build(Spec{Models: []ModelSpec{{ID: "vendor.model-3"}}}, models)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CloudWatch(d, "us-east-1"); err != nil {
		t.Errorf("one model view: %v", err)
	}
}
