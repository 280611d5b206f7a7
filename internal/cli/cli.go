package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

// Version is the release version, set with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// Env is how the CLI reads the environment (os.LookupEnv in production).
type Env func(name string) (string, bool)

const usage = `modelwatch — the Amazon Bedrock runtime API, invocation logging and metrics for any model.

Usage:
  modelwatch serve [flags]            run the server (see modelwatch serve -h)
  modelwatch config validate [flags]  check a configuration and print a summary
  modelwatch logs query [flags]       print logged invocations (filters: see modelwatch logs query -h)
  modelwatch logs tail [flags]        follow invocations as they are logged
  modelwatch logs redeliver [flags]   deliver the log records kept as undeliverable
  modelwatch dashboard export --format cloudwatch|grafana
                                      print the dashboard for CloudWatch or Grafana
  modelwatch policy simulate --principal P --action A [--resource R]
                                      evaluate a principal's IAM policies as IAM's policy simulator does
  modelwatch audit validate [flags]   check the audit trail's log and digest files (as aws cloudtrail validate-logs)
  modelwatch alarms export --format cloudwatch|prometheus
                                      print the alarms as PutMetricAlarm JSON or a Prometheus rule file
  modelwatch cluster push|status      publish the file's principals, policies, quotas, budgets and alarms
                                      to every replica; show replicas, leaders and shared versions
  modelwatch bench [flags]            measure the gateway's overhead under load (see modelwatch bench -h)
  modelwatch version                  print the version

Every flag is also read from the environment as MODELWATCH_<FLAG> (for
example --data-dir as MODELWATCH_DATA_DIR).
`

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr, env)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "modelwatch %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "config":
		if len(args) < 2 || args[1] != "validate" {
			fmt.Fprint(stderr, "usage: modelwatch config validate [--config FILE]\n")
			return 2
		}
		err = validate(args[2:], stdout, stderr, env)
	case "logs":
		return logsMain(ctx, args[1:], stdout, stderr, env)
	case "dashboard":
		return dashboardMain(args[1:], stdout, stderr, env)
	case "policy":
		return policyMain(args[1:], stdout, stderr, env)
	case "audit":
		return auditMain(ctx, args[1:], stdout, stderr, env)
	case "alarms":
		return alarmsMain(args[1:], stdout, stderr, env)
	case "cluster":
		return clusterMain(ctx, args[1:], stdout, stderr, env)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "modelwatch: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return exitCode(stderr, err)
}

// exitCode reports err and maps it to the process exit code.
func exitCode(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "modelwatch: %v\n", err)
		return 1
	}
	return 0
}

func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// settings are the flags shared by serve and config validate.
type settings struct {
	config, listen, dataDir, accountID, region, logLevel, logFormat, tlsCert, tlsKey string
}

func (s *settings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "YAML configuration file applied on top of the embedded defaults")
	fs.StringVar(&s.listen, "listen", "", "listen address (default 127.0.0.1:4600)")
	fs.StringVar(&s.dataDir, "data-dir", "", "directory for all state of the embedded defaults, created if missing (default ./modelwatch-data)")
	fs.StringVar(&s.accountID, "account-id", "", "AWS account ID used in identities, ARNs and logs (default 000000000000)")
	fs.StringVar(&s.region, "region", "", "AWS region served (default $AWS_REGION, else us-east-1)")
	fs.StringVar(&s.logLevel, "log-level", "", "server log level: debug, info, warn, error (default info)")
	fs.StringVar(&s.logFormat, "log-format", "", "server log format: text or json (default text)")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM); needs --tls-key")
	fs.StringVar(&s.tlsKey, "tls-key", "", "private key (PEM) for --tls-cert")
}

// parse reads flags, filling unset ones from MODELWATCH_* variables. With
// a non-nil fromEnv, only the flags it accepts are read from the
// environment.
func (s *settings) parse(fs *flag.FlagSet, args []string, env Env, fromEnv func(name string) bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || (fromEnv != nil && !fromEnv(f.Name)) {
			return
		}
		name := "MODELWATCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env(name); ok && v != "" {
			if e := f.Value.Set(v); e != nil && err == nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

// load builds the configuration: defaults, then AWS_REGION, then the file,
// then flags and MODELWATCH_* variables.
func (s *settings) load(env Env) (*config.Config, error) {
	cfg := config.Default()
	if r, ok := env("AWS_REGION"); ok && r != "" {
		cfg.Region = r
	}
	if s.config != "" {
		fileCfg, err := config.LoadOnto(cfg, s.config)
		if err != nil {
			return nil, err
		}
		cfg = fileCfg
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{
		{s.listen, &cfg.Listen}, {s.dataDir, &cfg.DataDir}, {s.accountID, &cfg.AccountID}, {s.region, &cfg.Region},
		{s.logLevel, &cfg.Log.Level}, {s.logFormat, &cfg.Log.Format}, {s.tlsCert, &cfg.TLS.CertFile}, {s.tlsKey, &cfg.TLS.KeyFile},
	} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	return cfg, nil
}

// loadConfig parses a command's flags and returns the validated
// configuration they describe.
func loadConfig(command string, args []string, stderr io.Writer, env Env) (*config.Config, error) {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	s.register(fs)
	if err := s.parse(fs, args, env, nil); err != nil {
		return nil, err
	}
	cfg, err := s.load(env)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer, env Env) error {
	cfg, err := loadConfig("modelwatch serve", args, stderr, env)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	srv, err := server.New(cfg, server.Options{Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the configuration file: principals, policies,
	// quotas, budgets and alarms apply at once, or not at all.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				next, err := loadConfig("modelwatch serve", args, io.Discard, env)
				if err == nil {
					err = srv.Reload(next)
				}
				if err != nil {
					log.Error("configuration not reloaded; the server keeps its previous configuration", "error", err)
				}
			}
		}
	}()
	return srv.Run(ctx)
}

func validate(args []string, stdout, stderr io.Writer, env Env) error {
	cfg, err := loadConfig("modelwatch config validate", args, stderr, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "configuration is valid: listen %s, region %s, account %s, %d providers, %d models, %d principals\n",
		cfg.Listen, cfg.Region, cfg.AccountID, len(cfg.Providers), len(cfg.Models), len(cfg.Auth.Principals))
	if !cfg.Loopback() && len(cfg.Auth.Principals) == 0 {
		return fmt.Errorf("listen %s is not a loopback address and no principal is configured: serve would refuse to start", cfg.Listen)
	}
	return nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
