package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Namespace and dimension of Bedrock's runtime metrics in CloudWatch.
const (
	CloudWatchNamespace = "AWS/Bedrock"
	CloudWatchDimension = "ModelId"
)

var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// CloudWatch renders d as a CloudWatch dashboard body (PutDashboard's
// DashboardBody) on namespace AWS/Bedrock, per-model sections with the
// ModelId dimension, laid out as the construct lays out its widgets.
//
// Series with no CloudWatch metric or expression are left out, then
// widgets left with no series, then sections left with no metric widget
// (the cost section, built on modelwatch's own cost counter). For the
// construct's widgets the result is the construct's, except where it is
// wrong (see doc.go).
func CloudWatch(d *Dashboard, region string) ([]byte, error) {
	if !regionRe.MatchString(region) {
		return nil, fmt.Errorf("invalid AWS region %q", region)
	}
	if err := Validate(d); err != nil {
		return nil, fmt.Errorf("invalid dashboard: %w", err)
	}
	body := cwBody{Start: "-PT6H", PeriodOverride: "inherit", Widgets: []cwWidget{}}
	y := 0
	for _, s := range d.Sections {
		var ws []Widget
		var props []any
		metrics := 0
		for _, w := range s.Widgets {
			if w.Kind == KindText {
				ws = append(ws, w)
				props = append(props, cwText{Markdown: w.Text, Background: "transparent"})
				continue
			}
			p, ok := cwMetricWidget(w, s.ModelID, region, d.PeriodSeconds)
			if !ok {
				continue
			}
			ws = append(ws, w)
			props = append(props, p)
			metrics++
		}
		if metrics == 0 {
			continue
		}
		pos, next := flow(ws, y)
		y = next
		for i, w := range ws {
			typ := "metric"
			if w.Kind == KindText {
				typ = "text"
			}
			body.Widgets = append(body.Widgets, cwWidget{Type: typ, Width: pos[i].W, Height: pos[i].H, X: pos[i].X, Y: pos[i].Y, Properties: props[i]})
		}
	}
	if len(body.Widgets) > cwMaxWidgets {
		return nil, fmt.Errorf("%w: the CloudWatch dashboard would have %d widgets, more than CloudWatch's %d: list fewer models under dashboard.models",
			ErrTooManyWidgets, len(body.Widgets), cwMaxWidgets)
	}
	return json.MarshalIndent(body, "", "  ")
}

// ErrTooManyWidgets is CloudWatch's refusal of a dashboard over its
// widget limit.
var ErrTooManyWidgets = errors.New("too many widgets")

// CloudWatchFitting is CloudWatch for a dashboard whose per-model sections
// were chosen by default (every catalog model) rather than listed: when
// they do not all fit in CloudWatch's 500 widgets, the last model sections
// (in catalog order) are left out until the rest fit, and dropped names
// the models left out, so that the caller can say so. The all-models and
// cost views always stay.
func CloudWatchFitting(d *Dashboard, region string) (out []byte, dropped []string, err error) {
	fit := *d
	fit.Sections = slices.Clone(d.Sections)
	for {
		out, err = CloudWatch(&fit, region)
		if !errors.Is(err, ErrTooManyWidgets) {
			return out, dropped, err
		}
		last := -1
		for i, s := range fit.Sections {
			if s.ModelID != "" {
				last = i
			}
		}
		if last < 0 {
			return nil, dropped, err
		}
		dropped = append([]string{fit.Sections[last].ModelID}, dropped...)
		fit.Sections = slices.Delete(fit.Sections, last, last+1)
	}
}

// cwMaxWidgets is CloudWatch's limit of widgets per dashboard.
const cwMaxWidgets = 500

type cwBody struct {
	Start          string     `json:"start"`
	PeriodOverride string     `json:"periodOverride"`
	Widgets        []cwWidget `json:"widgets"`
}

type cwWidget struct {
	Type       string `json:"type"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Properties any    `json:"properties"`
}

type cwText struct {
	Markdown   string `json:"markdown"`
	Background string `json:"background"`
}

type cwMetricProps struct {
	View    string  `json:"view"`
	Title   string  `json:"title"`
	Region  string  `json:"region"`
	Metrics [][]any `json:"metrics"`
	YAxis   *cwAxes `json:"yAxis,omitempty"`
	Period  int     `json:"period,omitempty"`
}

type cwAxes struct {
	Left  *cwAxis `json:"left,omitempty"`
	Right *cwAxis `json:"right,omitempty"`
}

type cwAxis struct {
	Label     string `json:"label"`
	ShowUnits bool   `json:"showUnits"`
}

// cwOptions is the rendering options object that ends a metric entry.
type cwOptions struct {
	ID      string `json:"id,omitempty"`
	Label   string `json:"label,omitempty"`
	Visible *bool  `json:"visible,omitempty"`
	Period  int    `json:"period,omitempty"`
	Stat    string `json:"stat,omitempty"`
	YAxis   string `json:"yAxis,omitempty"`
}

type cwExpression struct {
	Label      string `json:"label"`
	Expression string `json:"expression"`
	ID         string `json:"id,omitempty"`
	YAxis      string `json:"yAxis,omitempty"`
}

// cwMetricWidget renders a value, graph or table widget; ok is false when
// none of its series has a CloudWatch form.
func cwMetricWidget(w Widget, modelID, region string, period int) (p cwMetricProps, ok bool) {
	view := map[string]string{KindValue: "singleValue", KindGraph: "timeSeries", KindTable: "table"}[w.Kind]
	p = cwMetricProps{View: view, Title: w.Title, Region: region, Metrics: [][]any{}}
	// A metric series is labelled only where its metric name alone would
	// be ambiguous (p50/p90/p99 of one metric); the construct labels none.
	uses := map[string]int{}
	for _, s := range w.Series {
		uses[s.Metric]++
	}
	hasExpr := false
	for _, s := range w.Series {
		right := ""
		if s.Axis == "right" {
			right = "right"
		}
		switch {
		case s.Expression != "":
			hasExpr = true
			p.Metrics = append(p.Metrics, []any{cwExpression{Label: s.Label, Expression: s.Expression, ID: s.ID, YAxis: right}})
		case s.Metric != "":
			entry := []any{CloudWatchNamespace, s.Metric}
			if modelID != "" {
				entry = append(entry, CloudWatchDimension, modelID)
			}
			o := cwOptions{ID: s.ID, Period: period, YAxis: right}
			if s.Stat != "Average" { // CloudWatch's default
				o.Stat = s.Stat
			}
			if s.Hidden {
				o.Visible = new(bool)
			} else if uses[s.Metric] > 1 {
				o.Label = s.Label
			}
			p.Metrics = append(p.Metrics, append(entry, o))
		}
	}
	if len(p.Metrics) == 0 {
		return p, false
	}
	if w.Kind == KindGraph {
		p.YAxis = &cwAxes{}
		if w.LeftAxisLabel != "" {
			p.YAxis.Left = &cwAxis{Label: w.LeftAxisLabel}
		}
		if w.RightAxisLabel != "" {
			p.YAxis.Right = &cwAxis{Label: w.RightAxisLabel}
		}
	}
	// Expressions take the widget's period; so do graphs' metrics (the
	// construct's cost graph omitted it and got 5 minutes).
	if w.Kind == KindGraph || hasExpr {
		p.Period = period
	}
	return p, true
}
