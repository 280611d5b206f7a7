package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const (
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku45  = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	claude3  = "anthropic.claude-3-haiku-20240307-v1:0"
	novaPro  = "amazon.nova-pro-v1:0"
)

// fakeClock is a settable clock for the cache's TTLs.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// nWords returns n one-token words.
func nWords(n int) string { return strings.TrimSpace(strings.Repeat(" word", n)) }

func cachePoint(ttl string) *converse.CachePointBlock {
	return &converse.CachePointBlock{Type: "default", TTL: ttl}
}

// cachedReq is a request with a long system prompt ending in a cache point.
func cachedReq(system, question string, ttl string) *converse.Request {
	req := userReq(question)
	req.System = []converse.SystemContentBlock{{Text: ptr(system)}, {CachePoint: cachePoint(ttl)}}
	return req
}

func converseModel(t *testing.T, s *Simulator, modelID string, req *converse.Request) *converse.Response {
	t.Helper()
	resp, err := s.Converse(context.Background(), provider.Call{ModelID: modelID}, req)
	if err != nil {
		t.Fatalf("Converse %s: %v", modelID, err)
	}
	return resp
}

// checkUsage checks the accounting identities every response keeps.
func checkUsage(t *testing.T, s *Simulator, modelID string, req *converse.Request, u converse.Usage) {
	t.Helper()
	if u.TotalTokens != u.InputTokens+u.OutputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens {
		t.Errorf("totalTokens %d is not the sum of %+v", u.TotalTokens, u)
	}
	n, err := s.CountTokens(context.Background(), provider.Call{ModelID: modelID}, req)
	if err != nil || n != u.InputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens {
		t.Errorf("CountTokens = %d, %v; usage %+v", n, err, u)
	}
	details := 0
	for _, d := range u.CacheDetails {
		details += d.InputTokens
	}
	if details != u.CacheWriteInputTokens {
		t.Errorf("cacheDetails %+v do not add up to the writes %d", u.CacheDetails, u.CacheWriteInputTokens)
	}
}

func TestPromptCacheWriteThenRead(t *testing.T) {
	clock := newClock()
	s := New(nil, Options{Now: clock.now})
	system := nWords(1200)
	prefix := requestOverhead + 1200

	first := cachedReq(system, "What is in the document?", "")
	u := converseModel(t, s, sonnet45, first).Usage
	checkUsage(t, s, sonnet45, first, u)
	if u.CacheWriteInputTokens != prefix || u.CacheReadInputTokens != 0 ||
		!reflect.DeepEqual(u.CacheDetails, []converse.CacheDetail{{TTL: "5m", InputTokens: prefix}}) {
		t.Fatalf("first call: %+v, want a write of %d tokens", u, prefix)
	}
	if u.InputTokens != countInput(first)-prefix {
		t.Errorf("inputTokens %d, want the rest of the prompt %d", u.InputTokens, countInput(first)-prefix)
	}

	// Another question with the same prefix reads it.
	clock.advance(time.Minute)
	second := cachedReq(system, "Summarise the document in one sentence, please.", "")
	u = converseModel(t, s, sonnet45, second).Usage
	checkUsage(t, s, sonnet45, second, u)
	if u.CacheReadInputTokens != prefix || u.CacheWriteInputTokens != 0 || u.CacheDetails != nil {
		t.Fatalf("second call: %+v, want a read of %d tokens", u, prefix)
	}
	if u.InputTokens != countInput(second)-prefix {
		t.Errorf("inputTokens %d, want %d", u.InputTokens, countInput(second)-prefix)
	}
	// The reply does not depend on the cache.
	fresh := New(nil, Options{Now: clock.now})
	if converseModel(t, fresh, sonnet45, second).Text() != converseModel(t, s, sonnet45, second).Text() {
		t.Error("the cache changed the reply")
	}
}

func TestPromptCacheTTL(t *testing.T) {
	tests := []struct {
		name  string
		ttl   string
		steps []time.Duration // waits before each further call
		reads []bool          // whether that call reads
	}{
		{"5m expires", "", []time.Duration{5*time.Minute + time.Second}, []bool{false}},
		{"5m explicit", "5m", []time.Duration{4 * time.Minute}, []bool{true}},
		{"5m refreshed by reads", "5m", []time.Duration{4 * time.Minute, 4 * time.Minute, 4 * time.Minute, 5*time.Minute + time.Second},
			[]bool{true, true, true, false}},
		{"1h lives longer", "1h", []time.Duration{30 * time.Minute, 59 * time.Minute, 61 * time.Minute}, []bool{true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := New(nil, Options{Now: clock.now})
			req := cachedReq(nWords(1500), "Question?", tt.ttl)
			u := converseModel(t, s, sonnet45, req).Usage
			wantTTL := tt.ttl
			if wantTTL == "" {
				wantTTL = "5m"
			}
			if len(u.CacheDetails) != 1 || u.CacheDetails[0].TTL != wantTTL {
				t.Fatalf("write details %+v, want TTL %s", u.CacheDetails, wantTTL)
			}
			for i, d := range tt.steps {
				clock.advance(d)
				u := converseModel(t, s, sonnet45, req).Usage
				if got := u.CacheReadInputTokens > 0; got != tt.reads[i] {
					t.Fatalf("call %d after %v: usage %+v, want read %v", i+2, d, u, tt.reads[i])
				}
				if !tt.reads[i] && u.CacheWriteInputTokens == 0 {
					t.Fatalf("call %d: an expired prefix was not written again: %+v", i+2, u)
				}
			}
		})
	}
}

