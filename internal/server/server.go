package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelwatch/modelwatch/internal/anthropicapi"
	"github.com/modelwatch/modelwatch/internal/asyncinvoke"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/bedrockapi"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/cloudtrail"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/dashboard"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/history"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/metrics"
	"github.com/modelwatch/modelwatch/internal/openaiapi"
	"github.com/modelwatch/modelwatch/internal/promremote"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/providers"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/webui"
)

// Flusher is implemented by observers that buffer: Shutdown is called after
// the last call has finished and must deliver or persist what is pending
// before ctx ends.
type Flusher interface {
	Shutdown(ctx context.Context) error
}

// Options add to what the Config describes.
type Options struct {
	Logger *slog.Logger
	// Observers receive every Invocation, after the built-in ones.
	Observers []invocation.Observer
	// HistoryClock stamps the metric history's samples; nil means
	// time.Now. Tests use it to lay known traffic out over time.
	HistoryClock func() time.Time
}

// Server is a configured modelwatch server.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	gw        *gateway.Gateway
	observers []invocation.Observer
	http      *http.Server
	ln        net.Listener
	// metricsHTTP serves /metrics alone on metrics.listen (nil when unset).
	metricsHTTP *http.Server
	metricsLn   net.Listener
	draining    atomic.Bool
	bodies      *gateway.BodyBudget
	lock        *os.File
	logging     *invocationlog.Logger
	history     *history.Store
	prices      *cost.PriceList
	dashboard   *dashboard.Dashboard
	// exactDashboard is dashboard with exact counts on an external
	// Prometheus (metrics.prometheusURL).
	exactDashboard *dashboard.Dashboard
	registry       *prometheus.Registry
	ready          atomic.Bool
	// async runs StartAsyncInvoke's jobs.
	async *asyncinvoke.Manager
	// gov holds the quotas, budgets and alarms; trail the audit trail
	// (nil when audit.enabled is false).
	gov   *governance
	trail *cloudtrail.Trail
	// live is the configuration Reload last applied (nil: cfg).
	live atomic.Pointer[config.Config]
	// cluster is the replica's part in a cluster (shared configuration,
	// leader duties); prom the external Prometheus the dashboard, /api/v1
	// and the alarms read (nil: the embedded history).
	cluster *cluster
	prom    *promremote.Client
}

