package invocationlog

import (
	"encoding/json"
	"sync"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// recentCapacity is how many recent records the dashboard can list.
const recentCapacity = 256

// recentBodyLimit bounds the bodies a recent record keeps in memory: a
// larger call is listed with its metadata only (its full record is in the
// delivered logs).
const recentBodyLimit = 256 << 10

// recent keeps the last invocations that logging recorded, for the
// dashboard's list of recent calls. Observing costs the request path one
// short critical section; records are rendered only when asked for.
type recent struct {
	mu    sync.Mutex
	items [recentCapacity]recentItem
	next  int
	n     int
}

type recentItem struct {
	inv *invocation.Invocation
	gen *Generation
}

func (r *recent) add(inv *invocation.Invocation, g *Generation) {
	if len(inv.Input.Data)+len(inv.Output.Data) > recentBodyLimit {
		cp := *inv
		cp.Input.Data, cp.Output.Data = nil, nil
		inv = &cp
	}
	r.mu.Lock()
	r.items[r.next] = recentItem{inv: inv, gen: g}
	r.next = (r.next + 1) % recentCapacity
	r.n = min(r.n+1, recentCapacity)
	r.mu.Unlock()
}

// snapshot returns up to limit items, newest first.
func (r *recent) snapshot(limit int) []recentItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	limit = min(max(limit, 0), r.n)
	out := make([]recentItem, 0, limit)
	for i := 1; i <= limit; i++ {
		out = append(out, r.items[(r.next-i+recentCapacity)%recentCapacity])
	}
	return out
}

// Recent returns the most recent records logging has taken (newest first,
// at most limit), rendered as they are delivered with their bodies inline,
// subject to the data-kind toggles in force when each call was served.
// With a principalARN, only that principal's records are returned; ""
// returns everyone's.
func (l *Logger) Recent(limit int, principalARN string) []json.RawMessage {
	items := l.recent.snapshot(recentCapacity)
	out := make([]json.RawMessage, 0, min(max(limit, 0), len(items)))
	for _, it := range items {
		if len(out) >= limit {
			break
		}
		if principalARN != "" && it.inv.PrincipalARN != principalARN {
			continue
		}
		if rec, ok := l.render(it); ok {
			out = append(out, rec)
		}
	}
	return out
}

// RecentRecord returns the recent record of the request ID; with a
// principalARN, only if that principal made the call.
func (l *Logger) RecentRecord(requestID, principalARN string) (json.RawMessage, bool) {
	for _, it := range l.recent.snapshot(recentCapacity) {
		if it.inv.RequestID == requestID {
			if principalARN != "" && it.inv.PrincipalARN != principalARN {
				return nil, false
			}
			return l.render(it)
		}
	}
	return nil, false
}

// render encodes an item the way delivery does, bodies inline.
func (l *Logger) render(it recentItem) (json.RawMessage, bool) {
	buf, err := encodeEntry(nil, it.gen.Number, it.gen.Config, l.opts.AccountID, l.opts.Region, it.inv)
	if err != nil {
		return nil, false
	}
	e, err := decodeEntry(buf)
	if err != nil {
		return nil, false
	}
	rec, err := appendRecord(nil, &e, offload{})
	return rec, err == nil
}
