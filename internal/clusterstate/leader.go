package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lead runs run while this replica is the leader of duty, and competes for
// the leadership until ctx is done or the Store is closed. It blocks.
//
// Leadership is a session advisory lock (pg_try_advisory_lock on a key
// hashed from [Options.Namespace] and duty) held by a dedicated connection
// with application_name "modelwatch:<replica>:<duty>". Having it, Lead
// records the replica in the leaders table and calls run(leaderCtx) in a new
// goroutine, then pings the connection every second. If a ping fails or
// the connection dies, leaderCtx is cancelled, Lead waits for run to
// return, closes the connection and becomes a follower. Followers try the
// lock every [Options.LeaderRetry]. When ctx is done (or the Store is
// closed) leaderCtx is cancelled, Lead waits for run, then unlocks and
// closes the connection, so the next leader can only start after run
// returned.
//
// When the leader's process dies, PostgreSQL closes its session and
// releases the lock, and another replica takes over within its
// LeaderRetry. A leader cut off from PostgreSQL (network partition,
// pg_terminate_backend) notices it at its next ping, so for up to about a
// second its run may still be going while a new leader has started: duties
// must tolerate such a short overlap.
//
// If run returns while ctx is live, Lead gives the leadership up (unlocks)
// and competes again after LeaderRetry. run must return soon after its ctx
// is cancelled: Lead, and [Store.Close], wait for it.
func (s *Store) Lead(ctx context.Context, duty string, run func(ctx context.Context)) {
	if !s.startLoop() {
		return
	}
	defer s.loops.Done()
	ctx, cancel := s.mergeDone(ctx)
	defer cancel()
	key := lockKey(s.opts.Namespace, duty)
	var failing bool
	for ctx.Err() == nil {
		failing = s.leadOnce(ctx, duty, key, run, failing)
		if !sleep(ctx, s.opts.LeaderRetry) {
			return
		}
	}
}

// leadOnce tries the lock once and, if it gets it, leads until it loses it
// or ctx is done. It reports whether the database could not be reached:
// the first failure of an outage is logged as a warning, the retries
// every second after it only at debug level.
func (s *Store) leadOnce(ctx context.Context, duty string, key int64, run func(context.Context), failing bool) bool {
	warn := s.log.Warn
	if failing {
		warn = s.log.Debug
	}
	conn, err := s.connect(ctx, appName(s.opts.Replica, duty))
	if err != nil {
		if ctx.Err() == nil {
			s.note(err)
			warn("clusterstate: lead: cannot connect; retrying every LeaderRetry", "duty", duty, "err", err)
		}
		return true
	}
	defer closeConn(conn)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		if ctx.Err() == nil {
			s.note(err)
			warn("clusterstate: lead: cannot try the lock", "duty", duty, "err", err)
		}
		return true
	}
	s.note(nil)
	if failing {
		s.log.Info("clusterstate: lead: the database answers again", "duty", duty)
	}
	if !got {
		return false
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO leaders (duty, replica, since) VALUES ($1, $2, now())
		ON CONFLICT (duty) DO UPDATE SET replica = excluded.replica, since = excluded.since`,
		duty, s.opts.Replica); err != nil {
		// Leading without the row would mislead the dashboard only; but a
		// failure here most likely means the connection is gone too.
		s.log.Warn("clusterstate: lead: cannot record leader", "duty", duty, "err", err)
		if conn.IsClosed() {
			return false
		}
	}
	s.log.Info("clusterstate: became leader", "duty", duty)
	s.setLeading(duty, +1)

	lctx, lcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(lctx)
	}()
	release := s.hold(ctx, conn, duty, done)
	lcancel()
	<-done
	s.setLeading(duty, -1)
	if release {
		uctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			s.log.Warn("clusterstate: lead: unlock failed; closing the connection releases it", "duty", duty, "err", err)
		}
		cancel()
		s.log.Info("clusterstate: gave up leadership", "duty", duty)
	} else {
		s.log.Warn("clusterstate: lost leadership", "duty", duty)
	}
	return false
}

// hold pings conn every leaderPing while run is going. It returns true when
// ctx is done or run returned (the lock is to be released), false when the
// connection failed (the lock is gone).
func (s *Store) hold(ctx context.Context, conn *pgx.Conn, duty string, done <-chan struct{}) (release bool) {
	t := time.NewTicker(leaderPing)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-done:
			return true
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, leaderPing)
			_, err := conn.Exec(pctx, "SELECT 1")
			cancel()
			if ctx.Err() != nil {
				return true
			}
			if err != nil {
				s.note(err)
				s.log.Warn("clusterstate: lead: lock connection failed", "duty", duty, "err", err)
				return false
			}
		}
	}
}

func (s *Store) setLeading(duty string, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading[duty] += delta
	if s.leading[duty] <= 0 {
		delete(s.leading, duty)
	}
}

// IsLeader reports whether a [Store.Lead] loop of this Store holds duty
// (from taking the lock until its run returned after losing or giving it
// up).
func (s *Store) IsLeader(duty string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading[duty] > 0
}

// Leader returns the replica leading duty and since when (database clock),
// for the dashboard. It returns [ErrNotFound] when no session holds the
// duty's lock, even if the leaders table still names the last leader.
func (s *Store) Leader(ctx context.Context, duty string) (replica string, since time.Time, err error) {
	key := lockKey(s.opts.Namespace, duty)
	// A bigint advisory lock shows in pg_locks as classid = high 32 bits,
	// objid = low 32 bits, objsubid = 1.
	err = s.pool.QueryRow(ctx, `
		SELECT l.replica, l.since FROM leaders l
		WHERE l.duty = $1 AND EXISTS (
			SELECT 1 FROM pg_locks p
			WHERE p.locktype = 'advisory' AND p.granted
			  AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND p.classid = (($2::bigint >> 32) & 4294967295)::oid
			  AND p.objid = ($2::bigint & 4294967295)::oid
			  AND p.objsubid = 1)`, duty, key).Scan(&replica, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, s.note(fmt.Errorf("leader of %q: %w", duty, ErrNotFound))
	}
	if err != nil {
		return "", time.Time{}, s.note(fmt.Errorf("clusterstate: leader of %q: %w", duty, err))
	}
	return replica, since, s.note(nil)
}
