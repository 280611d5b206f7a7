package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/server"
)

// haiku45 caches prompts of at least 4,096 tokens per checkpoint, with a
// five-minute or a one-hour TTL, and the shipped price list prices both.
const haiku45 = "anthropic.claude-haiku-4-5-20251001-v1:0"

// Haiku 4.5's list prices (USD per token) and the tier multipliers the test
// configures: the numbers every cost below is computed from, written out
// rather than read back from the price list under test.
const (
	h45Input, h45Output, h45Write5m, h45Write1h, h45Read = 1e-06, 5e-06, 1.25e-06, 2e-06, 1e-07
	priorityX, flexX                                     = 1.75, 0.5
)

// callUsage is what a response said about one call.
type callUsage struct {
	requestID                       string
	op                              invocation.Operation
	input, output, read, write, w1h int
	tier                            string
}

// dollars is the call's cost from the written-out prices.
func (c callUsage) dollars() float64 {
	d := float64(c.input)*h45Input + float64(c.output)*h45Output + float64(c.read)*h45Read +
		float64(c.write-c.w1h)*h45Write5m + float64(c.w1h)*h45Write1h
	switch c.tier {
	case "priority":
		d *= priorityX
	case "flex":
		d *= flexX
	}
	return d
}

// longText is a system prompt well past Haiku 4.5's caching minimum.
func longText(topic string) string {
	return strings.Repeat("The "+topic+" ledger records every invoice, refund and audit note for the quarter. ", 600)
}

