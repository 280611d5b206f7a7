package dashboard

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Validate checks a dashboard: known kinds and units, widths within
// 1..24, heights within 1..maxHeight, text only on text widgets, series
// with valid PromQL (unless hidden), CloudWatch statistics, metric names,
// IDs and expressions that refer to the widget's IDs, and unique section
// IDs. The exports call it; Build's result always passes.
func Validate(d *Dashboard) error {
	if d == nil {
		return errors.New("nil dashboard")
	}
	var errs []error
	if d.PeriodSeconds < 60 || d.PeriodSeconds%60 != 0 {
		errs = append(errs, fmt.Errorf("periodSeconds %d: must be a positive multiple of 60", d.PeriodSeconds))
	}
	ids := map[string]bool{}
	sections := d.Sections
	if d.ModelTemplate != nil {
		sections = append(sections[:len(sections):len(sections)], *d.ModelTemplate)
	}
	for i, s := range sections {
		where := fmt.Sprintf("sections[%s]", s.ID)
		if i == len(d.Sections) {
			where = "modelTemplate"
		} else {
			if s.ID == "" {
				errs = append(errs, fmt.Errorf("sections[%d] %q: empty id", i, s.Title))
			} else if ids[s.ID] {
				errs = append(errs, fmt.Errorf("%s: duplicate section id", where))
			}
			ids[s.ID] = true
		}
		for j, w := range s.Widgets {
			var werrs []error
			validateWidget(w, &werrs)
			for _, e := range werrs {
				errs = append(errs, fmt.Errorf("%s.widgets[%d] %q: %w", where, j, w.Title, e))
			}
		}
	}
	return errors.Join(errs...)
}

// maxHeight bounds a widget's height, a guard against typos.
const maxHeight = 48

var (
	knownUnits = map[string]bool{"": true, UnitCount: true, UnitSeconds: true, UnitTokens: true, UnitUSD: true, UnitPercent: true}
	// CloudWatch statistics: the named ones and percentiles or trimmed
	// statistics such as p90, p99.9, tm99, wm95, tc90, ts90, pr(...).
	statRe = regexp.MustCompile(`^(SampleCount|Average|Sum|Minimum|Maximum|IQM|(p|tm|wm|tc|ts)\d{1,2}(\.\d{1,3})?|(p|tm|wm|tc|ts|pr)\([^()]*\))$`)
	// CloudWatch metric names (AWS/Bedrock's are CamelCase ASCII).
	metricRe = regexp.MustCompile(`^[A-Za-z0-9_.\-/#:]{1,255}$`)
	// Metric math IDs start with a lower-case letter.
	mathIDRe = regexp.MustCompile(`^[a-z][A-Za-z0-9_]*$`)
	// In an expression, lower-case identifiers are IDs (functions are
	// upper case); quoted strings (SEARCH terms) are skipped.
	exprIDRe  = regexp.MustCompile(`\b[a-z][A-Za-z0-9_]*\b`)
	exprStrRe = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	labelRe   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// validateWidget appends w's problems to errs.
func validateWidget(w Widget, errs *[]error) {
	bad := func(format string, a ...any) { *errs = append(*errs, fmt.Errorf(format, a...)) }
	switch w.Kind {
	case KindText, KindValue, KindGraph, KindTable:
	case "":
		bad("kind is required (text, value, graph or table)")
		return
	default:
		bad("unknown kind %q (want text, value, graph or table)", w.Kind)
		return
	}
	if w.Width < 1 || w.Width > gridWidth {
		bad("width %d: must be within 1..%d", w.Width, gridWidth)
	}
	if w.Height < 1 || w.Height > maxHeight {
		bad("height %d: must be within 1..%d", w.Height, maxHeight)
	}
	if !knownUnits[w.Unit] {
		bad("unknown unit %q (want count, seconds, tokens, usd or percent)", w.Unit)
	}
	if w.Kind == KindText {
		if strings.TrimSpace(w.Text) == "" {
			bad("a text widget needs text")
		}
		if len(w.Series) > 0 {
			bad("a text widget has no series")
		}
		return
	}
	if w.Title == "" {
		bad("title is required")
	}
	if w.Text != "" {
		bad("text is only for text widgets")
	}
	if w.GroupBy != "" && (w.Kind != KindTable || !labelRe.MatchString(w.GroupBy)) {
		bad("groupBy %q: only for tables, and must be a label name", w.GroupBy)
	}
	if w.Kind != KindGraph && (w.LeftAxisLabel != "" || w.RightAxisLabel != "") {
		bad("axis labels are only for graphs")
	}
	visible := 0
	ids := map[string]bool{}
	for _, s := range w.Series {
		if s.ID != "" {
			ids[s.ID] = true
		}
	}
	seen := map[string]bool{}
	for i, s := range w.Series {
		sbad := func(format string, a ...any) { bad("series[%d] %q: %s", i, s.Label, fmt.Sprintf(format, a...)) }
		if !s.Hidden {
			visible++
			if s.Label == "" {
				sbad("label is required")
			}
			if err := CheckPromQL(s.PromQL); err != nil {
				sbad("%v", err)
			}
		} else {
			if s.ID == "" || s.Metric == "" {
				sbad("a hidden series is an expression's input: it needs an id and a metric")
			}
			if s.PromQL != "" {
				if err := CheckPromQL(s.PromQL); err != nil {
					sbad("%v", err)
				}
			}
		}
		if !knownUnits[s.Unit] {
			sbad("unknown unit %q", s.Unit)
		}
		if s.Axis != "" && s.Axis != "left" && s.Axis != "right" {
			sbad("axis %q: want left or right", s.Axis)
		}
		if s.Metric != "" && s.Expression != "" {
			sbad("give a CloudWatch metric or an expression, not both")
		}
		if s.Metric != "" && !metricRe.MatchString(s.Metric) {
			sbad("invalid CloudWatch metric name %q", s.Metric)
		}
		if s.Stat != "" && s.Metric == "" {
			sbad("stat %q without a metric", s.Stat)
		}
		if s.Stat != "" && !statRe.MatchString(s.Stat) {
			sbad("unknown CloudWatch statistic %q (Sum, Average, Minimum, Maximum, SampleCount, p90, ...)", s.Stat)
		}
		if s.ID != "" {
			if !mathIDRe.MatchString(s.ID) {
				sbad("id %q: must start with a lower-case letter and hold only letters, digits and _", s.ID)
			}
			if seen[s.ID] {
				sbad("duplicate id %q", s.ID)
			}
			seen[s.ID] = true
		}
		if s.Expression != "" {
			for _, ref := range exprIDRe.FindAllString(exprStrRe.ReplaceAllString(s.Expression, ""), -1) {
				if !ids[ref] {
					sbad("expression %q refers to %q, which is not the id of a series of this widget", s.Expression, ref)
				}
			}
		}
	}
	if visible == 0 {
		bad("a %s widget needs at least one visible series", w.Kind)
	}
	if w.Kind == KindValue && visible > 1 {
		bad("a value widget shows one series, not %d", visible)
	}
	today, month := false, false
	for _, s := range w.Series {
		today = today || strings.Contains(s.PromQL, VarToday)
		month = month || strings.Contains(s.PromQL, VarMonth)
	}
	if today && month {
		bad("$today and $month cannot be mixed in one widget (Grafana gives each panel one time range)")
	}
}
