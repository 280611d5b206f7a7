package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/cloudtrail"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// openTrail opens the audit trail (nil when audit.enabled is false).
func (s *Server) openTrail(cfg *config.Config) error {
	if !cfg.Audit.On() {
		return nil
	}
	store, err := objectstore.Open(context.Background(), cfg.Audit.OutputStore(cfg), cfg.DataDir, cfg.Region, nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	prefix := cfg.Audit.Prefix
	if r := clusterReplica(cfg); r != "" {
		// Each replica of a cluster writes a trail of its own, with its
		// own digest chain and signing key, as CloudTrail keeps one per
		// region: <prefix>/<replica>/AWSLogs/...
		prefix = strings.Trim(strings.Trim(prefix, "/")+"/"+r, "/")
	}
	s.trail, err = cloudtrail.Open(cloudtrail.Options{
		Dir: filepath.Join(cfg.DataDir, "cloudtrail"), Store: store,
		Bucket: cfg.Audit.BucketName(), Prefix: prefix, TrailName: cfg.Audit.TrailName,
		AccountID: cfg.AccountID, Region: cfg.Region,
		DeliveryInterval: cfg.Audit.DeliveryInterval, DigestInterval: cfg.Audit.DigestInterval,
		Registerer: s.registry, Logger: s.log.With("component", "audit"),
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	s.trail.Start()
	return nil
}

// controlOp is a control-plane operation of the Bedrock front door, as
// the audit trail names it.
type controlOp struct {
	name     string
	readOnly bool
	// params renders requestParameters from the request (nil: null).
	params func(r *http.Request, body []byte) any
}

// controlOperation names the control-plane operation r is, if any.
// Runtime calls (InvokeModel, Converse, their streams, CountTokens) are
// not: the invocation log records them, and the trail only their refusals.
func controlOperation(r *http.Request) (controlOp, bool) {
	path := r.URL.EscapedPath()
	switch {
	case path == "/logging/modelinvocations":
		switch r.Method {
		case http.MethodGet:
			return controlOp{name: "GetModelInvocationLoggingConfiguration", readOnly: true}, true
		case http.MethodPut:
			return controlOp{name: "PutModelInvocationLoggingConfiguration", params: jsonBody}, true
		case http.MethodDelete:
			return controlOp{name: "DeleteModelInvocationLoggingConfiguration"}, true
		}
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
	case path == "/foundation-models" && r.Method == http.MethodGet:
		return controlOp{name: "ListFoundationModels", readOnly: true, params: queryParams}, true
	case strings.HasPrefix(path, "/foundation-models/") && r.Method == http.MethodGet:
		return controlOp{name: "GetFoundationModel", readOnly: true, params: pathParam("modelIdentifier", "/foundation-models/")}, true
	case path == "/inference-profiles" && r.Method == http.MethodGet:
		return controlOp{name: "ListInferenceProfiles", readOnly: true, params: queryParams}, true
	case strings.HasPrefix(path, "/inference-profiles/") && r.Method == http.MethodGet:
		return controlOp{name: "GetInferenceProfile", readOnly: true, params: pathParam("inferenceProfileIdentifier", "/inference-profiles/")}, true
	case path == "/async-invoke" && r.Method == http.MethodPost:
		return controlOp{name: "StartAsyncInvoke", params: startAsyncParams}, true
	case path == "/async-invoke" && r.Method == http.MethodGet:
		return controlOp{name: "ListAsyncInvokes", readOnly: true, params: queryParams}, true
	case strings.HasPrefix(path, "/async-invoke/") && r.Method == http.MethodGet:
		return controlOp{name: "GetAsyncInvoke", readOnly: true, params: pathParam("invocationArn", "/async-invoke/")}, true
	}
	return controlOp{}, false
}

// jsonBody is the request body itself, when it is a JSON object.
func jsonBody(_ *http.Request, body []byte) any {
	if json.Valid(body) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return json.RawMessage(body)
	}
	return nil
}

// queryParams are the query string's parameters, or null.
func queryParams(r *http.Request, _ []byte) any {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		out[k] = v[0]
	}
	return out
}

// pathParam is the path's last segment under prefix, URL-decoded, as name.
func pathParam(name, prefix string) func(*http.Request, []byte) any {
	return func(r *http.Request, _ []byte) any {
		v, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), prefix))
		if err != nil {
			return nil
		}
		return map[string]string{name: v}
	}
}

