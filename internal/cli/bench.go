package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/modelwatch/modelwatch/internal/loadtest"
)

// bench runs the load harness (package loadtest).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("modelwatch bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadtest.Config
	var modes, logging string
	var asJSON bool
	fs.StringVar(&cfg.Binary, "binary", "", "modelwatch executable run as the serve child (default: this executable)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "load duration of each mode (default 10s)")
	fs.IntVar(&cfg.Requests, "requests", 0, "most requests per mode (0: bounded by --duration only)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "concurrent clients")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target requests per second, paced open-loop (0: as fast as possible)")
	fs.DurationVar(&cfg.UpstreamLatency, "upstream-latency", 20*time.Millisecond, "fixed latency of the upstream")
	fs.BoolVar(&cfg.Stream, "stream", false, "streamed chat completions; measures time to first token")
	fs.StringVar(&modes, "modes", "", "comma-separated modes: direct, off, local, s3 (default direct,off,local[,s3 when MinIO is installed]; direct,<logging> with --logging)")
	fs.StringVar(&logging, "logging", "", "logging of the gateway: off, local or s3 (the gateway mode when --modes is not given, and the mode of --open-streams)")
	fs.IntVar(&cfg.OpenStreams, "open-streams", 0, "open this many concurrent streams against an upstream that holds them open and measure serve's memory")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
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
