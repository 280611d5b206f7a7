package gateway

import (
	"context"
	"io"
	"math/rand/v2"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// RetryPolicy says how a provider's retryable failures are retried.
type RetryPolicy struct {
	// Retries is how many times a retryable failure is retried on the same
	// provider before falling back (0: never).
	Retries int
	// BackoffMin and BackoffMax bound the exponential backoff between
	// retries; each wait is drawn uniformly up to the current bound ("full
	// jitter"), so retries of many clients do not synchronise.
	BackoffMin, BackoffMax time.Duration
}

// backoff returns the wait before retry number n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	bound := p.BackoffMin
	for i := 1; i < n && bound < p.BackoffMax; i++ {
		bound *= 2
	}
	bound = min(bound, p.BackoffMax)
	if bound <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(bound)) + 1)
}

// Target is one place a call can be sent: a catalog model (the requested
// one or a fallback), its provider, and the description of the call for
// that provider.
type Target struct {
	Model    *catalog.Model
	Provider provider.Provider
	Call     provider.Call
}

// fallsBack reports whether a failure should move the call to the next
// fallback model: any failure that is not the request's own fault.
func fallsBack(e *apierror.Error) bool {
	switch e.Code {
	case apierror.Validation, apierror.AccessDenied:
		return false
	}
	return true
}

