// Package invocationlog is Bedrock's model invocation logging for every
// model modelwatch serves: the logging configuration and its store, the
// ModelInvocationLog record built from each Invocation, the durable spool
// every record is written to before the response is released, and the
// delivery of batches to S3 (or the local directory that stands in for it)
// and CloudWatch Logs, and the keeping (UndeliverableDir) and redelivery
// (Redeliver) of records a destination refuses permanently.
package invocationlog
