package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// GrafanaUID is the uid of the exported Grafana dashboard, stable so that
// a re-import replaces the previous one.
const GrafanaUID = "modelwatch-bedrock"

// grafanaUnits maps the dashboard's units to Grafana unit ids. Latency is
// in seconds in Prometheus; Grafana's "s" shows sub-second values as ms.
var grafanaUnits = map[string]string{
	"": "short", UnitCount: "short", UnitTokens: "short",
	UnitSeconds: "s", UnitUSD: "currencyUSD", UnitPercent: "percent",
}

// Grafana renders d as a classic Grafana dashboard JSON model, importable
// as is (Dashboards > Import asks for the Prometheus data source through
// __inputs DS_PROMETHEUS). Each section is a row; the per-model sections
// are replaced by one row repeated for each value of the model_id
// variable (label_values(bedrock_invocations_total, model_id)), built from
// d.ModelTemplate. $range is Grafana's interval variable "range" (default
// the period); $today and $month become $__range in panels whose relative
// time is "today so far" (now/d) or "this month so far" (now/M). A cost of
// NaN shows as "unpriced".
func Grafana(d *Dashboard) ([]byte, error) {
	if err := Validate(d); err != nil {
		return nil, fmt.Errorf("invalid dashboard: %w", err)
	}
	g := &grafanaBuilder{}
	templated := false
	for _, s := range d.Sections {
		switch {
		case s.ModelID != "" && d.ModelTemplate != nil:
			if !templated {
				templated = true
				g.section(*d.ModelTemplate, "model_id")
			}
		default:
			g.section(s, "")
		}
	}
	period := PromDuration(secondsDuration(d.PeriodSeconds))
	ds := map[string]string{"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
	intervals := []string{"1m", "5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d"}
	if !slices.Contains(intervals, period) {
		intervals = append([]string{period}, intervals...)
	}
	var options []map[string]any
	for _, iv := range intervals {
		options = append(options, map[string]any{"text": iv, "value": iv, "selected": iv == period})
	}
	const modelQuery = "label_values(" + mInvocations + ", model_id)"
	out := map[string]any{
		"__inputs": []map[string]string{{
			"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus, or modelwatch's own /api/v1 (Prometheus-compatible)",
			"type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus",
		}},
		"__requires": []map[string]string{
			{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
			{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
			{"type": "panel", "id": "stat", "name": "Stat", "version": ""},
			{"type": "panel", "id": "table", "name": "Table", "version": ""},
			{"type": "panel", "id": "text", "name": "Text", "version": ""},
			{"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
		},
		"annotations":   map[string]any{"list": []any{}},
		"editable":      true,
		"graphTooltip":  1,
		"id":            nil,
		"uid":           GrafanaUID,
		"title":         d.Title,
		"tags":          []string{"modelwatch", "bedrock"},
		"schemaVersion": 39,
		"version":       1,
		"refresh":       "1m",
		"time":          map[string]string{"from": "now-6h", "to": "now"},
		"timepicker":    map[string]any{},
		"timezone":      "",
		"templating": map[string]any{"list": []any{
			map[string]any{
				"name": "model_id", "label": "Model", "type": "query", "datasource": ds,
				"definition": modelQuery, "query": modelQuery, "refresh": 2, "sort": 1,
				"multi": true, "includeAll": true, "hide": 0,
				"current": map[string]any{"selected": true, "text": []string{"All"}, "value": []string{"$__all"}},
			},
			map[string]any{
				"name": "range", "label": "Period", "type": "interval", "auto": false, "hide": 0, "refresh": 2,
				"query":   strings.Join(intervals, ","),
				"current": map[string]any{"selected": true, "text": period, "value": period},
				"options": options,
			},
		}},
		"panels": g.panels,
	}
	return json.MarshalIndent(out, "", "  ")
}

type grafanaBuilder struct {
	panels []map[string]any
	y      int
	nextID int
}

func (g *grafanaBuilder) id() int { g.nextID++; return g.nextID }

// section adds a row titled after s and s's panels; repeat names the
// variable the row repeats for, if any. A leading "# heading" text widget
// is dropped (the row is the heading), keeping any text below it.
func (g *grafanaBuilder) section(s Section, repeat string) {
	row := map[string]any{
		"id": g.id(), "type": "row", "title": s.Title, "collapsed": false, "panels": []any{},
		"gridPos": map[string]int{"h": 1, "w": gridWidth, "x": 0, "y": g.y},
	}
	if repeat != "" {
		row["repeat"] = repeat
	}
	g.panels = append(g.panels, row)
	g.y++
	widgets := s.Widgets
	if len(widgets) > 0 && widgets[0].Kind == KindText && strings.HasPrefix(widgets[0].Text, "# ") {
		first := widgets[0]
		_, rest, _ := strings.Cut(first.Text, "\n")
		widgets = widgets[1:]
		if strings.TrimSpace(rest) != "" {
			first.Text = rest
			widgets = append([]Widget{first}, widgets...)
		}
	}
	pos, next := flow(widgets, g.y)
	g.y = next
	for i, w := range widgets {
		g.panels = append(g.panels, g.panel(w, pos[i], repeat != ""))
	}
}

func (g *grafanaBuilder) panel(w Widget, p position, templated bool) map[string]any {
	panel := map[string]any{
		"id": g.id(), "title": w.Title,
		"gridPos": map[string]int{"h": p.H, "w": p.W, "x": p.X, "y": p.Y},
	}
	if w.Kind == KindText {
		panel["type"] = "text"
		panel["options"] = map[string]any{"mode": "markdown", "content": w.Text}
		return panel
	}
	panel["datasource"] = map[string]string{"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
	defaults := map[string]any{"unit": grafanaUnits[w.Unit]}
	if w.Unit == UnitUSD || slices.ContainsFunc(w.Series, func(s Series) bool { return s.Unit == UnitUSD }) {
		defaults["mappings"] = []any{map[string]any{
			"type": "special", "options": map[string]any{"match": "nan", "result": map[string]any{"text": "unpriced", "index": 0}},
		}}
	}
	var overrides []any
	var targets []any
	ref := 'A'
	for _, s := range w.Series {
		if s.Hidden {
			continue // an input of a CloudWatch expression only
		}
		expr, timeFrom := grafanaExpr(s.PromQL, templated)
		if timeFrom != "" {
			panel["timeFrom"] = timeFrom
		}
		t := map[string]any{
			"refId": string(ref), "expr": expr, "legendFormat": s.Label,
			"datasource": map[string]string{"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
		}
		switch w.Kind {
		case KindValue:
			t["instant"], t["range"] = true, false
		case KindTable:
			t["instant"], t["range"], t["format"] = true, false, "table"
			props := []any{map[string]any{"id": "displayName", "value": s.Label}}
			if s.Unit != "" {
				props = append(props, map[string]any{"id": "unit", "value": grafanaUnits[s.Unit]})
			}
			// Grafana names the value column of a lone table query
			// "Value", and "Value #<refId>" when there are several.
			column := "Value #" + string(ref)
			if visibleSeries(w) == 1 {
				column = "Value"
			}
			overrides = append(overrides, map[string]any{
				"matcher": map[string]any{"id": "byName", "options": column}, "properties": props,
			})
		case KindGraph:
			t["range"] = true
			if s.Axis == "right" {
				props := []any{map[string]any{"id": "custom.axisPlacement", "value": "right"}}
				if w.RightAxisLabel != "" {
					props = append(props, map[string]any{"id": "custom.axisLabel", "value": w.RightAxisLabel})
				}
				overrides = append(overrides, map[string]any{
					"matcher": map[string]any{"id": "byName", "options": s.Label}, "properties": props,
				})
			}
		}
		targets = append(targets, t)
		ref++
	}
	panel["targets"] = targets
	if overrides == nil {
		overrides = []any{}
	}
	panel["fieldConfig"] = map[string]any{"defaults": defaults, "overrides": overrides}
	switch w.Kind {
	case KindValue:
		panel["type"] = "stat"
		panel["options"] = map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "none", "graphMode": "none", "textMode": "auto", "justifyMode": "auto", "orientation": "auto",
		}
	case KindGraph:
		panel["type"] = "timeseries"
		if w.LeftAxisLabel != "" {
			defaults["custom"] = map[string]any{"axisLabel": w.LeftAxisLabel}
		}
		panel["options"] = map[string]any{
			"legend":  map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "none"},
		}
	case KindTable:
		panel["type"] = "table"
		group := w.GroupBy
		if group == "" {
			group = "model_id"
		}
		panel["transformations"] = []any{
			map[string]any{"id": "merge", "options": map[string]any{}},
			map[string]any{"id": "organize", "options": map[string]any{
				"excludeByName": map[string]bool{"Time": true},
				"indexByName":   map[string]int{group: 0},
			}},
		}
		panel["options"] = map[string]any{"showHeader": true}
	}
	return panel
}

// grafanaExpr maps a dashboard query to Grafana's variables: $today and
// $month to $__range with the panel's relative time, and in the repeated
// row model_id="$model_id" to a regular-expression match (Grafana
// regex-escapes the values of a multi-value variable).
func grafanaExpr(promql string, templated bool) (expr, timeFrom string) {
	expr = promql
	switch {
	case strings.Contains(expr, VarToday):
		expr, timeFrom = strings.ReplaceAll(expr, VarToday, "$__range"), "now/d"
	case strings.Contains(expr, VarMonth):
		expr, timeFrom = strings.ReplaceAll(expr, VarMonth, "$__range"), "now/M"
	}
	if templated {
		expr = strings.ReplaceAll(expr, `model_id="`+VarModel+`"`, `model_id=~"`+VarModel+`"`)
	}
	return expr, timeFrom
}

func visibleSeries(w Widget) int {
	n := 0
	for _, s := range w.Series {
		if !s.Hidden {
			n++
		}
	}
	return n
}
