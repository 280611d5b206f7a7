// Package cloudtrail is modelwatch's audit trail in AWS CloudTrail's exact
// format: every call becomes a CloudTrail record (Event, eventVersion
// 1.09, eventSource bedrock.amazonaws.com) that is spooled durably, then
// delivered as gzip log files under CloudTrail's key layout
// (<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…json.gz),
// with log file integrity validation (signed, chained digest files under
// …/CloudTrail-Digest/…), a validator equivalent to `aws cloudtrail
// validate-logs` (Validate), and CloudTrail's LookupEvents and
// ListPublicKeys JSON 1.1 API (Trail.Handler).
//
// # Decisions
//
//   - Record path: Record marshals the event and appends it to the trail's
//     own spool (internal/spool, in Options.Dir/spool): no system call in
//     the common case, durable against kill -9 once Record returns. A full
//     spool drops the event, counts it in
//     modelwatch_audit_events_dropped_total and logs it (at most once a
//     second): the request is never held up by auditing.
//   - Delivery: one goroutine delivers every Options.DeliveryInterval all
//     pending events, in log files of at most 10,000 events or 16 MiB. The
//     file's key (delivery time, 16 random characters) is recorded as an
//     intent with the spool cursor before the Put; the cursor moves past
//     the events only after the Put succeeded, in the same atomic cursor
//     commit that adds the file to the digest window. A crash in between
//     puts the same events under the same key again, so no event is lost
//     and none is duplicated by a restart. Store errors are retried with
//     jittered exponential backoff (Options.RetryMin..RetryMax) for as
//     long as they last.
//   - Digests: every Options.DigestInterval, and at Close, a digest lists
//     the log files delivered since the previous one ("logFiles":[] when
//     none), chained to it (previousDigest*; all null only for the first
//     digest of the trail's Dir: the chain head is kept in the cursor
//     state, so restarts continue the chain). Digest end times are whole
//     seconds and strictly increasing (Close waits up to a second for
//     that). The signature (RSASSA-PKCS1-v1_5, SHA-256, over
//     SigningString) is hex in the user metadata "signature", with
//     "signature-algorithm: SHA256withRSA". A crash between a digest's Put
//     and the commit leaves an unchained digest object that the next one
//     does not point to; validation reports it valid (it is signed) and
//     the chain continues with the next older digest listed.
//   - Key: an RSA-2048 key generated on first Open, PEM PKCS #1 in
//     Dir/digest-key.pem (mode 0600), never rotated.
//     digestPublicKeyFingerprint is the hex MD5 of the DER PKCS #1 public
//     key (32 hex digits, CloudTrail's shape; AWS does not document how it
//     computes it). ListPublicKeys returns that DER as Value.
//   - Identity: a user ARN (arn:aws:iam::ACCT:user/NAME) is IAMUser, an
//     assumed-role ARN (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION) is
//     AssumedRole with sessionContext; principalId is derived
//     deterministically from the ARN (AIDA… / AROA…:SESSION), since
//     modelwatch has no IAM unique IDs. Unauthenticated calls are
//     {"type":"Unknown","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"}.
//     requestParameters/responseElements that are not a JSON object or
//     exceed 100 KB are null; userAgent, errorCode and errorMessage are
//     cut to 1 KB on a UTF-8 boundary.
//   - LookupEvents reads a local index (Dir/index/YYYY-MM-DD.jsonl, one
//     file per UTC day of eventTime, fed from the spool by a second
//     consumer, pruned after 90 days), so lookups work before delivery
//     and across restarts; a lookup first waits (up to 1 s) for the index
//     to hold every event recorded before it. NextToken is the position
//     after the last event returned, bound to a hash of the other
//     parameters. Events are scanned per lookup: fine for a gateway's
//     audit volume, not for millions of events a day.
//   - Validate prints every status line (validate-logs --verbose) and the
//     same summary; it does not check previousDigestHashValue (neither
//     does the AWS CLI).
package cloudtrail
