// Package asyncinvoke keeps and runs Bedrock's asynchronous invocations
// (StartAsyncInvoke, GetAsyncInvoke, ListAsyncInvokes): today Amazon Nova
// Reel's video generation.
//
// A Job is submitted InProgress and ends Completed or Failed; its record
// is one JSON file under <dataDir>/async-invoke/, rewritten atomically at
// every transition, so jobs outlive the process. A job that was
// InProgress when the server stopped (a restart or a crash) is resumed
// when the Manager opens: generation is deterministic, so running it again
// writes the same output, and the job keeps its ARN and submitTime.
//
// clientRequestToken makes StartAsyncInvoke idempotent as Bedrock's
// idempotency tokens do: the same token with the same request returns the
// job it started, whatever its status; the same token with a different
// request is a ConflictException. Tokens, like the listing, are scoped to
// the account (the server), as Bedrock's are.
//
// At most MaxInProgress jobs run at once per server (default 10, a
// quota in the spirit of Bedrock's per-account one on concurrent jobs);
// one more is refused with ServiceQuotaExceededException.
//
// Output is written where the request asks, <s3Uri>/<job id>/output.mp4,
// with manifest.json for v1:0 and generation-status.json plus
// shot_0001.mp4... for the multi-shot tasks of v1:1, to the object
// store of the asyncInvoke.store setting (S3 or an S3-compatible endpoint,
// or the local stand-in <dataDir>/s3/<bucket>/<key>). A write that fails
// fails the job with a failureMessage.
//
// When a job ends the Manager hands its Invocation (operation
// StartAsyncInvoke, the request's modelInput as input, the output's S3
// location and video length) to the Record callback, so invocation
// logging, metrics and cost see one record per job, stamped with its end.
package asyncinvoke
