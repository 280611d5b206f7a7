package gateway

import "github.com/modelwatch/modelwatch/internal/invocation"

// Record hands the Invocation of work that ran outside a request (an
// asynchronous invocation that ended in the background) to the committers
// and observers, as finish does for a call. No one waits for an answer,
// so a committer's refusal is only logged.
func (g *Gateway) Record(inv *invocation.Invocation) {
	for _, o := range g.committers {
		if err := g.commit(o, inv); err != nil {
			g.log.Error("the record of a background invocation was not kept", "request_id", inv.RequestID, "error", err)
		}
	}
	g.observeAll(inv)
}
