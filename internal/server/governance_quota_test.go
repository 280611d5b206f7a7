package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// all returns every recorded invocation.
func (r *recorder) all() []*invocation.Invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*invocation.Invocation(nil), r.invs...)
}

const quotaConfig = `
quotas:
  - name: haiku-tpm
    model: "anthropic.claude-3-haiku-*"
    tokensPerMinute: 3000
  - name: micro-rpm
    model: amazon.nova-micro-v1:0
    requestsPerMinute: 2
`

// Forty streams race for a tokens-per-minute quota that holds about
// twenty: each reserves its input estimate plus its max tokens when
// admitted and holds them until its stream ends (five seconds after it
// began), so the admitted total stays within the limit, plus what the
// bucket refilled while they arrived.
func TestQuota_ConcurrentStreamsStayWithinTokensPerMinute(t *testing.T) {
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	srv, rec := startServer(t, func(c *config.Config) {
		applyYAML(t, c, quotaConfig)
		for i := range c.Models {
			if c.Models[i].ID == haiku {
				// Long enough that every stream has arrived before the
				// first ends and refunds what it did not use, even on a
				// loaded CI machine.
				c.Models[i].Simulator.TimeToFirstToken = 5 * time.Second
			}
		}
	})
	// No principals: the server takes any signature (anonymous mode).
	const calls, maxTokens, limit = 40, 100, 3000
	var wg sync.WaitGroup
	var mu sync.Mutex
	var admitted, throttled int
	var messages []string
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A client per stream: aws-sdk-go-v2's event-stream decoder
			// (smithy-go v1.28.8) shares one payload buffer between the
			// concurrent streams of one client.
			client := runtimeClient(srv.URL(), "AKIDANYONE", "any-secret")
			out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku),
				Messages:        []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}},
				InferenceConfig: &rttypes.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}})
			mu.Lock()
			defer mu.Unlock()
			var te *rttypes.ThrottlingException
			switch {
			case errors.As(err, &te):
				throttled++
				messages = append(messages, aws.ToString(te.Message))
				return
			case err != nil:
				t.Errorf("ConverseStream: %v", err)
				return
			}
			admitted++
			mu.Unlock()
			for range out.GetStream().Events() {
			}
			if err := out.GetStream().Err(); err != nil {
				t.Errorf("stream: %v", err)
			}
			out.GetStream().Close()
			mu.Lock()
		}()
	}
	wg.Wait()
	if admitted+throttled != calls {
		t.Fatalf("%d admitted + %d throttled != %d calls", admitted, throttled, calls)
	}
	for _, m := range messages {
		if m != "Too many tokens, please wait before trying again." {
			t.Errorf("throttle message %q, want Bedrock's", m)
		}
	}
	// Every call reserved the same: its body's estimate (a quarter of its
	// bytes) plus its max tokens.
	var first, last time.Time
	reserve := 0
	for _, inv := range rec.all() {
		if inv.CatalogModelID != haiku || inv.Status != http.StatusOK {
			continue
		}
		r := (len(inv.Input.Data)+3)/4 + maxTokens
		if reserve != 0 && r != reserve {
			t.Fatalf("reservations differ: %d and %d", reserve, r)
		}
		reserve = r
		if first.IsZero() || inv.Start.Before(first) {
			first = inv.Start
		}
		if inv.Start.After(last) {
			last = inv.Start
		}
	}
	if last.Sub(first) >= 5*time.Second {
		t.Fatalf("the streams arrived over %v, longer than one holds its reservation: the bound below would not hold", last.Sub(first))
	}
	refill := float64(limit) / 60 * last.Sub(first).Seconds()
	lo, hi := limit/reserve, int((float64(limit)+refill)/float64(reserve))
	t.Logf("%d admitted, %d throttled, reserve %d, window %v", admitted, throttled, reserve, last.Sub(first))
	if admitted < lo || admitted > hi {
		t.Errorf("%d streams admitted, want %d (the limit %d / %d tokens reserved each) to %d (with %.0f tokens refilled while they arrived)",
			admitted, lo, limit, reserve, hi, refill)
	}
	if got := metric(t, srv, "bedrock_invocation_throttles_total", map[string]string{"model_id": haiku}); got != float64(throttled) {
		t.Errorf("bedrock_invocation_throttles_total = %v, want %d", got, throttled)
	}
	if got := metric(t, srv, "modelwatch_quota_throttles_total", map[string]string{"rule": "haiku-tpm", "kind": "tokens"}); got != float64(throttled) {
		t.Errorf("modelwatch_quota_throttles_total = %v, want %d", got, throttled)
	}
	// Once the streams have ended nothing is held.
	if got := metric(t, srv, "modelwatch_quota_tokens_reserved", map[string]string{"rule": "haiku-tpm"}); got != 0 {
		t.Errorf("modelwatch_quota_tokens_reserved = %v after every stream ended", got)
	}
}

// The OpenAI and Anthropic doors answer a quota's refusal in their own
// shape, 429 with Retry-After.
func TestQuota_OpenAIAndAnthropicDoorsAnswer429WithRetryAfter(t *testing.T) {
	srv, rec := startServer(t, func(c *config.Config) { applyYAML(t, c, quotaConfig) })
	post := func(path, body string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	chat := `{"model":"amazon.nova-micro-v1:0","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for i := range 2 {
		if resp, body := post("/v1/chat/completions", chat, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d within requestsPerMinute 2: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := post("/v1/chat/completions", chat, nil)
	var oe struct {
		Error struct{ Message, Type, Code string }
	}
	_ = json.Unmarshal([]byte(body), &oe)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || oe.Error.Code != "rate_limit_exceeded" ||
		oe.Error.Message != "Too many requests, please wait before trying again." || ra < 1 || ra > 60 {
		t.Errorf("third call on the OpenAI door: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = post("/v1/messages", `{"model":"amazon.nova-micro-v1:0","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"anthropic-version": "2023-06-01"})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `"type":"rate_limit_error"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("Anthropic door: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Refusals are throttles in the records.
	n := 0
	for _, inv := range rec.all() {
		if inv.Outcome() == invocation.Throttled && inv.ErrorCode == "ThrottlingException" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d throttles recorded, want 2", n)
	}
}
