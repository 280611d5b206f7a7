package openaiapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
)

const (
	headerRequestID = "X-Request-Id"
	contentTypeJSON = "application/json"
	// defaultMaxRequestBytes is Bedrock's InvokeModel body limit, used
	// when Options.MaxRequestBytes is not set.
	defaultMaxRequestBytes = 25_000_000
)

// Options configure the handler.
type Options struct {
	// MaxRequestBytes caps request bodies (default 25,000,000).
	MaxRequestBytes int64
	// Bodies is the server-wide budget request bodies are charged to while
	// their handler runs (nil: no budget).
	Bodies *gateway.BodyBudget
	Logger *slog.Logger
}

// Handler serves the OpenAI-compatible API under /v1/. It is an
// http.Handler, safe for concurrent use.
type Handler struct {
	gw   *gateway.Gateway
	opts Options
	// created is the creation time reported for every model: the catalog
	// has none, and a stable value keeps listings identical.
	created int64
}

// New returns a Handler serving calls through gw.
func New(gw *gateway.Gateway, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = defaultMaxRequestBytes
	}
	return &Handler{gw: gw, opts: opts, created: time.Now().Unix()}
}

// ServeHTTP routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	route := func(method string, serve func(http.ResponseWriter, *http.Request)) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			h.writeControlError(w, &openai.RequestError{Code: "method_not_allowed",
				Err: apierror.New(apierror.UnknownOperation, "Invalid method for URL (%s %s).", r.Method, path)}, http.StatusMethodNotAllowed)
			return
		}
		serve(w, r)
	}
	switch {
	case path == "/v1/chat/completions":
		route(http.MethodPost, h.serveChat)
	case path == "/v1/responses":
		route(http.MethodPost, h.serveResponses)
	case strings.HasPrefix(path, "/v1/responses/"):
		// No response is kept (see serveResponses).
		h.writeControlError(w, &openai.RequestError{Code: "response_not_found",
			Err: apierror.New(apierror.ResourceNotFound, "No response found at %s: this gateway does not store responses (send 'store': false and the whole conversation as 'input').", truncate(path, 256))}, http.StatusNotFound)
	case path == "/v1/embeddings":
		route(http.MethodPost, h.serveEmbeddings)
	case path == "/v1/images/generations":
		route(http.MethodPost, h.serveImages)
	case path == "/v1/models":
		route(http.MethodGet, h.listModels)
	case strings.HasPrefix(path, "/v1/models/") && len(path) > len("/v1/models/"):
		route(http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.getModel(w, r, path[len("/v1/models/"):]) })
	default:
		h.writeControlError(w, apierror.New(apierror.UnknownOperation, "Invalid URL (%s %s).", r.Method, path), 0)
	}
}

// modelNotFound is OpenAI's answer to an unknown model.
func modelNotFound(model string) error {
	return &openai.RequestError{Param: "model", Code: "model_not_found",
		Err: apierror.New(apierror.ResourceNotFound, "The model `%s` does not exist or you do not have access to it.", truncate(model, 256))}
}

// writeControlError answers a request that is not a model call (no
// Invocation); status 0 means the error's own.
func (h *Handler) writeControlError(w http.ResponseWriter, err error, status int) {
	_, st, body := errorReply(err)
	if status == 0 {
		status = st
	}
	w.Header().Set(headerRequestID, uuid.NewString())
	gateway.WriteJSON(w, status, body)
}

// authenticateControl authenticates a request that is not a model call
// and checks that the caller may perform action (listing models is
// bedrock:ListFoundationModels, reading one bedrock:GetFoundationModel).
func (h *Handler) authenticateControl(w http.ResponseWriter, r *http.Request, action string) bool {
	_, _, err := h.gw.Control(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, action, "*")
	if err != nil {
		h.writeControlError(w, h.bodyError(err), 0)
		return false
	}
	return true
}

