package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelwatch/modelwatch/internal/loadtest"
)

// bench runs the load harness (package loadtest).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == loadtest.ReverseProxyChildFlag {
		// Hidden: the bare Go reverse proxy child of --side-by-side.
		if len(args) != 2 {
			return fmt.Errorf("usage: modelwatch bench %s <upstream URL>", loadtest.ReverseProxyChildFlag)
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return loadtest.ServeReverseProxy(ctx, args[1], stdout)
	}
	fs := flag.NewFlagSet("modelwatch bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadtest.Config
	var modes, logging string
	var asJSON, sideBySide bool
	var targets, rates, skip string
	var side loadtest.SideConfig
	fs.StringVar(&cfg.Binary, "binary", "", "modelwatch executable run as the serve child (default: this executable)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "load duration of each mode (default 10s; with --side-by-side, of each phase, default 5s)")
	fs.IntVar(&cfg.Requests, "requests", 0, "most requests per mode (0: bounded by --duration only)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "concurrent clients (with --side-by-side default 256)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target requests per second, paced open-loop (0: as fast as possible)")
	fs.DurationVar(&cfg.UpstreamLatency, "upstream-latency", 20*time.Millisecond, "fixed latency of the upstream")
	fs.BoolVar(&cfg.UpstreamH2C, "upstream-h2c", false, "the gateway speaks HTTP/2 without TLS to the upstream (unencryptedHTTP2), sharing connections; the floors stay on HTTP/1.1")
	fs.BoolVar(&cfg.Stream, "stream", false, "streamed chat completions; measures time to first token")
	fs.StringVar(&modes, "modes", "", "comma-separated modes: direct, off, local, s3 (default direct,off,local[,s3 when MinIO is installed]; direct,<logging> with --logging)")
	fs.StringVar(&logging, "logging", "", "logging of the gateway: off, local or s3 (the gateway mode when --modes is not given, and the mode of --open-streams)")
	fs.IntVar(&cfg.OpenStreams, "open-streams", 0, "open this many concurrent streams against an upstream that holds them open and measure serve's memory (with --side-by-side default 1000 through every target; 0: none)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&sideBySide, "side-by-side", false, "compare modelwatch with floors: direct, nginx and a bare Go reverse proxy, with vegeta, wrk and the own client (a Markdown report)")
	fs.StringVar(&targets, "targets", "", "--side-by-side: comma-separated targets: direct, nginx, go-proxy, off, local, s3 (default all; s3 when MinIO is installed)")
	fs.StringVar(&rates, "rates", "1000,5000", "--side-by-side: fixed rates of plain calls, one vegeta phase each; the own client runs at the highest")
	fs.Float64Var(&side.StreamRate, "stream-rate", 1000, "--side-by-side: streams per second of the streams phase")
	fs.IntVar(&side.WrkConnections, "wrk-connections", 64, "--side-by-side: wrk -c of the max-throughput phase")
	fs.IntVar(&side.WrkThreads, "wrk-threads", 2, "--side-by-side: wrk -t of the max-throughput phase")
	fs.StringVar(&skip, "skip", "", "--side-by-side: comma-separated tools not to use even when installed: nginx, wrk, vegeta")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if sideBySide {
		if set["modes"] || set["logging"] || set["requests"] || set["rate"] || set["stream"] {
			return fmt.Errorf("--side-by-side takes --targets, --rates and --stream-rate instead of --modes, --logging, --requests, --rate and --stream")
		}
		if err := sideConfig(&side, cfg, set, targets, rates, skip); err != nil {
			return err
		}
		side.Progress = stderr
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		rep, err := loadtest.RunSideBySide(ctx, side)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		return rep.WriteMarkdown(stdout)
	} else if set["targets"] || set["rates"] || set["stream-rate"] || set["wrk-connections"] || set["wrk-threads"] || set["skip"] {
		return fmt.Errorf("--targets, --rates, --stream-rate, --wrk-connections, --wrk-threads and --skip go with --side-by-side")
	}
	switch {
	case modes != "":
		for _, m := range strings.Split(modes, ",") {
			if m = strings.TrimSpace(m); m != "" {
				cfg.Modes = append(cfg.Modes, m)
			}
		}
	case logging != "":
		cfg.Modes = []string{loadtest.ModeDirect, logging}
	case cfg.OpenStreams > 0:
		cfg.Modes = []string{} // only the open-streams measurement
	}
	if cfg.Modes == nil {
		cfg.Modes = loadtest.DefaultModes()
	}
	cfg.OpenStreamsLogging = logging
	if cfg.Concurrency <= 0 {
		return fmt.Errorf("--concurrency must be positive")
	}
	cfg.Progress = stderr
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	for _, m := range rep.Modes {
		if m.Logging != nil && !m.Logging.Complete {
			return fmt.Errorf("mode %s: not every served call was logged exactly once", m.Mode)
		}
	}
	return nil
}

// sideConfig fills side from the flags shared with the classic run (cfg;
// those not set keep the side-by-side defaults) and the side-by-side ones.
func sideConfig(side *loadtest.SideConfig, cfg loadtest.Config, set map[string]bool, targets, rates, skip string) error {
	side.Binary = cfg.Binary
	side.UpstreamH2C = cfg.UpstreamH2C
	side.Duration = cfg.Duration
	if set["concurrency"] {
		if cfg.Concurrency <= 0 {
			return fmt.Errorf("--concurrency must be positive")
		}
		side.Concurrency = cfg.Concurrency
	}
	side.UpstreamLatency = cfg.UpstreamLatency
	switch {
	case !set["open-streams"]:
	case cfg.OpenStreams > 0:
		side.OpenStreams = cfg.OpenStreams
	default:
		side.OpenStreams = -1 // none
	}
	if side.StreamRate <= 0 {
		return fmt.Errorf("--stream-rate must be positive")
	}
	if side.WrkConnections < side.WrkThreads || side.WrkThreads <= 0 {
		return fmt.Errorf("wrk needs at least one thread and as many connections as threads")
	}
	side.Targets = splitList(targets)
	side.Skip = splitList(skip)
	for _, t := range side.Skip {
		if _, ok := loadtest.InstallHints[t]; !ok {
			return fmt.Errorf("--skip %q: want nginx, wrk or vegeta", t)
		}
	}
	side.Rates = nil
	for _, r := range splitList(rates) {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("--rates: %q is not a positive number", r)
		}
		side.Rates = append(side.Rates, v)
	}
	if len(side.Rates) == 0 {
		return fmt.Errorf("--rates: at least one rate")
	}
	return nil
}

// splitList splits a comma-separated flag, dropping empty items; nil when
// there are none.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
