package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/modelwatch/modelwatch/internal/asyncinvoke"
	"github.com/modelwatch/modelwatch/internal/clusterstate"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/sharedlimit"
)

// Documents of the shared configuration (clusterstate), and the duties
// one replica of a cluster performs for all.
const (
	docGovernance = "governance"
	docLogging    = "invocation-logging"
	docAlarmState = "alarm-state"

	dutyAlarms  = "alarms"
	dutyBudgets = "budget-notifications"
)

const (
	// heartbeatEvery is how often a replica renews its registration;
	// registrationStale is when another may take its data directory
	// (after it died without deregistering).
	heartbeatEvery    = 5 * time.Second
	registrationStale = 30 * time.Second
	// dataDirIDFile names a data directory for the replica registry.
	dataDirIDFile = "replica-id"
)

// governanceDoc is the shared governance document: the governance
// sections of a configuration file (config.SharedGovernance).
type governanceDoc struct {
	YAML        string `json:"yaml"`
	PublishedBy string `json:"publishedBy"`
}

// loggingDoc is the shared invocation-logging configuration (nil: off).
type loggingDoc struct {
	LoggingConfig *invocationlog.LoggingConfig `json:"loggingConfig"`
	PublishedBy   string                       `json:"publishedBy"`
}

// cluster is this replica's part in a cluster of replicas: the shared
// configuration on PostgreSQL (store; nil without cluster.postgres), the
// documents' versions applied here, and the duties it may lead.
type cluster struct {
	replica string
	store   *clusterstate.Store
	log     *slog.Logger
	// file is this replica's own configuration: what the shared
	// governance document is applied on top of.
	file atomic.Pointer[config.Config]

	govVersion atomic.Int64
	logVersion atomic.Int64
	// govMu serializes applying the governance document (a change seen
	// here, a Reload published from here).
	govMu        sync.Mutex
	alarmVersion atomic.Int64

	applyErrors prometheus.Counter
	versions    *prometheus.GaugeVec
	leading     *prometheus.GaugeVec

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// shared reports whether the configuration is shared on PostgreSQL.
func (c *cluster) shared() bool { return c != nil && c.store != nil }

// openCluster joins the cluster of cfg.Cluster.Postgres: it connects
// (running the schema migrations), registers this replica with its data
// directory (refusing one another live replica uses), and returns cfg
// with the shared governance applied, seeding the shared document from
// cfg when the cluster has none. Without cluster.postgres it returns cfg.
func openCluster(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*cluster, *config.Config, error) {
	c := &cluster{replica: cfg.ReplicaName(), log: log.With("component", "cluster", "replica", cfg.ReplicaName())}
	c.file.Store(cfg)
	c.applyErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "modelwatch_shared_config_apply_errors_total",
		Help: "Shared configuration documents this replica could not apply (it keeps the last one it could)."})
	c.versions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelwatch_shared_config_version",
		Help: "Version of each shared configuration document applied on this replica."}, []string{"document"})
	c.leading = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelwatch_cluster_leader",
		Help: "1 while this replica performs the duty for the cluster."}, []string{"duty"})
	if !cfg.Cluster.Shared() {
		return c, cfg, nil
	}
	reg.MustRegister(c.applyErrors, c.versions, c.leading)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := clusterstate.Open(ctx, string(cfg.Cluster.Postgres), clusterstate.Options{Replica: c.replica, Logger: c.log})
	if err != nil {
		return nil, nil, fmt.Errorf("cluster.postgres: %w", err)
	}
	c.store = store
	dirID, err := dataDirID(cfg.DataDir)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	host, _ := os.Hostname()
	if err := store.Register(ctx, c.replica, dirID, host, registrationStale); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("cluster: %w: a replica's spool is delivered by that replica alone (README \"Scale out\")", err)
	}
	merged, err := c.loadGovernance(ctx, cfg)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return c, merged, nil
}

// dataDirID returns the identity of the data directory, creating it: the
// replica registry refuses a second live replica on the same directory,
// even on another host (a shared volume, where flock may not hold).
func dataDirID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, dataDirIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return id, nil
}