// New validates the configuration, prepares the data directory and binds
// the listen address. It refuses to listen beyond loopback when no principal
// is configured.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	registry := prometheus.NewRegistry()
	// A replica of a cluster joins it first: the shared governance
	// (principals, policies, quotas, budgets, alarms) replaces the file's.
	cl, cfg, err := openCluster(cfg, registry, log)
	if err != nil {
		return nil, err
	}
	built := false
	defer func() {
		if !built {
			cl.close()
		}
	}()
	authn, err := auth.New(cfg.Auth.Principals, cfg.AuthOptions())
	if err != nil {
		return nil, err
	}
	if !cfg.Loopback() && authn.Anonymous() {
		return nil, fmt.Errorf("refusing to listen on %s without authentication: anyone who can reach it could call your models. "+
			"Configure at least one principal under auth.principals in the config file (an access key pair for SigV4 clients "+
			"or an API key for bearer clients; see README.md \"Authentication\"), or listen on 127.0.0.1", cfg.Listen)
	}
	cat, err := catalog.New(cfg.Region, cfg.AccountID, cfg.CatalogModels())
	if err != nil {
		return nil, err
	}
	upstreams, err := buildProviders(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, registry: registry, cluster: cl}
	if cfg.Metrics.PrometheusURL != "" {
		if s.prom, err = promremote.New(cfg.Metrics.PrometheusURL, promremote.Options{Logger: log.With("component", "prometheus")}); err != nil {
			return nil, fmt.Errorf("metrics.prometheusURL: %w", err)
		}
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := s.lockDataDir(); err != nil {
		return nil, err
	}
	s.logging, err = invocationlog.Open(invocationlog.Options{
		DataDir: cfg.DataDir, AccountID: cfg.AccountID, Region: cfg.Region, Settings: cfg.InvocationLogging,
		Registerer: s.registry, Logger: log, Replica: clusterReplica(cfg),
	})
	if err != nil {
		s.unlock()
		return nil, err
	}
	if err := cl.attachLogging(s.logging); err != nil {
		s.closeEarly()
		return nil, err
	}
	s.history, err = history.Open(history.Options{
		Dir: filepath.Join(cfg.DataDir, "history"), Gatherer: s.registry, Registerer: s.registry,
		Interval: cfg.Metrics.HistoryInterval, Retention: cfg.Metrics.HistoryRetention, Logger: log.With("component", "history"),
		Now: opts.HistoryClock,
	})
	if err != nil {
		s.closeEarly()
		return nil, err
	}
	s.prices, err = cost.Load(cfg.Prices)
	if err != nil {
		s.closeEarly()
		return nil, err
	}
	s.dashboard, err = dashboard.ForConfig(cfg.Dashboard, cat.Models(), s.prices)
	if err != nil {
		s.closeEarly()
		return nil, err
	}
	s.exactDashboard = dashboard.ExactCounts(s.dashboard)
	legacy := func(id string) bool { m, ok := cat.Lookup(id); return ok && m.Legacy }
	modelIDs := make([]string, 0, len(cat.Models()))
	for _, m := range cat.Models() {
		modelIDs = append(modelIDs, m.ID)
	}
	latencyWindow := max(metrics.DefaultLatencyWindow, 2*cfg.Metrics.HistoryInterval)
	if err := s.openTrail(cfg); err != nil {
		s.closeEarly()
		return nil, err
	}
	s.observers = append([]invocation.Observer{s.logging,
		metrics.New(s.registry, metrics.Options{Legacy: legacy, LatencyWindow: latencyWindow}),
		cost.NewRecorder(s.registry, s.prices, modelIDs)}, opts.Observers...)
	if s.trail != nil {
		s.observers = append(s.observers, deniedCalls{trail: s.trail, accountID: cfg.AccountID})
	}
	s.resumeSeries(cat, cfg.Auth.Principals)
	retry := map[string]gateway.RetryPolicy{}
	for _, p := range cfg.Providers {
		retry[p.Name] = gateway.RetryPolicy{Retries: p.RetryCount(), BackoffMin: p.BackoffMin, BackoffMax: p.BackoffMax}
	}
	s.gw, err = gateway.New(gateway.Options{Catalog: cat, Auth: authn, Providers: upstreams, Observers: s.observers, Retry: retry, Logger: log})
	if err != nil {
		s.closeEarly()
		return nil, err
	}

	if err := s.openAsync(log); err != nil {
		s.closeEarly()
		return nil, err
	}
	if s.gov, err = s.openGovernance(cfg); err != nil {
		s.closeEarly()
		return nil, err
	}
	s.gw.SetAdmission(s.gov)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	var gatherer prometheus.Gatherer = s.registry
	if cfg.Metrics.ReplicaLabel {
		gatherer = metrics.WithReplicaLabel(s.registry, "replica", cfg.ReplicaName())
	}
	scrape := promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	mux.Handle("GET /metrics", s.guardedHandler(auth.ActionGetMetrics, scrape))
	ui := webui.Handler(webui.Options{Title: "modelwatch", HistoryInterval: cfg.Metrics.HistoryInterval})
	mux.Handle("GET /{$}", ui)
	mux.Handle("GET /ui/", ui)
	if s.prom != nil {
		// The whole cluster's metrics, from the Prometheus scraping it.
		mux.Handle("/api/v1/", s.prom.Handler(s.authorizer(auth.ActionGetMetrics)))
	} else {
		mux.Handle("/api/v1/", s.history.Handler(s.authorizer(auth.ActionGetMetrics)))
	}
	mux.Handle("GET /api/dashboard", s.guarded("", s.getDashboard))
	mux.Handle("GET /api/history", s.guarded(auth.ActionGetMetrics, s.getHistory))
	mux.Handle("GET /api/prices", s.guarded("", s.getPrices))
	mux.Handle("GET /api/invocations", s.guarded(auth.ActionListInvocations, s.listInvocations))
	mux.Handle("GET /api/invocations/{id}", s.guarded(auth.ActionListInvocations, s.getInvocation))
	mux.Handle("GET /api/governance", s.guarded("", s.getGovernance))
	mux.Handle("GET /api/audit", s.guarded(auth.ActionLookupEvents, s.getAudit))
	s.bodies = gateway.NewBodyBudget(cfg.Limits.MaxBodyBytesInFlight, s.registry) // one budget for every front door and the data APIs
	openaiDoor := openaiapi.New(s.gw, openaiapi.Options{MaxRequestBytes: cfg.Limits.MaxRequestBytes, Bodies: s.bodies, Logger: log})
	anthropicDoor := anthropicapi.New(s.gw, anthropicapi.Options{MaxRequestBytes: cfg.Limits.MaxRequestBytes, Bodies: s.bodies, Logger: log})
	mux.Handle("/v1/", apiDoors(openaiDoor, anthropicDoor))
	// Bedrock's own OpenAI-compatible path, and the Anthropic-shaped one
	// of Bedrock's Mantle endpoint.
	mux.Handle("/openai/v1/", http.StripPrefix("/openai", openaiDoor))
	mux.Handle("/anthropic/v1/", http.StripPrefix("/anthropic", anthropicDoor))
	bedrockDoor := s.auditControl(bedrockapi.New(s.gw, bedrockapi.Options{MaxRequestBytes: cfg.Limits.MaxRequestBytes, Bodies: s.bodies, Region: cfg.Region, Logger: log, Logging: s.logging, Async: s.async}))
	root := bedrockDoor
	if s.trail != nil {
		// CloudTrail's API shares POST / with nothing of Bedrock's: its
		// X-Amz-Target tells it apart.
		trailAPI := s.cloudTrailAPI()
		root = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isCloudTrail(r) {
				trailAPI.ServeHTTP(w, r)
				return
			}
			bedrockDoor.ServeHTTP(w, r)
		})
	}
	mux.Handle("/", root)
	s.http = newHTTPServer(s.closeWhileDraining(mux), cfg.Limits, log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.closeEarly()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if cfg.TLS.Enabled() {
		if ln, err = tlsListener(ln, cfg.TLS); err != nil {
			s.closeEarly()
			return nil, err
		}
	}
	s.ln = ln
	if err := s.listenMetrics(scrape, authn); err != nil {
		ln.Close()
		s.closeEarly()
		return nil, err
	}
	if !cfg.Loopback() && !cfg.TLS.Enabled() {
		log.Warn("listening beyond loopback without TLS: signatures protect requests, but bodies and bearer keys travel in clear text", "listen", cfg.Listen)
	}
	built = true
	return s, nil
}

