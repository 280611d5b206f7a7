package bedrockapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
)

// LoggingControl is the model invocation logging configuration behind
// Put/Get/DeleteModelInvocationLoggingConfiguration.
type LoggingControl interface {
	// Put validates and checks c and makes it the configuration in force;
	// a *invocationlog.ValidationError becomes a ValidationException.
	Put(ctx context.Context, c *invocationlog.LoggingConfig) error
	// Config returns the configuration in force, nil when logging is off.
	Config() *invocationlog.LoggingConfig
	// Delete turns logging off.
	Delete(ctx context.Context) error
}

const loggingPath = "/logging/modelinvocations"

// loggingActions are the IAM actions of the three operations, by method.
var loggingActions = map[string]string{
	http.MethodGet:    auth.ActionGetLoggingConfiguration,
	http.MethodPut:    auth.ActionPutLoggingConfiguration,
	http.MethodDelete: auth.ActionDeleteLoggingConfiguration,
}

// audit logs a change of the logging configuration: who (principal and
// ARN), from where (source IP), what (the operation) and the configuration
// before and after ("null": logging off). Configurations hold bucket and
// log group names, never credentials.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, id auth.Identity, action string, old, cur *invocationlog.LoggingConfig) {
	oldJSON, _ := json.Marshal(old)
	newJSON, _ := json.Marshal(cur)
	h.opts.Logger.Warn("invocation logging configuration changed",
		"action", action, "principal", id.Name, "principal_arn", id.ARN, "auth_method", id.Method,
		"source_ip", gateway.SourceIP(r.RemoteAddr), "request_id", strings.Join(w.Header()[headerRequestID], ","), "old", string(oldJSON), "new", string(newJSON))
}

// serveLogging serves the three logging-configuration operations
// (restJson1, service bedrock).
func (h *Handler) serveLogging(w http.ResponseWriter, r *http.Request) {
	action := loggingActions[r.Method]
	body, id, ok := h.authenticateControl(w, r, action, "*")
	if !ok {
		return
	}
	if h.opts.Logging == nil {
		writeError(w, apierror.New(apierror.AccessDenied, "Model invocation logging is not available on this server."))
		return
	}
	switch r.Method {
	case http.MethodGet:
		if c := h.opts.Logging.Config(); c != nil {
			writeJSON(w, map[string]any{"loggingConfig": c})
			return
		}
		writeJSON(w, struct{}{})
	case http.MethodDelete:
		old := h.opts.Logging.Config()
		if err := h.opts.Logging.Delete(r.Context()); err != nil {
			h.controlError(w, err)
			return
		}
		h.audit(w, r, id, action, old, nil)
		writeJSON(w, struct{}{})
	case http.MethodPut:
		var req struct {
			LoggingConfig *invocationlog.LoggingConfig `json:"loggingConfig"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, converse.JSONError(err))
			return
		}
		if req.LoggingConfig == nil {
			writeError(w, apierror.New(apierror.Validation, "1 validation error detected: Value null at 'loggingConfig' failed to satisfy constraint: Member must not be null"))
			return
		}
		old := h.opts.Logging.Config()
		if err := h.opts.Logging.Put(r.Context(), req.LoggingConfig); err != nil {
			h.controlError(w, err)
			return
		}
		h.audit(w, r, id, action, old, h.opts.Logging.Config())
		writeJSON(w, struct{}{})
	}
}

func (h *Handler) controlError(w http.ResponseWriter, err error) {
	var ve *invocationlog.ValidationError
	if errors.As(err, &ve) {
		writeError(w, apierror.New(apierror.Validation, "%s", ve.Message))
		return
	}
	h.opts.Logger.Error("logging configuration failed", "err", err)
	writeError(w, apierror.New(apierror.InternalServer, "The logging configuration could not be stored. Try again."))
}
