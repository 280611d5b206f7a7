package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/iampolicy"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// StatusClientClosedRequest is recorded when the client went away before the
// call finished (nginx's convention; nothing is sent).
const StatusClientClosedRequest = 499

// ErrorCodeClientClosed is the Invocation.ErrorCode of such a call.
const ErrorCodeClientClosed = "ClientClosedRequest"

// Admitter is implemented by observers that can refuse new calls: an
// invocation log whose spool is full refuses calls it could not record rather
// than serve them unlogged. Admit is called for every call after the model is
// resolved and before the provider is called; it must be cheap.
type Admitter interface {
	Admit() error
}

// Options configure a Gateway.
type Options struct {
	Catalog   *catalog.Catalog
	Auth      *auth.Authenticator
	Providers map[string]provider.Provider
	Observers []invocation.Observer
	// Retry holds each provider's retry policy, by provider name; a
	// provider without one is not retried.
	Retry  map[string]RetryPolicy
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Gateway is safe for concurrent use.
type Gateway struct {
	catalog *catalog.Catalog
	// auth is swapped whole when the configuration is reloaded (SetAuth).
	auth      atomic.Pointer[auth.Authenticator]
	providers map[string]provider.Provider
	observers []invocation.Observer
	admitters []Admitter
	// committers are the observers that must keep a record before a call
	// succeeds; they run first.
	committers []invocation.Committer
	retry      map[string]RetryPolicy
	log        *slog.Logger
	now        func() time.Time

	// admission holds the quotas and budgets (SetAdmission); rollback
	// the models alarms have switched to their fallbacks.
	admission atomic.Pointer[admissionBox]
	rollback  rollbacks

	observerPanics atomic.Int64
	inFlight       atomic.Int64
	draining       atomic.Bool
}

// Drain makes the gateway refuse new calls with ServiceUnavailableException
// (calls already past Check go on): the first step of a graceful shutdown,
// while the listener stays open for health checks and in-flight calls.
func (g *Gateway) Drain() { g.draining.Store(true) }

// msgDraining tells a refused caller to go elsewhere.
const msgDraining = "The server is shutting down and takes no new calls. Retry the request; it will be served by another instance."

// New returns a Gateway. Every catalog model's provider must be in
// opts.Providers.
func New(opts Options) (*Gateway, error) {
	g := &Gateway{
		catalog:   opts.Catalog,
		providers: opts.Providers,
		observers: opts.Observers,
		retry:     opts.Retry,
		log:       opts.Logger,
		now:       opts.Now,
	}
	g.auth.Store(opts.Auth)
	if g.log == nil {
		g.log = slog.Default()
	}
	for _, o := range g.observers {
		if a, ok := o.(Admitter); ok {
			g.admitters = append(g.admitters, a)
		}
		if cm, ok := o.(invocation.Committer); ok {
			g.committers = append(g.committers, cm)
		}
	}
	if g.now == nil {
		g.now = time.Now
	}
	for _, m := range g.catalog.Models() {
		if g.providers[m.Provider] == nil {
			return nil, errors.New("gateway: model " + m.ID + " routes to unknown provider " + m.Provider)
		}
	}
	return g, nil
}

// Catalog returns the model catalog.
func (g *Gateway) Catalog() *catalog.Catalog { return g.catalog }

// Provider returns the named provider (nil if unknown).
func (g *Gateway) Provider(name string) provider.Provider { return g.providers[name] }

// Auth returns the authenticator, for front-door operations that are not
// model calls (listing models).
func (g *Gateway) Auth() *auth.Authenticator { return g.auth.Load() }

// SetAuth replaces the authenticator (principals, keys, policies) for the
// calls that begin from now on; calls in progress keep the one they were
// authenticated by. The configuration's reload uses it.
func (g *Gateway) SetAuth(a *auth.Authenticator) { g.auth.Store(a) }

// Call is one runtime call in progress. It is used by one goroutine.
type Call struct {
	g       *Gateway
	inv     *invocation.Invocation
	pending *auth.Pending
	model   *catalog.Model
	// id is the authenticated caller; denied is set when it may not make
	// the call. Unless authenticated and not denied, the call's request
	// body is not recorded: a refused caller's data is not ours to keep.
	id            auth.Identity
	authenticated bool
	denied        bool
	finished      bool
	// catalogID is the catalog identifier the model ID stands for, when
	// the API names models its own way (see Request.CatalogID).
	catalogID string
	// r is the request, for the policy context (pctx, built on first
	// need); settle settles what admission reserved, when the call ends.
	r    *http.Request
	pctx *iampolicy.Context
	// resolution is how the model identifier resolved.
	resolution catalog.Resolution
	settle     func(*invocation.Invocation)
	// tierDropped is set when the provider that served the call does not
	// carry the service tier and latency mode to its model
	// (provider.TierCarrier): what was asked then did not happen.
	tierDropped bool
}

// begin starts a call: it assigns the request ID and records the arrival
// time and client details.
func (g *Gateway) begin(r *http.Request, api invocation.API, op invocation.Operation, modelID string) *Call {
	g.inFlight.Add(1)
	return &Call{g: g, r: r, inv: &invocation.Invocation{
		RequestID: uuid.NewString(),
		API:       api,
		Operation: op,
		ModelID:   modelID,
		SourceIP:  SourceIP(r.RemoteAddr),
		UserAgent: r.UserAgent(),
		Start:     g.now(),
	}}
}

// requestID returns the call's request ID.
func (c *Call) requestID() string { return c.inv.RequestID }

// start returns the time the call arrived.
func (c *Call) start() time.Time { return c.inv.Start }

// check runs the authentication checks that need no body. Call it before
// reading the body so that unauthenticated clients cannot make the server
// read large bodies.
func (c *Call) check(r *http.Request) error {
	if c.g.draining.Load() {
		return apierror.New(apierror.ServiceUnavailable, msgDraining)
	}
	p, err := c.g.Auth().Check(r)
	if err != nil {
		return err
	}
	c.pending = p
	return nil
}

// authenticate verifies the request's signature over the body and records
// the principal.
func (c *Call) authenticate(body []byte) error {
	if c.pending == nil {
		return apierror.New(apierror.MissingAuthenticationToken, "Missing Authentication Token")
	}
	id, err := c.pending.Verify(body)
	if err != nil {
		return err
	}
	c.inv.PrincipalName, c.inv.PrincipalARN = id.Name, id.ARN
	c.inv.AuthMethod, c.inv.AccessKeyID = id.Method, id.AccessKeyID
	c.id, c.authenticated = id, true
	return nil
}

// action is the IAM action the call needs: bedrock:InvokeModel, or
// bedrock:InvokeModelWithResponseStream for a streamed call (ConverseStream,
// InvokeModelWithResponseStream, an OpenAI chat completion with stream:
// true, which its front door marks with SetStreamed before Resolve).
func (c *Call) action() string {
	if c.inv.Operation.Streaming() || c.inv.Streamed {
		return auth.ActionInvokeModelWithResponseStream
	}
	return auth.ActionInvokeModel
}

// setModelID sets the model identifier of a call whose front door learns
// it from the body (the OpenAI API), before Resolve.
func (c *Call) setModelID(id string) { c.inv.ModelID = id }

// setInput records the request body.
func (c *Call) setInput(contentType string, body []byte) {
	c.inv.Input = invocation.Body{ContentType: contentType, Data: body}
}

// setRequestMetadata records the caller's request metadata.
func (c *Call) setRequestMetadata(md map[string]string) { c.inv.RequestMetadata = md }

// resolve maps the call's model identifier to a catalog model, then asks
// the admitting observers whether the call may proceed.
func (c *Call) resolve() (*catalog.Model, error) {
	id := c.inv.ModelID
	if c.catalogID != "" {
		id = c.catalogID
	}
	res, err := c.g.catalog.Resolve(id)
	if err != nil {
		return nil, err
	}
	if !c.authenticated {
		return nil, apierror.New(apierror.MissingAuthenticationToken, "Missing Authentication Token")
	}
	if err := c.authorizeModel(res, c.inv.RequestMetadata); err != nil {
		c.denied = true
		return nil, err
	}
	if c.catalogID == "" {
		if err := catalog.OnDemand(id, res); err != nil {
			return nil, err
		}
	}
	c.model, c.resolution = res.Model, res
	c.inv.CatalogModelID = res.Model.ID
	c.inv.InferenceProfileID = res.ProfileID
	c.inv.InferenceRegion = res.InferenceRegion
	c.inv.Provider = res.Model.Provider
	c.inv.UpstreamModel = res.Model.UpstreamModel
	c.inv.ServedModelID = res.Model.ID
	if len(res.Model.OutputModalities) > 0 {
		c.inv.OutputModality = res.Model.OutputModalities[0]
	}
	for _, a := range c.g.admitters {
		if err := a.Admit(); err != nil {
			return nil, err
		}
	}
	return res.Model, nil
}

// chat sends a validated chat request to the model's provider (with
// retries and fallbacks) and records the usage it reports.
func (c *Call) chat(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	var resp *converse.Response
	err := c.route(ctx, func(ctx context.Context, _ context.CancelFunc, t Target) (bool, error) {
		var err error
		resp, err = t.Provider.Converse(ctx, t.Call, req)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	c.recordConverse(req, resp)
	return resp, nil
}

// recordConverse records what a provider's Converse answer to req says of
// the call: the usage (cache reads and writes, and the one-hour part of the
// writes, included), the stop reason, and the service tier and latency mode
// that served it. A provider that reports no tier or latency mode served
// the call as asked: resp then gets the request's, so that the response,
// its headers and the record all say the same. Front doors that call a
// provider's Converse themselves (InvokeModel translated to Converse) call
// it with the answer.
func (c *Call) recordConverse(req *converse.Request, resp *converse.Response) {
	c.inv.Usage = ConverseUsage(resp.Usage)
	c.inv.StopReason = resp.StopReason
	resp.ServiceTier, resp.PerformanceConfig = c.recordTier(req, resp.ServiceTier, resp.PerformanceConfig)
}

// recordTier sets the call's service tier and latency mode from the
// provider's report, else from the request (when the provider carries
// them to its model), else leaves what the front door recorded
// (SetRequestedTier). It returns the report to send: the provider's, or
// the request's when the provider reported none.
func (c *Call) recordTier(req *converse.Request, tier *converse.ServiceTier, perf *converse.PerformanceConfig) (*converse.ServiceTier, *converse.PerformanceConfig) {
	if c.tierDropped {
		req = nil // not asked of the model: only its own report counts
	}
	if tier == nil && req != nil && req.ServiceTier != nil && req.ServiceTier.Type != "" {
		tier = &converse.ServiceTier{Type: req.ServiceTier.Type}
	}
	if perf == nil && req != nil && req.PerformanceConfig != nil && req.PerformanceConfig.Latency != "" {
		perf = &converse.PerformanceConfig{Latency: req.PerformanceConfig.Latency}
	}
	if tier != nil && tier.Type != "" {
		c.inv.ServiceTier = tier.Type
	}
	if perf != nil && perf.Latency != "" {
		c.inv.PerformanceLatency = perf.Latency
	}
	return tier, perf
}

// ConverseUsage is the Invocation's form of a Converse usage report. The
// one-hour cache writes are the cacheDetails entries with TTL 1h; they are
// part of cacheWriteInputTokens, so a report whose details exceed it (a
// provider bug) is held to the total.
func ConverseUsage(u converse.Usage) invocation.Usage {
	out := invocation.Usage{
		InputTokens:           u.InputTokens,
		OutputTokens:          u.OutputTokens,
		CacheReadInputTokens:  u.CacheReadInputTokens,
		CacheWriteInputTokens: u.CacheWriteInputTokens,
	}
	for _, d := range u.CacheDetails {
		if d.TTL == converse.CacheTTL1h && d.InputTokens > 0 {
			out.CacheWrite1hInputTokens += d.InputTokens
		}
	}
	out.CacheWrite1hInputTokens = min(out.CacheWrite1hInputTokens, max(out.CacheWriteInputTokens, 0))
	return out
}

// setRequestedTier records the service tier and latency mode the caller
// asked for through a path where the gateway cannot read them from a
// Converse request (InvokeModel's X-Amzn-Bedrock-Service-Tier and
// X-Amzn-Bedrock-PerformanceConfig-Latency headers). They stand for the
// call's unless a provider's answer reports the ones that served it.
func (c *Call) setRequestedTier(tier, latency string) {
	c.inv.ServiceTier, c.inv.PerformanceLatency = tier, latency
}

// serviceTier returns the service tier recorded for the call ("" when none
// was asked for or reported).
func (c *Call) serviceTier() string { return c.inv.ServiceTier }

// performanceLatency returns the latency mode recorded for the call (""
// when none was asked for or reported).
func (c *Call) performanceLatency() string { return c.inv.PerformanceLatency }

// providerError normalises a provider failure: a passed deadline is a model
// timeout whatever the provider said.
func (c *Call) providerError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &apierror.Error{Code: apierror.ModelTimeout, Message: "Model has timed out in processing the request. Try your request again.", Cause: err}
	}
	return err
}

// finish completes the call and hands the Invocation to the observers. The
// status is the HTTP status sent (or about to be sent) and output the
// response body; err is the failure, if any. A call whose client has gone
// away is recorded with StatusClientClosedRequest. Finish may be called once;
// later calls do nothing and return nil.
//
// Finish returns an error when a Committer (the invocation log) could not
// keep the record of a successful call: the call has then been recorded as
// failed with that error, and the front door must send the error instead
// of the response, so that no call is reported served without its record.
func (c *Call) finish(ctx context.Context, status int, output invocation.Body, err error) error {
	if c.finished {
		return nil
	}
	c.finished = true
	defer c.g.inFlight.Add(-1)
	inv := c.inv
	inv.End = c.g.now()
	if inv.FirstByte.IsZero() && len(output.Data) > 0 {
		inv.FirstByte = inv.End
	}
	inv.Output = output
	if !c.authenticated || c.denied {
		// Refused by authentication or authorization: the record keeps
		// the metadata and our error, never the caller's body.
		inv.Input.Data = nil
	}
	inv.Status = status
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			inv.Status = StatusClientClosedRequest
			inv.ErrorCode = ErrorCodeClientClosed
			inv.ErrorMessage = "The client closed the connection before the response was complete."
		} else {
			c.setError(err)
		}
	}
	var refused error
	for _, o := range c.g.committers {
		if cerr := c.g.commit(o, inv); cerr != nil && inv.ErrorCode == "" && refused == nil {
			refused = cerr
		}
	}
	if refused != nil {
		e := apierror.From(refused)
		inv.Status = e.Status()
		c.setError(e)
	}
	if c.settle != nil {
		settle := c.settle
		c.settle = nil
		settle(inv)
	}
	c.g.observeAll(inv)
	return refused
}

