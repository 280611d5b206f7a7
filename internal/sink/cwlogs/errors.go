package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Reason says why an event was not stored.
type Reason string

// Reasons for rejected events. ReasonTooLarge, ReasonEmpty and a negative
// timestamp (reported as ReasonTooOld) are detected by the Writer before
// sending; the others are reported by the service in rejectedLogEventsInfo.
const (
	// ReasonTooLarge: the message is longer than the event size limit.
	ReasonTooLarge Reason = "tooLarge"
	// ReasonEmpty: the message is empty (the API requires at least 1 byte).
	ReasonEmpty Reason = "empty"
	// ReasonTooOld: more than 14 days old (tooOldLogEventEndIndex), or before
	// the Unix epoch.
	ReasonTooOld Reason = "tooOld"
	// ReasonTooNew: more than 2 hours in the future (tooNewLogEventStartIndex).
	ReasonTooNew Reason = "tooNew"
	// ReasonExpired: older than the log group's retention
	// (expiredLogEventEndIndex).
	ReasonExpired Reason = "expired"
)

// Rejection is one event that was not stored.
type Rejection struct {
	// Index is the event's index in the slice passed to Put.
	Index int
	// Timestamp is the event's timestamp.
	Timestamp time.Time
	// Reason says why it was rejected.
	Reason Reason
}

// RejectedError reports events that were not stored while the others were.
// Put returns it (possibly joined with a delivery error; use errors.As).
type RejectedError struct {
	// Rejections lists the rejected events, in no particular order.
	Rejections []Rejection
}

// Count returns how many events were rejected for the reason.
func (e *RejectedError) Count(r Reason) int {
	n := 0
	for _, x := range e.Rejections {
		if x.Reason == r {
			n++
		}
	}
	return n
}

// Error summarises the rejections by reason.
func (e *RejectedError) Error() string {
	var parts []string
	for _, r := range []Reason{ReasonTooLarge, ReasonEmpty, ReasonTooOld, ReasonTooNew, ReasonExpired} {
		if n := e.Count(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	return fmt.Sprintf("cwlogs: %d log events rejected (%s)", len(e.Rejections), strings.Join(parts, ", "))
}

// UndeliveredError reports the events Put did not deliver because a
// PutLogEvents call failed; the events before them were delivered.
type UndeliveredError struct {
	Group, Stream string
	// Indexes are the undelivered events' indexes in the slice passed to
	// Put.
	Indexes []int
	// Total is how many events Put was given.
	Total int
	// Err is the failed call's error.
	Err error
}

func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("cwlogs: PutLogEvents %s/%s: %d of %d events not delivered: %v", e.Group, e.Stream, len(e.Indexes), e.Total, e.Err)
}

func (e *UndeliveredError) Unwrap() error { return e.Err }

// transient reports whether err is a fault that goes away by itself and
// that Put therefore retries in place: throttling errors,
// ServiceUnavailableException and other server faults (HTTP 5xx), and
// transport errors (connection refused/reset/closed, EOF, timeouts, as
// classified by the SDK's retry.RetryableConnectionError). code is the
// error code, or "network".
func transient(err error) (code string, ok, throttle bool) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
		switch code {
		case "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
			"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException":
			return code, true, true
		case "ServiceUnavailableException", "InternalFailure", "InternalServerError",
			"RequestTimeout", "RequestTimeoutException":
			return code, true, false
		}
		var re *awshttp.ResponseError
		return code, errors.As(err, &re) && re.HTTPStatusCode() >= 500, false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", false, false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		(retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return "network", true, false
	}
	return "", false, false
}

// retriedLater are error codes that are not the log group's fault and that
// a caller should retry later rather than give up on: modelwatch's own
// credentials and clock, which affect every destination alike and are fixed
// once for all, and a conflicting operation in progress.
var retriedLater = map[string]bool{
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"IncompleteSignatureException":        true,
	"IncompleteSignature":                 true,
	"MissingAuthenticationTokenException": true,
	"MissingAuthenticationToken":          true,
	"InvalidClientTokenId":                true,
	"ExpiredTokenException":               true,
	"ExpiredToken":                        true,
	"OperationAbortedException":           true,
}

// Classify says why Put failed and whether retrying it later can succeed.
// Retryable (permanent false): everything Put retries in place (throttling,
// ServiceUnavailableException, 5xx, transport errors; Put returns them only
// when its context ends), the codes of modelwatch's own credentials
// (UnrecognizedClientException, InvalidSignatureException, ExpiredToken...),
// OperationAbortedException, and the end of the context. Permanent: any
// other service error — AccessDeniedException, InvalidParameterException,
// a ResourceNotFoundException that creating the stream and group did not
// cure, LimitExceededException (no more log groups may be created),
// KMS errors of an encrypted group, and every other client fault. A
// *RejectedError is not classified here: its events were refused one by
// one (Rejection.Reason) while the others were stored.
func Classify(err error) (code string, permanent bool) {
	if err == nil {
		return "", false
	}
	if code, ok, _ := transient(err); ok {
		return code, false
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "timeout", false
		}
		return "error", false
	}
	code = apiErr.ErrorCode()
	return code, !retriedLater[code]
}
