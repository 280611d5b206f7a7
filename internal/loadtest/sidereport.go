package loadtest

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// The metrics compared in Ratio.
const (
	MetricCPUPerCall    = "cpu_per_call"   // CPU ms per 1,000 plain calls at a fixed rate
	MetricCPUPerStream  = "cpu_per_stream" // CPU ms per 1,000 streams at the stream rate
	MetricMaxThroughput = "max_throughput" // OK calls per second under wrk
	MetricKiBPerStream  = "kib_per_stream" // resident KiB per open stream
	floorGo             = TargetGoProxy    // a floor ratios are taken against
	floorNginx          = TargetNginx      // the other floor
	goalRate            = 5000             // the rate of the added-latency goal
	goalStreamRate      = 1000             // the rate of the added-TTFT goal
	goalLatency         = 20 * time.Millisecond
)

// Ratio is one of modelwatch's figures over the same figure of a floor.
type Ratio struct {
	// Target is the modelwatch target (off, local, s3), Floor go-proxy or
	// nginx, Metric one of the Metric constants.
	Target string `json:"target"`
	Floor  string `json:"floor"`
	Metric string `json:"metric"`
	// Source says which phase the figures come from ("vegeta at 5000/s").
	Source     string  `json:"source"`
	Modelwatch float64 `json:"modelwatch"`
	FloorValue float64 `json:"floor_value"`
	Ratio      float64 `json:"ratio"`
}

// Goal is one of issue 15's targets for modelwatch.
type Goal struct {
	// Goal says the target, Target which modelwatch target it was checked
	// on, Measured what was measured.
	Goal     string `json:"goal"`
	Target   string `json:"target,omitempty"`
	Measured string `json:"measured"`
	// Status is met, missed or not measured.
	Status string `json:"status"`
}

// The statuses of a Goal.
const (
	GoalMet         = "met"
	GoalMissed      = "missed"
	GoalNotMeasured = "not measured"
)

