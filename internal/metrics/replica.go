package metrics

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// ReplicaLabel is the label name WithReplicaLabel is meant to be used with:
// the replica (the pod of a StatefulSet, a host) whose /metrics a
// Prometheus scraping several replicas read a series from.
const ReplicaLabel = "replica"

// WithReplicaLabel returns a Gatherer that gathers g and adds the constant
// label name=value to every series of every family, keeping the label
// pairs sorted by name as the exposition formats expect. A series that
// already has a label called name with a non-empty value keeps its own
// value (the label is never duplicated); an empty value, which Prometheus
// treats as no label, is replaced. With an empty value it returns g itself: a single server
// needs no replica label.
//
// It is meant for the /metrics handler of a server that runs as one of
// several replicas scraped by one Prometheus, so that the replicas' series
// stay apart even where the scrape's instance label does not say which
// replica is which (behind a Service, after a pod moved). The embedded
// metric history gathers the registry itself, unlabelled: it only ever
// holds its own replica's series.
//
// g's families are not modified (a Gatherer may hand out families it
// shares, such as constant metrics' label pairs): each Gather builds new
// families and series that share g's values. WithReplicaLabel panics if
// name is not a valid Prometheus label name, is reserved (starts with
// "__") or value is not valid UTF-8; both come from the program or a
// validated configuration.
func WithReplicaLabel(g prometheus.Gatherer, name, value string) prometheus.Gatherer {
	if !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, model.ReservedLabelPrefix) {
		panic(fmt.Sprintf("metrics: WithReplicaLabel: invalid label name %q", name))
	}
	if !utf8.ValidString(value) {
		panic(fmt.Sprintf("metrics: WithReplicaLabel: label value %q is not valid UTF-8", value))
	}
	if value == "" {
		return g
	}
	return &replicaGatherer{g: g, pair: &dto.LabelPair{Name: &name, Value: &value}}
}

// replicaGatherer is WithReplicaLabel's Gatherer.
type replicaGatherer struct {
	g    prometheus.Gatherer
	pair *dto.LabelPair // shared by every series: encoders only read it
}

// Gather gathers the wrapped Gatherer and labels its series. An error of
// the wrapped Gatherer is passed on with the families it did gather (a
// prometheus.MultiError leaves them usable, as promhttp's ContinueOnError
// expects).
func (r *replicaGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := r.g.Gather()
	if len(mfs) == 0 {
		return mfs, err
	}
	name := r.pair.GetName()
	out := make([]*dto.MetricFamily, len(mfs))
	for i, mf := range mfs {
		ms := make([]*dto.Metric, len(mf.Metric))
		// One backing array for every series' label pairs of the family:
		// one allocation instead of one per series.
		total := 0
		for _, m := range mf.Metric {
			total += len(m.Label) + 1
		}
		labels := make([]*dto.LabelPair, 0, total)
		series := make([]dto.Metric, len(mf.Metric))
		for j, m := range mf.Metric {
			at, found := slices.BinarySearchFunc(m.Label, name, func(p *dto.LabelPair, n string) int {
				return strings.Compare(p.GetName(), n)
			})
			if !found {
				// Sorted input is the registry's guarantee; a label that is
				// present out of order is found by the linear check.
				if k := slices.IndexFunc(m.Label, func(p *dto.LabelPair) bool { return p.GetName() == name }); k >= 0 {
					at, found = k, true
				}
			}
			var ls []*dto.LabelPair
			switch {
			case found && m.Label[at].GetValue() != "":
				ls = m.Label // the series' own value wins
			case found:
				// An empty value is an absent label to Prometheus (a
				// vector's series without that label value): replace it.
				start := len(labels)
				labels = append(labels, m.Label...)
				labels[start+at] = r.pair
				ls = labels[start:len(labels):len(labels)]
			default:
				start := len(labels)
				labels = append(labels, m.Label[:at]...)
				labels = append(labels, r.pair)
				labels = append(labels, m.Label[at:]...)
				ls = labels[start:len(labels):len(labels)]
			}
			s := &series[j]
			s.Label, s.Gauge, s.Counter, s.Summary, s.Untyped, s.Histogram, s.TimestampMs =
				ls, m.Gauge, m.Counter, m.Summary, m.Untyped, m.Histogram, m.TimestampMs
			ms[j] = s
		}
		out[i] = &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit, Metric: ms}
	}
	return out, err
}