// TestPromptCacheAndServiceTierAgreeEverywhere makes cached and tiered
// calls through every Bedrock operation with the real SDK and checks that
// the response usage, the response headers, the invocation record, the
// /metrics text and the cost carry the same numbers. The cache contract is
// the simulator's: a checkpoint's first call writes N tokens and the next
// reads the same N, and input + read + write is the prompt's size with or
// without the checkpoint.
func TestPromptCacheAndServiceTierAgreeEverywhere(t *testing.T) {
	tiers := map[string]cost.TierPrice{
		"priority": {Multiplier: aws.Float64(priorityX), Source: "test"},
		"flex":     {Multiplier: aws.Float64(flexX), Source: "test"},
	}
	srv, rec := startServer(t, func(c *config.Config) {
		addHaiku45(c)
		c.Prices = cost.Prices{haiku45: {ServiceTiers: tiers}}
	})
	ctx := context.Background()
	if _, err := controlClient(srv.URL(), "AKIDEXAMPLE", "secret").PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("cache-logs")}},
	}); err != nil {
		t.Fatal(err)
	}
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	var calls []callUsage

	// Converse: a one-hour checkpoint after the system prompt, flex tier.
	system := longText("harbour")
	converseIn := func(cached bool) *bedrockruntime.ConverseInput {
		sys := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: system}}
		if cached {
			sys = append(sys, &types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: types.CacheTTLOneHour}})
		}
		return &bedrockruntime.ConverseInput{ModelId: aws.String(haiku45), System: sys,
			Messages:    []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("What does the ledger record?")}}},
			ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypeFlex}}
	}
	uncached, err := client.Converse(ctx, converseIn(false))
	if err != nil {
		t.Fatal(err)
	}
	calls = append(calls, converseUsage(t, uncached))
	prompt := int(*uncached.Usage.InputTokens)
	var n int // the simulator's count of the cached prefix
	for i, wantRead := range []bool{false, true} {
		out, err := client.Converse(ctx, converseIn(true))
		if err != nil {
			t.Fatal(err)
		}
		c := converseUsage(t, out)
		calls = append(calls, c)
		if i == 0 {
			n = c.write
			if n == 0 {
				t.Fatalf("the first call with a checkpoint wrote nothing to the cache (usage %+v): is the simulator's prompt cache in place?", c)
			}
			if c.w1h != n || len(out.Usage.CacheDetails) != 1 || out.Usage.CacheDetails[0].Ttl != types.CacheTTLOneHour {
				t.Errorf("one-hour write of %d reported as %d, details %+v", n, c.w1h, out.Usage.CacheDetails)
			}
		}
		if wantRead && (c.read != n || c.write != 0) {
			t.Errorf("second call read %d and wrote %d, want a read of %d", c.read, c.write, n)
		}
		if c.input+c.read+c.write != prompt {
			t.Errorf("input %d + read %d + write %d != the prompt's %d tokens", c.input, c.read, c.write, prompt)
		}
		if out.ServiceTier == nil || out.ServiceTier.Type != types.ServiceTierTypeFlex {
			t.Errorf("Converse response service tier %+v, want flex", out.ServiceTier)
		}
		if got := int(*out.Usage.TotalTokens); got != c.input+c.output+c.read+c.write {
			t.Errorf("totalTokens %d for usage %+v", got, c)
		}
	}

	// ConverseStream: the same checkpoint is read from the cache.
	s := converseStreamTier(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku45), System: converseIn(true).System,
		Messages:    []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("What does the ledger record?")}}},
		ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypeFlex}})
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.usage.read != n || s.usage.write != 0 || s.tier != "flex" {
		t.Errorf("ConverseStream read %d wrote %d tier %q, want a read of %d at flex", s.usage.read, s.usage.write, s.tier, n)
	}
	calls = append(calls, s.usage)

	// InvokeModel: an Anthropic body with cache_control (five minutes) on a
	// different system prompt, priority tier through the header.
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":80,"system":[{"type":"text","text":` + strconv.Quote(longText("lighthouse")) +
		`,"cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Summarise the ledger."}]}`
	var m int
	for i := range 2 {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku45), Body: []byte(body),
			ContentType: aws.String("application/json"), ServiceTier: types.ServiceTierTypePriority})
		if err != nil {
			t.Fatal(err)
		}
		c := invokeUsage(t, out.ResultMetadata, invocation.InvokeModel, out.Body)
		if out.ServiceTier != types.ServiceTierTypePriority || c.tier != "priority" {
			t.Errorf("InvokeModel service tier %q (header %q), want priority", out.ServiceTier, c.tier)
		}
		if i == 0 {
			m = c.write
			if m == 0 || c.w1h != 0 {
				t.Errorf("first InvokeModel wrote %d (%d for an hour), want a five-minute write", c.write, c.w1h)
			}
		} else if c.read != m || c.write != 0 {
			t.Errorf("second InvokeModel read %d wrote %d, want a read of %d", c.read, c.write, m)
		}
		calls = append(calls, c)
	}

	// InvokeModelWithResponseStream: the initial response names the tier,
	// the last chunk's invocation metrics carry the cache read.
	sout, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(haiku45),
		Body: []byte(body), ContentType: aws.String("application/json"), ServiceTier: types.ServiceTierTypePriority})
	if err != nil {
		t.Fatal(err)
	}
	if sout.ServiceTier != types.ServiceTierTypePriority {
		t.Errorf("stream's initial response tier %q, want priority", sout.ServiceTier)
	}
	sc := callUsage{requestID: requestID(t, sout.ResultMetadata), op: invocation.InvokeModelWithResponseStream, tier: string(sout.ServiceTier)}
	st := sout.GetStream()
	startRead := -1
	for ev := range st.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			t.Fatalf("unexpected event %T", ev)
		}
		var tail struct {
			Type    string `json:"type"`
			Message struct {
				Usage struct {
					Read int `json:"cache_read_input_tokens"`
				} `json:"usage"`
			} `json:"message"`
			M *struct {
				In    int `json:"inputTokenCount"`
				Out   int `json:"outputTokenCount"`
				Read  int `json:"cacheReadInputTokenCount"`
				Write int `json:"cacheWriteInputTokenCount"`
			} `json:"amazon-bedrock-invocationMetrics"`
		}
		if json.Unmarshal(chunk.Value.Bytes, &tail) == nil && tail.Type == "message_start" {
			// Anthropic's message_start announces the cache use, as Bedrock's does.
			startRead = tail.Message.Usage.Read
		}
		if json.Unmarshal(chunk.Value.Bytes, &tail) == nil && tail.M != nil {
			sc.input, sc.output, sc.read, sc.write = tail.M.In, tail.M.Out, tail.M.Read, tail.M.Write
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if startRead != m {
		t.Errorf("message_start cache_read_input_tokens %d, want %d", startRead, m)
	}
	if sc.read != m || sc.write != 0 {
		t.Errorf("stream invocation metrics read %d wrote %d, want a read of %d", sc.read, sc.write, m)
	}
	calls = append(calls, sc)
	t.Logf("cached prefixes: Converse %d tokens (1h), InvokeModel %d tokens (5m)", n, m)

	// Every call's record says what its response said.
	for _, c := range calls {
		inv := rec.byRequestID(t, c.requestID)
		want := invocation.Usage{InputTokens: c.input, OutputTokens: c.output, CacheReadInputTokens: c.read,
			CacheWriteInputTokens: c.write, CacheWrite1hInputTokens: c.w1h}
		if inv.Usage != want || inv.ServiceTier != c.tier || inv.Operation != c.op {
			t.Errorf("%s %s: invocation usage %+v tier %q, response %+v tier %q", c.op, c.requestID, inv.Usage, inv.ServiceTier, want, c.tier)
		}
		checkRecord(t, srv, c)
	}
	checkMetricsText(t, srv, calls)
}

