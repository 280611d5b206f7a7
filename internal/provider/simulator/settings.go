package simulator

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/catalog"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Reply modes.
const (
	// ReplyGenerate produces English-like text derived from the conversation.
	ReplyGenerate = "generate"
	// ReplyEcho repeats the text of the last user message.
	ReplyEcho = "echo"
)

// Defaults applied to zero ModelSettings fields, and the output budget of a
// request that sets no maxTokens.
const (
	defaultMinReplyTokens      = 20
	defaultMaxReplyTokens      = 200
	defaultEmbeddingDimensions = 1024
	defaultMaxTokens           = catalog.FallbackMaxTokens
)

// Upper bounds that keep a misconfiguration from exhausting memory.
const (
	maxReplyTokensLimit = 100_000
	maxDimensions       = 16_384
	maxEmbedInputs      = 2048
	maxCacheTokensLimit = 1_000_000
)

// injectableCodes are the exceptions ModelSettings.ErrorCode may name.
var injectableCodes = []apierror.Code{
	apierror.InternalServer,
	apierror.ServiceUnavailable,
	apierror.ModelError,
	apierror.ModelTimeout,
	apierror.ModelNotReady,
	apierror.Validation,
}

// ModelSettings configure the simulated behaviour of one model. The zero
// value is a valid, instant, never-failing model. Durations decode from YAML
// strings such as "20ms".
type ModelSettings struct {
	// TimeToFirstToken is the simulated delay before the first output
	// token; TimePerOutputToken is added for every output token.
	TimeToFirstToken   time.Duration `yaml:"timeToFirstToken"`
	TimePerOutputToken time.Duration `yaml:"timePerOutputToken"`
	// ErrorRate is the fraction (0..1) of calls that fail with ErrorCode.
	ErrorRate float64 `yaml:"errorRate"`
	// ErrorCode is the exception injected failures carry: one of
	// InternalServerException (the default), ServiceUnavailableException,
	// ModelErrorException, ModelTimeoutException, ModelNotReadyException,
	// ValidationException.
	ErrorCode string `yaml:"errorCode"`
	// ThrottleRate is the fraction (0..1) of calls that fail with
	// ThrottlingException. ErrorRate + ThrottleRate must not exceed 1.
	ThrottleRate float64 `yaml:"throttleRate"`
	// StreamErrorRate is the fraction (0..1) of streamed calls that fail
	// halfway through their output with ModelStreamErrorException, after
	// the response has started (a mid-stream failure).
	StreamErrorRate float64 `yaml:"streamErrorRate"`
	// Reply is "generate" (the default) or "echo".
	Reply string `yaml:"reply"`
	// MinReplyTokens and MaxReplyTokens bound the natural length of a
	// generated reply, before maxTokens and stop sequences cut it short.
	// Zero means the default (20 and 200); when only one is set, the other
	// default is moved to keep the range valid.
	MinReplyTokens int `yaml:"minReplyTokens"`
	MaxReplyTokens int `yaml:"maxReplyTokens"`
	// EmbeddingDimensions is the vector length when an embedding request
	// does not ask for one; zero means 1024.
	EmbeddingDimensions int `yaml:"embeddingDimensions"`
	// MinCacheTokens is the prompt caching minimum: the fewest tokens a
	// cache checkpoint must add to the prefix before it to be cached. Zero
	// means the default of the model's family (by model ID: 1,024 for
	// Claude 3.7 Sonnet, Sonnet 4.x and Opus 4/4.1, 2,048 for Claude 3.5
	// Haiku, 4,096 for Haiku 4.5 and Opus 4.5/4.6, 1,000 for Nova, and
	// 1,024 for model IDs of no known family); -1 means the model does not
	// support prompt caching, and requests with cache points are refused
	// as Bedrock refuses them (Claude 3, Claude 3.5 Sonnet, Titan, Llama,
	// Mistral and other families default to that).
	MinCacheTokens int `yaml:"minCacheTokens"`

	// Reasoning is the catalog entry's reasoning ("", "on-request" or
	// "always"), and DefaultMaxTokens its output budget when a request
	// sets none; the configuration copies both from the model's catalog
	// entry, so they are not simulator keys.
	Reasoning        string `yaml:"-"`
	DefaultMaxTokens int    `yaml:"-"`
}