// resumer is an observer whose metric series can be created again after
// a restart (metrics.Recorder, cost.Recorder).
type resumer interface {
	Resume(series map[string]string) bool
}

// resumeSeries creates again, at zero, the metric series the server's
// previous run was writing when it stopped (history.Store.PreviousSeries),
// before the history's first sample: a model called before the restart
// but not yet after it keeps its series, so the dashboard's totals over
// both runs are exact (see metrics.Resumable). Series of models no longer
// in the catalog or principals no longer configured are left to end, so
// that what is resumed stays bounded by the configuration.
func (s *Server) resumeSeries(cat *catalog.Catalog, principals []auth.Principal) {
	series, err := s.history.PreviousSeries(context.Background())
	if err != nil {
		s.log.Warn("metric history: the previous run's series could not be read; those not called again end at the restart", "err", err)
		return
	}
	known := map[string]bool{cost.AnonymousPrincipal: true}
	for _, p := range principals {
		known[p.Name] = true
	}
	resumed := 0
	current := func(ser map[string]string) bool {
		for _, label := range []string{"model_id", "gen_ai_request_model"} {
			if id, ok := ser[label]; ok {
				if _, found := cat.Lookup(id); !found {
					return false
				}
			}
		}
		p, ok := ser["principal"]
		return !ok || known[p]
	}
	for _, ser := range series {
		if !current(ser) {
			continue
		}
		for _, o := range s.observers {
			if r, ok := o.(resumer); ok && r.Resume(ser) {
				resumed++
				break
			}
		}
	}
	if resumed > 0 {
		s.log.Info("metric history: the previous run's series go on at zero", "series", resumed)
	}
}

