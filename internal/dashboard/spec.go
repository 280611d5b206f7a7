package dashboard

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Spec is a dashboard as code: the `dashboard:` section of the
// configuration file. Every field is optional; the zero Spec builds the
// default dashboard (a view per catalog model, a one-hour period).
//
//	dashboard:
//	  title: Bedrock at Example Corp
//	  period: 1h                 # CloudWatch period and PromQL window ($range)
//	  models:                    # per-model views (addModelMonitoring);
//	    - id: anthropic.claude-3-haiku-20240307-v1:0   # omitted: every catalog model,
//	      name: claude3haiku     # an empty list: none
//	  widgets:                   # addWidgets
//	    allModels:               # appended to the all-models section
//	      - kind: graph          # text | value | graph | table
//	        title: Cache read tokens
//	        unit: tokens         # count | seconds | tokens | usd | percent
//	        width: 12            # 1..24 (default: text 24, value 6, graph 12, table 24)
//	        height: 6            # default: text 2, value 3, graph 6, table 8
//	        promql: sum(increase(bedrock_cache_read_input_tokens_total[$range]))
//	    eachModel:               # appended to every model's section
//	      - kind: value
//	        title: Output images
//	        promql: sum(increase(bedrock_output_images_total{model_id="$model_id"}[$range]))
//	        metric: OutputImageCount   # CloudWatch AWS/Bedrock metric (optional)
//	        stat: Sum
//	      - kind: graph
//	        title: Cache tokens
//	        series:              # several series instead of promql/metric/stat
//	          - {label: read, promql: 'sum(increase(bedrock_cache_read_input_tokens_total{model_id="$model_id"}[$range]))'}
//	          - {label: write, promql: 'sum(increase(bedrock_cache_write_input_tokens_total{model_id="$model_id"}[$range]))', axis: right}
//
// In eachModel widgets, $model_id stands for the section's model ID (Build
// substitutes it; CloudWatch metrics get the ModelId dimension).
type Spec struct {
	// Title of the dashboard (default "Amazon Bedrock models").
	Title string `yaml:"title"`
	// Period is the aggregation period (default 1h, as the construct's);
	// a whole number of minutes, as CloudWatch requires.
	Period time.Duration `yaml:"period"`
	// Models are the models with a view of their own. Nil: every catalog
	// model; empty: none.
	Models []ModelSpec `yaml:"models"`
	// Widgets are added to the default ones.
	Widgets WidgetsSpec `yaml:"widgets"`
}

// ModelSpec names a model that gets its own view.
type ModelSpec struct {
	// ID is the catalog model ID.
	ID string `yaml:"id"`
	// Name is the view's title (default: the catalog's name).
	Name string `yaml:"name"`
}

// WidgetsSpec are widgets added to the default dashboard.
type WidgetsSpec struct {
	// AllModels are appended to the all-models section.
	AllModels []WidgetSpec `yaml:"allModels"`
	// EachModel are appended to every per-model section.
	EachModel []WidgetSpec `yaml:"eachModel"`
}

// WidgetSpec is a widget of a Spec. A widget with one series may give it
// inline (Label, PromQL, Metric, Stat) instead of in Series.
type WidgetSpec struct {
	Kind   string `yaml:"kind"`
	Title  string `yaml:"title"`
	Unit   string `yaml:"unit"`
	Width  int    `yaml:"width"`
	Height int    `yaml:"height"`
	// Text is the Markdown of a text widget.
	Text string `yaml:"text"`
	// GroupBy is a table's row label (default model_id).
	GroupBy string `yaml:"groupBy"`

	Label  string `yaml:"label"`
	PromQL string `yaml:"promql"`
	Metric string `yaml:"metric"`
	Stat   string `yaml:"stat"`

	Series []SeriesSpec `yaml:"series"`
}

// SeriesSpec is one series of a WidgetSpec; the fields are those of Series.
type SeriesSpec struct {
	Label      string `yaml:"label"`
	PromQL     string `yaml:"promql"`
	Metric     string `yaml:"metric"`
	Stat       string `yaml:"stat"`
	Expression string `yaml:"expression"`
	ID         string `yaml:"id"`
	Axis       string `yaml:"axis"`
	Hidden     bool   `yaml:"hidden"`
	Unit       string `yaml:"unit"`
}

// ModelInfo is what Build needs to know of a catalog model.
type ModelInfo struct {
	ID   string
	Name string
	// Priced says a price is known; InputPrice and OutputPrice are then in
	// USD per token (not per 1,000). An unpriced model's view says so
	// instead of showing a cost of $0.
	Priced                  bool
	InputPrice, OutputPrice float64
	// ImageOutput adds the OutputImageCount value to the model's view,
	// and makes its cost graph an image cost one; ImagePrice is then its
	// flat USD per image (0 when the price depends on size and quality,
	// which CloudWatch's metrics do not carry, or is unknown).
	ImageOutput bool
	ImagePrice  float64
	// VideoOutput makes the model's cost graph a video cost one (Nova
	// Reel, priced per second of video).
	VideoOutput bool
}

// DefaultTitle is the title of a dashboard whose Spec sets none.
const DefaultTitle = "Amazon Bedrock models"

// DefaultPeriod is the period of a dashboard whose Spec sets none, the
// construct's.
const DefaultPeriod = time.Hour

