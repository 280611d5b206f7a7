package simulator

import (
	"container/list"
	"strings"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Prompt caching as Bedrock does it for Converse:
//
//   - The prompt is read in the order tools, system, messages; a cachePoint
//     block in any of them ends a prefix that can be cached.
//   - A checkpoint is cacheable when the tokens it adds since the previous
//     cacheable checkpoint (or since the start, for the first) reach the
//     model's minimum ("1,024 tokens per checkpoint: the first after 1,024
//     tokens, the second after 2,048", in Bedrock's words). A checkpoint
//     below the minimum is ignored; the call still succeeds.
//   - A call reads the longest cached prefix it ends a checkpoint with
//     (cacheReadInputTokens), writes the prefixes of the cacheable
//     checkpoints after it (cacheWriteInputTokens, split by TTL in
//     cacheDetails), and inputTokens is the rest of the prompt.
//   - Entries live 5 minutes, or an hour with ttl "1h", from their last use:
//     a read refreshes them.
//   - Models that do not support prompt caching refuse requests with cache
//     points with AccessDeniedException, as Bedrock does; Nova models
//     cannot cache tools, so cache points in their tool list are ignored.
//
// Cache reads and writes are part of the prompt, so CountTokens and
// input+cacheRead+cacheWrite are the same with or without a cache.

// Cache TTLs.
const (
	ttlDefault = 5 * time.Minute
	ttlLong    = time.Hour
	// defaultCacheEntries bounds a Simulator's cache when Options does
	// not.
	defaultCacheEntries = 10_000
	// unknownFamilyMinCache is the minimum for model IDs of no known
	// family: the common Claude minimum.
	unknownFamilyMinCache = 1024
)

// cacheFamily is the prompt caching of the models whose IDs start with
// prefix (after any cross-region profile prefix): their minimum tokens
// per checkpoint, or -1 for none, and whether tools can be cached.
type cacheFamily struct {
	prefix     string
	minTokens  int
	toolPoints bool
}

// cacheFamilies is checked in order, so a specific prefix comes before a
// general one. Sources: Bedrock's prompt caching guide (Claude 3.7 Sonnet
// 1,024; Claude 3.5 Haiku 2,048; Nova 1,000 and no tool caching), the
// Haiku 4.5 model card (4,096), Anthropic's documentation (Opus 4.5/4.6
// 4,096; other Claude 4 models 1,024). Every other family refuses cache
// points.
var cacheFamilies = []cacheFamily{
	{"anthropic.claude-3-7-sonnet", 1024, true},
	{"anthropic.claude-3-5-haiku", 2048, true},
	{"anthropic.claude-haiku-4-5", 4096, true},
	{"anthropic.claude-opus-4-5", 4096, true},
	{"anthropic.claude-opus-4-6", 4096, true},
	{"anthropic.claude-opus-4", 1024, true},   // Opus 4 and 4.1
	{"anthropic.claude-sonnet-4", 1024, true}, // Sonnet 4, 4.5 and 4.6
	{"amazon.nova-", 1000, false},
	// Claude 3, Claude 3.5 Sonnet (v2 only had a closed preview), Claude 2
	// and Instant.
	{"anthropic.", -1, false},
	{"amazon.", -1, false},
	{"meta.", -1, false},
	{"mistral.", -1, false},
	{"cohere.", -1, false},
	{"ai21.", -1, false},
	{"deepseek.", -1, false},
	{"openai.", -1, false},
	{"qwen.", -1, false},
	{"google.", -1, false},
	{"moonshot.", -1, false},
	{"nvidia.", -1, false},
	{"writer.", -1, false},
	{"twelvelabs.", -1, false},
	{"stability.", -1, false},
}

// familyOf returns the caching family of a model ID, looking through a
// cross-region profile prefix (us., eu., global., ...) and an ARN.
func familyOf(modelID string) (cacheFamily, bool) {
	id := modelID
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	for range 2 {
		for _, f := range cacheFamilies {
			if strings.HasPrefix(id, f.prefix) {
				return f, true
			}
		}
		_, rest, ok := strings.Cut(id, ".")
		if !ok {
			break
		}
		id = rest
	}
	return cacheFamily{}, false
}

// cachePolicy returns the caching minimum of a call's model (-1: no
// caching) and whether its tools can be cached.
func cachePolicy(m *model, modelID string) (minTokens int, toolPoints bool) {
	minTokens, toolPoints = unknownFamilyMinCache, true
	if f, known := familyOf(modelID); known {
		minTokens = f.minTokens
		if f.minTokens > 0 {
			toolPoints = f.toolPoints
		}
	}
	if m.minCache != 0 {
		minTokens = m.minCache
	}
	return minTokens, toolPoints
}

// errCachingUnsupported is Bedrock's refusal of cache points on a model
// without prompt caching.
func errCachingUnsupported() *apierror.Error {
	return apierror.New(apierror.AccessDenied, "You invoked an unsupported model, or your request did not allow prompt caching. See the documentation for more information.")
}

func cacheTTL(ttl string) string {
	if ttl == converse.CacheTTL1h {
		return converse.CacheTTL1h
	}
	return converse.CacheTTL5m
}

func ttlDuration(ttl string) time.Duration {
	if ttl == converse.CacheTTL1h {
		return ttlLong
	}
	return ttlDefault
}

// promptCache is a Simulator's cache of prompt prefixes: an LRU list with
// expiring entries, bounded in size.
type promptCache struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	entries map[cacheKey]*list.Element
	lru     list.List // of *cacheEntry, most recently used first
}

