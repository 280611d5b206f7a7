package invocationlog

import (
	"context"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/spool"
)

// discardStore is an object store that keeps nothing: what is measured is
// the rendering of a batch, not a disk.
type discardStore struct{ objectstore.Store }

func (discardStore) Put(context.Context, string, string, []byte, objectstore.Meta) error { return nil }

// BenchmarkSendS3 measures delivery's share of the pipeline without the
// spool: rendering 1,000 records of 2 KB request bodies (each body compacted
// and spliced into its record line) and gzipping them into one batch
// object. One op is one batch.
func BenchmarkSendS3(b *testing.B) {
	cfg := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}}
	batch := make([]pending, 1000)
	for i := range batch {
		inv := bigInvocation(i)
		inv.Output.Data = testInvocation().Output.Data
		raw, err := encodeEntry(nil, 1, cfg, "000000000000", "us-east-1", inv)
		if err != nil {
			b.Fatal(err)
		}
		e, err := decodeEntry(raw)
		if err != nil {
			b.Fatal(err)
		}
		batch[i] = pending{e: e, pos: spool.Pos{Seg: 1, Off: int64(16 + i*4096)}, raw: raw}
	}
	snd := newSender(discardStore{}, nil, newMetrics(nil, nil, nil, time.Now), "000000000000", "us-east-1", nil)
	d := destination{Kind: destS3, Bucket: "logs"}
	b.ReportAllocs()
	for b.Loop() {
		if f := snd.send(context.Background(), d, "batch", batch); f != nil {
			b.Fatal(f.err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}
