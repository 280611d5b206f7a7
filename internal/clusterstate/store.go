package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultNamespace is the [Options.Namespace] used when none is given.
const DefaultNamespace = "modelwatch"

// Defaults of the [Options] durations.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultLeaderRetry  = time.Second
)

// leaderPing is how often a leader checks its lock connection; it bounds how
// long a leader that lost its connection keeps running its duty.
const leaderPing = time.Second

// dialTimeout bounds connecting a dedicated (listener or leader) connection.
const dialTimeout = 5 * time.Second

// Errors returned by the Store. Compare with errors.Is: they are usually
// wrapped with the name of what was looked for.
var (
	// ErrNotFound: no such document, item, leader or replica.
	ErrNotFound = errors.New("clusterstate: not found")
	// ErrConflict: a compare-and-set Put found another version.
	ErrConflict = errors.New("clusterstate: version conflict")
	// ErrInvalidJSON: a document or item body is not valid JSON.
	ErrInvalidJSON = errors.New("clusterstate: body is not valid JSON")
	// ErrSchemaTooNew: the database was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("clusterstate: database schema is newer than this binary")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("clusterstate: store closed")
)

// Options configure a [Store]. The zero value is usable.
type Options struct {
	// Namespace prefixes the NOTIFY channel (<Namespace>_changes) and is
	// hashed with a duty name into every advisory-lock key, so that
	// deployments (or tests) sharing one database do not see each other's
	// notifications or locks. Use one namespace per schema. 1 to 48
	// characters among [a-z0-9_], starting with a letter or underscore.
	// Default [DefaultNamespace].
	Namespace string
	// Replica names this replica: it is recorded as a document's UpdatedBy
	// and as a duty's leader, and appears in application_name. Give every
	// replica its own name (see [Store.Register]).
	Replica string
	// Logger receives connection losses, reconnects and leadership changes.
	// Default: discard.
	Logger *slog.Logger
	// PollInterval is how often [Store.Watch] re-reads every document's
	// version even when LISTEN is working, as a safety net. Default 5s.
	PollInterval time.Duration
	// LeaderRetry is how often a [Store.Lead] loop that is not the leader
	// tries to take the lock. Default 1s.
	LeaderRetry time.Duration
}

var namespaceRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// Store is a replica's handle on the shared PostgreSQL state. Its methods
// are safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger

	channel string

	// ctx is cancelled by Close; Watch and Lead loops stop with it.
	ctx    context.Context
	cancel context.CancelFunc
	loops  sync.WaitGroup

	lastOK        atomic.Bool
	listenersDown atomic.Int32

	mu      sync.Mutex
	leading map[string]int // duty -> number of Lead loops of this Store holding it

	closeOnce sync.Once

	// testHookReconnect, when set, runs in Watch after a lost listener
	// connection, before it reconnects.
	testHookReconnect func()
}

// Open connects to PostgreSQL at dsn (a URL or keyword/value string, as
// accepted by pgx; search_path and other run-time parameters may be given
// in it), applies the migrations this binary knows that the database lacks,
// and returns the Store. It fails with [ErrSchemaTooNew] when the database
// has a migration newer than the binary.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if !namespaceRE.MatchString(opts.Namespace) {
		return nil, fmt.Errorf("clusterstate: invalid namespace %q: want 1-48 of [a-z0-9_], not starting with a digit", opts.Namespace)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.LeaderRetry <= 0 {
		opts.LeaderRetry = DefaultLeaderRetry
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("clusterstate: parse DSN: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = appName(opts.Replica, "")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("clusterstate: connect: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		pool:    pool,
		opts:    opts,
		log:     opts.Logger.With("component", "clusterstate", "replica", opts.Replica),
		channel: opts.Namespace + "_changes",
		ctx:     sctx,
		cancel:  cancel,
		leading: make(map[string]int),
	}
	if err := s.migrate(ctx); err != nil {
		cancel()
		pool.Close()
		return nil, err
	}
	s.lastOK.Store(true)
	return s, nil
}

// Close stops every [Store.Watch] and [Store.Lead] loop of the Store (a
// leader's run is cancelled and waited for, then its lock released), and
// closes the connections. Calls after the first do nothing.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.cancel()
		s.mu.Unlock()
		s.loops.Wait()
		s.pool.Close()
	})
}

// Ping makes a round trip to PostgreSQL.
func (s *Store) Ping(ctx context.Context) error {
	return s.note(s.pool.Ping(ctx))
}

// Healthy reports whether the last round trip to PostgreSQL succeeded and
// every running [Store.Watch] has its listener connected. Errors that
// PostgreSQL itself returned (a constraint, [ErrNotFound], [ErrConflict])
// count as successful round trips.
func (s *Store) Healthy() bool {
	return s.lastOK.Load() && s.listenersDown.Load() == 0
}

// note records whether err means PostgreSQL could not be reached, and
// returns err.
func (s *Store) note(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil, errors.As(err, &pgErr), errors.Is(err, pgx.ErrNoRows),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidJSON):
		s.lastOK.Store(true)
	case errors.Is(err, context.Canceled):
		// The caller gave up; says nothing about the database.
	default:
		s.lastOK.Store(false)
	}
	return err
}

// connect opens a dedicated connection, outside the pool, with the pool's
// settings and the given application_name.
func (s *Store) connect(ctx context.Context, app string) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = app
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return pgx.ConnectConfig(dctx, cfg)
}

// appName is the application_name of a connection: modelwatch:<replica>,
// or modelwatch:<replica>:<role> for dedicated connections.
func appName(replica, role string) string {
	if role == "" {
		return "modelwatch:" + replica
	}
	return "modelwatch:" + replica + ":" + role
}

// lockKey is the advisory-lock key of a duty in a namespace: the first 8
// bytes of FNV-1a 64 of "<namespace>\x00<duty>".
func lockKey(namespace, duty string) int64 {
	h := fnv.New64a()
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(duty))
	return int64(h.Sum64())
}

// mergeDone returns a context cancelled when either ctx or the Store is
// done.
func (s *Store) mergeDone(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return c, func() { stop(); cancel() }
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
