// Package loadtest is the load harness behind `modelwatch bench`: it proves
// the gateway's overhead and memory with real proxying and logging on.
//
// Run starts an in-process OpenAI-compatible upstream on 127.0.0.1 that
// answers /v1/chat/completions (JSON and server-sent events) after a fixed
// latency with a fixed small body, then, for each mode, drives the same load
// over loopback:
//
//   - direct: straight at the upstream, the baseline;
//   - off, local, s3: at `modelwatch serve` run as a child process (the
//     binary in Config.Binary) with a provider of type openai pointing at the
//     upstream, invocation logging off, to the local stand-in bucket, or to S3
//     on a MinIO started through package minio. Logging is switched on
//     with PutModelInvocationLoggingConfiguration, as a user would.
//
// Each mode reports requests, errors by status, throughput, latency
// percentiles (exact, from bounded reservoirs of samples), the latency added
// by the gateway at each percentile (gateway percentile minus direct
// percentile), time to first token for streams, the serve child's peak and
// final resident memory (VmHWM, VmRSS), and for logging modes the records
// read back from the store: every request ID the gateway answered must be
// logged exactly once.
//
// Decisions:
//
//   - With Config.Rate set, load is open-loop: request i is due at
//     start + i/rate and its latency is measured from that due time, so a
//     stalled gateway shows as latency instead of being hidden by coordinated
//     omission. Without it each of Config.Concurrency workers sends its next
//     request when the previous one ends.
//   - Each gateway mode gets a fresh child and data directory, so memory and
//     logs of one mode do not leak into the next.
//   - Config.OpenStreams opens that many concurrent streams against an
//     upstream that holds them open (a token per second), measures the
//     child's resident memory with all of them open, then closes them.
//   - Nothing here asserts performance; the numbers are reported.
//
// RunSideBySide (`modelwatch bench --side-by-side`, issue 15) puts the
// gateway beside floors: the same upstream reached directly, through
// Debian's nginx (a generated configuration, run in the foreground with
// -p and -c), through a bare httputil.ReverseProxy run as a child of its
// own (the hidden `modelwatch bench --reverse-proxy-child URL`,
// ServeReverseProxy), and through modelwatch with logging off, local and
// S3. One upstream serves every phase; the model a body names picks its
// behaviour (bench-model: the configured latency, 17-chunk streams;
// bench-model-fast: no latency; bench-model-hold: streams held open), so
// each target is started once. For each target it reads the idle RSS, the
// RSS delta of streams held open, and the CPU time (utime+stime of
// /proc/PID/stat, nginx's master and workers summed) of its processes
// around each phase: the own client at fixed rates for plain calls and
// streams, vegeta at each fixed rate, and wrk flat out against the
// upstream without latency. Missing tools skip their phases with a note;
// nothing is estimated. The report leads with modelwatch's ratios to the
// floors and checks issue 15's targets.
package loadtest