func TestPromptCacheCheckpoints(t *testing.T) {
	tools := &converse.ToolConfig{Tools: []converse.Tool{
		{ToolSpec: &converse.ToolSpec{Name: "lookup", Description: nWords(1100),
			InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}},
		{CachePoint: cachePoint("1h")},
	}}
	toolTokens := requestOverhead + countTool(&tools.Tools[0])

	t.Run("split by TTL", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(1300), "Question?", "5m")
		req.ToolConfig = tools
		u := converseModel(t, s, sonnet45, req).Usage
		checkUsage(t, s, sonnet45, req, u)
		want := []converse.CacheDetail{{TTL: "1h", InputTokens: toolTokens}, {TTL: "5m", InputTokens: 1300}}
		if !reflect.DeepEqual(u.CacheDetails, want) || u.CacheWriteInputTokens != toolTokens+1300 {
			t.Fatalf("usage %+v, want details %+v", u, want)
		}
		// A changed system prompt reads the tools and writes the new system.
		req2 := cachedReq(nWords(1400), "Question?", "5m")
		req2.ToolConfig = tools
		u = converseModel(t, s, sonnet45, req2).Usage
		checkUsage(t, s, sonnet45, req2, u)
		if u.CacheReadInputTokens != toolTokens || u.CacheWriteInputTokens != 1400 ||
			!reflect.DeepEqual(u.CacheDetails, []converse.CacheDetail{{TTL: "5m", InputTokens: 1400}}) {
			t.Fatalf("changed system: %+v", u)
		}
	})

	t.Run("below the minimum", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(500), "Question?", "")
		for range 2 {
			u := converseModel(t, s, sonnet45, req).Usage
			if u.CacheReadInputTokens != 0 || u.CacheWriteInputTokens != 0 || u.CacheDetails != nil || u.InputTokens != countInput(req) {
				t.Fatalf("a 500-token prefix was cached: %+v", u)
			}
		}
	})

	t.Run("each checkpoint adds the minimum", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(1100), "Question?", "")
		// A second checkpoint 400 tokens later is below the minimum.
		req.System = append(req.System, converse.SystemContentBlock{Text: ptr(nWords(400))}, converse.SystemContentBlock{CachePoint: cachePoint("")})
		u := converseModel(t, s, sonnet45, req).Usage
		if u.CacheWriteInputTokens != requestOverhead+1100 {
			t.Fatalf("usage %+v, want only the first checkpoint written", u)
		}
	})

	t.Run("a growing conversation reads its longest prefix", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(1200), "First question?", "")
		u1 := converseModel(t, s, sonnet45, req).Usage
		resp := converseModel(t, s, sonnet45, req)
		req.Messages = append(req.Messages, *resp.Output.Message, converse.Message{Role: converse.RoleUser, Content: []converse.ContentBlock{
			converse.TextBlock(nWords(1500)), {CachePoint: cachePoint("")}}})
		u2 := converseModel(t, s, sonnet45, req).Usage
		checkUsage(t, s, sonnet45, req, u2)
		if u2.CacheReadInputTokens != u1.CacheWriteInputTokens || u2.CacheWriteInputTokens != countInput(req)-u1.CacheWriteInputTokens {
			t.Fatalf("turn 2: %+v after %+v", u2, u1)
		}
		// The same conversation again reads all of it.
		u3 := converseModel(t, s, sonnet45, req).Usage
		if u3.CacheReadInputTokens != countInput(req) || u3.CacheWriteInputTokens != 0 || u3.InputTokens != 0 {
			t.Fatalf("turn 2 again: %+v", u3)
		}
	})

	t.Run("per model", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(1200), "Question?", "")
		converseModel(t, s, sonnet45, req)
		if u := converseModel(t, s, "anthropic.claude-opus-4-1-20250805-v1:0", req).Usage; u.CacheReadInputTokens != 0 || u.CacheWriteInputTokens == 0 {
			t.Fatalf("another model read the cache: %+v", u)
		}
		if u := converseModel(t, s, sonnet45, req).Usage; u.CacheReadInputTokens == 0 {
			t.Fatalf("the first model lost its entry: %+v", u)
		}
	})

	t.Run("family minimums", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(2000), "Question?", "")
		if u := converseModel(t, s, haiku45, req).Usage; u.CacheWriteInputTokens != 0 {
			t.Fatalf("Haiku 4.5 cached 2,000 tokens (minimum 4,096): %+v", u)
		}
		long := cachedReq(nWords(4200), "Question?", "")
		if u := converseModel(t, s, haiku45, long).Usage; u.CacheWriteInputTokens != requestOverhead+4200 {
			t.Fatalf("Haiku 4.5, 4,200 tokens: %+v", u)
		}
	})

	t.Run("Nova caches no tools", func(t *testing.T) {
		s := New(nil, Options{Now: newClock().now})
		req := cachedReq(nWords(1050), "Question?", "")
		req.ToolConfig = tools
		u := converseModel(t, s, novaPro, req).Usage
		checkUsage(t, s, novaPro, req, u)
		if u.CacheWriteInputTokens != toolTokens+1050 || len(u.CacheDetails) != 1 || u.CacheDetails[0].TTL != "5m" {
			t.Fatalf("Nova: %+v, want one write of tools and system at the system checkpoint", u)
		}
	})
}