// observeAll hands inv to the observers that are not committers (those
// have it already).
func (g *Gateway) observeAll(inv *invocation.Invocation) {
	for _, o := range g.observers {
		if _, ok := o.(invocation.Committer); ok {
			continue
		}
		g.observe(o, inv)
	}
}

// setError records a failure in the Invocation.
func (c *Call) setError(err error) {
	inv := c.inv
	e := apierror.From(err)
	inv.ErrorCode, inv.ErrorMessage = string(e.Code), e.Message
	if e.Cause != nil {
		c.g.log.Warn("call failed", "request_id", inv.RequestID, "operation", inv.Operation,
			"model_id", inv.ModelID, "error_code", e.Code, "cause", e.Cause)
	}
}

// commit runs one committer, recovering from a panic like observe (a
// panicking committer kept nothing: the call is refused).
func (g *Gateway) commit(o invocation.Committer, inv *invocation.Invocation) (err error) {
	defer func() {
		if r := recover(); r != nil {
			g.observerPanics.Add(1)
			g.log.Error("invocation committer panicked", "request_id", inv.RequestID, "panic", r)
			err = apierror.New(apierror.InternalServer, "The call could not be recorded.")
		}
	}()
	return o.Commit(inv)
}

// observe runs one observer, so that a faulty observer can neither fail the
// call nor stop the others.
func (g *Gateway) observe(o invocation.Observer, inv *invocation.Invocation) {
	defer func() {
		if r := recover(); r != nil {
			g.observerPanics.Add(1)
			g.log.Error("invocation observer panicked", "request_id", inv.RequestID, "panic", r)
		}
	}()
	o.Observe(inv)
}

// InFlight returns the number of calls begun and not yet finished.
func (g *Gateway) InFlight() int64 { return g.inFlight.Load() }

// ObserverPanics counts observer panics since start.
func (g *Gateway) ObserverPanics() int64 { return g.observerPanics.Load() }

// SourceIP is the client address of a request: the host of RemoteAddr.
// Forwarding headers are not trusted (any client can send them).
func SourceIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// setStreamed marks the call as streamed.
func (c *Call) setStreamed() { c.inv.Streamed = true }
