package simulator

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Options configure a Simulator.
type Options struct {
	// Rand is the source of randomness for error and throttle injection
	// (and nothing else: replies are derived from the request). Nil means
	// a generator seeded from the clock. The Simulator guards it with a
	// mutex, so it must not be used elsewhere concurrently.
	Rand *rand.Rand
	// Now is the clock of the prompt cache's TTLs; nil means time.Now.
	Now func() time.Time
	// CacheEntries bounds the prompt cache (prefixes kept over all
	// models); zero means 10,000. The least recently used go first.
	CacheEntries int
}

// Simulator is the built-in model backend: a provider.Provider that
// answers from the request itself, with configurable latency and failures.
// It is safe for concurrent use.
type Simulator struct {
	models   map[string]*model
	fallback *model

	cache *promptCache

	mu  sync.Mutex
	rng *rand.Rand
}

var (
	_ provider.Provider     = (*Simulator)(nil)
	_ provider.TokenCounter = (*Simulator)(nil)
	_ provider.TierCarrier  = (*Simulator)(nil)
)

// CarriesServiceTier marks the simulator as serving the tier and latency
// mode asked for (it echoes them and scales its latency).
func (s *Simulator) CarriesServiceTier() {}

// New returns a simulator serving the given models, keyed by catalog model
// ID (provider.Call.ModelID). A call for a model not in the map behaves as
// zero ModelSettings: no latency, no failures. The settings should have
// passed Validate; out-of-range values are clamped.
func New(models map[string]ModelSettings, opts Options) *Simulator {
	s := &Simulator{
		models:   make(map[string]*model, len(models)),
		fallback: ModelSettings{}.resolve(),
		rng:      opts.Rand,
		cache:    newPromptCache(opts.Now, opts.CacheEntries),
	}
	for id, ms := range models {
		s.models[id] = ms.resolve()
	}
	if s.rng == nil {
		seed := uint64(time.Now().UnixNano())
		s.rng = rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	}
	return s
}

func (s *Simulator) model(id string) *model {
	if m, ok := s.models[id]; ok {
		return m
	}
	return s.fallback
}

// Converse answers a chat request: after the injected-failure draw, it
// plans the reply, applies the prompt cache, waits for the simulated
// latency and returns it. Errors are *apierror.Error values: the refusal
// of cache points on a model without prompt caching, an injected failure,
// ModelTimeoutException when ctx's deadline passes first, or, when ctx is
// canceled, an InternalServerException that wraps context.Canceled.
func (s *Simulator) Converse(ctx context.Context, call provider.Call, req *converse.Request) (*converse.Response, error) {
	p, err := s.start(call, req)
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, p.latency()); err != nil {
		return nil, err
	}
	return p.response(), nil
}

// start does what Converse and ConverseStream share before any waiting:
// the checks, the injected-failure draw, the plan and its cache accounting.
func (s *Simulator) start(call provider.Call, req *converse.Request) (*plan, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	m := s.model(call.ModelID)
	minCache, toolPoints := cachePolicy(m, call.ModelID)
	cached := hasCachePoint(req)
	if minCache < 0 && cached {
		return nil, errCachingUnsupported()
	}
	rp, err := m.reasoning(call.ModelID, req)
	if err != nil {
		return nil, err
	}
	if err := s.inject(m, call); err != nil {
		return nil, err
	}
	p := m.plan(req, rp)
	if cached {
		s.cache.account(p, call.ModelID, minCache, checkpoints(req, toolPoints))
	}
	return p, nil
}

// plan returns the precomputed outcome of a Converse call without waiting,
// injecting failures or touching the cache. A request the reasoning checks
// refuse is planned without reasoning.
func (s *Simulator) plan(call provider.Call, req *converse.Request) *plan {
	m := s.model(call.ModelID)
	rp, _ := m.reasoning(call.ModelID, req)
	return m.plan(req, rp)
}

// CountTokens returns the input tokens a Converse call with the request
// would be billed for: the same tokenizer and overheads, so the count is
// the call's inputTokens + cacheReadInputTokens + cacheWriteInputTokens.
// It implements provider.TokenCounter; it neither waits nor fails by
// injection, and it does not touch the prompt cache.
func (s *Simulator) CountTokens(ctx context.Context, call provider.Call, req *converse.Request) (int, error) {
	if req == nil {
		return 0, apierror.New(apierror.Validation, "The request body is missing.")
	}
	if err := ctx.Err(); err != nil {
		return 0, ctxError(err)
	}
	return countInput(req), nil
}

// inject decides, before any waiting, whether this call fails with an
// injected throttle or error. One draw covers both, so the rates partition
// the calls exactly.
func (s *Simulator) inject(m *model, call provider.Call) error {
	if m.throttleRate == 0 && m.errorRate == 0 {
		return nil
	}
	s.mu.Lock()
	u := s.rng.Float64()
	s.mu.Unlock()
	switch {
	case u < m.throttleRate:
		return apierror.New(apierror.Throttling, "Too many requests, please wait before trying again.")
	case u < m.throttleRate+m.errorRate:
		return injectedError(m.errorCode, call.ModelID)
	}
	return nil
}

// injectedError returns the failure Bedrock reports for the code.
func injectedError(code apierror.Code, modelID string) *apierror.Error {
	switch code {
	case apierror.ServiceUnavailable:
		return apierror.New(code, "Bedrock is unable to process your request.")
	case apierror.ModelError:
		return &apierror.Error{
			Code:               code,
			Message:            "The model returned an error while processing the request. Try your request again.",
			OriginalStatusCode: 500,
			ResourceName:       modelID,
		}
	case apierror.ModelTimeout:
		return errModelTimeout(nil)
	case apierror.ModelNotReady:
		return apierror.New(code, "Model is not ready for inference. Wait and try your request again.")
	case apierror.Validation:
		return apierror.New(code, "Malformed input request, please reformat your input and try again.")
	default:
		return apierror.New(apierror.InternalServer, "The system encountered an unexpected error during processing. Try your request again.")
	}
}

func errModelTimeout(cause error) *apierror.Error {
	return &apierror.Error{
		Code:    apierror.ModelTimeout,
		Message: "Model has timed out in processing the request. Try your request again.",
		Cause:   cause,
	}
}

// wait sleeps for d unless ctx ends first. A passed deadline is the model
// timing out; a cancellation keeps context.Canceled reachable through
// errors.Is so that callers can tell the client went away.
func wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctxError(ctx.Err())
	}
}

func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errModelTimeout(err)
	}
	return &apierror.Error{
		Code:    apierror.InternalServer,
		Message: "The request was canceled before the model finished.",
		Cause:   err,
	}
}