func TestPromptCacheUnsupportedModels(t *testing.T) {
	s := New(map[string]ModelSettings{
		"custom-off":                       {MinCacheTokens: -1},
		"anthropic.claude-3-haiku-enabled": {MinCacheTokens: 2000},
	}, Options{Now: newClock().now})
	req := cachedReq(nWords(3000), "Question?", "")
	for _, modelID := range []string{claude3, "us." + claude3, "meta.llama3-8b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2", "amazon.titan-text-express-v1", "custom-off"} {
		_, err := s.Converse(context.Background(), provider.Call{ModelID: modelID}, req)
		var ae *apierror.Error
		if !errors.As(err, &ae) || ae.Code != apierror.AccessDenied || ae.Status() != 403 ||
			ae.Message != "You invoked an unsupported model, or your request did not allow prompt caching. See the documentation for more information." {
			t.Errorf("%s: cache point got %v, want AccessDeniedException", modelID, err)
		}
		if _, err := s.ConverseStream(context.Background(), provider.Call{ModelID: modelID}, req); apierror.From(err) == nil || apierror.From(err).Code != apierror.AccessDenied {
			t.Errorf("%s: stream with a cache point got %v", modelID, err)
		}
		// Without cache points the model answers.
		plain := userReq("Question?")
		plain.System = []converse.SystemContentBlock{{Text: ptr(nWords(3000))}}
		if _, err := s.Converse(context.Background(), provider.Call{ModelID: modelID}, plain); err != nil {
			t.Errorf("%s without cache points: %v", modelID, err)
		}
	}
	// Configured on: the setting wins over the family.
	if u := converseModel(t, s, "anthropic.claude-3-haiku-enabled", req).Usage; u.CacheWriteInputTokens != requestOverhead+3000 {
		t.Errorf("minCacheTokens 2000 on a Claude 3 ID: %+v", u)
	}
	// Unknown model IDs cache with the common minimum.
	if u := converseModel(t, s, "my-own-model", req).Usage; u.CacheWriteInputTokens != requestOverhead+3000 {
		t.Errorf("unknown model: %+v", u)
	}
}

func TestCachePolicy(t *testing.T) {
	tests := []struct {
		id         string
		min        int
		toolPoints bool
	}{
		{"anthropic.claude-3-7-sonnet-20250219-v1:0", 1024, true},
		{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", 1024, true},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", 2048, true},
		{"global.anthropic.claude-haiku-4-5-20251001-v1:0", 4096, true},
		{"anthropic.claude-sonnet-4-20250514-v1:0", 1024, true},
		{"eu.anthropic.claude-sonnet-4-5-20250929-v1:0", 1024, true},
		{"anthropic.claude-opus-4-20250514-v1:0", 1024, true},
		{"anthropic.claude-opus-4-1-20250805-v1:0", 1024, true},
		{"anthropic.claude-opus-4-5-20251101-v1:0", 4096, true},
		{"arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-opus-4-5-20251101-v1:0", 4096, true},
		{"amazon.nova-micro-v1:0", 1000, false},
		{"us.amazon.nova-lite-v1:0", 1000, false},
		{"amazon.nova-pro-v1:0", 1000, false},
		{"anthropic.claude-3-haiku-20240307-v1:0", -1, false},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", -1, false},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", -1, false},
		{"amazon.titan-text-premier-v1:0", -1, false},
		{"meta.llama3-1-70b-instruct-v1:0", -1, false},
		{"us.deepseek.r1-v1:0", -1, false},
		{"test.model-v1:0", 1024, true},
		{"", 1024, true},
	}
	for _, tt := range tests {
		min, tools := cachePolicy(ModelSettings{}.resolve(), tt.id)
		if min != tt.min || (min > 0 && tools != tt.toolPoints) {
			t.Errorf("%q: minimum %d, tools %v; want %d, %v", tt.id, min, tools, tt.min, tt.toolPoints)
		}
	}
}