// Validate reports every problem with the settings in one error, naming the
// fields by their YAML keys.
func (s ModelSettings) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if s.TimeToFirstToken < 0 {
		bad("timeToFirstToken must not be negative, got %v", s.TimeToFirstToken)
	}
	if s.TimePerOutputToken < 0 {
		bad("timePerOutputToken must not be negative, got %v", s.TimePerOutputToken)
	}
	rateOK := true
	for _, r := range []struct {
		name string
		v    float64
	}{{"errorRate", s.ErrorRate}, {"throttleRate", s.ThrottleRate}, {"streamErrorRate", s.StreamErrorRate}} {
		if !(r.v >= 0 && r.v <= 1) { // also rejects NaN
			bad("%s must be between 0 and 1, got %v", r.name, r.v)
			rateOK = false
		}
	}
	if rateOK && s.ErrorRate+s.ThrottleRate > 1+1e-9 {
		bad("errorRate + throttleRate must not exceed 1, got %v", s.ErrorRate+s.ThrottleRate)
	}
	if s.ErrorCode != "" && !knownCode(s.ErrorCode) {
		names := make([]string, len(injectableCodes))
		for i, c := range injectableCodes {
			names[i] = string(c)
		}
		bad("errorCode %q is not one of %s", s.ErrorCode, strings.Join(names, ", "))
	}
	if s.Reply != "" && s.Reply != ReplyGenerate && s.Reply != ReplyEcho {
		bad("reply must be %q or %q, got %q", ReplyGenerate, ReplyEcho, s.Reply)
	}
	if s.MinReplyTokens < 0 || s.MinReplyTokens > maxReplyTokensLimit {
		bad("minReplyTokens must be between 0 and %d, got %d", maxReplyTokensLimit, s.MinReplyTokens)
	}
	if s.MaxReplyTokens < 0 || s.MaxReplyTokens > maxReplyTokensLimit {
		bad("maxReplyTokens must be between 0 and %d, got %d", maxReplyTokensLimit, s.MaxReplyTokens)
	}
	if s.MinReplyTokens > 0 && s.MaxReplyTokens > 0 && s.MinReplyTokens > s.MaxReplyTokens {
		bad("minReplyTokens (%d) must not exceed maxReplyTokens (%d)", s.MinReplyTokens, s.MaxReplyTokens)
	}
	if s.EmbeddingDimensions < 0 || s.EmbeddingDimensions > maxDimensions {
		bad("embeddingDimensions must be between 0 and %d, got %d", maxDimensions, s.EmbeddingDimensions)
	}
	if s.MinCacheTokens < -1 || s.MinCacheTokens > maxCacheTokensLimit {
		bad("minCacheTokens must be -1 (no prompt caching), 0 (the family default) or up to %d, got %d", maxCacheTokensLimit, s.MinCacheTokens)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

func knownCode(code string) bool {
	for _, c := range injectableCodes {
		if string(c) == code {
			return true
		}
	}
	return false
}

// model is ModelSettings with defaults applied and values clamped, ready
// for serving.
type model struct {
	ttft, tpot      time.Duration
	errorRate       float64
	throttleRate    float64
	streamErrorRate float64
	errorCode       apierror.Code
	echo            bool
	minReply        int
	maxReply        int
	dimensions      int
	// minCache is MinCacheTokens as configured (0: the family default).
	minCache int
	// reasoningMode and defaultMaxTokens are Reasoning and
	// DefaultMaxTokens.
	reasoningMode    string
	defaultMaxTokens int
}

// resolve applies defaults. Settings are expected to have passed Validate;
// out-of-range values are clamped rather than trusted.
func (s ModelSettings) resolve() *model {
	m := &model{
		ttft:             max(s.TimeToFirstToken, 0),
		tpot:             max(s.TimePerOutputToken, 0),
		errorRate:        clampRate(s.ErrorRate),
		throttleRate:     clampRate(s.ThrottleRate),
		streamErrorRate:  clampRate(s.StreamErrorRate),
		errorCode:        apierror.InternalServer,
		echo:             s.Reply == ReplyEcho,
		minReply:         min(max(s.MinReplyTokens, 0), maxReplyTokensLimit),
		maxReply:         min(max(s.MaxReplyTokens, 0), maxReplyTokensLimit),
		dimensions:       min(max(s.EmbeddingDimensions, 0), maxDimensions),
		minCache:         min(max(s.MinCacheTokens, -1), maxCacheTokensLimit),
		reasoningMode:    s.Reasoning,
		defaultMaxTokens: max(s.DefaultMaxTokens, 0),
	}
	if knownCode(s.ErrorCode) {
		m.errorCode = apierror.Code(s.ErrorCode)
	}
	switch {
	case m.minReply == 0 && m.maxReply == 0:
		m.minReply, m.maxReply = defaultMinReplyTokens, defaultMaxReplyTokens
	case m.minReply == 0:
		m.minReply = min(defaultMinReplyTokens, m.maxReply)
	case m.maxReply == 0:
		m.maxReply = max(defaultMaxReplyTokens, m.minReply)
	case m.minReply > m.maxReply:
		m.minReply = m.maxReply
	}
	if m.dimensions == 0 {
		m.dimensions = defaultEmbeddingDimensions
	}
	return m
}

func clampRate(r float64) float64 {
	if math.IsNaN(r) || r < 0 {
		return 0
	}
	return min(r, 1)
}