// target returns the report of a target, or nil.
func (r *SideReport) target(name string) *TargetReport {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// vegetaAt is the vegeta phase at rate, or nil.
func (t *TargetReport) vegetaAt(rate float64) *PhaseReport {
	for _, p := range t.Vegeta {
		if p.Rate == rate {
			return p
		}
	}
	return nil
}

// keptUp says whether a fixed-rate phase held its rate: every request
// answered, at least 95 % of the rate sent, and a median within 10 ms of
// the upstream's latency. When direct does not keep up at a rate, the
// machine itself cannot run that rate, and no target's figure there
// means much.
func (r *SideReport) keptUp(p *PhaseReport) bool {
	return p != nil && p.Requests > 0 && p.OK == p.Requests && p.SentRate >= 0.95*p.Rate &&
		p.Latency.P50 <= r.Settings.UpstreamLatencyMS*1000+10000
}

// cpuSource is a phase CPU per call can come from.
type cpuSource struct {
	name  string
	phase func(*TargetReport) *PhaseReport
}

// cpuSources are the phases CPU per call can come from, best first:
// vegeta from the highest rate down, then the own client (at the highest
// rate), those at which direct kept up before those at which it did not.
func (r *SideReport) cpuSources() []cpuSource {
	direct := r.target(TargetDirect)
	var good, bad []cpuSource
	add := func(s cpuSource) {
		if direct == nil || r.keptUp(s.phase(direct)) {
			good = append(good, s)
		} else {
			s.name += ", where direct did not keep up"
			bad = append(bad, s)
		}
	}
	rates := r.Settings.Rates
	for i := len(rates) - 1; i >= 0; i-- {
		rate := rates[i]
		add(cpuSource{fmt.Sprintf("vegeta at %.0f/s", rate), func(t *TargetReport) *PhaseReport { return t.vegetaAt(rate) }})
	}
	if n := len(rates); n > 0 {
		add(cpuSource{fmt.Sprintf("own client at %.0f/s", rates[n-1]), func(t *TargetReport) *PhaseReport { return t.Own }})
	}
	return append(good, bad...)
}

// metric is a target's figure for metric from the phase source, and
// whether it was measured.
func (r *SideReport) metric(t *TargetReport, metric string) (float64, string, bool) {
	if t == nil {
		return 0, "", false
	}
	switch metric {
	case MetricCPUPerStream:
		if p := t.Streams; p != nil && p.CPUPer1k != nil {
			return *p.CPUPer1k, fmt.Sprintf("own client, %.0f streams/s", p.Rate), true
		}
	case MetricMaxThroughput:
		if p := t.Max; p != nil && p.OK > 0 {
			return p.Throughput, "wrk", true
		}
	case MetricKiBPerStream:
		if o := t.Open; o != nil && o.Opened > 0 {
			return o.KiBPerStream, fmt.Sprintf("%d streams open", o.Opened), true
		}
	}
	return 0, "", false
}

// pairCPUPerCall is modelwatch's and the floor's CPU per 1,000 calls from
// the first source both were measured by.
func (r *SideReport) pairCPUPerCall(mw, floor *TargetReport) (a, b float64, source string, ok bool) {
	for _, s := range r.cpuSources() {
		pa, pb := s.phase(mw), (*PhaseReport)(nil)
		if floor != nil {
			pb = s.phase(floor)
		}
		if pa != nil && pa.CPUPer1k != nil && (floor == nil || (pb != nil && pb.CPUPer1k != nil)) {
			if pb == nil {
				return *pa.CPUPer1k, 0, s.name, true
			}
			return *pa.CPUPer1k, *pb.CPUPer1k, s.name, true
		}
	}
	return 0, 0, "", false
}

// ratios are every modelwatch target's figures over each floor's.
func (r *SideReport) ratios() []Ratio {
	var out []Ratio
	for _, mw := range r.Targets {
		if !isGateway(mw.Name) {
			continue
		}
		for _, metric := range []string{MetricCPUPerCall, MetricCPUPerStream, MetricMaxThroughput, MetricKiBPerStream} {
			for _, fname := range []string{floorGo, floorNginx} {
				floor := r.target(fname)
				if floor == nil {
					continue
				}
				var a, b float64
				var src string
				var ok bool
				if metric == MetricCPUPerCall {
					a, b, src, ok = r.pairCPUPerCall(mw, floor)
				} else {
					var okA, okB bool
					a, src, okA = r.metric(mw, metric)
					b, _, okB = r.metric(floor, metric)
					ok = okA && okB
				}
				if !ok || b <= 0 {
					continue
				}
				out = append(out, Ratio{Target: mw.Name, Floor: fname, Metric: metric, Source: src, Modelwatch: a, FloorValue: b, Ratio: a / b})
			}
		}
	}
	return out
}

// ratio finds a ratio.
func (r *SideReport) ratio(target, floor, metric string) (Ratio, bool) {
	for _, x := range r.Ratios {
		if x.Target == target && x.Floor == floor && x.Metric == metric {
			return x, true
		}
	}
	return Ratio{}, false
}

// headline is the modelwatch target the goals are checked on: S3 logging
// when it ran, else local, else off.
func (r *SideReport) headline() *TargetReport {
	for _, n := range []string{TargetS3, TargetLocal, TargetOff} {
		if t := r.target(n); t != nil {
			return t
		}
	}
	return nil
}

// goals checks issue 15's targets on the headline modelwatch target.
func (r *SideReport) goals(cfg SideConfig) []Goal {
	mw := r.headline()
	name := ""
	if mw != nil {
		name = mw.Name
	}
	var out []Goal
	add := func(goal, measured string, met, measuredOK bool) {
		g := Goal{Goal: goal, Target: name, Measured: measured, Status: GoalNotMeasured}
		if measuredOK {
			g.Status = GoalMissed
			if met {
				g.Status = GoalMet
			}
		}
		out = append(out, g)
	}
	ratioGoal := func(goal, metric string, limit float64, atMost bool, unit string) {
		x, ok := r.ratio(name, floorGo, metric)
		if !ok {
			add(goal, "not measured: "+missingWhy(r, mw, metric), false, false)
			return
		}
		met := x.Ratio >= limit
		if atMost {
			met = x.Ratio <= limit
		}
		add(goal, fmt.Sprintf("%.2f× (%s against %s %s, %s)", x.Ratio, num(x.Modelwatch), num(x.FloorValue), unit, x.Source), met, true)
	}
	ratioGoal("CPU per proxied call ≤ 0.6× the bare Go proxy", MetricCPUPerCall, 0.6, true, "ms per 1,000 calls")
	ratioGoal("CPU per streamed call ≤ 0.6× the bare Go proxy", MetricCPUPerStream, 0.6, true, "ms per 1,000 streams")
	ratioGoal("max throughput ≥ 2× the bare Go proxy", MetricMaxThroughput, 2, false, "calls/s")

	// Added p99 at 5,000 calls/s from vegeta with a 20 ms upstream.
	const latGoal = "added p99 < 5 ms at 5,000 calls/s (vegeta, 20 ms upstream)"
	switch {
	case mw == nil:
		add(latGoal, "not measured: no modelwatch target ran", false, false)
	case cfg.UpstreamLatency != goalLatency:
		add(latGoal, fmt.Sprintf("not measured: the upstream latency was %s, not 20ms", cfg.UpstreamLatency), false, false)
	default:
		p := mw.vegetaAt(goalRate)
		var base *PhaseReport
		if d := r.target(TargetDirect); d != nil {
			base = d.vegetaAt(goalRate)
		}
		switch {
		case p == nil:
			add(latGoal, "not measured: no vegeta phase at 5000/s (is vegeta installed, and 5000 among --rates?)", false, false)
		case p.Added == nil || base == nil:
			add(latGoal, "not measured: direct did not run at 5000/s, so nothing to subtract", false, false)
		case !r.keptUp(base):
			add(latGoal, fmt.Sprintf("not measured: direct itself did not keep up at 5000/s on this machine then (sent %.0f/s, p50 %s, %d of %d answered 200); modelwatch's added p99 there was %s",
				base.SentRate, us(base.Latency.P50), base.OK, base.Requests, us(p.Added.P99)), false, false)
		default:
			errs := p.Requests - p.OK
			m := fmt.Sprintf("added p99 %s (p50 %s), %d of %d answered 200", us(p.Added.P99), us(p.Added.P50), p.OK, p.Requests)
			add(latGoal, m, p.Added.P99 < 5000 && errs == 0, true)
		}
	}

	const ttftGoal = "added TTFT p99 < 5 ms at 1,000 streams/s"
	switch p := (*PhaseReport)(nil); {
	case mw == nil:
		add(ttftGoal, "not measured: no modelwatch target ran", false, false)
	case cfg.StreamRate != goalStreamRate:
		add(ttftGoal, fmt.Sprintf("not measured: streams ran at %.0f/s, not 1000/s", cfg.StreamRate), false, false)
	default:
		p = mw.Streams
		if p == nil || p.TTFTAdded == nil {
			add(ttftGoal, "not measured: no streams phase for modelwatch and direct", false, false)
			break
		}
		if d := r.target(TargetDirect); d != nil && !r.keptUp(d.Streams) {
			add(ttftGoal, fmt.Sprintf("not measured: direct itself did not keep up at 1000 streams/s on this machine then (sent %.0f/s, p50 %s); modelwatch's added TTFT p99 there was %s",
				d.Streams.SentRate, us(d.Streams.Latency.P50), us(p.TTFTAdded.P99)), false, false)
			break
		}
		errs := p.Requests - p.OK
		m := fmt.Sprintf("added TTFT p99 %s (p50 %s), %d of %d streams complete", us(p.TTFTAdded.P99), us(p.TTFTAdded.P50), p.OK, p.Requests)
		add(ttftGoal, m, p.TTFTAdded.P99 < 5000 && errs == 0, true)
	}

	const kibGoal = "≤ 30 KiB per open stream"
	if v, src, ok := r.metric(mw, MetricKiBPerStream); ok {
		add(kibGoal, fmt.Sprintf("%.1f KiB (%s)", v, src), v <= 30, true)
	} else {
		add(kibGoal, "not measured", false, false)
	}
	const rssGoal = "idle RSS ≤ 60 MiB"
	if mw != nil && mw.IdleRSS > 0 {
		v := float64(mw.IdleRSS) / (1 << 20)
		add(rssGoal, fmt.Sprintf("%.1f MiB", v), v <= 60, true)
	} else {
		add(rssGoal, "not measured", false, false)
	}
	return out
}

// missingWhy says why a ratio could not be taken.
func missingWhy(r *SideReport, mw *TargetReport, metric string) string {
	switch {
	case mw == nil:
		return "no modelwatch target ran"
	case r.target(floorGo) == nil:
		return "the Go proxy did not run"
	case metric == MetricMaxThroughput && r.tool(ToolWrk).Path == "":
		return "wrk is missing"
	}
	return "a phase failed or did not run (see the notes)"
}

// tool is the named tool's information.
func (r *SideReport) tool(name string) ToolInfo {
	for _, t := range r.Tools {
		if t.Name == name {
			return t
		}
	}
	return ToolInfo{Name: name}
}

// WriteMarkdown prints the report as Markdown: the ratios first, then the
// goals, each target's figures, latency at the fixed rates, streams, and
// the notes.
func (r *SideReport) WriteMarkdown(w io.Writer) error {
	b := &strings.Builder{}
	s := r.Settings
	fmt.Fprintf(b, "Machine: %s/%s, %d CPUs, %s; load average before the run: %s.\n\n", r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.GoVersion, orDash(r.LoadAverage))
	rates := make([]string, len(s.Rates))
	for i, x := range s.Rates {
		rates[i] = fmt.Sprintf("%.0f", x)
	}
	fmt.Fprintf(b, "Settings: phases of %s; plain calls at %s/s (vegeta; own client at the highest); %d-chunk streams at %.0f/s; %d streams held open; upstream latency %gms (none for wrk); own client %d workers; wrk -t%d -c%d.\n\n",
		s.Duration, strings.Join(rates, ", "), s.StreamChunks, s.StreamRate, s.OpenStreams, s.UpstreamLatencyMS, s.Concurrency, s.WrkThreads, s.WrkConnections)
	var tools []string
	for _, t := range r.Tools {
		switch {
		case t.Skipped:
			tools = append(tools, t.Name+": skipped")
		case t.Missing:
			tools = append(tools, t.Name+": missing")
		default:
			tools = append(tools, fmt.Sprintf("%s: %s", t.Name, orDash(t.Version)))
		}
	}
	fmt.Fprintf(b, "Tools: %s.\n\n", strings.Join(tools, "; "))

	// Ratios.
	sources := map[string]bool{}
	if mw := r.headline(); mw == nil {
		b.WriteString("No modelwatch target ran: no ratios.\n")
	} else {
		b.WriteString("**modelwatch ÷ floor** (below 1 is better for CPU and memory, above 1 for throughput):\n\n")
		b.WriteString("| modelwatch | CPU/call ÷ Go proxy | CPU/call ÷ nginx | CPU/stream ÷ Go proxy | CPU/stream ÷ nginx | max req/s ÷ Go proxy | max req/s ÷ nginx | KiB/stream ÷ Go proxy | KiB/stream ÷ nginx |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	}
	for _, t := range r.Targets {
		if !isGateway(t.Name) {
			continue
		}
		fmt.Fprintf(b, "| %s |", t.Label)
		for _, metric := range []string{MetricCPUPerCall, MetricCPUPerStream, MetricMaxThroughput, MetricKiBPerStream} {
			for _, floor := range []string{floorGo, floorNginx} {
				if x, ok := r.ratio(t.Name, floor, metric); ok {
					fmt.Fprintf(b, " %.2f× |", x.Ratio)
					if metric == MetricCPUPerCall {
						sources[x.Source] = true
					}
				} else {
					b.WriteString(" – |")
				}
			}
		}
		b.WriteString("\n")
	}
	if len(sources) > 0 {
		var src []string
		for k := range sources {
			src = append(src, k)
		}
		fmt.Fprintf(b, "\nCPU per call from %s.\n", strings.Join(src, ", "))
	}

	// Goals.
	if len(r.Goals) > 0 {
		on := "no modelwatch target ran"
		if r.Goals[0].Target != "" {
			on = "on " + targetLabel(r.Goals[0].Target)
		}
		fmt.Fprintf(b, "\n**Issue 15 targets** (%s):\n\n", on)
		b.WriteString("| target | measured | status |\n|---|---|---|\n")
		for _, g := range r.Goals {
			fmt.Fprintf(b, "| %s | %s | %s |\n", g.Goal, g.Measured, statusMark(g.Status))
		}
	}

	// Each target.
	b.WriteString("\n**Each target** (CPU of the target's processes only; ms per 1,000 calls or streams):\n\n")
	b.WriteString("| target | idle RSS | CPU/1k calls | CPU/1k streams | max req/s (wrk) | CPU/1k calls at max | KiB/open stream |\n|---|---|---|---|---|---|---|\n")
	primary := ""
	if cs := r.cpuSources(); len(cs) > 0 {
		primary = cs[0].name
	}
	for _, t := range r.Targets {
		cpuCall := "–"
		if a, _, src, ok := r.pairCPUPerCall(t, nil); ok {
			cpuCall = num(a)
			if src != primary {
				cpuCall += " (" + src + ")"
			}
		}
		cpuStream, maxRPS, cpuMax, kib := "–", "–", "–", "–"
		if t.Streams != nil && t.Streams.CPUPer1k != nil {
			cpuStream = num(*t.Streams.CPUPer1k)
		}
		if t.Max != nil && t.Max.OK > 0 {
			maxRPS = fmt.Sprintf("%.0f", t.Max.Throughput)
			if t.Max.CPUPer1k != nil {
				cpuMax = num(*t.Max.CPUPer1k)
			}
		}
		if t.Open != nil && t.Open.Opened > 0 {
			kib = fmt.Sprintf("%.1f", t.Open.KiBPerStream)
			if t.Open.Opened < t.Open.Requested {
				kib += fmt.Sprintf(" (%d of %d open)", t.Open.Opened, t.Open.Requested)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", t.Label, mibOrDash(t.IdleRSS), cpuCall, cpuStream, maxRPS, cpuMax, kib)
	}

	// Latency.
	b.WriteString("\n**Latency of plain calls at fixed rates** (added = this target's percentile − direct's, same generator and rate):\n\n")
	b.WriteString("| target | generator | rate | 200 / sent | p50 | p99 | added p50 | added p99 | CPU/1k calls |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Targets {
		for _, p := range append(append([]*PhaseReport{}, t.Vegeta...), t.Own) {
			if p == nil {
				continue
			}
			ap50, ap99 := "–", "–"
			if p.Added != nil {
				ap50, ap99 = us(p.Added.P50), us(p.Added.P99)
			}
			fmt.Fprintf(b, "| %s | %s | %.0f/s | %d / %d | %s | %s | %s | %s | %s |\n", t.Label, p.Generator, p.Rate, p.OK, p.Requests, us(p.Latency.P50), us(p.Latency.P99), ap50, ap99, cpuText(p))
		}
	}

	// Streams.
	fmt.Fprintf(b, "\n**Streams** (%d chunks each, own client; TTFT = time to the first token):\n\n", s.StreamChunks)
	b.WriteString("| target | rate | complete / sent | TTFT p50 | TTFT p99 | added TTFT p50 | added TTFT p99 | CPU/1k streams |\n|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Targets {
		p := t.Streams
		if p == nil || p.TTFT == nil {
			continue
		}
		ap50, ap99 := "–", "–"
		if p.TTFTAdded != nil {
			ap50, ap99 = us(p.TTFTAdded.P50), us(p.TTFTAdded.P99)
		}
		fmt.Fprintf(b, "| %s | %.0f/s | %d / %d | %s | %s | %s | %s | %s |\n", t.Label, p.Rate, p.OK, p.Requests, us(p.TTFT.P50), us(p.TTFT.P99), ap50, ap99, cpuText(p))
	}

	// Notes.
	notes := append([]string{}, r.Notes...)
	for _, t := range r.Targets {
		for _, p := range append([]*PhaseReport{t.Own, t.Streams, t.Max}, t.Vegeta...) {
			if p == nil {
				continue
			}
			if len(p.Errors) > 0 {
				notes = append(notes, fmt.Sprintf("%s, %s at %s: errors %s %s", t.Label, p.Generator, rateText(p.Rate), errList(p.Errors), strings.Join(p.Messages, "; ")))
			}
			if p.Rate > 0 && p.SentRate < 0.95*p.Rate {
				notes = append(notes, fmt.Sprintf("%s, %s at %s: only %.0f/s were sent; the load backed up and its latency includes the queueing (open loop)", t.Label, p.Generator, rateText(p.Rate), p.SentRate))
			}
		}
		if t.Open != nil && len(t.Open.Errors) > 0 {
			notes = append(notes, fmt.Sprintf("%s, open streams: %s", t.Label, errList(t.Open.Errors)))
		}
		if l := t.Logging; l != nil {
			notes = append(notes, fmt.Sprintf("%s: %d records spooled, %d delivered, %d dropped (complete: %v)", t.Label, l.Spooled, l.Delivered, l.Dropped, l.Complete))
		}
		for _, f := range t.Failures {
			notes = append(notes, fmt.Sprintf("%s: not measured: %s", t.Label, f))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			fmt.Fprintf(b, "- %s\n", strings.TrimSpace(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cpuText is a phase's CPU ms per 1,000 calls, or a dash.
func cpuText(p *PhaseReport) string {
	if p.CPUPer1k == nil {
		return "–"
	}
	return num(*p.CPUPer1k)
}

func rateText(r float64) string {
	if r == 0 {
		return "full speed"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func statusMark(s string) string {
	switch s {
	case GoalMet:
		return "**met**"
	case GoalMissed:
		return "**missed**"
	}
	return s
}

// num formats a figure with three significant digits at most.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func mibOrDash(b int64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
