package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/modelwatch/modelwatch/internal/cloudtrail"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const auditUsage = `usage:
  modelwatch audit validate [flags]   check the audit trail's digest and log files, as aws cloudtrail validate-logs

Walks the digest files of the audit trail (audit.bucket, audit.prefix of the
configuration, in the configured store) from the newest back along their
chain, verifies each digest's RSA signature with the public key kept in
<data-dir>/cloudtrail and each listed log file's SHA-256, and prints one
tab-separated line per file and a summary. Exits 1 if any file is INVALID.
Run with -h for the flags.
`

// errInvalidFiles makes audit validate exit 1 after its report.
var errInvalidFiles = errors.New("audit trail validation found INVALID files")

// auditMain runs "modelwatch audit" and returns the exit code.
func auditMain(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) == 0 || args[0] != "validate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	err := auditValidate(ctx, args[1:], stdout, stderr, env)
	if errors.Is(err, errInvalidFiles) {
		return 1
	}
	return exitCode(stderr, err)
}

func auditValidate(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("modelwatch audit validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	s.register(fs)
	server := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { server[f.Name] = true })
	var bucket, prefix, store, startS, endS string
	fs.StringVar(&bucket, "bucket", "", "bucket holding the trail (default: audit.bucket, modelwatch-audit)")
	fs.StringVar(&prefix, "prefix", "", "key prefix before AWSLogs/ (default: audit.prefix)")
	fs.StringVar(&store, "store", "", "where the bucket is: auto, s3 or local (default: audit.store, else local)")
	fs.StringVar(&startS, "start", "", "validate digests ending at or after this time (default: 90 days ago); RFC 3339, date, or duration ago (7d)")
	fs.StringVar(&endS, "end", "", "validate digests ending at or before this time (default: now)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: modelwatch audit validate [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
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
	now := time.Now().UTC()
	start, end := now.Add(-cloudtrail.Retention), now
	if startS != "" {
		if start, err = parseWhen(startS, now); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
	}
	if endS != "" {
		if end, err = parseWhen(endS, now); err != nil {
			return fmt.Errorf("--end: %w", err)
		}
	}
	if start.After(end) {
		return errors.New("--start must not be after --end")
	}
	if bucket == "" {
		bucket = cfg.Audit.BucketName()
	}
	if !set["prefix"] {
		prefix = cfg.Audit.Prefix
	}
	mode := cfg.Audit.OutputStore(cfg)
	if store != "" {
		mode = objectstore.Mode(store)
	}
	keys, err := cloudtrail.PublicKeys(filepath.Join(cfg.DataDir, "cloudtrail"))
	if err != nil {
		return fmt.Errorf("%w (the audit trail keeps its digest key in <data-dir>/cloudtrail: is --data-dir the server's?)", err)
	}
	getenv := func(k string) string { v, _ := env(k); return v }
	st, err := objectstore.Open(ctx, mode, cfg.DataDir, cfg.Region, getenv)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	fmt.Fprintf(stdout, "Validating log files for trail %s in %s between %s and %s\n\n",
		trailARN(cfg.Region, cfg.AccountID, cfg.Audit.TrailName), st.Describe(bucket), start.UTC().Format(cloudtrail.TimeFormat), end.UTC().Format(cloudtrail.TimeFormat))
	ok, err := cloudtrail.Validate(ctx, st, bucket, prefix, cfg.AccountID, cfg.Region, start, end, keys, stdout)
	if err != nil {
		if errors.Is(err, objectstore.ErrNoSuchBucket) {
			return fmt.Errorf("bucket %s does not exist (%s store %s); no audit file was delivered there yet? (%w)", bucket, st.Kind(), st.Describe(bucket), err)
		}
		return err
	}
	if !ok {
		return errInvalidFiles
	}
	return nil
}

func trailARN(region, account, name string) string {
	if name == "" {
		name = cloudtrail.DefaultTrailName
	}
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}
