package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/modelwatch/modelwatch/internal/alarm"
)

const alarmsUsage = `usage: modelwatch alarms export --format cloudwatch|prometheus [--config FILE]

Prints the configured alarms for another monitoring system:

  cloudwatch   a JSON array of PutMetricAlarm inputs (aws cloudwatch
               put-metric-alarm --cli-input-json takes each element); alarms
               written as PromQL (expr) have no CloudWatch form and are
               named on stderr
  prometheus   a Prometheus rule file (promtool check rules passes on it)
`

// alarmsMain runs "modelwatch alarms ...".
func alarmsMain(args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) > 0 && slices.Contains([]string{"-h", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, alarmsUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, alarmsUsage)
		return 2
	}
	err := alarmsExport(args[1:], stdout, stderr, env)
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "modelwatch alarms export: %v\n\n%s", err, alarmsUsage)
		return 2
	}
	return exitCode(stderr, err)
}

func alarmsExport(args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("modelwatch alarms export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.StringVar(&s.config, "config", "", "YAML configuration file applied on top of the embedded defaults")
	format := fs.String("format", "", "output format: cloudwatch or prometheus (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), alarmsUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := s.parse(fs, args, env, func(name string) bool { return name == "config" }); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg, err := s.load(env)
	if err != nil {
		return err
	}
	switch *format {
	case "cloudwatch":
		out, skipped, err := alarm.PutMetricAlarmJSON(cfg.Alarms, cfg.AccountID, cfg.Region)
		if err != nil {
			return err
		}
		for _, s := range skipped {
			fmt.Fprintf(stderr, "not exported: %s\n", s)
		}
		_, err = stdout.Write(out)
		return err
	case "prometheus":
		out, err := alarm.PrometheusRules(cfg.Alarms)
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	}
	return fmt.Errorf("%w: --format must be cloudwatch or prometheus, not %q", errUsage, *format)
}