// addHaiku45 adds Claude Haiku 4.5, served by the simulator, to the
// catalog unless the defaults already have it.
func addHaiku45(c *config.Config) {
	for _, m := range c.Models {
		if m.ID == haiku45 {
			return
		}
	}
	c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: haiku45, Name: "Claude Haiku 4.5", Vendor: "Anthropic",
		Family: "anthropic", Provider: "simulator", InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"},
		Streaming: true, Tools: true, SystemPrompt: true, MaxOutputTokens: 64000, DefaultMaxTokens: 200}})
}

// TestPromptCacheAndServiceTierPassThrough chains two servers: the front
// one passes Haiku 4.5's native bodies through to the back one as a
// Bedrock upstream. The tier header reaches the upstream, the upstream's
// cache counts come back in the front's headers and record, and the front
// echoes the tier as Bedrock does.
func TestPromptCacheAndServiceTierPassThrough(t *testing.T) {
	back, backRec := startServer(t, addHaiku45)
	upstreamCredentials(t)
	front, frontRec := startServer(t, func(c *config.Config) {
		addHaiku45(c)
		c.Providers = append(c.Providers, config.Provider{Name: "aws", Type: "bedrock", Settings: map[string]any{"baseURL": back.URL()}})
		for i := range c.Models {
			if c.Models[i].ID == haiku45 {
				c.Models[i].Provider = "aws"
			}
		}
	})
	client := runtimeClient(front.URL(), "AKIDEXAMPLE", "secret")
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":60,"system":[{"type":"text","text":` + strconv.Quote(longText("canal")) +
		`,"cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"Pass me through."}]}`
	for i := range 2 {
		out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku45), Body: []byte(body),
			ContentType: aws.String("application/json"), ServiceTier: types.ServiceTierTypePriority, PerformanceConfigLatency: types.PerformanceConfigLatencyOptimized})
		if err != nil {
			t.Fatal(err)
		}
		c := invokeUsage(t, out.ResultMetadata, invocation.InvokeModel, out.Body)
		inv := frontRec.byRequestID(t, c.requestID)
		up := backRec.last(t)
		if inv.Provider != "aws" || up.ServiceTier != "priority" || up.PerformanceLatency != "optimized" {
			t.Errorf("front provider %q; upstream served tier %q latency %q, want priority optimized", inv.Provider, up.ServiceTier, up.PerformanceLatency)
		}
		if (i == 0 && (c.write == 0 || c.read != 0)) || (i == 1 && (c.read == 0 || c.write != 0)) {
			t.Errorf("call %d: read %d wrote %d", i, c.read, c.write)
		}
		// The upstream's usage, in the front's headers and record. The
		// headers carry no TTL split, so a passed-through body's one-hour
		// writes count as cache writes of unknown TTL (five-minute price).
		if c.input != up.Usage.InputTokens || c.read != up.Usage.CacheReadInputTokens || c.write != up.Usage.CacheWriteInputTokens ||
			inv.Usage.CacheReadInputTokens != c.read || inv.Usage.CacheWriteInputTokens != c.write || inv.Usage.InputTokens != c.input {
			t.Errorf("front headers %+v, front record %+v, upstream %+v", c, inv.Usage, up.Usage)
		}
		if out.ServiceTier != types.ServiceTierTypePriority || out.PerformanceConfigLatency != types.PerformanceConfigLatencyOptimized ||
			inv.ServiceTier != "priority" || inv.PerformanceLatency != "optimized" {
			t.Errorf("front echoed tier %q latency %q, recorded %q %q", out.ServiceTier, out.PerformanceConfigLatency, inv.ServiceTier, inv.PerformanceLatency)
		}
	}
}

