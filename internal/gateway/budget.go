package gateway

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// BodyBudget bounds the memory held by request bodies in flight, across
// every front door of a server (limits.maxBodyBytesInFlight). A body is
// charged for the buffer actually allocated as its bytes arrive (see
// ReadBody), never for the length it claims, and stays charged until the
// front door's handler returns: the body lives that long, as the call's
// input, while the call runs and is recorded. A body that would take the
// total past the budget is refused with ServiceUnavailableException.
//
// A nil *BodyBudget charges nothing and refuses nothing. It is safe for
// concurrent use.
type BodyBudget struct {
	limit   int64
	used    atomic.Int64
	refused prometheus.Counter
}

// NewBodyBudget returns a budget of limit bytes; limit <= 0 means no limit
// (bodies are still counted). When reg is not nil the budget registers
// modelwatch_request_body_bytes_in_flight (the bytes charged now) and
// modelwatch_request_body_budget_refusals_total (calls refused because the
// budget was spent).
func NewBodyBudget(limit int64, reg prometheus.Registerer) *BodyBudget {
	b := &BodyBudget{limit: limit, refused: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "modelwatch_request_body_budget_refusals_total",
		Help: "Calls refused with ServiceUnavailableException because request bodies in flight held limits.maxBodyBytesInFlight.",
	})}
	if reg != nil {
		reg.MustRegister(b.refused, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "modelwatch_request_body_bytes_in_flight",
			Help: "Bytes of buffers holding request bodies of calls in progress, charged against limits.maxBodyBytesInFlight.",
		}, func() float64 { return float64(b.InFlight()) }))
	}
	return b
}

// ReadBody reads the whole request body (see readBody: memory follows the
// bytes that arrive, never the claimed length), charging the budget as the
// buffer grows; a nil budget charges nothing. It refuses the call with
// ServiceUnavailableException (and marks the connection for closing, the
// rest of the body unread) when the budget cannot hold the next buffer.
// On success the caller must call release once it no longer needs the
// body charged, normally when its handler returns; release is never nil
// and may be called more than once.
func (b *BodyBudget) ReadBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	body, charged, err := readBody(w, r, limit, b)
	if err != nil || charged == 0 {
		return body, func() {}, err
	}
	return body, func() {
		b.release(charged)
		charged = 0
	}, nil
}

// InFlight returns the bytes charged now.
func (b *BodyBudget) InFlight() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// reserve charges n bytes if the budget holds them.
func (b *BodyBudget) reserve(n int64) bool {
	if b == nil {
		return true
	}
	for {
		cur := b.used.Load()
		if b.limit > 0 && cur+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (b *BodyBudget) release(n int64) {
	if b != nil && n != 0 {
		b.used.Add(-n)
	}
}

// exceeded counts a refusal and returns its error. Unavailable rather than
// throttled: the server as a whole is full, whoever the caller is, and a
// ThrottlingException would be counted as the caller's throttle.
func (b *BodyBudget) exceeded() error {
	b.refused.Inc()
	return apierror.New(apierror.ServiceUnavailable,
		"The server is receiving more request data than it can hold at once. The call was not processed. Try again later.")
}
