package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnect backoff of the Watch listener.
const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 2 * time.Second
	// itemResyncMargin widens the window of item changes replayed after a
	// reconnect, for transactions that took their now() before the last
	// check but committed after it.
	itemResyncMargin = 10 * time.Second
)

// startLoop registers a Watch or Lead loop with the Store, unless it is
// closed.
func (s *Store) startLoop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.loops.Add(1)
	return true
}

// Watch calls fn for every change of a document (fn(name, version)) and of
// an item (fn("item:<collection>:<key>", 0)) until ctx is done or the Store
// is closed. It blocks, and calls fn from its own goroutine, one call at a
// time, in the order it learns of the changes.
//
// Watch listens on a dedicated connection (application_name
// "modelwatch:<replica>:watch"). When it starts, and again after every
// reconnect, it reads every document's version and calls fn for each one
// whose version differs from the last it reported (at the start: for every
// document), so a caller can build its state from fn alone, and changes
// whose notifications were lost while the connection was down are still
// reported. After a reconnect it also reports items written since shortly
// before the connection was last known to work; item deletions made while
// it was down are not reported. It repeats the document check every
// [Options.PollInterval] as a safety net. A document's versions are reported
// in increasing order, but versions may be skipped (only the newest is
// reported when several were written while it was not listening). A lost
// connection is retried with a backoff from 100ms doubling to 2s. fn must
// not block for long: notifications queue up meanwhile, and [Store.Close]
// waits for Watch to return.
func (s *Store) Watch(ctx context.Context, fn func(name string, version int64)) {
	if !s.startLoop() {
		return
	}
	defer s.loops.Done()
	ctx, cancel := s.mergeDone(ctx)
	defer cancel()

	w := &watcher{s: s, fn: fn, seen: make(map[string]int64)}
	s.listenersDown.Add(1)
	defer s.listenersDown.Add(-1)
	backoff := watchBackoffMin
	for ctx.Err() == nil {
		conn, err := s.connect(ctx, appName(s.opts.Replica, "watch"))
		if err == nil {
			err = w.start(ctx, conn)
		}
		if err != nil {
			if conn != nil {
				closeConn(conn)
			}
			if ctx.Err() != nil {
				return
			}
			s.note(err)
			// The first failure of an outage is a warning; the retries
			// after it (every 2 s at most) are logged at debug level.
			if backoff == watchBackoffMin {
				s.log.Warn("clusterstate: watch: cannot listen; retrying until the database answers", "err", err)
			} else {
				s.log.Debug("clusterstate: watch: cannot listen", "err", err, "retry_in", backoff)
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, watchBackoffMax)
			continue
		}
		s.listenersDown.Add(-1)
		if w.reconnects > 0 {
			s.log.Info("clusterstate: watch: listening again", "reconnects", w.reconnects)
		}
		backoff = watchBackoffMin
		err = w.listen(ctx, conn)
		s.listenersDown.Add(1)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		s.note(err)
		w.reconnects++
		s.log.Warn("clusterstate: watch: listener connection lost; reconnecting", "err", err)
		if s.testHookReconnect != nil {
			s.testHookReconnect()
		}
	}
}

// watcher is the state of one Watch call.
type watcher struct {
	s          *Store
	fn         func(string, int64)
	seen       map[string]int64 // document -> last version reported
	alive      time.Time        // database time of the last check that succeeded
	reconnects int
}

// start listens on conn and resynchronises.
func (w *watcher) start(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{w.s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if w.reconnects > 0 && !w.alive.IsZero() {
		if err := w.resyncItems(ctx, conn); err != nil {
			return err
		}
	}
	return w.resync(ctx, conn)
}

// resync reports every document whose version is not the last reported.
func (w *watcher) resync(ctx context.Context, conn *pgx.Conn) error {
	type dv struct {
		name    string
		version int64
	}
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT name, version FROM documents ORDER BY name")
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dv, error) {
		var d dv
		err := r.Scan(&d.name, &d.version)
		return d, err
	})
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	w.s.note(nil)
	w.alive = now
	for _, d := range docs {
		if last, ok := w.seen[d.name]; !ok || last != d.version {
			w.seen[d.name] = d.version
			w.fn(d.name, d.version)
		}
	}
	return nil
}

// resyncItems reports the items written since shortly before the listener
// was last known to work.
func (w *watcher) resyncItems(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx,
		`SELECT collection, key FROM items WHERE updated_at >= $1 ORDER BY updated_at, collection, key`,
		w.alive.Add(-itemResyncMargin))
	if err != nil {
		return fmt.Errorf("resync items: %w", err)
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var coll, key string
		err := r.Scan(&coll, &key)
		return itemName(coll, key), err
	})
	if err != nil {
		return fmt.Errorf("resync items: %w", err)
	}
	for _, n := range names {
		w.fn(n, 0)
	}
	return nil
}

// listen delivers notifications and polls until ctx is done or the
// connection fails.
func (w *watcher) listen(ctx context.Context, conn *pgx.Conn) error {
	next := time.Now().Add(w.s.opts.PollInterval)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				if err := w.resync(ctx, conn); err != nil {
					return err
				}
				next = time.Now().Add(w.s.opts.PollInterval)
				continue
			}
			return err
		}
		w.s.note(nil)
		w.deliver(n.Payload)
	}
}

// deliver reports one notification payload: "item:<coll>:<key>" or
// "<document>:<version>".
func (w *watcher) deliver(payload string) {
	if strings.HasPrefix(payload, "item:") {
		w.fn(payload, 0)
		return
	}
	i := strings.LastIndexByte(payload, ':')
	if i < 0 {
		w.s.log.Warn("clusterstate: watch: unexpected notification", "payload", payload)
		return
	}
	name := payload[:i]
	v, err := strconv.ParseInt(payload[i+1:], 10, 64)
	if err != nil {
		w.s.log.Warn("clusterstate: watch: unexpected notification", "payload", payload)
		return
	}
	if v <= w.seen[name] {
		return // already reported by a resync
	}
	w.seen[name] = v
	w.fn(name, v)
}

// closeConn closes a dedicated connection without waiting long for a dead
// server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