func converseUsage(t *testing.T, out *bedrockruntime.ConverseOutput) callUsage {
	t.Helper()
	u := out.Usage
	c := callUsage{requestID: requestID(t, out.ResultMetadata), op: invocation.Converse,
		input: int(aws.ToInt32(u.InputTokens)), output: int(aws.ToInt32(u.OutputTokens)),
		read: int(aws.ToInt32(u.CacheReadInputTokens)), write: int(aws.ToInt32(u.CacheWriteInputTokens))}
	for _, d := range u.CacheDetails {
		if d.Ttl == types.CacheTTLOneHour {
			c.w1h += int(aws.ToInt32(d.InputTokens))
		}
	}
	if out.ServiceTier != nil {
		c.tier = string(out.ServiceTier.Type)
	}
	return c
}

// invokeUsage reads an InvokeModel response's token headers, which must
// agree with the native body's usage.
func invokeUsage(t *testing.T, md middleware.Metadata, op invocation.Operation, body []byte) callUsage {
	t.Helper()
	h := func(name string) int {
		v := rawHeader(t, md, name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: %q", name, v)
		}
		return n
	}
	c := callUsage{requestID: requestID(t, md), op: op,
		input: h("X-Amzn-Bedrock-Input-Token-Count"), output: h("X-Amzn-Bedrock-Output-Token-Count"),
		read: h("X-Amzn-Bedrock-Cache-Read-Input-Token-Count"), write: h("X-Amzn-Bedrock-Cache-Write-Input-Token-Count"),
		tier: rawHeader(t, md, "X-Amzn-Bedrock-Service-Tier")}
	var native struct {
		Usage struct {
			In    int  `json:"input_tokens"`
			Out   int  `json:"output_tokens"`
			Write *int `json:"cache_creation_input_tokens"`
			Read  *int `json:"cache_read_input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &native); err != nil {
		t.Fatalf("native body %s: %v", body, err)
	}
	if native.Usage.In != c.input || native.Usage.Out != c.output {
		t.Errorf("body usage %+v, headers %+v", native.Usage, c)
	}
	// Anthropic's body names the cache tokens when the family encodes them.
	if (native.Usage.Write != nil && *native.Usage.Write != c.write) || (native.Usage.Read != nil && *native.Usage.Read != c.read) {
		t.Errorf("body cache usage write %v read %v, headers write %d read %d", native.Usage.Write, native.Usage.Read, c.write, c.read)
	}
	return c
}

type tierStream struct {
	usage callUsage
	tier  string
	err   error
}

func converseStreamTier(t *testing.T, client *bedrockruntime.Client, in *bedrockruntime.ConverseStreamInput) tierStream {
	t.Helper()
	out, err := client.ConverseStream(context.Background(), in)
	if err != nil {
		return tierStream{err: err}
	}
	s := tierStream{usage: callUsage{requestID: requestID(t, out.ResultMetadata), op: invocation.ConverseStream}}
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		if md, ok := ev.(*types.ConverseStreamOutputMemberMetadata); ok {
			u := md.Value.Usage
			s.usage.input, s.usage.output = int(aws.ToInt32(u.InputTokens)), int(aws.ToInt32(u.OutputTokens))
			s.usage.read, s.usage.write = int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
			for _, d := range u.CacheDetails {
				if d.Ttl == types.CacheTTLOneHour {
					s.usage.w1h += int(aws.ToInt32(d.InputTokens))
				}
			}
			if md.Value.ServiceTier != nil {
				s.tier = string(md.Value.ServiceTier.Type)
			}
		}
	}
	s.usage.tier = s.tier
	s.err = st.Err()
	return s
}

// checkRecord reads the call's invocation log record through the recent
// invocations API and compares its Bedrock token counts with the response.
func checkRecord(t *testing.T, srv *server.Server, c callUsage) {
	t.Helper()
	status, b := getJSON(t, srv.URL()+"/api/invocations/"+c.requestID, "")
	if status != http.StatusOK {
		t.Fatalf("record of %s: %d %s", c.requestID, status, b)
	}
	var r struct {
		Operation string `json:"operation"`
		Input     struct {
			InputTokenCount           *int `json:"inputTokenCount"`
			CacheReadInputTokenCount  *int `json:"cacheReadInputTokenCount"`
			CacheWriteInputTokenCount *int `json:"cacheWriteInputTokenCount"`
		} `json:"input"`
		Output struct {
			OutputTokenCount *int            `json:"outputTokenCount"`
			OutputBodyJSON   json.RawMessage `json:"outputBodyJson"`
		} `json:"output"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("record %s: %v", b, err)
	}
	in, out := r.Input, r.Output
	if in.InputTokenCount == nil || in.CacheReadInputTokenCount == nil || in.CacheWriteInputTokenCount == nil || out.OutputTokenCount == nil ||
		*in.InputTokenCount != c.input || *in.CacheReadInputTokenCount != c.read || *in.CacheWriteInputTokenCount != c.write || *out.OutputTokenCount != c.output {
		t.Errorf("%s record counts %s, response %+v", c.op, b, c)
	}
	if r.Operation != string(c.op) {
		t.Errorf("record operation %q, want %s", r.Operation, c.op)
	}
	// A Converse record's body is the response: its serviceTier and
	// cacheDetails are there, as Bedrock logs them.
	if c.op == invocation.Converse || c.op == invocation.ConverseStream {
		var body struct {
			ServiceTier *struct{ Type string } `json:"serviceTier"`
			Usage       struct {
				CacheDetails []struct {
					TTL         string `json:"ttl"`
					InputTokens int    `json:"inputTokens"`
				} `json:"cacheDetails"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(out.OutputBodyJSON, &body); err != nil {
			t.Fatalf("record body %s: %v", out.OutputBodyJSON, err)
		}
		w1h := 0
		for _, d := range body.Usage.CacheDetails {
			if d.TTL == "1h" {
				w1h += d.InputTokens
			}
		}
		if body.ServiceTier == nil || body.ServiceTier.Type != c.tier || w1h != c.w1h {
			t.Errorf("%s record body %s, response tier %q one-hour writes %d", c.op, out.OutputBodyJSON, c.tier, c.w1h)
		}
	}
}

// checkMetricsText scrapes /metrics as Prometheus does and compares the
// cache, tier and cost series of the model with the sums of the calls.
func checkMetricsText(t *testing.T, srv *server.Server, calls []callUsage) {
	t.Helper()
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string, want map[string]string) float64 {
		var s float64
		mf := families[name]
		if mf == nil {
			return 0
		}
	next:
		for _, m := range mf.GetMetric() {
			have := labels(m.GetLabel())
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				s += m.GetCounter().GetValue()
			}
		}
		return s
	}
	byOp := map[invocation.Operation]callUsage{}
	var dollars float64
	tierCalls := map[string]int{}
	for _, c := range calls {
		a := byOp[c.op]
		a.input += c.input
		a.output += c.output
		a.read += c.read
		a.write += c.write
		a.w1h += c.w1h
		byOp[c.op] = a
		dollars += c.dollars()
		tierCalls[string(c.op)+"/"+c.tier]++
	}
	for op, a := range byOp {
		l := map[string]string{"model_id": haiku45, "operation": string(op)}
		for _, c := range []struct {
			name string
			want int
		}{
			{"bedrock_input_tokens_total", a.input}, {"bedrock_output_tokens_total", a.output},
			{"bedrock_cache_read_input_tokens_total", a.read}, {"bedrock_cache_write_input_tokens_total", a.write},
			{"modelwatch_cache_write_1h_input_tokens_total", a.w1h},
		} {
			if got := sum(c.name, l); got != float64(c.want) {
				t.Errorf("%s{%s} = %v, responses add up to %d", c.name, op, got, c.want)
			}
		}
	}
	for key, n := range tierCalls {
		op, tier, _ := strings.Cut(key, "/")
		if got := sum("modelwatch_service_tier_invocations_total", map[string]string{"model_id": haiku45, "operation": op, "service_tier": tier, "latency": "standard"}); got != float64(n) {
			t.Errorf("%s calls at %s: metric %v, want %d", op, tier, got, n)
		}
	}
	got := sum("modelwatch_cost_dollars_total", map[string]string{"model_id": haiku45})
	if math.Abs(got-dollars) > 1e-12 {
		t.Errorf("cost $%.12f, the responses at list prices cost $%.12f", got, dollars)
	}
	if u := sum("modelwatch_unpriced_invocations_total", map[string]string{"model_id": haiku45}); u != 0 {
		t.Errorf("%v calls unpriced", u)
	}
}

// TestPassThroughRecordsTheTierThatServed: when the Bedrock upstream
// serves a call on another tier than the one asked for (Bedrock may serve a
// priority request on the default tier), the front echoes, records and
// prices the tier that served it. A proxy in front of the back server
// answers as Bedrock would then.
func TestPassThroughRecordsTheTierThatServed(t *testing.T) {
	back, _ := startServer(t, nil)
	target, _ := url.Parse(back.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Header.Get("X-Amzn-Bedrock-Service-Tier") == "priority" {
			r.Header.Set("X-Amzn-Bedrock-Service-Tier", "default")
		}
		return nil
	}
	downgrading := httptest.NewServer(proxy)
	t.Cleanup(downgrading.Close)
	upstreamCredentials(t)
	front, frontRec := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "aws", Type: "bedrock", Settings: map[string]any{"baseURL": downgrading.URL}})
		for i := range c.Models {
			if c.Models[i].ID == haiku {
				c.Models[i].Provider = "aws"
			}
		}
	})
	out, err := runtimeClient(front.URL(), "AKIDEXAMPLE", "secret").InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(haiku), Body: invokeBody, ContentType: aws.String("application/json"), ServiceTier: types.ServiceTierTypePriority})
	if err != nil {
		t.Fatal(err)
	}
	inv := frontRec.byRequestID(t, requestID(t, out.ResultMetadata))
	if out.ServiceTier != types.ServiceTierTypeDefault || inv.ServiceTier != "default" {
		t.Errorf("front echoed tier %q and recorded %q, want the upstream's default", out.ServiceTier, inv.ServiceTier)
	}
	// The stream's initial headers come from the upstream too.
	sout, err := runtimeClient(front.URL(), "AKIDEXAMPLE", "secret").InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(haiku), Body: invokeBody, ContentType: aws.String("application/json"), ServiceTier: types.ServiceTierTypePriority})
	if err != nil {
		t.Fatal(err)
	}
	for range sout.GetStream().Events() {
	}
	if err := sout.GetStream().Err(); err != nil {
		t.Fatal(err)
	}
	sinv := frontRec.byRequestID(t, requestID(t, sout.ResultMetadata))
	if sout.ServiceTier != types.ServiceTierTypeDefault || sinv.ServiceTier != "default" {
		t.Errorf("stream echoed tier %q and recorded %q, want the upstream's default", sout.ServiceTier, sinv.ServiceTier)
	}
	if got := metric(t, front, "modelwatch_service_tier_invocations_total", map[string]string{"model_id": haiku, "service_tier": "default"}); got != 2 {
		t.Errorf("calls counted on the default tier: %v, want 2", got)
	}
}
