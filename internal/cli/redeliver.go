package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

const redeliverHelpFooter = `
Delivers the invocation log records kept in <data-dir>/` + invocationlog.UndeliverableDir + `
(records a destination refused permanently — a deleted bucket, a key too long,
access denied — and records whose configuration generation is unknown) to the
destination they were meant for, once it is fixed, or, with --bucket, to that
bucket under --prefix. What is delivered is removed; the rest stays and the
command exits with status 1. A kept batch goes to the S3 key the server would
have written, so running the command again never duplicates records in S3.

It works whether the server runs or not: each file is taken under the
directory's lock. It writes with the AWS configuration of its own
environment, as logs query reads with it.
`

// redeliverRun runs "modelwatch logs redeliver".
func redeliverRun(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	fs := flag.NewFlagSet("modelwatch logs redeliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	s.register(fs)
	server := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { server[f.Name] = true })
	var bucket, prefix, store string
	var dryRun bool
	fs.StringVar(&bucket, "bucket", "", "deliver every kept record to this bucket instead of where it was meant to go")
	fs.StringVar(&prefix, "prefix", "", "key prefix before AWSLogs/ in --bucket")
	fs.StringVar(&store, "store", "", "where buckets are: auto, s3 or local (default: the server's invocationLogging.store)")
	fs.BoolVar(&dryRun, "dry-run", false, "list what would be redelivered, deliver nothing")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: modelwatch logs redeliver [flags]\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), redeliverHelpFooter)
	}
	if err := s.parse(fs, args, env, func(name string) bool { return server[name] }); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["prefix"] && bucket == "" {
		return errors.New("--prefix needs --bucket")
	}
	cfg, err := s.load(env)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	mode := cfg.InvocationLogging.Store
	if store != "" {
		mode = objectstore.Mode(store)
	}
	getenv := func(k string) string { v, _ := env(k); return v }
	st, err := objectstore.Open(ctx, mode, cfg.DataDir, cfg.Region, getenv)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	var (
		cwOnce sync.Once
		cw     *cwlogs.Writer
		cwErr  error
	)
	o := invocationlog.RedeliverOptions{
		DataDir: cfg.DataDir, Store: st, Bucket: bucket, Prefix: prefix, DryRun: dryRun,
		MaxBatchRecords: cfg.InvocationLogging.MaxBatchRecords, MaxBatchBytes: cfg.InvocationLogging.MaxBatchBytes,
		CloudWatch: func(ctx context.Context) (*cwlogs.Writer, error) {
			cwOnce.Do(func() {
				client, err := cwlogs.Load(ctx, cfg.Region)
				if cwErr = err; err == nil {
					cw = cwlogs.New(cwlogs.Options{Client: client})
				}
			})
			return cw, cwErr
		},
	}
	var nFiles, records, delivered, left, leftFiles int
	err = invocationlog.Redeliver(ctx, o, func(r invocationlog.RedeliverResult) {
		nFiles++
		records += r.Records
		delivered += r.Delivered
		switch {
		case dryRun && r.Err == nil:
			fmt.Fprintf(stdout, "would redeliver %d records kept for %s (%s) to %s: %s\n", r.Records, r.From, r.Reason, r.To, r.File)
		case r.Err == nil:
			fmt.Fprintf(stdout, "redelivered %d records kept for %s (%s) to %s\n", r.Delivered, r.From, r.Reason, r.To)
		default:
			left += r.Records - r.Delivered
			leftFiles++
			to := r.To
			if to == "" {
				to = "nowhere"
			}
			fmt.Fprintf(stderr, "modelwatch: %s: %d of %d records kept for %s (%s) redelivered to %s: %v\n",
				r.File, r.Delivered, r.Records, r.From, r.Reason, to, r.Err)
		}
	})
	switch {
	case nFiles == 0 && err == nil:
		fmt.Fprintln(stdout, "no kept invocation log records to redeliver")
	case dryRun:
		fmt.Fprintf(stdout, "%d records in %s\n", records, files(nFiles))
	default:
		fmt.Fprintf(stdout, "redelivered %d records; %d records in %s remain\n", delivered, left, files(leftFiles))
	}
	return err
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