// startAsyncParams keeps StartAsyncInvoke's model and output location;
// the model input (a prompt, images) is the caller's data, not an audit
// fact.
func startAsyncParams(_ *http.Request, body []byte) any {
	var req struct {
		ModelID          string          `json:"modelId"`
		OutputDataConfig json.RawMessage `json:"outputDataConfig"`
		ClientRequestTok string          `json:"clientRequestToken"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	out := map[string]any{"modelId": req.ModelID}
	if len(req.OutputDataConfig) > 0 {
		out["outputDataConfig"] = req.OutputDataConfig
	}
	if req.ClientRequestTok != "" {
		out["clientRequestToken"] = req.ClientRequestTok
	}
	return out
}

// capture records an answer's status and (small) body for the trail.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// maxCapture bounds what is kept of an answer: an error's body, or a
// StartAsyncInvoke's invocationArn, is far smaller.
const maxCapture = 64 << 10

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if room := maxCapture - c.body.Len(); room > 0 {
		c.body.Write(p[:min(len(p), room)])
	}
	return c.ResponseWriter.Write(p)
}

func (c *capture) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// auditControl wraps the Bedrock front door: every control-plane call it
// answers becomes a CloudTrail event, with the caller as Control
// authenticated it, its outcome, and requestParameters as CloudTrail
// shows them. Model calls pass through untouched.
func (s *Server) auditControl(h http.Handler) http.Handler {
	if s.trail == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := controlOperation(r)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		r, rec := gateway.WithControlRecord(r)
		cw := &capture{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		call := cloudtrail.Call{
			Operation: op.name, SourceIP: gateway.SourceIP(r.RemoteAddr), UserAgent: r.UserAgent(),
			RequestID: headerValue(w.Header(), "x-amzn-RequestId"), Time: time.Now(), ReadOnly: op.readOnly,
			TLS: r.TLS, Host: r.Host,
		}
		if rec.Authenticated {
			call.Principal = s.trailPrincipal(rec.Identity)
			if op.params != nil {
				call.RequestParameters = op.params(r, rec.Body)
			}
		}
		status := cw.status
		if status >= 400 {
			call.ErrorCode, call.ErrorMessage = errorOf(w.Header(), cw.body.Bytes())
		} else if op.name == "StartAsyncInvoke" {
			call.ResponseElements = jsonBody(r, cw.body.Bytes())
		}
		rec.Body = nil
		s.trail.Record(cloudtrail.NewEvent(call))
	})
}

// errorOf reads a Bedrock error answer: the exception from
// x-amzn-ErrorType, the message from the body.
func errorOf(h http.Header, body []byte) (code, message string) {
	code, _, _ = strings.Cut(headerValue(h, "x-amzn-ErrorType"), ":")
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return code, e.Message
}

// trailPrincipal is the audit trail's view of an identity.
func (s *Server) trailPrincipal(id auth.Identity) cloudtrail.Principal {
	if id.Method == auth.MethodAnonymous {
		return cloudtrail.Principal{}
	}
	return cloudtrail.Principal{Name: id.Name, ARN: id.ARN, AccessKeyID: id.AccessKeyID, AccountID: s.cfg.AccountID}
}

// deniedCalls is the observer that puts every refused model call (an
// AccessDeniedException) on the audit trail, with the model as the
// caller named it.
type deniedCalls struct {
	trail     *cloudtrail.Trail
	accountID string
}

// Observe implements invocation.Observer.
func (d deniedCalls) Observe(inv *invocation.Invocation) {
	if inv.ErrorCode != string(apierror.AccessDenied) {
		return
	}
	var params any
	if inv.ModelID != "" {
		params = map[string]string{"modelId": inv.ModelID}
	}
	p := cloudtrail.Principal{}
	if inv.AuthMethod != invocation.AuthAnonymous && inv.PrincipalARN != "" {
		p = cloudtrail.Principal{Name: inv.PrincipalName, ARN: inv.PrincipalARN, AccessKeyID: inv.AccessKeyID, AccountID: d.accountID}
	}
	d.trail.Record(cloudtrail.NewEvent(cloudtrail.Call{
		Operation: string(inv.Operation), Principal: p, SourceIP: inv.SourceIP, UserAgent: inv.UserAgent,
		RequestID: inv.RequestID, Time: inv.End, RequestParameters: params, ReadOnly: true,
		ErrorCode: inv.ErrorCode, ErrorMessage: inv.ErrorMessage,
	}))
}

// cloudTrailTarget is the X-Amz-Target prefix of CloudTrail's API.
const cloudTrailTarget = "CloudTrail_20131101."

// isCloudTrail reports whether r is a CloudTrail API call (LookupEvents,
// ListPublicKeys): POST / with CloudTrail's X-Amz-Target.
func isCloudTrail(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.Contains(r.Header.Get("X-Amz-Target"), cloudTrailTarget)
}

// cloudTrailAPI serves CloudTrail's LookupEvents and ListPublicKeys on the
// main listener, signed for the signing name "cloudtrail".
func (s *Server) cloudTrailAPI() http.Handler {
	return s.trail.Handler(func(r *http.Request, body []byte, action string) error {
		authn := s.gw.Auth().ForService("cloudtrail")
		p, err := authn.Check(r)
		if err != nil {
			return err
		}
		id, err := p.Verify(body)
		if err != nil {
			return err
		}
		return s.gw.Authorize(r, id, action, "*")
	})
}

// getAudit serves GET /api/audit?limit=N: the newest events of the audit
// trail, for the dashboard (cloudtrail:LookupEvents).
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiError(w, http.StatusBadRequest, "limit must be a number between 1 and 1000")
			return
		}
		limit = n
	}
	events := []json.RawMessage{}
	if s.trail != nil {
		var err error
		if events, err = s.trail.Recent(r.Context(), limit); err != nil {
			apiError(w, http.StatusInternalServerError, "the audit trail could not be read")
			return
		}
	}
	body, _ := json.Marshal(map[string]any{"events": events})
	gateway.WriteJSON(w, http.StatusOK, body)
}

// headerValue reads a header whatever its case: the Bedrock door sets
// x-amzn-RequestId and x-amzn-ErrorType as AWS spells them, outside Go's
// canonical form, which Header.Get would not find.
func headerValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
