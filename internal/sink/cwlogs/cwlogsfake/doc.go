// Package cwlogsfake is an in-process fake of the Amazon CloudWatch Logs
// service for tests. It speaks the service's real wire protocol, so the
// official AWS SDK for Go v2 client (service/cloudwatchlogs) can be pointed at
// it unchanged, either directly ([Server.Client]) or through the SDK's standard
// configuration chain ([Server.Env], [Server.SetEnv]).
//
// # Protocol
//
// Where each behaviour comes from:
//
//   - Transport: the awsJson1_1 protocol (Smithy "aws.protocols#awsJson1_1"):
//     every operation is an HTTP POST to "/" with the header
//     "X-Amz-Target: Logs_20140328.<Operation>" and
//     "Content-Type: application/x-amz-json-1.1"; request and response bodies
//     are JSON objects whose keys are the API reference member names
//     (logGroupName, logEvents, timestamp, message, rejectedLogEventsInfo...).
//     Timestamps are integers: milliseconds since the Unix epoch.
//   - Errors: HTTP 400 (client faults) or 5xx (server faults) with the header
//     "x-amzn-ErrorType: <Code>" and the body {"__type":"<Code>","message":"..."}.
//     The SDK resolves the code from the header (then __type) and decodes it
//     into the typed error (types.ResourceNotFoundException, ...).
//   - Authentication: requests must be signed with AWS Signature Version 4 for
//     the signing name "logs"; the fake checks the shape of the Authorization
//     header (AWS4-HMAC-SHA256, Credential=<key>/<date>/<region>/logs/aws4_request,
//     SignedHeaders, Signature) and X-Amz-Date, not the signature itself.
//   - Operations (CloudWatch Logs API Reference, API version 2014-03-28):
//     CreateLogGroup, CreateLogStream (ResourceAlreadyExistsException when the
//     resource exists, ResourceNotFoundException when the group is missing),
//     DescribeLogStreams (prefix, limit, nextToken), PutLogEvents,
//     GetLogEvents (startFromHead, startTime/endTime, limit, forward/backward
//     tokens) and FilterLogEvents (logGroupName/logGroupIdentifier,
//     logStreamNames, logStreamNamePrefix, startTime/endTime, limit, nextToken;
//     filterPattern only as plain terms that must all occur in the message).
//   - PutLogEvents constraints, from the PutLogEvents API reference
//     (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html)
//     and the messages the service returns for them (as quoted in SDK issue
//     trackers): at least 1 and at most 10,000 events; a non-empty message per
//     event; a batch of at most 1,048,576 bytes counted as the UTF-8 message
//     sizes plus 26 bytes per event ("Upload too large: N bytes exceeds limit
//     of 1048576"); an event of at most 1 MB including the 26 bytes
//     ("Log event too large: N bytes exceeds limit of L"; the limit was 256 KB
//     until April 2025 and can be set with [Server.SetEventSizeLimit]); events
//     in chronological order ("Log events in a single PutLogEvents request must
//     be in chronological order."); the valid events of a batch spanning at most
//     24 hours; a missing group or stream is a ResourceNotFoundException
//     ("The specified log group does not exist." / "The specified log stream
//     does not exist."). Each of these is answered with an
//     InvalidParameterException (HTTP 400) and recorded in [Server.Violations].
//   - Events more than 14 days old or more than 2 hours in the future are not
//     an error: they are dropped and reported in the response's
//     rejectedLogEventsInfo (tooOldLogEventEndIndex, exclusive;
//     tooNewLogEventStartIndex, inclusive) while the rest are stored.
//   - Sequence tokens have been ignored by the service since January 2023; the
//     fake ignores them too, but records a (non-error) violation when a client
//     still sends one.
//
// # Faults
//
// [Server.FailNext] answers the next n requests with a given error code and
// HTTP status (ThrottlingException/400, ServiceUnavailableException/500, ...).
// [Server.SetDown] makes the server drop every connection without a response,
// which the SDK reports as a transport error.
package cwlogsfake