// Build returns the dashboard of spec for the catalog's models: the
// all-models section, one section per monitored model (in the order of
// spec.Models, else of models), the cost section, and the per-model
// template for Grafana. Errors name the offending field.
func Build(spec Spec, models []ModelInfo) (*Dashboard, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	period := spec.Period
	if period == 0 {
		period = DefaultPeriod
	}
	if period < time.Minute || period%time.Minute != 0 {
		bad("dashboard.period: %v must be a whole number of minutes", spec.Period)
	}
	title := strings.TrimSpace(spec.Title)
	if title == "" {
		title = DefaultTitle
	}

	byID := map[string]ModelInfo{}
	for i, m := range models {
		switch {
		case m.ID == "":
			bad("models[%d]: empty model ID", i)
		case strings.ContainsAny(m.ID, "\"\\\n\r\t"):
			bad("models[%d]: model ID %q has quotes, backslashes or control characters", i, m.ID)
		case byID[m.ID].ID != "":
			bad("models[%d]: duplicate model ID %q", i, m.ID)
		}
		for _, p := range []float64{m.InputPrice, m.OutputPrice} {
			if p < 0 || math.IsNaN(p) || math.IsInf(p, 0) {
				bad("models[%s]: price %v must be a non-negative number", m.ID, p)
			}
		}
		if m.Name == "" {
			m.Name = m.ID
		}
		byID[m.ID] = m
	}

	monitored := models
	if spec.Models != nil {
		monitored = make([]ModelInfo, 0, len(spec.Models))
		seen := map[string]bool{}
		for i, ms := range spec.Models {
			m, ok := byID[ms.ID]
			switch {
			case ms.ID == "":
				bad("dashboard.models[%d]: id is required", i)
				continue
			case !ok:
				bad("dashboard.models[%d]: model %q is not in the catalog", i, ms.ID)
				continue
			case seen[ms.ID]:
				bad("dashboard.models[%d]: model %q is listed twice", i, ms.ID)
				continue
			}
			seen[ms.ID] = true
			if ms.Name != "" {
				m.Name = ms.Name
			}
			monitored = append(monitored, m)
		}
	}

	allExtra := convertWidgets("dashboard.widgets.allModels", spec.Widgets.AllModels, false, &errs)
	eachExtra := convertWidgets("dashboard.widgets.eachModel", spec.Widgets.EachModel, true, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	d := &Dashboard{Title: title, PeriodSeconds: int(period / time.Second)}
	all := allModelsSection()
	all.Widgets = append(all.Widgets, allExtra...)
	d.Sections = append(d.Sections, all)
	ids := map[string]bool{all.ID: true, costSectionID: true}
	for _, m := range monitored {
		m := byID[m.ID].withName(m.Name)
		s := modelSection(&m, eachExtra)
		s.ID = uniqueSlug("model-"+slug(m.ID), ids)
		d.Sections = append(d.Sections, s)
	}
	d.Sections = append(d.Sections, costSection())
	tmpl := modelSection(nil, eachExtra)
	d.ModelTemplate = &tmpl
	if err := Validate(d); err != nil {
		return nil, err
	}
	return d, nil
}

func (m ModelInfo) withName(name string) ModelInfo {
	if name != "" {
		m.Name = name
	}
	return m
}

// convertWidgets turns spec widgets into Widgets with their defaults,
// validating each (perModel: its PromQL must select $model_id).
func convertWidgets(where string, specs []WidgetSpec, perModel bool, errs *[]error) []Widget {
	out := make([]Widget, 0, len(specs))
	for i, ws := range specs {
		w := Widget{
			Kind: ws.Kind, Title: ws.Title, Unit: ws.Unit, Width: ws.Width, Height: ws.Height,
			Text: ws.Text, GroupBy: ws.GroupBy,
		}
		if w.Width == 0 {
			w.Width = defaultWidth[w.Kind]
		}
		if w.Height == 0 {
			w.Height = defaultHeight[w.Kind]
		}
		inline := ws.PromQL != "" || ws.Metric != "" || ws.Stat != "" || ws.Label != ""
		if inline && len(ws.Series) > 0 {
			*errs = append(*errs, fmt.Errorf("%s[%d] %q: give either promql/metric/stat or series, not both", where, i, ws.Title))
			continue
		}
		if inline {
			label := ws.Label
			if label == "" {
				label = ws.Title
			}
			w.Series = []Series{{Label: label, PromQL: ws.PromQL, Metric: ws.Metric, Stat: ws.Stat}}
		}
		for _, ss := range ws.Series {
			w.Series = append(w.Series, Series(ss))
		}
		var werrs []error
		validateWidget(w, &werrs)
		if perModel {
			for j, s := range w.Series {
				if s.PromQL != "" && !strings.Contains(s.PromQL, VarModel) {
					werrs = append(werrs, fmt.Errorf("series[%d]: promql must select the section's model with model_id=\"$model_id\"", j))
				}
			}
		}
		for _, e := range werrs {
			*errs = append(*errs, fmt.Errorf("%s[%d] %q: %w", where, i, ws.Title, e))
		}
		out = append(out, w)
	}
	return out
}

var (
	defaultWidth  = map[string]int{KindText: 24, KindValue: 6, KindGraph: 12, KindTable: 24}
	defaultHeight = map[string]int{KindText: 2, KindValue: 3, KindGraph: 6, KindTable: 8}
)

// slug makes a model ID usable in a URL fragment.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func uniqueSlug(s string, used map[string]bool) string {
	out := s
	for n := 2; used[out]; n++ {
		out = fmt.Sprintf("%s-%d", s, n)
	}
	used[out] = true
	return out
}
