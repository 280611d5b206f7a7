package bedrockapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/asyncinvoke"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Header names exactly as Bedrock writes them. They are set directly in the
// header map so Go does not re-case them; SDKs match them case-insensitively
// but byte-for-byte comparisons should hold.
const (
	headerRequestID   = "x-amzn-RequestId"
	headerErrorType   = "x-amzn-ErrorType"
	headerInputTokens = "X-Amzn-Bedrock-Input-Token-Count"
	headerOutputToken = "X-Amzn-Bedrock-Output-Token-Count"
	headerCacheRead   = "X-Amzn-Bedrock-Cache-Read-Input-Token-Count"
	headerCacheWrite  = "X-Amzn-Bedrock-Cache-Write-Input-Token-Count"
	headerLatency     = "X-Amzn-Bedrock-Invocation-Latency"
	headerPerfLatency = "X-Amzn-Bedrock-Performanceconfig-Latency"
	headerServiceTier = "X-Amzn-Bedrock-Service-Tier"
	headerMetadata    = "X-Amzn-Bedrock-Request-Metadata"
	contentTypeJSON   = "application/json"
)

// Options configure the handler.
type Options struct {
	// MaxRequestBytes caps request bodies.
	MaxRequestBytes int64
	// Bodies is the server-wide budget model calls' bodies are charged to
	// while their handler runs (nil: no budget).
	Bodies *gateway.BodyBudget
	// Region is the serving region, used in model ARNs.
	Region string
	Logger *slog.Logger
	// Logging serves the invocation logging configuration API; nil answers
	// it with AccessDeniedException.
	Logging LoggingControl
	// Async runs StartAsyncInvoke's jobs; nil answers the async-invoke
	// operations with ServiceUnavailableException.
	Async *asyncinvoke.Manager
}

// Handler serves the Bedrock API. It is an http.Handler.
type Handler struct {
	gw   *gateway.Gateway
	opts Options
}

// New returns a Handler serving calls through gw.
func New(gw *gateway.Gateway, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{gw: gw, opts: opts}
}

// runtimeOps maps the last path segment of /model/{modelId}/{action} to the
// operation.
var runtimeOps = map[string]invocation.Operation{
	"invoke":                      invocation.InvokeModel,
	"invoke-with-response-stream": invocation.InvokeModelWithResponseStream,
	"converse":                    invocation.Converse,
	"converse-stream":             invocation.ConverseStream,
}

// ServeHTTP routes on the escaped path: model IDs arrive percent-encoded
// (":" as %3A, and "/" inside ARNs as %2F), and splitting the decoded path
// would cut ARNs apart.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/model/"):
		rest := path[len("/model/"):]
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			break
		}
		if rest[i+1:] == "count-tokens" && r.Method == http.MethodPost {
			h.countTokens(w, r, rest[:i])
			return
		}
		op, ok := runtimeOps[rest[i+1:]]
		if !ok || r.Method != http.MethodPost {
			break
		}
		h.serveRuntime(w, r, op, rest[:i])
		return
	case path == loggingPath && (r.Method == http.MethodGet || r.Method == http.MethodPut || r.Method == http.MethodDelete):
		h.serveLogging(w, r)
		return
	case path == "/foundation-models" && r.Method == http.MethodGet:
		h.listFoundationModels(w, r)
		return
	case strings.HasPrefix(path, "/foundation-models/") && r.Method == http.MethodGet:
		h.getFoundationModel(w, r, path[len("/foundation-models/"):])
		return
	// The inference profile operations are control-plane ones (service
	// bedrock), served on this listener because Claude Code sends them to
	// the runtime host.
	case path == "/inference-profiles" && r.Method == http.MethodGet:
		h.listInferenceProfiles(w, r)
		return
	case strings.HasPrefix(path, "/inference-profiles/") && r.Method == http.MethodGet:
		h.getInferenceProfile(w, r, path[len("/inference-profiles/"):])
		return
	}
	if (path == asyncPath || strings.HasPrefix(path, asyncPath+"/")) && h.serveAsync(w, r, path) {
		return
	}
	w.Header()[headerRequestID] = []string{newRequestID()}
	writeError(w, apierror.New(apierror.UnknownOperation, "The operation %s %s is not supported.", r.Method, path))
}

// serveRuntime runs one model call through the gateway's request loop,
// with the operation's door.
func (h *Handler) serveRuntime(w http.ResponseWriter, r *http.Request, op invocation.Operation, escapedID string) {
	// An identifier that does not unescape is resolved as sent, and the
	// catalog refuses it as invalid.
	modelID, err := url.PathUnescape(escapedID)
	if err != nil {
		modelID = escapedID
	}
	if op == invocation.Converse || op == invocation.ConverseStream {
		h.gw.Serve(w, r, &converseDoor{h: h, op: op, modelID: modelID})
		return
	}
	h.gw.Serve(w, r, &invokeDoor{h: h, op: op, modelID: modelID, frames: newEventFrames()})
}

// errorJSON is the restJson1 error body; ModelErrorException adds the
// upstream status and the model.
type errorJSON struct {
	Message            string `json:"message"`
	OriginalStatusCode int    `json:"originalStatusCode,omitempty"`
	ResourceName       string `json:"resourceName,omitempty"`
	OriginalMessage    string `json:"originalMessage,omitempty"`
}

func errorBody(e *apierror.Error) []byte {
	b, _ := json.Marshal(errorJSON{
		Message:            e.Message,
		OriginalStatusCode: e.OriginalStatusCode,
		ResourceName:       e.ResourceName,
		OriginalMessage:    e.OriginalMessage,
	})
	return b
}

func writeError(w http.ResponseWriter, e *apierror.Error) { writeErrorBody(w, e, errorBody(e)) }

func writeErrorBody(w http.ResponseWriter, e *apierror.Error, body []byte) {
	hdr := w.Header()
	hdr[headerErrorType] = []string{string(e.Code)}
	hdr.Set("Content-Type", contentTypeJSON)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status())
	_, _ = w.Write(body)
}

// bodyError words a body over the limit as Bedrock does (the body is a
// sensitive member: its value is not echoed).
func bodyError(err error, limit int64) error {
	if errors.Is(err, gateway.ErrBodyTooLarge) {
		return apierror.New(apierror.Validation, "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to %d", limit)
	}
	return err
}

func inputContentType(r *http.Request) string {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return contentTypeJSON
}
