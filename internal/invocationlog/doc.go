// Package invocationlog is Bedrock's model invocation logging for every
// model modelwatch serves: the logging configuration and its store, the
// ModelInvocationLog record built from each Invocation, the durable spool
// every record is written to before the response is released, and the
// delivery of batches to S3 (or the local directory that stands in for it)
// and CloudWatch Logs, and the keeping (UndeliverableDir) and redelivery
// (Redeliver) of records a destination refuses permanently.
//
// Logging costs nothing while it is off: the spool is opened lazily, so no
// segment is created, mapped or prefaulted until a configuration is put
// (Put readies the segments before the first record, so that record makes
// no system call), and once logging is turned off and every destination
// has its records, the spool gives its mappings and spare segment back.
package invocationlog
