package invocationlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/cwlogs"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// RedeliverOptions configure Redeliver.
type RedeliverOptions struct {
	// DataDir is the server's data directory.
	DataDir string
	// Store writes S3 destinations (and large bodies of CloudWatch ones).
	Store objectstore.Store
	// CloudWatch returns the writer for records kept for a log group; nil
	// fails those files.
	CloudWatch func(ctx context.Context) (*cwlogs.Writer, error)
	// Bucket, when set, sends every kept record to this bucket, under
	// Prefix, instead of the destination it was meant for. Records of an
	// unknown configuration generation need it.
	Bucket, Prefix string
	// MaxBatchRecords and MaxBatchBytes bound each object or PutLogEvents
	// call, as the server's settings do.
	MaxBatchRecords, MaxBatchBytes int
	// DryRun reports what would be redelivered and delivers nothing.
	DryRun bool
}

// RedeliverResult is what Redeliver did with one kept file.
type RedeliverResult struct {
	// File is the file's path.
	File string
	// Reason is why its records were kept (an error code, or
	// unknown_generation); From the destination they were meant for; To
	// where Redeliver sent them.
	Reason, From, To string
	// Records is how many records the file held, Delivered how many were
	// delivered now (and removed from the file).
	Records, Delivered int
	// Err is why the rest were not: they stay in the file.
	Err error
}

// Redeliver delivers the records kept in UndeliverableDir, file by file,
// to the destination each was meant for (or to Bucket/Prefix), and removes
// what was delivered; fn receives each file's result. Each file is handled
// under the directory's lock, so it is safe while the server runs. A kept
// batch goes to the same S3 key the server would have written (its batch ID
// derives from the destination and the first record's spool position), so
// running Redeliver again, or after it was interrupted, overwrites instead
// of duplicating; CloudWatch Logs has no such guarantee for a call cut off
// before its answer. Redeliver returns an error when a file could not be
// read or delivered in full.
func Redeliver(ctx context.Context, o RedeliverOptions, fn func(RedeliverResult)) error {
	var override *destination
	if o.Bucket != "" {
		if rule := bucketNameRule(o.Bucket); rule != "" {
			return fmt.Errorf("bucket %q is not a valid S3 bucket name: %s", o.Bucket, rule)
		}
		if rule := keyPrefixRule(o.Prefix); rule != "" {
			return fmt.Errorf("key prefix %s: %s", strconv.Quote(o.Prefix), rule)
		}
		override = &destination{Kind: destS3, Bucket: o.Bucket, Prefix: o.Prefix}
	}
	if o.MaxBatchRecords <= 0 || o.MaxBatchBytes <= 0 {
		return errors.New("invocationlog: Redeliver needs MaxBatchRecords and MaxBatchBytes")
	}
	kept := newKeptStore(o.DataDir)
	names, err := kept.list()
	if err != nil {
		return err
	}
	cw := o.CloudWatch
	if cw == nil {
		cw = func(context.Context) (*cwlogs.Writer, error) { return nil, errors.New("no CloudWatch Logs client") }
	}
	// Account, region and large-data buckets are set per file, from its header.
	snd := newSender(o.Store, cw, newMetrics(nil, nil, nil, time.Now), "", "", nil)
	failed := 0
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := redeliverFile(ctx, kept, name, snd, override, o)
		if r.Records == 0 && err == nil {
			continue // redelivered by someone else meanwhile
		}
		r.File, r.Err = filepath.Join(kept.dir, name), err
		if err != nil {
			failed++
		}
		fn(r)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files of kept records were not redelivered in full", failed, len(names))
	}
	return nil
}

func redeliverFile(ctx context.Context, kept *keptStore, name string, snd *sender, override *destination, o RedeliverOptions) (RedeliverResult, error) {
	var r RedeliverResult
	if !o.DryRun {
		unlock, err := kept.lock(ctx)
		if err != nil {
			return r, err
		}
		defer unlock()
	}
	h, recs, err := kept.read(name)
	if err != nil || h == nil {
		return r, err
	}
	r.Reason, r.Records, r.From = h.Reason, len(recs), "unknown (configuration generation lost)"
	consumer := h.Consumer
	if h.Destination != nil {
		r.From = h.Destination.String()
	} else {
		consumer = reasonUnknownGeneration
	}
	var to destination
	switch {
	case override != nil:
		to = *override
	case h.Destination != nil:
		to = *h.Destination
	default:
		return r, errors.New("where these records were meant to go is unknown: pass --bucket (and --prefix) to deliver them there")
	}
	r.To = to.String()
	if to.Kind == destS3 && LongestKey(to.Prefix, h.AccountID, h.Region) > MaxKeyBytes {
		return r, fmt.Errorf("keys under prefix %q would exceed S3's %d bytes", to.Prefix, MaxKeyBytes)
	}
	if o.DryRun {
		return r, nil
	}
	snd.accountID, snd.region = h.AccountID, h.Region
	snd.largeData = func(gen uint32) *S3Config { return h.LargeData[gen] }
	var left []pending
	var lastErr error
	for _, chunk := range redeliveryChunks(recs, to.Kind == destS3, o.MaxBatchRecords, o.MaxBatchBytes) {
		f := snd.send(ctx, to, batchID(consumer, chunk[0].pos), chunk)
		switch {
		case f == nil:
			r.Delivered += len(chunk)
			continue
		case f.partial != nil:
			for i, p := range chunk {
				if _, ok := f.partial[i]; ok {
					left = append(left, p)
				}
			}
			r.Delivered += len(chunk) - len(f.partial)
		default:
			left = append(left, chunk...)
		}
		lastErr = fmt.Errorf("%s (%s)", f.err, f.code)
	}
	if r.Delivered > 0 {
		if err := kept.write(name, *h, left); err != nil {
			return r, fmt.Errorf("delivered %d records but cannot update the file, so they may be delivered again: %w", r.Delivered, err)
		}
	}
	return r, lastErr
}

// redeliveryChunks splits records into batches as the deliverer's collect
// does: within the limits and, for S3, one UTC hour each. Kept batches
// therefore come back whole, under their original keys.
func redeliveryChunks(recs []pending, byHour bool, maxRecords, maxBytes int) [][]pending {
	var chunks [][]pending
	start, size := 0, 0
	for i, p := range recs {
		if i > start && byHour && !sameHour(recs[start].e.time, p.e.time) {
			chunks = append(chunks, recs[start:i])
			start, size = i, 0
		}
		size += len(p.raw)
		if i+1-start >= maxRecords || size >= maxBytes {
			chunks = append(chunks, recs[start:i+1])
			start, size = i+1, 0
		}
	}
	if start < len(recs) {
		chunks = append(chunks, recs[start:])
	}
	return chunks
}