// loadGovernance reads the shared governance document (seeding it from
// cfg when there is none) and returns cfg with it applied.
func (c *cluster) loadGovernance(ctx context.Context, cfg *config.Config) (*config.Config, error) {
	doc, err := c.store.Get(ctx, docGovernance)
	if errors.Is(err, clusterstate.ErrNotFound) {
		body, perr := governanceBody(cfg, c.replica)
		if perr != nil {
			return nil, perr
		}
		doc, err = c.store.Put(ctx, docGovernance, body, 0)
		if errors.Is(err, clusterstate.ErrConflict) {
			doc, err = c.store.Get(ctx, docGovernance) // another replica seeded it first
		} else if err == nil {
			c.log.Info("shared configuration seeded from this replica's configuration file", "version", doc.Version)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the shared configuration: %w", err)
	}
	merged, err := c.governance(doc)
	if err != nil {
		return nil, err
	}
	c.govVersion.Store(doc.Version)
	c.versions.WithLabelValues(docGovernance).Set(float64(doc.Version))
	return merged, nil
}

// governanceBody is the shared document of cfg's governance sections.
func governanceBody(cfg *config.Config, replica string) ([]byte, error) {
	y, err := cfg.SharedGovernance()
	if err != nil {
		return nil, err
	}
	return json.Marshal(governanceDoc{YAML: string(y), PublishedBy: replica})
}

// governance returns this replica's file configuration with the shared
// governance document applied.
func (c *cluster) governance(doc clusterstate.Document) (*config.Config, error) {
	var g governanceDoc
	if err := json.Unmarshal(doc.Body, &g); err != nil {
		return nil, fmt.Errorf("shared configuration version %d: %w", doc.Version, err)
	}
	return c.file.Load().WithSharedGovernance([]byte(g.YAML))
}

// publishGovernance makes cfg's governance sections the cluster's: every
// replica applies them within a second. It returns cfg with them applied
// as every replica will (validated), and the version.
func (c *cluster) publishGovernance(ctx context.Context, cfg *config.Config) (*config.Config, int64, error) {
	body, err := governanceBody(cfg, c.replica)
	if err != nil {
		return nil, 0, err
	}
	var g governanceDoc
	_ = json.Unmarshal(body, &g)
	merged, err := cfg.WithSharedGovernance([]byte(g.YAML))
	if err != nil {
		return nil, 0, err
	}
	doc, err := c.store.Put(ctx, docGovernance, body, -1)
	if err == nil {
		c.prune(ctx, docGovernance, keepVersions)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("the configuration was not shared (the shared configuration store is unavailable), and is not applied: %w", err)
	}
	return merged, doc.Version, nil
}

// attachLogging makes the invocation-logging configuration the cluster's:
// the shared one applies here (or this replica's seeds it), and Put and
// Delete through this replica's API publish to every replica.
func (c *cluster) attachLogging(l *invocationlog.Logger) error {
	if !c.shared() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	doc, err := c.store.Get(ctx, docLogging)
	if errors.Is(err, clusterstate.ErrNotFound) {
		body, _ := json.Marshal(loggingDoc{LoggingConfig: l.Config(), PublishedBy: c.replica})
		doc, err = c.store.Put(ctx, docLogging, body, 0)
		if errors.Is(err, clusterstate.ErrConflict) {
			doc, err = c.store.Get(ctx, docLogging)
		}
	}
	if err != nil {
		return fmt.Errorf("cluster: reading the shared invocation-logging configuration: %w", err)
	}
	if err := c.applyLogging(l, doc); err != nil {
		return err
	}
	l.SetPublisher(func(ctx context.Context, cfg *invocationlog.LoggingConfig) error {
		body, err := json.Marshal(loggingDoc{LoggingConfig: cfg, PublishedBy: c.replica})
		if err != nil {
			return err
		}
		doc, err := c.store.Put(ctx, docLogging, body, -1)
		if err != nil {
			return fmt.Errorf("shared configuration store: %w", err)
		}
		c.prune(ctx, docLogging, keepVersions)
		c.noteLogVersion(doc.Version)
		return nil
	})
	return nil
}

func (c *cluster) noteLogVersion(v int64) {
	for {
		cur := c.logVersion.Load()
		if v <= cur || c.logVersion.CompareAndSwap(cur, v) {
			break
		}
	}
	c.versions.WithLabelValues(docLogging).Set(float64(c.logVersion.Load()))
}

func (c *cluster) applyLogging(l *invocationlog.Logger, doc clusterstate.Document) error {
	var d loggingDoc
	if err := json.Unmarshal(doc.Body, &d); err != nil {
		return fmt.Errorf("shared invocation-logging configuration version %d: %w", doc.Version, err)
	}
	if err := l.Apply(d.LoggingConfig); err != nil {
		return fmt.Errorf("shared invocation-logging configuration version %d: %w", doc.Version, err)
	}
	c.noteLogVersion(doc.Version)
	return nil
}

// start runs the replica's cluster work until close: it follows the
// shared documents (LISTEN/NOTIFY, with resynchronisation after an
// outage), renews its registration, and stands for the cluster's duties.
func (c *cluster) start(s *Server) {
	if !c.shared() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.store.Watch(ctx, func(name string, version int64) { c.changed(ctx, s, name, version) })
	}()
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				hctx, hcancel := context.WithTimeout(ctx, heartbeatEvery)
				_ = c.store.Heartbeat(hctx, c.replica)
				hcancel()
			}
		}
	}()
	c.lead(ctx, dutyAlarms, "this replica evaluates the alarms for the cluster", s.gov.runAlarms)
	if s.gov.limits != nil {
		c.lead(ctx, dutyBudgets, "this replica sends the budget notifications for the cluster", s.gov.runBudgetNotifications)
	}
}

