package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/dashboard"
)

const dashboardUsage = `usage:
  modelwatch dashboard export --format cloudwatch|grafana [--config FILE] [--region R]

Prints the dashboard built from the configuration (the catalog's models and
its dashboard section) to stdout:
  cloudwatch  a CloudWatch dashboard body on namespace AWS/Bedrock, for
              aws cloudwatch put-dashboard --dashboard-body file://...
  grafana     a Grafana dashboard JSON model on the Prometheus metric names,
              for Dashboards > Import (asks for the Prometheus data source)
`

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

// dashboardMain runs "modelwatch dashboard" and returns the exit code.
func dashboardMain(args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) > 0 && slices.Contains([]string{"-h", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, dashboardUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, dashboardUsage)
		return 2
	}
	err := dashboardExport(args[1:], stdout, stderr, env)
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "modelwatch dashboard export: %v\n\n%s", err, dashboardUsage)
		return 2
	}
	return exitCode(stderr, err)
}

func dashboardExport(args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("modelwatch dashboard export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.StringVar(&s.config, "config", "", "YAML configuration file applied on top of the embedded defaults")
	fs.StringVar(&s.region, "region", "", "AWS region of the CloudWatch widgets (default: the configuration's region: $AWS_REGION, else us-east-1)")
	format := fs.String("format", "", "output format: cloudwatch or grafana (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), dashboardUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	// --config and --region also come from MODELWATCH_CONFIG and
	// MODELWATCH_REGION, as for serve; --format never does.
	if err := s.parse(fs, args, env, func(name string) bool { return name != "format" }); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *format != "cloudwatch" && *format != "grafana" {
		return fmt.Errorf("%w: --format must be cloudwatch or grafana, not %q", errUsage, *format)
	}
	cfg, err := s.load(env)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	d, err := dashboardFor(cfg)
	if err != nil {
		return err
	}
	var out []byte
	if *format == "cloudwatch" {
		if cfg.Dashboard.Models == nil {
			// Every catalog model by default: as many model views as
			// CloudWatch's widget limit allows, and say which are left out.
			var dropped []string
			out, dropped, err = dashboard.CloudWatchFitting(d, cfg.Region)
			if len(dropped) > 0 {
				fmt.Fprintf(stderr, "modelwatch: CloudWatch allows %d widgets per dashboard: the per-model views of %d of the %d catalog models are left out (%s); list the models you want under dashboard.models\n",
					500, len(dropped), len(cfg.Models), strings.Join(dropped, ", "))
			}
		} else {
			out, err = dashboard.CloudWatch(d, cfg.Region)
		}
	} else {
		out, err = dashboard.Grafana(d)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// dashboardFor builds the dashboard of a configuration: its catalog, its
// dashboard spec and its price list (the embedded one with the
// configuration's overrides), exactly as serve draws it.
func dashboardFor(cfg *config.Config) (*dashboard.Dashboard, error) {
	prices, err := cost.Load(cfg.Prices)
	if err != nil {
		return nil, err
	}
	d, err := dashboard.ForConfig(cfg.Dashboard, cfg.CatalogModels(), prices)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}
