package objectstore

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// s3Codes decides, per S3 error code, whether a failed Put is permanent
// (true: the same request will keep failing until someone changes the
// bucket, its policy or the logging configuration) or worth retrying
// (false). Codes not listed are decided by their HTTP status: 5xx and 429
// are retried, any other status is permanent.
//
// Retried although the status is 4xx: RequestTimeout, OperationAborted
// (a conflicting operation in progress), BadDigest, IncompleteBody and
// XAmzContentSHA256Mismatch (corrupted in transit), and the errors of
// modelwatch's own credentials and clock (InvalidAccessKeyId,
// SignatureDoesNotMatch, ExpiredToken, TokenRefreshRequired,
// RequestTimeTooSkewed): they are no fault of the destination and affect
// every destination alike, so the records wait in the spool and are
// delivered as soon as the credentials or the clock are fixed.
var s3Codes = map[string]bool{
	// Retryable.
	"InternalError":              false,
	"ServiceUnavailable":         false,
	"SlowDown":                   false,
	"Throttling":                 false,
	"ThrottlingException":        false,
	"RequestLimitExceeded":       false,
	"TooManyRequests":            false,
	"RequestTimeout":             false,
	"OperationAborted":           false,
	"BadDigest":                  false,
	"IncompleteBody":             false,
	"XAmzContentSHA256Mismatch":  false,
	"InvalidAccessKeyId":         false,
	"SignatureDoesNotMatch":      false,
	"ExpiredToken":               false,
	"TokenRefreshRequired":       false,
	"RequestTimeTooSkewed":       false,
	"XMinioServerNotInitialized": false,
	// Permanent.
	"KeyTooLongError":              true,
	"NoSuchBucket":                 true,
	"AccessDenied":                 true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"InvalidBucketName":            true,
	"InvalidBucketState":           true,
	"InvalidArgument":              true,
	"InvalidRequest":               true,
	"InvalidObjectState":           true,
	"EntityTooLarge":               true,
	"MethodNotAllowed":             true,
	"NotImplemented":               true, // 501, but no retry implements it
	"PermanentRedirect":            true, // the bucket is in another region
	"AuthorizationHeaderMalformed": true, // likewise
	"XMinioInvalidObjectName":      true,
	"XMinioInvalidResourceName":    true,
}

// Local-store errors (system call errnos). Running out of space is retried,
// as the spool's own disk budget is: space comes back. A directory modelwatch
// may not write, a read-only file system or a name too long for it needs an
// operator, so they are permanent; I/O errors are retried.
var localErrnos = []struct {
	errno     syscall.Errno
	code      string
	permanent bool
}{
	{syscall.ENOSPC, "ENOSPC", false},
	{syscall.EDQUOT, "EDQUOT", false},
	{syscall.EIO, "EIO", false},
	{syscall.EACCES, "EACCES", true},
	{syscall.EPERM, "EPERM", true},
	{syscall.EROFS, "EROFS", true},
	{syscall.ENAMETOOLONG, "ENAMETOOLONG", true},
	{syscall.ENOTDIR, "ENOTDIR", true},
}

// Classify says why a store operation failed and whether retrying the same
// request can succeed. code is the S3 error code (KeyTooLongError,
// NoSuchBucket, SlowDown, ...) read through the SDK's smithy.APIError, "HTTP
// <status>" for a response without one, "InvalidKey" for ErrInvalidKey, an
// errno name for the local store (ENOSPC, EACCES, ...), "timeout", "network"
// or "error". permanent is decided by the code (see s3Codes and
// localErrnos): transport errors, timeouts, throttling and server faults are
// retryable; client errors that name the destination (a missing bucket, a
// key too long, access denied, an invalid name or argument) are permanent.
func Classify(err error) (code string, permanent bool) {
	if err == nil {
		return "", false
	}
	var apiErr smithy.APIError
	var re *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		code = apiErr.ErrorCode()
		if p, ok := s3Codes[code]; ok {
			return code, p
		}
		if status == 0 {
			return code, apiErr.ErrorFault() == smithy.FaultClient
		}
	}
	if status != 0 {
		if code == "" {
			code = "HTTP " + strconv.Itoa(status)
		}
		return code, status < 500 && status != 429
	}
	if errors.Is(err, ErrInvalidKey) {
		return "InvalidKey", true
	}
	for _, e := range localErrnos {
		if errors.Is(err, e.errno) {
			return e.code, e.permanent
		}
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", false
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return "timeout", false
		}
		return "network", false
	}
	return "error", false
}
