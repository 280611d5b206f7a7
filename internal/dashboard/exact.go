package dashboard

import (
	"regexp"
)

// increaseCall matches increase(<selector>[<range>]) with a plain vector
// selector and a duration or a variable ($range, $today, $month).
var increaseCall = regexp.MustCompile(`increase\(([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?)\[(\$[a-z_]+|[0-9]+[smhdwy])\]\)`)

// ExactCounts returns a copy of d whose counter increases are exact on a
// Prometheus that scrapes every replica of a cluster: each
// increase(m[R]) becomes, per series, the difference between the last
// value in the range and the last value before it (or the whole last
// value for a series that appeared within the range), with no
// extrapolation. Prometheus's increase() extrapolates to the range's ends
// from samples a scrape interval apart, so a count of 33 calls reads as
// 33.4; the embedded history avoids that by sampling at the moment of the
// query, which an external Prometheus cannot.
//
// The price: a series whose counter reset within the range (its replica
// restarted) counts only what it counted since the restart. Rates and
// quantiles are unchanged.
func ExactCounts(d *Dashboard) *Dashboard {
	out := *d
	out.Sections = make([]Section, len(d.Sections))
	for i, s := range d.Sections {
		out.Sections[i] = exactSection(s)
	}
	if d.ModelTemplate != nil {
		t := exactSection(*d.ModelTemplate)
		out.ModelTemplate = &t
	}
	return &out
}

func exactSection(s Section) Section {
	s.Widgets = append([]Widget(nil), s.Widgets...)
	for i := range s.Widgets {
		w := &s.Widgets[i]
		w.Series = append([]Series(nil), w.Series...)
		for j := range w.Series {
			w.Series[j].PromQL = ExactIncrease(w.Series[j].PromQL)
		}
	}
	return s
}

// ExactIncrease rewrites every increase(m[R]) of a PromQL query as
// ExactCounts does.
func ExactIncrease(q string) string {
	return increaseCall.ReplaceAllString(q,
		`((last_over_time(${1}[${2}]) - last_over_time(${1}[5m] offset ${2}) >= 0) or last_over_time(${1}[${2}]))`)
}
