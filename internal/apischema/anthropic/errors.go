package anthropic

import "net/http"

// Error types of ErrorDetail.Type, each with the HTTP status Anthropic
// documents for it.
const (
	ErrInvalidRequest  = "invalid_request_error" // 400, and other 4xx
	ErrAuthentication  = "authentication_error"  // 401
	ErrBilling         = "billing_error"         // 402
	ErrPermission      = "permission_error"      // 403
	ErrNotFound        = "not_found_error"       // 404
	ErrRequestTooLarge = "request_too_large"     // 413
	ErrRateLimit       = "rate_limit_error"      // 429
	ErrAPI             = "api_error"             // 500
	ErrTimeout         = "timeout_error"         // 504
	ErrOverloaded      = "overloaded_error"      // 529
)

// StatusOverloaded is Anthropic's own status for overloaded_error.
const StatusOverloaded = 529

// ErrorResponse is the body of an error response, and (without
// RequestID) the data of a stream's error event.
type ErrorResponse struct {
	// Type is always "error".
	Type      string      `json:"type"`
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// NewErrorResponse returns an error body.
func NewErrorResponse(typ, message, requestID string) ErrorResponse {
	return ErrorResponse{Type: "error", Error: ErrorDetail{Type: typ, Message: message}, RequestID: requestID}
}

// ErrorStatus is the HTTP status Anthropic documents for an error type;
// api_error and unknown types are 500.
func ErrorStatus(typ string) int {
	switch typ {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrBilling:
		return http.StatusPaymentRequired
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrTimeout:
		return http.StatusGatewayTimeout
	case ErrOverloaded:
		return StatusOverloaded
	}
	return http.StatusInternalServerError
}

// ErrorType is the error type Anthropic uses for an HTTP status: the
// inverse of ErrorStatus, with other 4xx as invalid_request_error, 503 as
// overloaded_error and other 5xx as api_error.
func ErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return ErrAuthentication
	case http.StatusPaymentRequired:
		return ErrBilling
	case http.StatusForbidden:
		return ErrPermission
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusRequestEntityTooLarge:
		return ErrRequestTooLarge
	case http.StatusTooManyRequests:
		return ErrRateLimit
	case http.StatusGatewayTimeout:
		return ErrTimeout
	case StatusOverloaded, http.StatusServiceUnavailable:
		return ErrOverloaded
	}
	if status >= 400 && status < 500 {
		return ErrInvalidRequest
	}
	return ErrAPI
}