// listenMetrics binds metrics.listen, when set: /metrics alone, open on
// loopback (only this machine reaches it), authenticated and requiring
// modelwatch:GetMetrics beyond it, with the main listener's TLS.
func (s *Server) listenMetrics(scrape http.Handler, authn *auth.Authenticator) error {
	addr := s.cfg.Metrics.Listen
	if addr == "" {
		return nil
	}
	loopback := config.IsLoopback(addr)
	if !loopback && authn.Anonymous() {
		return fmt.Errorf("refusing to serve metrics on %s without authentication: metrics name every principal and its cost. "+
			"Configure a principal granted modelwatch:GetMetrics (see README.md \"Metrics\"), or use a loopback metrics.listen", addr)
	}
	h := scrape
	if !loopback {
		h = s.guardedHandler(auth.ActionGetMetrics, scrape)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	if s.cfg.TLS.Enabled() && !loopback {
		if ln, err = tlsListener(ln, s.cfg.TLS); err != nil {
			return err
		}
	}
	s.metricsLn = ln
	s.metricsHTTP = newHTTPServer(mux, s.cfg.Limits, s.log)
	return nil
}

// maxHeaderBytes caps a request's header block: HTTP/1.1's header bytes,
// and on HTTP/2 the decoded header list (SETTINGS_MAX_HEADER_LIST_SIZE),
// which also bounds a CONTINUATION flood.
const maxHeaderBytes = 64 << 10

// newHTTPServer returns a server for one listener that speaks HTTP/1.1,
// HTTP/2 over TLS (negotiated by ALPN) and cleartext HTTP/2 with prior
// knowledge (h2c, what the AWS SDK for JavaScript v3 sends to an http://
// endpoint) on the same port. The same limits hold on every protocol:
// header size, read timeouts, idle timeout; HTTP/2 adds a bound on
// concurrent streams per connection. net/http's HTTP/2 server also caps
// the streams a client may reset before their handlers ran (the rapid
// reset attack, CVE-2023-44487) and stops reading a header block at the
// size limit (the CONTINUATION flood, CVE-2023-45288); the tests in
// http2_test.go mount both attacks.
// apiDoors routes /v1/ between the OpenAI and Anthropic APIs, which share
// it: /v1/messages is Anthropic's, /v1/models is Anthropic's when the
// request carries anthropic-version (every Anthropic SDK and Claude Code
// send it), and the rest is OpenAI's.
func apiDoors(openaiDoor, anthropicDoor http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/v1/messages" || strings.HasPrefix(p, "/v1/messages/"),
			(p == "/v1/models" || strings.HasPrefix(p, "/v1/models/")) && r.Header.Get("Anthropic-Version") != "":
			anthropicDoor.ServeHTTP(w, r)
		default:
			openaiDoor.ServeHTTP(w, r)
		}
	})
}

func newHTTPServer(h http.Handler, limits config.Limits, log *slog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: limits.MaxConcurrentStreams},
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// tlsListener wraps ln in TLS with the configured certificate, offering h2
// and http/1.1 by ALPN. It closes ln when the certificate cannot be loaded.
func tlsListener(ln net.Listener, cfg config.TLS) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}), nil
}

// MetricsAddr returns the bound metrics.listen address ("" when unset).
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