// lead stands for duty until ctx is done, running run while this replica
// holds it.
func (c *cluster) lead(ctx context.Context, duty, msg string, run func(context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.store.Lead(ctx, duty, func(ctx context.Context) {
			c.leading.WithLabelValues(duty).Set(1)
			defer c.leading.WithLabelValues(duty).Set(0)
			c.log.Info(msg)
			run(ctx)
		})
	}()
}

// changed applies a shared document that changed (name, version).
func (c *cluster) changed(ctx context.Context, s *Server, name string, version int64) {
	get := func() (clusterstate.Document, bool) {
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		doc, err := c.store.Get(gctx, name)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("shared configuration change not read; this replica keeps the last one it applied", "document", name, "error", err)
			}
			return doc, false
		}
		return doc, true
	}
	switch name {
	case docGovernance:
		if version != 0 && version <= c.govVersion.Load() {
			return
		}
		// govMu orders this with a Reload publishing from this replica,
		// so that an older document never replaces a newer one.
		c.govMu.Lock()
		defer c.govMu.Unlock()
		doc, ok := get()
		if !ok || doc.Version <= c.govVersion.Load() {
			return
		}
		merged, err := c.governance(doc)
		if err == nil {
			err = s.reload(merged)
		}
		if err != nil {
			c.applyErrors.Inc()
			c.log.Error("shared configuration not applied; this replica keeps the previous one", "version", doc.Version, "published_by", doc.UpdatedBy, "error", err)
		}
		c.govVersion.Store(doc.Version)
		c.versions.WithLabelValues(docGovernance).Set(float64(doc.Version))
	case docLogging:
		if version != 0 && version <= c.logVersion.Load() {
			return
		}
		// Apply the latest document; if this replica published a newer
		// one while it was applied (a Put here, racing), apply the latest
		// again, so that the last version wins everywhere.
		for {
			doc, ok := get()
			if !ok || doc.Version < c.logVersion.Load() {
				return
			}
			if err := c.applyLogging(s.logging, doc); err != nil {
				c.applyErrors.Inc()
				c.log.Error("shared invocation-logging configuration not applied", "error", err)
				c.noteLogVersion(doc.Version)
				return
			}
			if c.logVersion.Load() <= doc.Version {
				return
			}
		}
	case docAlarmState:
		if c.store.IsLeader(dutyAlarms) || (version != 0 && version <= c.alarmVersion.Load()) {
			return
		}
		doc, ok := get()
		if !ok {
			return
		}
		c.alarmVersion.Store(doc.Version)
		if err := s.gov.alarms.Adopt(doc.Body); err != nil {
			c.log.Warn("shared alarm states not adopted", "error", err)
		}
	}
}

// publishAlarmState shares the alarms' states the leader evaluated.
func (c *cluster) publishAlarmState(state []byte) {
	if !c.shared() || !c.store.IsLeader(dutyAlarms) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	doc, err := c.store.Put(ctx, docAlarmState, state, -1)
	if err != nil {
		c.log.Warn("alarm states not shared with the other replicas", "error", err)
		return
	}
	c.prune(ctx, docAlarmState, keepAlarmStates)
	c.alarmVersion.Store(doc.Version)
}

// How many versions of each shared document PostgreSQL keeps: the
// configurations' last hundred (their history), the alarm states' last
// few (each holds every alarm's last 100 transitions already).
const (
	keepVersions    = 100
	keepAlarmStates = 5
)

