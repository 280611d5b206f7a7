package apierror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code is the name of an AWS exception, exactly as it appears in the
// x-amzn-ErrorType header.
type Code string

// Exception names used by the Bedrock runtime and control plane, and the
// generic AWS authentication errors.
const (
	Validation                 Code = "ValidationException"
	AccessDenied               Code = "AccessDeniedException"
	ResourceNotFound           Code = "ResourceNotFoundException"
	Throttling                 Code = "ThrottlingException"
	ModelTimeout               Code = "ModelTimeoutException"
	ModelError                 Code = "ModelErrorException"
	ModelNotReady              Code = "ModelNotReadyException"
	ModelStreamError           Code = "ModelStreamErrorException"
	ServiceQuotaExceeded       Code = "ServiceQuotaExceededException"
	InternalServer             Code = "InternalServerException"
	ServiceUnavailable         Code = "ServiceUnavailableException"
	UnrecognizedClient         Code = "UnrecognizedClientException"
	InvalidSignature           Code = "InvalidSignatureException"
	IncompleteSignature        Code = "IncompleteSignatureException"
	MissingAuthenticationToken Code = "MissingAuthenticationTokenException"
	UnknownOperation           Code = "UnknownOperationException"
	// Conflict is StartAsyncInvoke's answer to a clientRequestToken
	// reused with a different request (HTTP 400).
	Conflict Code = "ConflictException"
)

// Status returns the HTTP status Bedrock uses for the exception.
func (c Code) Status() int {
	switch c {
	case Validation, ServiceQuotaExceeded, IncompleteSignature, Conflict:
		return http.StatusBadRequest
	case AccessDenied, UnrecognizedClient, InvalidSignature, MissingAuthenticationToken:
		return http.StatusForbidden
	case ResourceNotFound, UnknownOperation:
		return http.StatusNotFound
	case ModelTimeout:
		return http.StatusRequestTimeout
	case ModelError, ModelStreamError:
		return http.StatusFailedDependency
	case Throttling, ModelNotReady:
		return http.StatusTooManyRequests
	case ServiceUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is a failure to be reported to the caller.
type Error struct {
	// Code is the exception name.
	Code Code
	// Message is the caller-facing text.
	Message string
	// OriginalStatusCode and ResourceName are set on ModelErrorException and
	// ModelStreamErrorException: the status the model (upstream) returned and
	// the model it came from.
	OriginalStatusCode int
	ResourceName       string
	// OriginalMessage is set on ModelStreamErrorException.
	OriginalMessage string
	// Cause is the internal error behind the failure, for server logs only.
	// It is never sent to the caller.
	Cause error
	// RetryAfter is when a refused call may be tried again (a quota's
	// window): the OpenAI and Anthropic doors send it as Retry-After, in
	// whole seconds. Bedrock's wire has no such header.
	RetryAfter time.Duration
}

// RetryAfterSeconds is RetryAfter as Retry-After's value: whole seconds,
// rounded up, at least 1; "" when RetryAfter is not set.
func (e *Error) RetryAfterSeconds() string {
	if e == nil || e.RetryAfter <= 0 {
		return ""
	}
	return strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10)
}

// New returns an Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// Status is the HTTP status for the error.
func (e *Error) Status() int { return e.Code.Status() }

// Throttled reports whether the error counts as a throttle (InvocationThrottles)
// rather than a client or server error.
func (e *Error) Throttled() bool { return e.Code == Throttling || e.Code == ModelNotReady }

// Retryable reports whether a caller (or modelwatch, against an upstream) may
// retry the same request: throttles, unavailability, timeouts, internal
// errors, and model errors whose upstream status was a 5xx (an overloaded
// or crashed upstream, not a rejected request).
func (e *Error) Retryable() bool {
	switch e.Code {
	case Throttling, ModelNotReady, ServiceUnavailable, InternalServer, ModelTimeout:
		return true
	case ModelError, ModelStreamError:
		return e.OriginalStatusCode >= 500
	}
	return false
}

// From converts any error into an *Error. Errors that are not already an
// *Error become InternalServerException with a generic message (the cause is
// kept for logs); context cancellation and deadlines become
// ModelTimeoutException when the deadline passed.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: ModelTimeout, Message: "Model has timed out in processing the request. Try your request again.", Cause: err}
	}
	return &Error{Code: InternalServer, Message: "The server encountered an internal error while processing the request.", Cause: err}
}

// ConstraintViolation formats AWS's standard message for a request member that
// breaks a service-model constraint, e.g.
// "1 validation error detected: Value '2.0' at 'inferenceConfig.temperature'
// failed to satisfy constraint: Member must have value less than or equal to 1".
func ConstraintViolation(value, path, constraint string) *Error {
	return New(Validation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint)
}