type cacheKey struct {
	model  string
	prefix uint64
}

type cacheEntry struct {
	key     cacheKey
	ttl     time.Duration
	expires time.Time
}

func newPromptCache(now func() time.Time, maxEntries int) *promptCache {
	if now == nil {
		now = time.Now
	}
	if maxEntries <= 0 {
		maxEntries = defaultCacheEntries
	}
	return &promptCache{now: now, max: maxEntries, entries: map[cacheKey]*list.Element{}}
}

// lookup returns the live entry for key, dropping an expired one. The
// caller holds mu.
func (c *promptCache) lookup(key cacheKey, now time.Time) *list.Element {
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	if !now.Before(el.Value.(*cacheEntry).expires) {
		c.lru.Remove(el)
		delete(c.entries, key)
		return nil
	}
	return el
}

// store writes or refreshes an entry. The caller holds mu.
func (c *promptCache) store(key cacheKey, ttl time.Duration, now time.Time) {
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.ttl, e.expires = ttl, now.Add(ttl)
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, ttl: ttl, expires: now.Add(ttl)})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

// len returns the number of entries held, expired ones included until
// they are next looked at.
func (c *promptCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// account applies the cache to a planned call: it reads the longest cached
// prefix, writes the cacheable checkpoints after it, and moves their tokens
// out of the plan's inputTokens.
func (c *promptCache) account(p *plan, modelID string, minTokens int, cps []checkpoint) {
	if minTokens < 0 || len(cps) == 0 {
		return
	}
	// The cacheable checkpoints: each adds at least minTokens.
	valid := cps[:0:0]
	last := 0
	for _, cp := range cps {
		if cp.tokens-last >= max(minTokens, 1) {
			valid = append(valid, cp)
			last = cp.tokens
		}
	}
	if len(valid) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	hit := -1
	for i := len(valid) - 1; i >= 0; i-- {
		if c.lookup(cacheKey{modelID, valid[i].hash}, now) != nil {
			hit = i
			break
		}
	}
	read := 0
	if hit >= 0 {
		read = valid[hit].tokens
		// A read refreshes the entries it used.
		for i := 0; i <= hit; i++ {
			key := cacheKey{modelID, valid[i].hash}
			if el := c.lookup(key, now); el != nil {
				c.store(key, el.Value.(*cacheEntry).ttl, now)
			}
		}
	}
	write, prev := 0, read
	var details []converse.CacheDetail
	for _, cp := range valid[hit+1:] {
		seg := cp.tokens - prev
		prev = cp.tokens
		write += seg
		c.store(cacheKey{modelID, cp.hash}, ttlDuration(cp.ttl), now)
		i := 0
		for i < len(details) && details[i].TTL != cp.ttl {
			i++
		}
		if i == len(details) {
			details = append(details, converse.CacheDetail{TTL: cp.ttl})
		}
		details[i].InputTokens += seg
	}
	p.cacheRead, p.cacheWrite, p.cacheDetails = read, write, details
	p.inputTokens -= read + write
}