// prune drops a document's versions beyond keep; a failure only leaves
// more history, and is logged.
func (c *cluster) prune(ctx context.Context, name string, keep int) {
	if err := c.store.Prune(ctx, name, keep); err != nil {
		c.log.Debug("old versions of a shared document not pruned", "document", name, "error", err)
	}
}

// close stops the cluster work and disconnects.
func (c *cluster) close() {
	if c == nil || c.store == nil {
		return
	}
	if c.stop != nil {
		c.stop()
		c.wg.Wait()
	}
	c.store.Close()
}

// clusterReplica is the replica name invocation-log batch names carry:
// set in a cluster (shared configuration or counters, or cluster.replica
// given), so that replicas writing to one bucket never write one key;
// empty on a single node, whose batch names stay as they were.
func clusterReplica(cfg *config.Config) string {
	if cfg.Cluster.Postgres == "" && cfg.Cluster.Redis == "" && cfg.Cluster.Replica == "" {
		return ""
	}
	return cfg.ReplicaName()
}

// Redis client timeouts for the shared counters: admission waits at most
// about this long on a Redis that stopped answering before it fails open
// (or closed), so an outage adds a bounded delay, not a hang.
const (
	redisDialTimeout = 500 * time.Millisecond
	redisIOTimeout   = 250 * time.Millisecond
)

// redisLog routes the Redis client's own messages (failed dials, pool
// events) into the server's log at debug level: sharedlimit already says,
// once, when Redis goes away and comes back.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

var setRedisLog sync.Once

// openSharedLimits connects the quotas and budgets to the counters every
// replica shares on cluster.redis.
func openSharedLimits(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*sharedlimit.Limits, error) {
	setRedisLog.Do(func() { redis.SetLogger(redisLog{log.With("component", "redis")}) })
	opts, err := redis.ParseURL(string(cfg.Cluster.Redis))
	if err != nil {
		return nil, errors.New("cluster.redis: not a Redis URL (the value is not shown: it may hold a password)")
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	opts.MaxRetries, opts.DialerRetries = -1, 1 // no command retries (admission retries are safe but slow); one dial
	mode := cfg.Cluster.RedisUnavailable
	if mode == "" {
		mode = "local"
	}
	l, err := sharedlimit.New(redis.NewClient(opts), cfg.Quotas, cfg.Budgets, sharedlimit.Options{
		Replica: cfg.ReplicaName(), OnUnavailable: mode, Registerer: reg, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster.redis: %w", err)
	}
	return l, nil
}

// asyncJobsCollection holds the asynchronous invocations' records in the
// shared store.
const asyncJobsCollection = "async-invoke"

// sharedJobs publishes asynchronous invocations to the cluster's shared
// store (asyncinvoke.SharedJobs).
type sharedJobs struct{ store *clusterstate.Store }

// PutJob implements asyncinvoke.SharedJobs. A record never replaces a
// later one of the same job (the start's publication racing the end's).
func (s sharedJobs) PutJob(ctx context.Context, j asyncinvoke.Job) error {
	if old, ok, err := s.GetJob(ctx, j.ID); err == nil && ok && (old.LastModified.After(j.LastModified) || old.Status != asyncinvoke.InProgress && j.Status == asyncinvoke.InProgress) {
		return nil
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return s.store.PutItem(ctx, asyncJobsCollection, j.ID, b)
}

// GetJob implements asyncinvoke.SharedJobs.
func (s sharedJobs) GetJob(ctx context.Context, id string) (asyncinvoke.Job, bool, error) {
	b, err := s.store.GetItem(ctx, asyncJobsCollection, id)
	if errors.Is(err, clusterstate.ErrNotFound) {
		return asyncinvoke.Job{}, false, nil
	}
	if err != nil {
		return asyncinvoke.Job{}, false, err
	}
	var j asyncinvoke.Job
	if err := json.Unmarshal(b, &j); err != nil {
		return asyncinvoke.Job{}, false, err
	}
	return j, true, nil
}

// ListJobs implements asyncinvoke.SharedJobs.
func (s sharedJobs) ListJobs(ctx context.Context) ([]asyncinvoke.Job, error) {
	items, err := s.store.ListItems(ctx, asyncJobsCollection)
	if err != nil {
		return nil, err
	}
	out := make([]asyncinvoke.Job, 0, len(items))
	for _, it := range items {
		var j asyncinvoke.Job
		if json.Unmarshal(it.Body, &j) == nil {
			out = append(out, j)
		}
	}
	return out, nil
}
