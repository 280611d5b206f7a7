package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as tables.
func (r *Report) WriteText(w io.Writer) error {
	s := r.Settings
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n", r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.GoVersion)
	rate := "as fast as possible (closed loop)"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%.0f req/s (open loop)", s.Rate)
	}
	fmt.Fprintf(w, "load: duration %s, max requests %d, concurrency %d, rate %s, upstream latency %gms, stream %v\n\n",
		s.Duration, s.Requests, s.Concurrency, rate, s.UpstreamLatencyMS, s.Stream)
	if len(r.Modes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "mode\trequests\terrors\treq/s\tp50\tp90\tp99\tp99.9\tmax\tpeak RSS\tend RSS\t")
		for _, m := range r.Modes {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", m.Mode, m.Requests, errCount(m.Errors), m.Throughput,
				us(m.Latency.P50), us(m.Latency.P90), us(m.Latency.P99), us(m.Latency.P999), us(m.Latency.Max), mib(m.PeakRSS), mib(m.EndRSS))
		}
		tw.Flush()
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "added latency\tp50\tp90\tp99\tp99.9\tmax\t")
		for _, m := range r.Modes {
			if m.Added != nil {
				a := m.Added
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", m.Mode, us(a.P50), us(a.P90), us(a.P99), us(a.P999), us(a.Max))
			}
		}
		tw.Flush()
		if s.Stream {
			fmt.Fprintln(w)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "time to first token\tp50\tp99\tadded p50\tadded p99\t")
			for _, m := range r.Modes {
				if m.TTFT == nil {
					continue
				}
				ap50, ap99 := "-", "-"
				if m.TTFTAdded != nil {
					ap50, ap99 = us(m.TTFTAdded.P50), us(m.TTFTAdded.P99)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", m.Mode, us(m.TTFT.P50), us(m.TTFT.P99), ap50, ap99)
			}
			tw.Flush()
		}
		for _, m := range r.Modes {
			if s.Rate > 0 && m.Throughput < 0.95*s.Rate {
				fmt.Fprintf(w, "\n%s: %.0f req/s is below the target %.0f: the load backed up, and its latency includes the queueing (open loop)", m.Mode, m.Throughput, s.Rate)
			}
			if len(m.Errors) > 0 {
				fmt.Fprintf(w, "\n%s errors: %s", m.Mode, errList(m.Errors))
			}
			if l := m.Logging; l != nil {
				fmt.Fprintf(w, "\n%s logging: served %d, spooled %d, delivered %d, read back %d (%d unique), missing %d, duplicated %d, dropped %d, delivered %.1fs after the load; complete: %v",
					m.Mode, l.Served, l.Spooled, l.Delivered, l.ReadBack, l.Unique, l.Missing, l.Duplicates, l.Dropped, l.WaitSec, l.Complete)
			}
		}
		fmt.Fprintln(w)
	}
	if o := r.OpenStreams; o != nil {
		fmt.Fprintf(w, "\nopen streams (logging %s): %d of %d open in %.1fs; serve RSS with all open %s (peak %s), after closing %s",
			o.Logging, o.Opened, o.Requested, o.OpenSec, mib(o.RSSOpen), mib(o.PeakRSS), mib(o.RSSClosed))
		if len(o.Errors) > 0 {
			fmt.Fprintf(w, "; errors: %s", errList(o.Errors))
		}
		if o.Goroutines > 0 {
			fmt.Fprintf(w, "\n  while open: %.0f goroutines, stacks %s, heap in use %s",
				o.Goroutines, mib(int64(o.StackBytes)), mib(int64(o.HeapBytes)))
		}
		fmt.Fprintln(w)
	}
	return nil
}

func errCount(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func errList(m map[string]int64) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// us formats microseconds: µs below 10 ms, ms above.
func us(v float64) string {
	if v >= 10000 || v <= -10000 {
		return fmt.Sprintf("%.2fms", v/1000)
	}
	return fmt.Sprintf("%.0fµs", v)
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}
