package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/logquery"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const logsUsage = `usage:
  modelwatch logs query [flags]       print the logged invocations that match, oldest first
  modelwatch logs tail [flags]        print invocations as their logs are delivered, until interrupted
  modelwatch logs redeliver [flags]   deliver the records kept as undeliverable (see -h)

Reads the S3 destination (s3Config) of the invocation logging configuration
put with PutModelInvocationLoggingConfiguration, in the bucket, or in
<data-dir>/s3/<bucket>/ when the store is local. Prints one record per line,
exactly as stored (unless --resolve). Run with -h for the flags.
`

const logsHelpFooter = `
--since and --until take an RFC 3339 time (2025-03-11T10:00:00Z), a date
(2025-03-11, UTC midnight) or a duration meaning that long ago (90s, 15m,
2h, 7d, 1d12h). --model matches the model ID as called, or the last part of
an ARN (amazon.nova-lite-v1:0 matches the foundation-model ARN).
--principal matches the caller's ARN, its user or session name, or an
assumed role's name.

The server flags (--config, --data-dir, --account-id, --region) are also
read from MODELWATCH_* variables, as for serve; the other flags are not.
`

// logsMain runs "modelwatch logs" and returns the exit code.
func logsMain(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) > 0 && args[0] == "redeliver" {
		return exitCode(stderr, redeliverRun(ctx, args[1:], stdout, stderr, env))
	}
	if len(args) == 0 || (args[0] != "query" && args[0] != "tail") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, logsUsage)
			return 0
		}
		fmt.Fprint(stderr, logsUsage)
		return 2
	}
	return exitCode(stderr, logsRun(ctx, args[0], args[1:], stdout, stderr, env))
}

// logsFlags are the flags of logs query and logs tail besides the server
// settings.
type logsFlags struct {
	bucket, prefix, store    string
	since, until             string
	model, principal, op, id string
	errorCode                string
	errors, resolve          bool
	limit                    int
	poll                     time.Duration
}

func logsRun(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("modelwatch logs "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	s.register(fs)
	server := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { server[f.Name] = true })
	var o logsFlags
	fs.StringVar(&o.bucket, "bucket", "", "bucket to read (default: the configured s3Config.bucketName)")
	fs.StringVar(&o.prefix, "prefix", "", "key prefix before AWSLogs/ (default: the configured s3Config.keyPrefix)")
	fs.StringVar(&o.store, "store", "", "where the bucket is: auto (S3 when AWS configuration is present, else <data-dir>/s3), s3 or local (default: the server's invocationLogging.store, auto)")
	fs.StringVar(&o.since, "since", "", "only invocations at or after this time")
	fs.StringVar(&o.until, "until", "", "only invocations before this time")
	fs.StringVar(&o.model, "model", "", "only this model ID")
	fs.StringVar(&o.principal, "principal", "", "only this caller (ARN, user or session name, role name)")
	fs.StringVar(&o.op, "operation", "", "only this operation (Converse, InvokeModel, ChatCompletions, ...; any case)")
	fs.StringVar(&o.id, "request-id", "", "only this request ID")
	fs.BoolVar(&o.errors, "errors", false, "only failed invocations")
	fs.StringVar(&o.errorCode, "error-code", "", "only invocations that failed with this error code (e.g. ThrottlingException)")
	fs.IntVar(&o.limit, "limit", 0, "stop after this many records (0: no limit)")
	fs.BoolVar(&o.resolve, "resolve", false, "inline bodies offloaded to S3 (inputBodyS3Path, outputBodyS3Path) as inputBodyJson and outputBodyJson")
	if cmd == "tail" {
		fs.DurationVar(&o.poll, "poll", time.Second, "how often to look for new log objects")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: modelwatch logs %s [flags]\n\nflags:\n", cmd)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), logsHelpFooter)
	}
	// Only the server's flags come from MODELWATCH_*: a stray variable must
	// not silently filter the records.
	if err := s.parse(fs, args, env, func(name string) bool { return server[name] }); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg, err := s.load(env)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}

	now := time.Now()
	var f logquery.Filter
	if f.Since, err = parseWhen(o.since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseWhen(o.until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return errors.New("--since must be before --until")
	}
	if o.limit < 0 {
		return errors.New("--limit must not be negative")
	}
	f.ModelID, f.Principal, f.Operation, f.RequestID = o.model, o.principal, o.op, o.id
	f.Errors, f.ErrorCode = o.errors, o.errorCode

	bucket, prefix, err := logsDestination(cfg.DataDir, o, set, stderr)
	if err != nil {
		return err
	}
	getenv := func(k string) string { v, _ := env(k); return v }
	mode := cfg.InvocationLogging.Store
	if o.store != "" {
		mode = objectstore.Mode(o.store)
	}
	store, err := objectstore.Open(ctx, mode, cfg.DataDir, cfg.Region, getenv)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	src := logquery.Source{
		Store:      store,
		Bucket:     bucket,
		LogsPrefix: invocationlog.LogsPrefix(prefix, cfg.AccountID, cfg.Region),
		Warn:       func(err error) { fmt.Fprintf(stderr, "modelwatch: warning: %v\n", err) },
	}

	w := bufio.NewWriter(stdout)
	n := 0
	emit := func(raw []byte, _ *invocationlog.Record) error {
		line := raw
		if o.resolve {
			l, err := src.ResolveLine(ctx, raw)
			if err != nil {
				src.Warn(fmt.Errorf("--resolve: %v", err))
			}
			line = l
		}
		w.Write(line)
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
		if cmd == "tail" {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if n++; o.limit > 0 && n >= o.limit {
			return logquery.Stop
		}
		return nil
	}
	if cmd == "tail" {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = src.Tail(ctx, f, o.poll, emit)
	} else {
		err = src.Query(ctx, f, emit)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, objectstore.ErrNoSuchBucket) {
		return fmt.Errorf("bucket %s does not exist (%s store %s); no invocation log was delivered there yet? (%w)", bucket, store.Kind(), store.Describe(bucket), err)
	}
	return err
}

// logsDestination returns the bucket and key prefix to read: the flags, or
// the S3 destination of the logging configuration under dataDir.
func logsDestination(dataDir string, o logsFlags, set map[string]bool, stderr io.Writer) (bucket, prefix string, err error) {
	cs, err := invocationlog.OpenConfigStore(dataDir)
	if err != nil {
		return "", "", err
	}
	g := cs.Current()
	var s3c *invocationlog.S3Config
	switch {
	case g.Config != nil && g.Config.S3Config != nil:
		s3c = g.Config.S3Config
	case o.bucket != "":
	case g.Config != nil: // CloudWatch Logs only
		cw := g.Config.CloudWatchConfig
		return "", "", fmt.Errorf("invocation logs are delivered to CloudWatch Logs (log group %s, stream %s), not to S3: read them with `aws logs tail %s --follow` or CloudWatch Logs Insights, or pass --bucket",
			cw.LogGroupName, invocationlog.LogStream, cw.LogGroupName)
	case g.Number > 0: // deleted: the last S3 destination still holds the logs
		gens := cs.Generations()
		for i := len(gens) - 1; i >= 0 && s3c == nil; i-- {
			if c := gens[i].Config; c != nil && c.S3Config != nil {
				s3c = c.S3Config
			}
		}
		if s3c == nil {
			return "", "", errors.New("invocation logging is turned off (its configuration was deleted) and no earlier S3 destination is known: pass --bucket")
		}
		fmt.Fprintf(stderr, "modelwatch: invocation logging is turned off; reading its last S3 destination, bucket %s\n", s3c.BucketName)
	default:
		return "", "", errors.New("invocation logging is not configured: put a configuration with PutModelInvocationLoggingConfiguration (see README) or pass --bucket")
	}
	if s3c != nil {
		bucket, prefix = s3c.BucketName, s3c.KeyPrefix
	}
	if o.bucket != "" {
		bucket = o.bucket
	}
	if set["prefix"] {
		prefix = o.prefix
	}
	return bucket, prefix, nil
}

// parseWhen reads a --since or --until value: an RFC 3339 time, a date
// (UTC midnight), or a duration before now with d for days ("" is zero).
func parseWhen(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if d, ok := parseAgo(v); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2025-03-11T10:00:00Z), a date (2025-03-11) nor a duration ago (15m, 2h, 7d)", v)
}

// parseAgo parses a non-negative duration that may start with whole days
// ("7d", "1d12h").
func parseAgo(v string) (time.Duration, bool) {
	var days time.Duration
	if i := strings.IndexByte(v, 'd'); i >= 0 {
		n, err := strconv.ParseUint(v[:i], 10, 16)
		if err != nil {
			return 0, false
		}
		days, v = time.Duration(n)*24*time.Hour, v[i+1:]
		if v == "" {
			return days, true
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return days + d, true
}
