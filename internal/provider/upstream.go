package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// UpstreamError maps an upstream HTTP failure to the Bedrock exception a
// Bedrock client expects, keeping the upstream's status and message for the
// server log (Cause) and, where Bedrock's shape has room for them, for the
// caller (ModelErrorException's originalStatusCode). name is the provider's
// display name ("OpenAI", "Anthropic", ...), model the upstream model, and
// message the upstream's own error message (may be empty).
//
// The mapping: 400, 413, 422 → ValidationException (the upstream rejected
// the request's content, so the caller must change it); 401, 403 →
// ModelErrorException (modelwatch's upstream credentials are wrong: not the
// caller's fault, not retryable); 404 → ResourceNotFoundException (the
// configured upstream model does not exist); 408, 504 →
// ModelTimeoutException; 429 → ThrottlingException; 503, 529 (Anthropic's
// "overloaded") → ServiceUnavailableException; other 5xx →
// ModelErrorException with originalStatusCode (retryable).
func UpstreamError(name, model string, status int, message string) *apierror.Error {
	cause := fmt.Errorf("%s upstream %s answered %d: %s", name, model, status, strings.TrimSpace(message))
	msg := strings.TrimSpace(message)
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := func(code apierror.Code, format string, args ...any) *apierror.Error {
		err := apierror.New(code, format, args...)
		err.Cause = cause
		return err
	}
	switch {
	case status == 400 || status == 413 || status == 422:
		return e(apierror.Validation, "%s", msg)
	case status == 401 || status == 403:
		return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: status, ResourceName: model, Cause: cause,
			Message: "The model's provider refused the gateway's credentials. Ask the gateway's operator to check the provider configuration."}
	case status == 404:
		return e(apierror.ResourceNotFound, "The model %s was not found at its provider.", model)
	case status == 408 || status == 504:
		return e(apierror.ModelTimeout, "Model has timed out in processing the request. Try your request again.")
	case status == 429:
		return e(apierror.Throttling, "Too many requests, please wait before trying again.")
	case status == 503 || status == 529:
		return e(apierror.ServiceUnavailable, "The model's provider is temporarily unavailable. Try your request again.")
	case status >= 500:
		return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: status, ResourceName: model, Cause: cause,
			Message: "The model returned an error while processing the request. Try your request again."}
	}
	return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: status, ResourceName: model, Cause: cause,
		Message: "The model's provider returned an unexpected response."}
}

// TransportError maps a failure to reach the upstream at all (connection
// refused, reset, DNS, TLS, the request's context ending) to a Bedrock
// exception: a passed deadline is ModelTimeoutException, a cancellation is
// returned as is (the client went away; the gateway records it), anything
// else ServiceUnavailableException.
func TransportError(name string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &apierror.Error{Code: apierror.ModelTimeout, Message: "Model has timed out in processing the request. Try your request again.", Cause: err}
	}
	return &apierror.Error{Code: apierror.ServiceUnavailable, Message: "The model's provider could not be reached. Try your request again.",
		Cause: fmt.Errorf("%s upstream: %w", name, err)}
}

// StreamError is the error of a stream that failed after it started: the
// upstream's own failure, reported as ModelStreamErrorException with the
// upstream's status and message, unless it is already a Bedrock exception
// a stream can carry (throttling, validation, unavailable, timeout,
// internal) or the context's error.
func StreamError(name, model string, status int, message string) *apierror.Error {
	return &apierror.Error{
		Code:               apierror.ModelStreamError,
		Message:            "The model's response stream failed: " + strings.TrimSpace(message),
		OriginalStatusCode: status,
		OriginalMessage:    strings.TrimSpace(message),
		ResourceName:       model,
		Cause:              fmt.Errorf("%s upstream %s failed mid-stream (%d): %s", name, model, status, message),
	}
}
