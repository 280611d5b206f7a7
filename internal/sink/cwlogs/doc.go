// Package cwlogs delivers invocation log records to Amazon CloudWatch Logs
// with PutLogEvents, the CloudWatch Logs destination of model invocation
// logging.
//
// A [Writer] takes events in any order, sorts them by timestamp and splits them
// into PutLogEvents calls that respect every documented limit of the API
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
// at most [MaxBatchEvents] events and [MaxBatchBytes] bytes (UTF-8 message
// size plus [EventOverhead] per event) per call, events in chronological
// order, a batch spanning less than [MaxBatchSpan], and no message larger than
// [MaxEventBytes]. Missing log streams (and groups) are created on
// ResourceNotFoundException; throttling, service-unavailable and transport
// errors are retried with jittered exponential backoff until the context ends.
// Sequence tokens are not used (the service has ignored them since 2023).
// What Put could not deliver it reports as an [UndeliveredError] (the events
// of the failed call and after) and a [RejectedError] (events refused one by
// one); [Classify] says whether retrying later can help.
//
// The SDK client's own retries are disabled per call (RetryMaxAttempts 1) so
// the Writer's loop alone decides what is retried and for how long; [Load]
// builds a client through the standard AWS configuration chain.
package cwlogs