// closeWhileDraining asks HTTP/2 clients to leave once the drain began
// (net/http answers a "Connection: close" on HTTP/2 with a graceful
// GOAWAY), so they reconnect to another instance. HTTP/1.1 connections are
// closed after their current response by SetKeepAlivesEnabled(false) when
// the drain begins: setting the header on HTTP/1.1 responses as well cut
// other in-flight HTTP/1.1 streams short under load once h2c was enabled
// (TestDrainAnswersHealthz503UntilInFlightCallsFinish, with the CPU
// saturated).
func (s *Server) closeWhileDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// buildProviders constructs the configured providers through the registry
// of provider types. Real upstreams' credentials come from the environment
// (API keys from the variable named by apiKeyEnv, AWS credentials from the
// standard chain); nothing is contacted until the first call.
func buildProviders(cfg *config.Config) (map[string]provider.Provider, error) {
	out := map[string]provider.Provider{}
	for _, p := range cfg.Providers {
		t, err := providers.Lookup(p.Type)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", p.Name, err)
		}
		models := map[string]simulator.ModelSettings{}
		for _, m := range cfg.Models {
			if m.Provider == p.Name {
				models[m.ID] = m.Simulator
			}
		}
		env := providers.Env{Getenv: os.Getenv, Region: cfg.Region, SimulatorModels: models}
		built, err := t.Provision(context.Background(), p.Name, p.Settings, env)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", p.Name, err)
		}
		out[p.Name] = built
	}
	return out, nil
}

// Addr returns the bound listen address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the base URL clients use.
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLS.Enabled() {
		scheme = "https"
	}
	return scheme + "://" + s.Addr()
}

// Config returns the server's configuration.
func (s *Server) Config() *config.Config { return s.cfg }

// Logging returns the invocation logger.
func (s *Server) Logging() *invocationlog.Logger { return s.logging }

// Registry returns the Prometheus registry served on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// History returns the metric history store.
func (s *Server) History() *history.Store { return s.history }

// Gateway returns the gateway core.
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

