package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// RequestError is an invalid request: a ValidationException (so the gateway
// records and classifies it like any other) that also names the offending
// parameter, for the param member of OpenAI's error body. The Responses API
// (package responses) refuses requests with it too.
type RequestError struct {
	// Param is the parameter at fault, e.g. "messages[2].content" or
	// "input[2].content[0].image_url"; empty when the whole body is.
	Param string
	// Code is OpenAI's error code for the failure, when it has one (for
	// example model_not_found or missing_required_parameter); usually
	// empty.
	Code string
	Err  *apierror.Error
}

// Error implements error.
func (e *RequestError) Error() string { return e.Err.Error() }

// Unwrap returns the ValidationException.
func (e *RequestError) Unwrap() error { return e.Err }

// NewRequestError returns a RequestError with a formatted message.
func NewRequestError(param, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Err: apierror.New(apierror.Validation, format, args...)}
}

func invalid(param, format string, args ...any) *RequestError {
	return NewRequestError(param, format, args...)
}

// ErrorResponse is OpenAI's error body, the same for the Responses API as
// for chat completions: {"error":{"message","type","param","code"}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes a failure. Param and Code are null when not known.
type ErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// NewErrorResponse returns an error body; empty param and code become null.
func NewErrorResponse(message, typ, param, code string) ErrorResponse {
	b := ErrorBody{Message: message, Type: typ}
	if param != "" {
		b.Param = &param
	}
	if code != "" {
		b.Code = &code
	}
	return ErrorResponse{Error: b}
}

// UpstreamError is an error body as OpenAI-compatible servers send it, read
// leniently: OpenAI's {"error":{"message","type","param","code"}}, vLLM's
// numeric code, and the {"error":"text"} and {"message":"..."} forms some
// local servers use.
type UpstreamError struct {
	Message string
	Type    string
	Code    string
}

// ParseUpstreamError reads an upstream error body (or an SSE error event's
// data). ok is false when the body holds no recognisable error.
func ParseUpstreamError(body []byte) (UpstreamError, bool) {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return UpstreamError{}, false
	}
	if len(env.Error) == 0 || isNull(env.Error) {
		if env.Message != "" {
			return UpstreamError{Message: env.Message}, true
		}
		return UpstreamError{}, false
	}
	var text string
	if json.Unmarshal(env.Error, &text) == nil {
		return UpstreamError{Message: text}, true
	}
	var obj struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
	}
	if err := json.Unmarshal(env.Error, &obj); err != nil {
		return UpstreamError{}, false
	}
	ue := UpstreamError{Message: obj.Message, Type: obj.Type}
	if len(obj.Code) > 0 && !isNull(obj.Code) {
		var s string
		if json.Unmarshal(obj.Code, &s) == nil {
			ue.Code = s
		} else {
			ue.Code = strings.TrimSpace(string(obj.Code))
		}
	}
	return ue, true
}

// StatusCode returns the error's code as an HTTP status when it is one
// (vLLM sends the status as a number), else 0.
func (e UpstreamError) StatusCode() int {
	n, err := strconv.Atoi(e.Code)
	if err != nil || n < 400 || n > 599 {
		return 0
	}
	return n
}

// jsonError turns an encoding/json error into an invalid_request_error
// that names the offending field and never shows Go type names.
func jsonError(err error) error { return JSONError(err, "") }

// JSONError turns an error from decoding a request body with encoding/json
// into an invalid_request_error that names the offending member and never
// shows Go type names; a *RequestError a union's decoder returned is
// returned as it is. typeCode is the error code of a member of the wrong
// JSON type: empty for chat completions, invalid_type for the Responses
// API.
func JSONError(err error, typeCode string) error {
	var re *RequestError
	if errors.As(err, &re) {
		return re
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalid("", "The request body must be a JSON object.")
		}
		return requestError(field, typeCode, "Invalid type for '%s': a JSON %s is not allowed here.", field, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return invalid("", "We could not parse the JSON body of your request: it is not valid JSON (error at byte %d).", syntaxErr.Offset)
	}
	return invalid("", "We could not parse the JSON body of your request.")
}

// paramf formats a parameter path.
func paramf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
