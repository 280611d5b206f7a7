package anthropicapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
)

const (
	headerRequestID = "Request-Id"
	// defaultMaxRequestBytes is Anthropic's limit for Messages and
	// count_tokens bodies (32 MB), used when Options.MaxRequestBytes is
	// not set.
	defaultMaxRequestBytes = 32 << 20
)

// Options configure the handler.
type Options struct {
	// MaxRequestBytes caps request bodies (default 32 MB).
	MaxRequestBytes int64
	// Bodies is the server-wide budget request bodies are charged to.
	Bodies *gateway.BodyBudget
	Logger *slog.Logger
}

// Handler serves the Anthropic Messages API. It is an http.Handler, safe
// for concurrent use.
type Handler struct {
	gw   *gateway.Gateway
	opts Options
	// created is the created_at of every model: the catalog has none, and
	// a stable value keeps listings identical.
	created string
	names   modelNames
}

// New returns a Handler serving calls through gw.
func New(gw *gateway.Gateway, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = defaultMaxRequestBytes
	}
	return &Handler{gw: gw, opts: opts, created: time.Now().UTC().Truncate(time.Second).Format(time.RFC3339),
		names: newModelNames(gw.Catalog())}
}

// ServeHTTP routes on the path alone: Claude Code posts to
// /v1/messages?beta=true.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	route := func(method string, serve func(http.ResponseWriter, *http.Request)) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			h.writeControlError(w, &wordedError{typ: anthropic.ErrInvalidRequest, status: http.StatusMethodNotAllowed,
				err: apierror.New(apierror.UnknownOperation, "Method %s is not allowed for %s.", r.Method, path)})
			return
		}
		serve(w, r)
	}
	switch {
	case path == "/v1/messages":
		route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) { h.gw.Serve(w, r, &messagesDoor{h: h}) })
	case path == "/v1/messages/count_tokens":
		route(http.MethodPost, h.countTokens)
	case path == "/v1/models":
		route(http.MethodGet, h.listModels)
	case strings.HasPrefix(path, "/v1/models/") && len(path) > len("/v1/models/"):
		route(http.MethodGet, func(w http.ResponseWriter, r *http.Request) { h.getModel(w, r, path[len("/v1/models/"):]) })
	default:
		h.writeControlError(w, apierror.New(apierror.UnknownOperation, "Not found: %s %s", r.Method, path))
	}
}

// requestID renders the gateway's request ID as Anthropic's.
func requestID(id string) string { return "req_" + strings.ReplaceAll(id, "-", "") }

// wordedError is an error already put in Anthropic's terms: its type and
// status, and the gateway error it stands for (recorded).
type wordedError struct {
	typ    string
	status int
	err    *apierror.Error
}

func (e *wordedError) Error() string { return e.err.Error() }
func (e *wordedError) Unwrap() error { return e.err }

// invalid is an invalid_request_error with Anthropic's wording.
func invalid(format string, args ...any) *wordedError {
	return &wordedError{typ: anthropic.ErrInvalidRequest, status: http.StatusBadRequest, err: apierror.New(apierror.Validation, format, args...)}
}

// notFound is Anthropic's answer for a model it does not know.
func notFound(model string) *wordedError {
	return &wordedError{typ: anthropic.ErrNotFound, status: http.StatusNotFound,
		err: apierror.New(apierror.ResourceNotFound, "model: %s", truncate(model, 256))}
}

// errorReply maps an error to Anthropic's error type, status and message.
// The *apierror.Error returned carries the message sent, for the
// Invocation.
func (h *Handler) errorReply(err error, reqID string) (*apierror.Error, int, []byte) {
	var we *wordedError
	if errors.Is(err, gateway.ErrBodyTooLarge) {
		we = &wordedError{typ: anthropic.ErrRequestTooLarge, status: http.StatusRequestEntityTooLarge,
			err: apierror.New(apierror.Validation, "Request exceeds the maximum allowed number of bytes: %d.", h.opts.MaxRequestBytes)}
	} else if !errors.As(err, &we) {
		we = classify(apierror.From(err))
	}
	body, _ := json.Marshal(anthropic.NewErrorResponse(we.typ, we.err.Message, reqID))
	return we.err, we.status, body
}

// classify gives a gateway error its Anthropic type and status.
func classify(e *apierror.Error) *wordedError {
	typ := anthropic.ErrAPI
	switch e.Code {
	case apierror.Validation:
		typ = anthropic.ErrInvalidRequest
	case apierror.UnrecognizedClient:
		typ = anthropic.ErrAuthentication
		e = &apierror.Error{Code: e.Code, Cause: e.Cause, Message: "invalid x-api-key"}
	case apierror.MissingAuthenticationToken:
		typ = anthropic.ErrAuthentication
		e = &apierror.Error{Code: e.Code, Cause: e.Cause, Message: "x-api-key header is required"}
	case apierror.InvalidSignature, apierror.IncompleteSignature:
		typ = anthropic.ErrAuthentication
	case apierror.AccessDenied:
		typ = anthropic.ErrPermission
	case apierror.ResourceNotFound, apierror.UnknownOperation:
		typ = anthropic.ErrNotFound
	case apierror.Throttling, apierror.ModelNotReady, apierror.ServiceQuotaExceeded:
		typ = anthropic.ErrRateLimit
	case apierror.ModelTimeout:
		typ = anthropic.ErrTimeout
	case apierror.ServiceUnavailable:
		typ = anthropic.ErrOverloaded
	}
	return &wordedError{typ: typ, status: anthropic.ErrorStatus(typ), err: e}
}