// Run serves until ctx is cancelled, then shuts down gracefully, in the
// order a load balancer needs: /healthz turns 503 and new model calls are
// refused with 503 (ServiceUnavailableException) at once, while the
// listener stays open; in-flight calls go on. The listener closes once
// they have all finished and limits.drainDelay has passed, bounded by
// limits.shutdownTimeout; then buffering observers flush.
func (s *Server) Run(ctx context.Context) error {
	defer s.unlock()
	errc := make(chan error, 2)
	go func() { errc <- s.http.Serve(s.ln) }()
	servers := 1
	if s.metricsHTTP != nil {
		servers++
		go func() { errc <- s.metricsHTTP.Serve(s.metricsLn) }()
	}
	s.history.Start()
	s.gov.start()
	s.cluster.start(s)
	s.ready.Store(true)
	s.log.Info("modelwatch serving", "url", s.URL(), "region", s.cfg.Region, "models", len(s.cfg.Models),
		"auth", map[bool]string{true: "anonymous (loopback)", false: "required"}[s.gw.Auth().Anonymous()], "data_dir", s.cfg.DataDir,
		"metrics_listen", s.MetricsAddr())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.draining.Store(true)
	s.http.SetKeepAlivesEnabled(false) // HTTP/1.1: close each connection after its response
	s.gw.Drain()
	delay := s.cfg.Limits.DrainDelayFor(s.cfg.Listen)
	s.log.Info("shutting down: /healthz answers 503, new calls are refused, draining in-flight calls",
		"in_flight", s.gw.InFlight(), "drain_delay", delay, "timeout", s.cfg.Limits.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.ShutdownTimeout)
	defer cancel()
	s.waitDrained(shutdownCtx, time.Now().Add(delay))

	var errs []error
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("drain: %w", err))
		s.http.Close()
	}
	if s.metricsHTTP != nil {
		if err := s.metricsHTTP.Shutdown(shutdownCtx); err != nil {
			s.metricsHTTP.Close()
		}
	}
	// Running jobs stop (they resume at the next start) before the
	// observers that record ended ones flush.
	s.async.Close()
	for _, o := range s.observers {
		if f, ok := o.(Flusher); ok {
			if err := f.Shutdown(shutdownCtx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := s.gov.close(); err != nil {
		errs = append(errs, fmt.Errorf("budgets: %w", err))
	}
	if s.trail != nil {
		// After the observers: the denied calls' events are in.
		// Bounded: a destination that is down must not hold the
		// shutdown; the spool keeps what is left.
		trailCtx, cancelTrail := context.WithTimeout(shutdownCtx, 5*time.Second)
		err := s.trail.Close(trailCtx)
		cancelTrail()
		if err != nil {
			// Nothing is lost: what was not delivered stays in the
			// trail's spool and goes out at the next start.
			s.log.Warn("audit trail not fully delivered before shutdown; the rest stays in its spool and is delivered at the next start", "error", err)
		}
	}
	// Leadership and the registration go last: the alarms stopped with
	// the governance, so another replica takes over the duties at once.
	s.cluster.close()
	// The history's final sample includes the last calls' metrics.
	if err := s.history.Close(); err != nil {
		errs = append(errs, fmt.Errorf("history: %w", err))
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.log.Info("modelwatch stopped")
	return errors.Join(errs...)
}

// waitDrained returns once no call is in flight and notBefore has passed,
// or when ctx ends.
func (s *Server) waitDrained(ctx context.Context, notBefore time.Time) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.gw.InFlight() > 0 || time.Now().Before(notBefore) {
		select {
		case <-ctx.Done():
			s.log.Warn("shutdown timeout reached with calls in flight", "in_flight", s.gw.InFlight())
			return
		case <-t.C:
		}
	}
}

// readyz is the readiness a load balancer routes by: 200 once the
// server serves with its configuration loaded (the shared one, in a
// cluster: New returns only once it is applied), 503 from the moment it
// starts draining. A replica that loses PostgreSQL stays ready: it serves
// with the last configuration it applied. The body says how the shared
// parts stand.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	v := struct {
		Status         string `json:"status"`
		Replica        string `json:"replica"`
		SharedConfig   string `json:"sharedConfig,omitempty"`
		SharedCounters string `json:"sharedCounters,omitempty"`
	}{Status: "ok", Replica: s.cfg.ReplicaName()}
	if s.cluster.shared() {
		v.SharedConfig = "ok"
		if !s.cluster.store.Healthy() {
			v.SharedConfig = "unavailable (serving with the last configuration applied)"
		}
	}
	if s.gov != nil && s.gov.limits != nil {
		v.SharedCounters = s.gov.limits.Mode()
	}
	code := http.StatusOK
	if !s.ready.Load() || s.draining.Load() {
		v.Status, code = "not ready", http.StatusServiceUnavailable
		if s.draining.Load() {
			v.Status = "draining"
		}
	}
	b, _ := json.Marshal(v)
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"draining"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// lockDataDir creates the data directory and takes an exclusive lock on it,
// so two servers never share (and corrupt) the same state.
func (s *Server) lockDataDir() error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("data dir %s is in use by another modelwatch process (lock: %w)", s.cfg.DataDir, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	s.lock = f
	return nil
}

// closeEarly releases what New acquired when New fails.
func (s *Server) closeEarly() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.async != nil {
		s.async.Close()
	}
	_ = s.logging.Shutdown(ctx)
	if s.gov != nil {
		_ = s.gov.close()
	}
	if s.trail != nil {
		_ = s.trail.Close(ctx)
	}
	if s.history != nil {
		_ = s.history.Close()
	}
	s.unlock()
}

// openAsync opens the asynchronous invocations' job store, resuming the
// jobs a previous run left in progress; their output goes to the object
// store of asyncInvoke.store.
func (s *Server) openAsync(log *slog.Logger) error {
	store, err := objectstore.Open(context.Background(), s.cfg.AsyncInvoke.OutputStore(s.cfg.InvocationLogging), s.cfg.DataDir, s.cfg.Region, nil)
	if err != nil {
		return fmt.Errorf("asyncInvoke: %w", err)
	}
	s.async, err = asyncinvoke.Open(asyncinvoke.Options{
		DataDir: s.cfg.DataDir, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		MaxInProgress: s.cfg.AsyncInvoke.MaxInProgress, Generate: bedrockapi.VideoJobs(s.gw), Store: store,
		Record: s.gw.Record, Logger: log.With("component", "async-invoke"), Shared: s.sharedJobs(),
	})
	return err
}

// sharedJobs is where a cluster's replicas publish their asynchronous
// invocations (nil on a single node).
func (s *Server) sharedJobs() asyncinvoke.SharedJobs {
	if !s.cluster.shared() {
		return nil
	}
	return sharedJobs{s.cluster.store}
}

func (s *Server) unlock() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		s.lock.Close()
		s.lock = nil
	}
}