// route runs attempt against the call's model and, on failures that allow
// it, retries it per the provider's policy and then tries the model's
// fallbacks in order. Each attempt gets a context bounded by its model's
// timeout; attempt returns keep=true to take over that context's cancel
// function (a stream that outlives route). Every attempt is recorded in the
// Invocation. The error returned is the last attempt's.
//
// Front doors use Route directly when they choose per target how to call
// it (passing a native body through to a provider that takes it, or
// translating it); Converse, ConverseStream and Embed are built on it.
func (c *Call) route(ctx context.Context, attempt func(ctx context.Context, cancel context.CancelFunc, t Target) (keep bool, err error)) error {
	models := c.model.Chain()
	if len(models) > 1 && c.g.RolledBack(c.model.ID) {
		// An alarm's remediation holds the model: its fallbacks serve.
		models = models[1:]
	}
	var last error
	for mi, m := range models {
		p := c.g.providers[m.Provider]
		policy := c.g.retry[m.Provider]
		t := Target{Model: m, Provider: p, Call: provider.Call{RequestID: c.inv.RequestID, ModelID: m.ID, UpstreamModel: m.UpstreamModel}}
		for try := 0; ; try++ {
			if try > 0 {
				if err := sleep(ctx, policy.backoff(try)); err != nil {
					return last
				}
			}
			start := c.g.now()
			actx, cancel := context.WithTimeout(ctx, m.Timeout)
			keep, err := attempt(actx, cancel, t)
			if err != nil {
				err = c.providerError(actx, err)
			}
			if !keep || err != nil {
				cancel()
			}
			a := invocation.Attempt{ModelID: m.ID, Provider: m.Provider, UpstreamModel: m.UpstreamModel, Start: start, Duration: c.g.now().Sub(start)}
			c.inv.Provider, c.inv.UpstreamModel, c.inv.ServedModelID = m.Provider, m.UpstreamModel, m.ID
			if err == nil {
				c.inv.Attempts = append(c.inv.Attempts, a)
				if _, carries := p.(provider.TierCarrier); !carries {
					// The tier asked for never reached the model.
					c.tierDropped = true
					c.inv.ServiceTier, c.inv.PerformanceLatency = "", ""
				}
				return nil
			}
			last = err
			if ctx.Err() != nil {
				// The client went away: nothing to retry for.
				a.ErrorCode = ErrorCodeClientClosed
				c.inv.Attempts = append(c.inv.Attempts, a)
				return err
			}
			e := apierror.From(err)
			a.ErrorCode = string(e.Code)
			c.inv.Attempts = append(c.inv.Attempts, a)
			if !e.Retryable() || try >= policy.Retries {
				if mi == len(models)-1 || !fallsBack(e) {
					return err
				}
				c.g.log.Info("falling back", "request_id", c.inv.RequestID, "model_id", m.ID, "fallback", models[mi+1].ID, "error_code", e.Code)
				break
			}
		}
	}
	return last
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stream is a streamed chat response in progress, returned by
// Call.ConverseStream. It records the time to first token, assembles the
// output and takes the true usage from the final metadata event. It is used
// by one goroutine.
type Stream struct {
	c      *Call
	req    *converse.Request
	ctx    context.Context // the attempt's, bounded by the model's timeout
	ps     provider.Stream
	cancel context.CancelFunc
	first  *converse.StreamEvent
	asm    converse.Assembler
	err    error
	// raw is set for a stream passed through untranslated (Passer): the
	// bytes to send are the upstream's own.
	raw provider.RawStream
}

// chatStream opens a stream for a validated chat request. Retries and
// fallbacks apply until the provider's first event has arrived; after
// that, a failure ends the stream (its bytes have reached the client).
func (c *Call) chatStream(ctx context.Context, req *converse.Request) (*Stream, error) {
	c.inv.Streamed = true
	var s *Stream
	err := c.route(ctx, func(ctx context.Context, cancel context.CancelFunc, t Target) (bool, error) {
		var err error
		s, err = c.streamTo(ctx, cancel, t, req)
		return err == nil, err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// streamTo opens a stream on one target and waits for its first event:
// one attempt of ConverseStream, for front doors that route themselves
// with Route. ctx and cancel are the attempt's; on success the Stream owns
// cancel.
func (c *Call) streamTo(ctx context.Context, cancel context.CancelFunc, t Target, req *converse.Request) (*Stream, error) {
	c.inv.Streamed = true
	ps, err := t.Provider.ConverseStream(ctx, t.Call, req)
	if err != nil {
		return nil, err
	}
	return c.open(ctx, cancel, t, req, ps)
}

// open waits for a provider stream's first event and wraps it.
func (c *Call) open(ctx context.Context, cancel context.CancelFunc, t Target, req *converse.Request, ps provider.Stream) (*Stream, error) {
	first, err := ps.Next()
	if err != nil {
		ps.Close()
		if err == io.EOF {
			err = &apierror.Error{Code: apierror.ModelError, Message: "The model returned an empty response stream.", OriginalStatusCode: 200, ResourceName: t.Model.UpstreamModel}
		}
		return nil, err
	}
	return &Stream{c: c, req: req, ctx: ctx, ps: ps, cancel: cancel, first: first}, nil
}

// Next returns the next event, or io.EOF after the metadata event. Any
// other error ends the stream; it is an *apierror.Error (or wraps the
// context's error when the client went away).
func (s *Stream) Next() (*converse.StreamEvent, error) {
	if s.err != nil {
		return nil, s.err
	}
	ev := s.first
	s.first = nil
	if ev == nil {
		var err error
		ev, err = s.ps.Next()
		if err != nil {
			if err == io.EOF && !s.asm.Done() {
				err = &apierror.Error{Code: apierror.ModelStreamError, Message: "The model's response stream ended before it was complete.",
					OriginalStatusCode: 200, OriginalMessage: "stream ended without metadata", ResourceName: s.c.inv.UpstreamModel}
			}
			if err != io.EOF {
				err = s.c.providerError(s.ctx, err)
			}
			s.err = err
			s.Close()
			return nil, err
		}
	}
	if ev.Content() && s.c.inv.FirstByte.IsZero() {
		s.c.inv.FirstByte = s.c.g.now()
	}
	if md := ev.Metadata; md != nil {
		// The metadata event reports the tier and latency mode that served
		// the call; a provider that reports none served them as asked, and
		// the event sent says so (before the assembler sees it, so that the
		// recorded output agrees).
		md.ServiceTier, md.PerformanceConfig = s.c.recordTier(s.req, md.ServiceTier, md.PerformanceConfig)
	}
	s.asm.Add(ev)
	if ev.Metadata != nil {
		s.c.inv.Usage = ConverseUsage(ev.Metadata.Usage)
		s.c.inv.StopReason = s.asm.StopReason()
	}
	return ev, nil
}

// Buffered reports whether the next event is in hand, so that Next will
// not wait for the upstream (provider.Buffered; a provider stream that
// cannot tell is taken as not).
func (s *Stream) Buffered() bool {
	if s.first != nil || s.err != nil {
		return true
	}
	b, ok := s.ps.(provider.Buffered)
	return ok && b.Buffered()
}

// Response returns the response assembled from the events so far.
func (s *Stream) Response() *converse.Response { return s.asm.Response() }

// Close ends the stream and releases the upstream; safe to call more than
// once.
func (s *Stream) Close() {
	if s.ps != nil {
		s.ps.Close()
	}
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
}