func TestPromptCacheBounded(t *testing.T) {
	clock := newClock()
	s := New(nil, Options{Now: clock.now, CacheEntries: 2})
	reqs := []*converse.Request{
		cachedReq("alpha "+nWords(1100), "Question?", ""),
		cachedReq("beta "+nWords(1100), "Question?", ""),
		cachedReq("gamma "+nWords(1100), "Question?", ""),
	}
	for _, r := range reqs {
		converseModel(t, s, sonnet45, r)
	}
	if n := s.cache.len(); n != 2 {
		t.Fatalf("%d entries, want the bound of 2", n)
	}
	if u := converseModel(t, s, sonnet45, reqs[0]).Usage; u.CacheReadInputTokens != 0 {
		t.Errorf("the least recently used entry survived: %+v", u)
	}
	if u := converseModel(t, s, sonnet45, reqs[2]).Usage; u.CacheReadInputTokens == 0 {
		t.Errorf("a recent entry was evicted: %+v", u)
	}
	// Expired entries go when looked at.
	clock.advance(time.Hour)
	converseModel(t, s, sonnet45, reqs[2])
	if u := converseModel(t, s, sonnet45, reqs[2]).Usage; u.CacheReadInputTokens == 0 {
		t.Errorf("rewritten entry not read: %+v", u)
	}
}

func TestPromptCacheStreamMetadata(t *testing.T) {
	clock := newClock()
	a := New(nil, Options{Now: clock.now})
	b := New(nil, Options{Now: clock.now})
	req := cachedReq(nWords(1300), "Tell me about the document.", "1h")
	for turn := range 2 {
		want := converseModel(t, a, sonnet45, req).Usage
		st, err := b.ConverseStream(context.Background(), provider.Call{ModelID: sonnet45}, req)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := provider.Collect(st)
		if err != nil {
			t.Fatal(err)
		}
		got := evs[len(evs)-1].Metadata.Usage
		if !reflect.DeepEqual(got, want) {
			t.Errorf("turn %d: stream metadata usage %+v, Converse %+v", turn, got, want)
		}
		if evs[0].MessageStart.InputTokens != want.InputTokens {
			t.Errorf("turn %d: messageStart inputTokens %d, want %d", turn, evs[0].MessageStart.InputTokens, want.InputTokens)
		}
	}
}

func TestCountTokens(t *testing.T) {
	s := New(nil, Options{})
	reqs := []*converse.Request{userReq("Hello world"), cachedReq(nWords(2000), "Question?", ""), {}}
	reqs[0].ToolConfig = weatherTools(choiceAuto)
	for _, req := range reqs {
		n, err := s.CountTokens(context.Background(), call(), req)
		if err != nil {
			t.Fatal(err)
		}
		u := mustConverse(t, New(nil, Options{}), req).Usage
		if n != u.InputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens || n != countInput(req) {
			t.Errorf("CountTokens %d, Converse usage %+v", n, u)
		}
	}
	if _, err := s.CountTokens(context.Background(), call(), nil); apierror.From(err) == nil || apierror.From(err).Code != apierror.Validation {
		t.Errorf("nil request: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.CountTokens(ctx, call(), userReq("hi")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	// A model without caching counts requests with cache points too.
	if n, err := s.CountTokens(context.Background(), provider.Call{ModelID: claude3}, reqs[1]); err != nil || n != countInput(reqs[1]) {
		t.Errorf("Claude 3 count: %d, %v", n, err)
	}
}

func TestPromptCacheConcurrent(t *testing.T) {
	s := New(nil, Options{CacheEntries: 16})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				req := cachedReq(nWords(1100+(g+i)%20), "Question?", []string{"", "1h"}[i%2])
				resp, err := s.Converse(context.Background(), provider.Call{ModelID: sonnet45}, req)
				if err != nil {
					t.Error(err)
					return
				}
				u := resp.Usage
				if u.InputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens != countInput(req) {
					t.Errorf("usage %+v does not add up to %d", u, countInput(req))
					return
				}
			}
		})
	}
	wg.Wait()
	if n := s.cache.len(); n > 16 {
		t.Errorf("%d entries past the bound", n)
	}
}
