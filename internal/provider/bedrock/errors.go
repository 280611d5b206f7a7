package bedrock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// passThrough are the Bedrock runtime exceptions an upstream Bedrock
// error keeps: the caller speaks Bedrock, so a ThrottlingException upstream
// is a ThrottlingException to it, with the upstream's message.
var passThrough = map[apierror.Code]bool{
	apierror.Validation:           true,
	apierror.ResourceNotFound:     true,
	apierror.Throttling:           true,
	apierror.ModelTimeout:         true,
	apierror.ModelError:           true,
	apierror.ModelNotReady:        true,
	apierror.ModelStreamError:     true,
	apierror.ServiceQuotaExceeded: true,
	apierror.InternalServer:       true,
	apierror.ServiceUnavailable:   true,
}

// credentialErrors are the AWS errors that mean the gateway's own
// credentials (or their permissions) were refused. They are not the
// caller's fault, so they never reach the caller as AccessDenied.
var credentialErrors = map[string]bool{
	string(apierror.AccessDenied):               true,
	string(apierror.UnrecognizedClient):         true,
	string(apierror.InvalidSignature):           true,
	string(apierror.IncompleteSignature):        true,
	string(apierror.MissingAuthenticationToken): true,
	"ExpiredTokenException":                     true,
	"ExpiredToken":                              true,
	"InvalidClientTokenId":                      true,
	"SignatureDoesNotMatch":                     true,
}

// credentialsMessage is what the caller reads when Bedrock refused the
// gateway's credentials. The upstream's own text (which may name the
// gateway's IAM principal and account) stays in the server log.
const credentialsMessage = "The model's provider refused the gateway's AWS credentials. Ask the gateway's operator to check the provider's AWS credentials and their Bedrock permissions."

// errorBody is a restJson1 error document, and the payload of an
// exception event. Some services spell the message "Message".
type errorBody struct {
	Message            string `json:"message"`
	MessageUpper       string `json:"Message"`
	Type               string `json:"__type"`
	Code               string `json:"code"`
	OriginalStatusCode int    `json:"originalStatusCode"`
	OriginalMessage    string `json:"originalMessage"`
	ResourceName       string `json:"resourceName"`
}

func (b *errorBody) message() string {
	if m := strings.TrimSpace(b.Message); m != "" {
		return m
	}
	return strings.TrimSpace(b.MessageUpper)
}

// errorType normalises an error type name the way the SDKs do:
// "ThrottlingException:http://internal.amazon.com/coral/..." and
// "com.amazon.coral.service#ThrottlingException" both name
// ThrottlingException.
func errorType(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// httpError maps a non-2xx Bedrock answer to the exception the caller
// receives.
func (p *Provider) httpError(model string, resp *http.Response, body []byte) *apierror.Error {
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // a non-JSON body still has a status
	typ := errorType(resp.Header.Get("X-Amzn-Errortype"))
	if typ == "" {
		typ = errorType(eb.Type)
	}
	if typ == "" {
		typ = errorType(eb.Code)
	}
	msg := eb.message()
	status := resp.StatusCode
	cause := fmt.Errorf("%s upstream %s answered %d %s (request %s): %s",
		p.name, model, status, typ, resp.Header.Get("X-Amzn-Requestid"), msg)

	code := apierror.Code(typ)
	switch {
	case credentialErrors[typ] || ((status == http.StatusUnauthorized || status == http.StatusForbidden) && !passThrough[code]):
		return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: status, ResourceName: model,
			Message: credentialsMessage, Cause: cause}
	case passThrough[code]:
		e := &apierror.Error{Code: code, Message: msg, Cause: cause}
		if e.Message == "" {
			e.Message = provider.UpstreamError(p.name, model, status, "").Message
		}
		switch code {
		case apierror.ModelError:
			e.OriginalStatusCode, e.ResourceName = eb.OriginalStatusCode, eb.ResourceName
			if e.ResourceName == "" {
				e.ResourceName = model
			}
		case apierror.ModelStreamError:
			e.OriginalStatusCode, e.OriginalMessage, e.ResourceName = eb.OriginalStatusCode, eb.OriginalMessage, model
		}
		return e
	}
	e := provider.UpstreamError(p.name, model, status, msg)
	e.Cause = cause
	return e
}

// exceptionError maps an exception event of a stream (:exception-type
// throttlingException, modelStreamErrorException, ...) to the caller's
// exception, keeping its name and message.
func (p *Provider) exceptionError(model, excType string, payload []byte) *apierror.Error {
	var eb errorBody
	_ = json.Unmarshal(payload, &eb)
	msg := eb.message()
	typ := exceptionCode(excType)
	cause := fmt.Errorf("%s upstream %s sent %s mid-stream: %s", p.name, model, excType, msg)
	code := apierror.Code(typ)
	if !passThrough[code] {
		e := provider.StreamError(p.name, model, eb.OriginalStatusCode, firstNonEmpty(msg, excType))
		e.Cause = cause
		return e
	}
	e := &apierror.Error{Code: code, Message: msg, Cause: cause}
	if code == apierror.ModelStreamError || code == apierror.ModelError {
		e.OriginalStatusCode, e.OriginalMessage, e.ResourceName = eb.OriginalStatusCode, eb.OriginalMessage, model
		if eb.ResourceName != "" {
			e.ResourceName = eb.ResourceName
		}
	}
	if e.Message == "" {
		e.Message = firstNonEmpty(eb.OriginalMessage, "The model's response stream failed.")
	}
	return e
}

// errorFrameError maps an event stream error message (:message-type
// error, with :error-code and :error-message headers): a service failure
// outside the modelled exceptions, InternalServerException unless the
// code names a known exception.
func (p *Provider) errorFrameError(model, code, message string) *apierror.Error {
	cause := fmt.Errorf("%s upstream %s sent stream error %s: %s", p.name, model, code, message)
	c := apierror.Code(exceptionCode(code))
	if !passThrough[c] {
		c = apierror.InternalServer
	}
	msg := strings.TrimSpace(message)
	if msg == "" {
		msg = "The model's provider failed while streaming the response. Try your request again."
	}
	e := &apierror.Error{Code: c, Message: msg, Cause: cause}
	if c == apierror.ModelStreamError || c == apierror.ModelError {
		e.ResourceName = model
	}
	return e
}

// exceptionCode turns a stream union member name (throttlingException)
// or an error code into the exception name (ThrottlingException).
func exceptionCode(name string) string {
	name = errorType(name)
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
