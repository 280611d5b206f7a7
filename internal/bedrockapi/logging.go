package bedrockapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
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

// serveLogging serves the three logging-configuration operations
// (restJson1, service bedrock).
func (h *Handler) serveLogging(w http.ResponseWriter, r *http.Request) {
	body, ok := h.authenticateControl(w, r)
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
		if err := h.opts.Logging.Delete(r.Context()); err != nil {
			h.controlError(w, err)
			return
		}
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
		if err := h.opts.Logging.Put(r.Context(), req.LoggingConfig); err != nil {
			h.controlError(w, err)
			return
		}
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
