package invocationlog

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/spool"
)

// Destinations as the delivery metric labels them, after Bedrock's
// ModelInvocationLogs{S3,CloudWatch}Delivery* and
// ModelInvocationLargeDataS3Delivery* metrics.
const (
	destS3         = "s3"
	destCloudWatch = "cloudwatch"
	destLargeData  = "large_data_s3"
	// destUnknown labels records whose destination is unknown (their
	// configuration generation is).
	destUnknown = "unknown"
)

type metrics struct {
	// delivered counts records (and offloaded bodies, for large_data_s3)
	// per destination and result; a failed attempt counts every record it
	// carried, and the retry counts them again.
	delivered *prometheus.CounterVec
	spooled   prometheus.Counter
	dropped   *prometheus.CounterVec
	rejected  prometheus.Counter
	omitted   *prometheus.CounterVec
	batches   *prometheus.CounterVec
	// undeliverable counts records kept in UndeliverableDir, by
	// destination kind and reason (error code or unknown_generation).
	undeliverable *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, sp *spool.Spool, kept *keptStore, now func() time.Time) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bedrock_model_invocation_logs_delivery_total",
			Help: "Invocation log records (large_data_s3: offloaded bodies) delivered or failed, by destination; Bedrock's ModelInvocationLogs*Delivery{Success,Failure}.",
		}, []string{"destination", "result"}),
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_records_total",
			Help: "Invocation log records written to the spool.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_records_dropped_total",
			Help: "Invocation log records that could not be written to the spool and are lost, by reason.",
		}, []string{"reason"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_calls_rejected_total",
			Help: "Calls refused with ServiceUnavailableException because the spool was full (spool.onFull: reject).",
		}),
		omitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_bodies_omitted_total",
			Help: "Bodies left out of a CloudWatch Logs record because they exceed 100 KB and no largeDataDeliveryS3Config is set.",
		}, []string{"destination"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_batches_total",
			Help: "Delivery attempts of record batches (S3 objects, PutLogEvents batches), by destination and result.",
		}, []string{"destination", "result"}),
		undeliverable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_records_undeliverable_total",
			Help: "Invocation log records their destination refused permanently (or whose configuration generation is unknown), kept in " + UndeliverableDir + " for `modelwatch logs redeliver`, by destination and reason.",
		}, []string{"destination", "reason"}),
	}
	for _, d := range []string{destS3, destCloudWatch, destLargeData} {
		for _, r := range []string{"success", "failure"} {
			m.delivered.WithLabelValues(d, r)
		}
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.delivered, m.spooled, m.dropped, m.rejected, m.omitted, m.batches, m.undeliverable,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_invocation_log_undeliverable_records",
			Help: "Invocation log records held in " + UndeliverableDir + ", waiting for `modelwatch logs redeliver`.",
		}, func() float64 { _, n := kept.held(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_invocation_log_spool_bytes",
			Help: "Bytes of spool segment files on disk.",
		}, func() float64 { return float64(sp.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_invocation_log_spool_pending_records",
			Help: "Records in the spool not yet delivered to every destination.",
		}, func() float64 { return float64(sp.Stats().PendingRecords) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_invocation_log_spool_oldest_age_seconds",
			Help: "Age of the oldest record not yet delivered to every destination (0 when none).",
		}, func() float64 {
			if t := sp.Stats().Oldest; !t.IsZero() {
				return now().Sub(t).Seconds()
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_invocation_log_spool_full",
			Help: "1 while the spool's disk budget (or the disk) is exhausted.",
		}, func() float64 {
			if sp.Full() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "modelwatch_invocation_log_spool_torn_records_total",
			Help: "Records found torn (checksum mismatch, length intact) in the spool since start, at recovery or while reading: a crash mid-write or damage; each is one record lost and logged.",
		}, func() float64 { return float64(sp.Stats().Torn) }),
	)
	// What recovery and reading could not read, counted so that no loss
	// is silent (each is also logged by the spool).
	for _, c := range []struct {
		name, help string
		value      func(spool.Stats) uint64
	}{
		{"modelwatch_invocation_log_spool_corrupt_ranges_total",
			"Byte ranges of the spool skipped since start because no valid record could be found in them (records in them are lost; each range is logged).",
			func(st spool.Stats) uint64 { return st.CorruptRanges }},
		{"modelwatch_invocation_log_spool_corrupt_bytes_total",
			"Bytes in the ranges counted by modelwatch_invocation_log_spool_corrupt_ranges_total.",
			func(st spool.Stats) uint64 { return st.CorruptBytes }},
		{"modelwatch_invocation_log_spool_truncated_segments_total",
			"Spool segment files found shorter than they were created, at start (the records past the cut are lost; each is logged).",
			func(st spool.Stats) uint64 { return st.TruncatedSegments }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(c.value(sp.Stats())) }))
	}
	return m
}