// errorReply maps an error to OpenAI's error body and status. The returned
// *apierror.Error carries the message sent (OpenAI's wording where it
// differs from the gateway's), for the Invocation.
func errorReply(err error) (*apierror.Error, int, []byte) {
	e := apierror.From(err)
	var param, code string
	var re *openai.RequestError
	if errors.As(err, &re) {
		param, code = re.Param, re.Code
	}
	status, typ := http.StatusInternalServerError, "server_error"
	switch e.Code {
	case apierror.Validation:
		status, typ = http.StatusBadRequest, "invalid_request_error"
	case apierror.UnrecognizedClient:
		status, typ, code = http.StatusUnauthorized, "authentication_error", "invalid_api_key"
	case apierror.MissingAuthenticationToken:
		status, typ = http.StatusUnauthorized, "authentication_error"
		e = &apierror.Error{Code: e.Code, Cause: e.Cause,
			Message: "You didn't provide an API key. Send it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY)."}
	case apierror.InvalidSignature, apierror.IncompleteSignature:
		status, typ, code = http.StatusUnauthorized, "authentication_error", "invalid_signature"
	case apierror.AccessDenied:
		status, typ, code = http.StatusForbidden, "invalid_request_error", "access_denied" // the SDKs' PermissionDeniedError
	case apierror.ResourceNotFound:
		status, typ, code = http.StatusNotFound, "invalid_request_error", "model_not_found"
	case apierror.UnknownOperation:
		status, typ = http.StatusNotFound, "invalid_request_error"
		if code == "" {
			code = "unknown_url"
		}
	case apierror.Throttling, apierror.ModelNotReady:
		status, typ, code = http.StatusTooManyRequests, "requests", "rate_limit_exceeded"
	case apierror.ServiceQuotaExceeded:
		status, typ, code = http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota"
	case apierror.ModelTimeout:
		status, code = http.StatusGatewayTimeout, "timeout"
	case apierror.ServiceUnavailable:
		status, code = http.StatusServiceUnavailable, "service_unavailable"
	case apierror.ModelError, apierror.ModelStreamError:
		status, code = http.StatusBadGateway, "model_error"
	}
	body, _ := json.Marshal(openai.NewErrorResponse(e.Message, typ, param, code))
	return e, status, body
}

// bodyError words a body over MaxRequestBytes in OpenAI's terms.
func (h *Handler) bodyError(err error) error {
	if errors.Is(err, gateway.ErrBodyTooLarge) {
		return &openai.RequestError{Code: "request_too_large",
			Err: apierror.New(apierror.Validation, "The request body is too large: at most %d bytes are accepted.", h.opts.MaxRequestBytes)}
	}
	return err
}

// requestMetadata is the Invocation's request metadata: the metadata
// parameter plus the user parameter under "user".
func requestMetadata(md map[string]string, user string) map[string]string {
	if len(md) == 0 && user == "" {
		return nil
	}
	out := make(map[string]string, len(md)+1)
	for k, v := range md {
		out[k] = v
	}
	if user != "" {
		out["user"] = user
	}
	return out
}

// listModels serves GET /v1/models: every catalog model.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	if !h.authenticateControl(w, r, auth.ActionListFoundationModels) {
		return
	}
	list := openai.ModelList{Object: openai.ObjectList, Data: []openai.Model{}}
	for _, m := range h.gw.Catalog().Models() {
		list.Data = append(list.Data, h.model(m.ID, m))
	}
	h.writeControl(w, list)
}

// getModel serves GET /v1/models/{id} for any identifier the catalog
// resolves (IDs, aliases, inference profiles, ARNs).
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request, escapedID string) {
	if !h.authenticateControl(w, r, auth.ActionGetFoundationModel) {
		return
	}
	id, err := url.PathUnescape(escapedID)
	if err != nil {
		id = escapedID
	}
	res, err := h.gw.Catalog().Resolve(id)
	if err != nil {
		h.writeControlError(w, modelNotFound(id), 0)
		return
	}
	h.writeControl(w, h.model(id, res.Model))
}

func (h *Handler) model(id string, m *catalog.Model) openai.Model {
	owner := strings.ToLower(m.Vendor)
	if owner == "" {
		owner = "modelwatch"
	}
	return openai.Model{ID: id, Object: openai.ObjectModel, Created: h.created, OwnedBy: owner}
}

func (h *Handler) writeControl(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.writeControlError(w, err, 0)
		return
	}
	w.Header().Set(headerRequestID, uuid.NewString())
	gateway.WriteJSON(w, http.StatusOK, body)
}

// completionID derives the chat completion ID from the request ID.
func completionID(requestID string) string {
	return "chatcmpl-" + strings.ReplaceAll(requestID, "-", "")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}
