package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/bedrock"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

func TestConverseUsageSplitsOneHourCacheWrites(t *testing.T) {
	tests := []struct {
		name string
		in   converse.Usage
		want invocation.Usage
	}{
		{"no cache", converse.Usage{InputTokens: 5, OutputTokens: 7, TotalTokens: 12},
			invocation.Usage{InputTokens: 5, OutputTokens: 7}},
		{"reads and writes without details", converse.Usage{InputTokens: 5, CacheReadInputTokens: 100, CacheWriteInputTokens: 40},
			invocation.Usage{InputTokens: 5, CacheReadInputTokens: 100, CacheWriteInputTokens: 40}},
		{"five-minute and one-hour details", converse.Usage{CacheWriteInputTokens: 3000, CacheDetails: []converse.CacheDetail{
			{TTL: converse.CacheTTL5m, InputTokens: 2000}, {TTL: converse.CacheTTL1h, InputTokens: 1000}}},
			invocation.Usage{CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}},
		{"several one-hour checkpoints add up", converse.Usage{CacheWriteInputTokens: 3000, CacheDetails: []converse.CacheDetail{
			{TTL: converse.CacheTTL1h, InputTokens: 1000}, {TTL: converse.CacheTTL1h, InputTokens: 2000}}},
			invocation.Usage{CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 3000}},
		{"details beyond the total are held to it", converse.Usage{CacheWriteInputTokens: 100, CacheDetails: []converse.CacheDetail{
			{TTL: converse.CacheTTL1h, InputTokens: 5000}}},
			invocation.Usage{CacheWriteInputTokens: 100, CacheWrite1hInputTokens: 100}},
		{"negative details ignored", converse.Usage{CacheWriteInputTokens: 10, CacheDetails: []converse.CacheDetail{
			{TTL: converse.CacheTTL1h, InputTokens: -4}}},
			invocation.Usage{CacheWriteInputTokens: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConverseUsage(tt.in); got != tt.want {
				t.Errorf("ConverseUsage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// upstream is a Bedrock runtime stand-in on loopback that answers Converse
// and ConverseStream with the body and frames a test sets, and keeps the
// request bodies it received. It is reached through the real Bedrock
// provider, which signs and decodes as it does against AWS.
type upstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	body   string                // Converse response body
	frames []eventstream.Message // ConverseStream events
	got    []string              // request bodies received
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, string(b))
		body, frames := u.body, u.frames
		u.mu.Unlock()
		w.Header().Set("x-amzn-RequestId", "6f2a8c3e-0b1d-4e5f-9a7b-1c2d3e4f5a6b")
		if strings.HasSuffix(r.URL.Path, "/converse-stream") {
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			enc := eventstream.NewEncoder()
			for _, m := range frames {
				if err := enc.Encode(w, m); err != nil {
					return
				}
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func event(name, payload string) eventstream.Message {
	var hs eventstream.Headers
	hs.Set(":event-type", eventstream.StringValue(name))
	hs.Set(":content-type", eventstream.StringValue("application/json"))
	hs.Set(":message-type", eventstream.StringValue("event"))
	return eventstream.Message{Headers: hs, Payload: []byte(payload)}
}

const (
	upModel  = "acme.upstream-v1"
	simModel = "acme.simulated-v1"
	// plainModel is served by a provider that does not carry tiers to its
	// model, as the Anthropic and OpenAI-compatible providers do not.
	plainModel = "acme.plain-v1"
)

// tierGateway is a gateway in anonymous mode with a model served by the
// Bedrock provider against up and one served by the simulator; it returns
// the invocations its observer saw.
func tierGateway(t *testing.T, up *upstream) (*Gateway, func() []*invocation.Invocation) {
	t.Helper()
	m := func(id, prov string) *catalog.Model {
		return &catalog.Model{ID: id, Family: "anthropic", Provider: prov, UpstreamModel: id, MaxOutputTokens: 1000,
			DefaultMaxTokens: 100, Timeout: 10 * time.Second, Streaming: true, SystemPrompt: true}
	}
	cat, err := catalog.New("us-east-1", "000000000000", []*catalog.Model{m(upModel, "up"), m(simModel, "sim"), m(plainModel, "plain")})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(nil, auth.Options{AccountID: "000000000000", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	bp, err := bedrock.New(context.Background(), bedrock.Options{Name: "up", Region: "us-east-1", BaseURL: up.srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(map[string]simulator.ModelSettings{simModel: {}, plainModel: {}}, simulator.Options{})
	plain := tierDropper{sim}
	var (
		mu   sync.Mutex
		seen []*invocation.Invocation
	)
	g, err := New(Options{Catalog: cat, Auth: authn, Providers: map[string]provider.Provider{"up": bp, "sim": sim, "plain": plain},
		Observers: []invocation.Observer{invocation.ObserverFunc(func(inv *invocation.Invocation) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, inv)
		})}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return g, func() []*invocation.Invocation {
		mu.Lock()
		defer mu.Unlock()
		return append([]*invocation.Invocation(nil), seen...)
	}
}

// begin starts a call to model through every check, as a front door does.
func begin(t *testing.T, g *Gateway, op invocation.Operation, model string) *Call {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/model/"+model+"/converse", nil)
	call := g.begin(r, invocation.APIBedrock, op, model)
	if err := call.check(r); err != nil {
		t.Fatal(err)
	}
	if err := call.authenticate(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := call.resolve(); err != nil {
		t.Fatal(err)
	}
	return call
}

func tieredRequest(tier, latency string) *converse.Request {
	req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("Hello")}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: aws.Int(50)}}
	if tier != "" {
		req.ServiceTier = &converse.ServiceTier{Type: tier}
	}
	if latency != "" {
		req.PerformanceConfig = &converse.PerformanceConfig{Latency: latency}
	}
	return req
}

const cachedUsage = `"usage":{"inputTokens":12,"outputTokens":7,"totalTokens":5067,"cacheReadInputTokens":2048,"cacheWriteInputTokens":3000,` +
	`"cacheDetails":[{"ttl":"5m","inputTokens":2000},{"ttl":"1h","inputTokens":1000}]}`

func TestConverseRecordsTheTierThatServedTheCall(t *testing.T) {
	const message = `"output":{"message":{"role":"assistant","content":[{"text":"Hi."}]}},"stopReason":"end_turn","metrics":{"latencyMs":9}`
	tests := []struct {
		name                  string
		model                 string
		body                  string // the upstream's answer (upstream model only)
		reqTier, reqLatency   string
		wantTier, wantLatency string
		wantUsage             *invocation.Usage
	}{
		{"the provider's report wins over the request", upModel,
			`{` + message + `,` + cachedUsage + `,"serviceTier":{"type":"flex"},"performanceConfig":{"latency":"standard"}}`,
			invocation.TierPriority, invocation.LatencyOptimized, invocation.TierFlex, invocation.LatencyStandard,
			&invocation.Usage{InputTokens: 12, OutputTokens: 7, CacheReadInputTokens: 2048, CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}},
		{"a provider that reports none served the request's", upModel,
			`{` + message + `,` + cachedUsage + `}`,
			invocation.TierPriority, invocation.LatencyOptimized, invocation.TierPriority, invocation.LatencyOptimized, nil},
		{"the simulator serves as asked", simModel, "", invocation.TierFlex, "", invocation.TierFlex, "", nil},
		{"a provider that does not carry tiers served the default", plainModel, "", invocation.TierPriority, invocation.LatencyOptimized, "", "", nil},
		{"neither names one", upModel, `{` + message + `,"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}`, "", "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t)
			up.body = tt.body
			g, seen := tierGateway(t, up)
			call := begin(t, g, invocation.Converse, tt.model)
			req := tieredRequest(tt.reqTier, tt.reqLatency)
			resp, err := call.chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(resp)
			call.finish(context.Background(), 200, invocation.Body{ContentType: "application/json", Data: out}, nil)
			inv := seen()[0]
			if inv.ServiceTier != tt.wantTier || inv.PerformanceLatency != tt.wantLatency {
				t.Errorf("recorded tier %q latency %q, want %q %q", inv.ServiceTier, inv.PerformanceLatency, tt.wantTier, tt.wantLatency)
			}
			// The response says what the record says.
			gotTier, gotLatency := "", ""
			if resp.ServiceTier != nil {
				gotTier = resp.ServiceTier.Type
			}
			if resp.PerformanceConfig != nil {
				gotLatency = resp.PerformanceConfig.Latency
			}
			if gotTier != tt.wantTier || gotLatency != tt.wantLatency {
				t.Errorf("response tier %q latency %q, want %q %q", gotTier, gotLatency, tt.wantTier, tt.wantLatency)
			}
			if tt.wantUsage != nil && inv.Usage != *tt.wantUsage {
				t.Errorf("usage %+v, want %+v", inv.Usage, *tt.wantUsage)
			}
			if inv.Usage != ConverseUsage(resp.Usage) {
				t.Errorf("recorded usage %+v, response usage %+v", inv.Usage, resp.Usage)
			}
			if tt.model == upModel && tt.reqTier != "" {
				// The tier asked for reached the upstream.
				if got := up.got[0]; !strings.Contains(got, `"serviceTier":{"type":"`+tt.reqTier+`"}`) {
					t.Errorf("upstream request %s lacks the service tier", got)
				}
			}
		})
	}
}

func TestStreamRecordsTierAndCacheFromTheMetadataEvent(t *testing.T) {
	frames := []eventstream.Message{
		event("messageStart", `{"role":"assistant"}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hi."}}`),
		event("contentBlockStop", `{"contentBlockIndex":0}`),
		event("messageStop", `{"stopReason":"end_turn"}`),
	}
	tests := []struct {
		name                  string
		model                 string
		metadata              string
		wantTier, wantLatency string
		wantUsage             *invocation.Usage
	}{
		{"reported in the metadata event", upModel,
			`{` + cachedUsage + `,"metrics":{"latencyMs":9},"serviceTier":{"type":"default"},"performanceConfig":{"latency":"optimized"}}`,
			invocation.TierDefault, invocation.LatencyOptimized,
			&invocation.Usage{InputTokens: 12, OutputTokens: 7, CacheReadInputTokens: 2048, CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}},
		{"not reported: the request's", upModel, `{` + cachedUsage + `,"metrics":{"latencyMs":9}}`,
			invocation.TierPriority, invocation.LatencyOptimized, nil},
		{"the simulator streams as asked", simModel, "", invocation.TierPriority, invocation.LatencyOptimized, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t)
			up.frames = append(append([]eventstream.Message(nil), frames...), event("metadata", tt.metadata))
			g, seen := tierGateway(t, up)
			call := begin(t, g, invocation.ConverseStream, tt.model)
			st, err := call.chatStream(context.Background(), tieredRequest(invocation.TierPriority, invocation.LatencyOptimized))
			if err != nil {
				t.Fatal(err)
			}
			var md *converse.MetadataEvent
			for {
				ev, err := st.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Metadata != nil {
					md = ev.Metadata
					break
				}
			}
			st.Close()
			assembled, _ := json.Marshal(st.Response())
			call.finish(context.Background(), 200, invocation.Body{ContentType: "application/json", Data: assembled}, nil)
			inv := seen()[0]
			if inv.ServiceTier != tt.wantTier || inv.PerformanceLatency != tt.wantLatency {
				t.Errorf("recorded tier %q latency %q, want %q %q", inv.ServiceTier, inv.PerformanceLatency, tt.wantTier, tt.wantLatency)
			}
			if md == nil || md.ServiceTier == nil || md.ServiceTier.Type != tt.wantTier || md.PerformanceConfig == nil || md.PerformanceConfig.Latency != tt.wantLatency {
				t.Errorf("metadata event sent %+v, want tier %q latency %q", md, tt.wantTier, tt.wantLatency)
			}
			if r := st.Response(); r.ServiceTier == nil || r.ServiceTier.Type != tt.wantTier {
				t.Errorf("assembled response tier %+v", r.ServiceTier)
			}
			if tt.wantUsage != nil && inv.Usage != *tt.wantUsage {
				t.Errorf("usage %+v, want %+v", inv.Usage, *tt.wantUsage)
			}
			if inv.Usage != ConverseUsage(md.Usage) {
				t.Errorf("recorded usage %+v, metadata usage %+v", inv.Usage, md.Usage)
			}
		})
	}
}

func TestSetRequestedTierStandsUntilAProviderReports(t *testing.T) {
	up := newUpstream(t)
	up.body = `{"output":{"message":{"role":"assistant","content":[{"text":"Hi."}]}},"stopReason":"end_turn","metrics":{"latencyMs":1},` +
		`"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4},"serviceTier":{"type":"default"}}`
	g, seen := tierGateway(t, up)
	// A native pass-through call: only the headers say what was asked.
	call := begin(t, g, invocation.InvokeModel, upModel)
	call.setRequestedTier(invocation.TierFlex, invocation.LatencyOptimized)
	if call.serviceTier() != invocation.TierFlex || call.performanceLatency() != invocation.LatencyOptimized {
		t.Fatalf("requested tier not recorded: %q %q", call.serviceTier(), call.performanceLatency())
	}
	// A translated call whose provider reports the tier but no latency mode.
	req := tieredRequest("", "")
	resp, err := call.chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	call.finish(context.Background(), 200, invocation.Body{}, nil)
	inv := seen()[0]
	if inv.ServiceTier != invocation.TierDefault || inv.PerformanceLatency != invocation.LatencyOptimized || resp.PerformanceConfig != nil {
		t.Errorf("tier %q latency %q, response latency %+v", inv.ServiceTier, inv.PerformanceLatency, resp.PerformanceConfig)
	}
}

// tierDropper serves as the Anthropic and OpenAI-compatible providers do:
// the tier and latency mode never reach its model, and it is not a
// provider.TierCarrier.
type tierDropper struct{ provider.Provider }

func (d tierDropper) Converse(ctx context.Context, call provider.Call, req *converse.Request) (*converse.Response, error) {
	r := *req
	r.ServiceTier, r.PerformanceConfig = nil, nil
	return d.Provider.Converse(ctx, call, &r)
}

func (d tierDropper) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	r := *req
	r.ServiceTier, r.PerformanceConfig = nil, nil
	return d.Provider.ConverseStream(ctx, call, &r)
}