// writeControlError answers a request that is not a model call (no
// Invocation).
func (h *Handler) writeControlError(w http.ResponseWriter, err error) {
	id := requestID(uuid.NewString())
	w.Header().Set(headerRequestID, id)
	_, status, body := h.errorReply(err, id)
	gateway.WriteJSON(w, status, body)
}

func (h *Handler) writeControl(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.writeControlError(w, err)
		return
	}
	w.Header().Set(headerRequestID, requestID(uuid.NewString()))
	gateway.WriteJSON(w, http.StatusOK, body)
}

// modelNames maps Anthropic's model names to the catalog's Claude models:
// "claude-3-5-haiku-20241022" to "anthropic.claude-3-5-haiku-20241022-v1:0",
// and an undated "claude-3-5-haiku" to the newest dated one. It is built
// once (the catalog does not change while serving), so a call costs one
// map lookup. A name the catalog resolves itself (an alias) is left to the
// catalog.
type modelNames map[string]string

func newModelNames(cat *catalog.Catalog) modelNames {
	names := modelNames{}
	for _, m := range cat.Models() {
		short, ok := anthropicName(m.ID)
		if !ok {
			continue
		}
		names[short] = m.ID
		// An undated name stands for its newest dated version.
		if i := strings.LastIndexByte(short, '-'); i > 0 && isDate(short[i+1:]) {
			if undated := short[:i]; names[undated] < m.ID {
				names[undated] = m.ID
			}
		}
	}
	for name := range names {
		if _, err := cat.Resolve(name); err == nil {
			delete(names, name)
		}
	}
	return names
}

// catalogID is the catalog identifier an Anthropic name stands for ("" for
// a name that is not one). Claude Code's 1M-context marker "[1m]" is
// ignored.
func (n modelNames) catalogID(name string) string {
	return n[strings.TrimSuffix(name, "[1m]")]
}

// resolve maps a model name to the identifier the catalog resolves: an
// Anthropic name's catalog ID, or the name itself when the catalog knows
// it. ok is false when neither holds.
func (n modelNames) resolve(cat *catalog.Catalog, name string) (id string, ok bool) {
	if id := n.catalogID(name); id != "" {
		return id, true
	}
	_, err := cat.Resolve(name)
	return name, err == nil
}

// anthropicName is Anthropic's name of a Bedrock Claude model ID:
// "anthropic.claude-3-5-haiku-20241022-v1:0" is "claude-3-5-haiku-20241022".
func anthropicName(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "anthropic.")
	if !ok {
		return "", false
	}
	if i := strings.LastIndex(rest, "-v"); i > 0 {
		rest = rest[:i]
	}
	return rest, true
}

func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// listModels serves GET /v1/models in Anthropic's shape: the catalog's
// Claude models under Anthropic's names (Claude Code's model discovery
// uses only IDs starting with claude), then the rest under their IDs.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.gw.Control(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, auth.ActionListFoundationModels, "*"); err != nil {
		h.writeControlError(w, err)
		return
	}
	list := anthropic.ModelList{Data: []anthropic.ModelInfo{}}
	for _, m := range h.gw.Catalog().Models() {
		if m.Embedding() {
			continue
		}
		id := m.ID
		if name, ok := anthropicName(m.ID); ok {
			id = name
		}
		list.Data = append(list.Data, h.model(id, m))
	}
	slices.SortStableFunc(list.Data, func(a, b anthropic.ModelInfo) int {
		return strings.Compare(a.ID, b.ID)
	})
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	h.writeControl(w, list)
}

// getModel serves GET /v1/models/{model_id} for any name modelNames
// knows.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request, escapedID string) {
	if _, _, err := h.gw.Control(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, auth.ActionGetFoundationModel, "*"); err != nil {
		h.writeControlError(w, err)
		return
	}
	name, err := url.PathUnescape(escapedID)
	if err != nil {
		name = escapedID
	}
	id, ok := h.names.resolve(h.gw.Catalog(), name)
	if !ok {
		h.writeControlError(w, notFound(name))
		return
	}
	res, err := h.gw.Catalog().Resolve(id)
	if err != nil {
		h.writeControlError(w, notFound(name))
		return
	}
	h.writeControl(w, h.model(name, res.Model))
}

func (h *Handler) model(id string, m *catalog.Model) anthropic.ModelInfo {
	name := m.Name
	if name == "" {
		name = m.ID
	}
	return anthropic.ModelInfo{Type: "model", ID: id, DisplayName: name, CreatedAt: h.created, MaxTokens: m.MaxOutputTokens}
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
