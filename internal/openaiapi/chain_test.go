package openaiapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/provider"
	openaiprovider "github.com/modelwatch/modelwatch/internal/provider/openai"
)

// TestChainedGateways routes a model of one gateway to a second gateway's
// OpenAI-compatible API through the OpenAI provider: client → front door →
// provider → front door → simulator. Every translation runs both ways, and
// both gateways must record the same usage.
func TestChainedGateways(t *testing.T) {
	upstream := newEnv(t, Options{})
	p, err := openaiprovider.New(openaiprovider.Options{Name: "upstream-gateway", BaseURL: upstream.srv.URL + "/v1", APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	chained := &catalog.Model{ID: "openai.chained-v1", Name: "chained", Vendor: "OpenAI", Provider: "upstream", UpstreamModel: "haiku",
		InputModalities: []string{"TEXT", "IMAGE"}, OutputModalities: []string{"TEXT"}, Streaming: true, Tools: true, SystemPrompt: true,
		MaxOutputTokens: 4096, DefaultMaxTokens: 300, Timeout: time.Minute}
	chainedEmbed := &catalog.Model{ID: "openai.chained-embed-v1", Name: "chained embeddings", Vendor: "OpenAI", Provider: "upstream",
		UpstreamModel: modelEmbed, InputModalities: []string{"TEXT"}, OutputModalities: []string{"EMBEDDING"}, Timeout: time.Minute}
	missing, throttled := *chained, *chained
	missing.ID, missing.UpstreamModel = "openai.missing-v1", "no-such-model"
	throttled.ID, throttled.UpstreamModel = "openai.throttled-v1", modelThrottled
	front := newEnvWith(t, Options{}, []*catalog.Model{chained, chainedEmbed, &missing, &throttled}, map[string]provider.Provider{"upstream": p})
	ctx := context.Background()

	t.Run("chat", func(t *testing.T) {
		var httpResp *http.Response
		resp, err := front.client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: chained.ID,
			Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("Be brief."), oai.UserMessage("Tell me about lighthouses.")},
		}, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatal(err)
		}
		inv := front.rec.get(t, requestID(t, httpResp))
		if inv.Provider != "upstream" || inv.UpstreamModel != "haiku" || resp.Choices[0].Message.Content == "" {
			t.Fatalf("served by %s/%s: %s", inv.Provider, inv.UpstreamModel, resp.RawJSON())
		}
		up := upstream.rec.get(t, lastRequestID(t, upstream))
		if up.Usage != inv.Usage || up.CatalogModelID != modelHaiku {
			t.Errorf("front usage %+v, upstream usage %+v (%s)", inv.Usage, up.Usage, up.CatalogModelID)
		}
		if !strings.Contains(string(up.Input.Data), `"max_tokens":300`) {
			t.Errorf("upstream input %s lacks the default output budget", up.Input.Data)
		}
	})

	t.Run("stream with tool call", func(t *testing.T) {
		var httpResp *http.Response
		stream := front.client.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{Model: chained.ID,
			Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Weather in Oslo? Call get_weather.")},
			Tools:         []oai.ChatCompletionToolUnionParam{weatherTool},
			StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
		}, option.WithResponseInto(&httpResp))
		var acc oai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		inv := front.rec.get(t, requestID(t, httpResp))
		up := upstream.rec.get(t, lastRequestID(t, upstream))
		calls := acc.Choices[0].Message.ToolCalls
		if acc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "get_weather" {
			t.Fatalf("accumulated %+v", acc.Choices[0])
		}
		if !up.Streamed || up.Usage != inv.Usage || acc.Usage.CompletionTokens != int64(inv.Usage.OutputTokens) || inv.Usage.OutputTokens == 0 {
			t.Errorf("front %+v, upstream %+v, client %+v", inv.Usage, up.Usage, acc.Usage)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, err := front.client.Embeddings.New(ctx, oai.EmbeddingNewParams{Model: chainedEmbed.ID,
			Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b", "c"}}, Dimensions: oai.Int(8)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 3 || len(resp.Data[2].Embedding) != 8 || resp.Usage.PromptTokens == 0 {
			t.Errorf("response %s", resp.RawJSON())
		}
	})

	t.Run("upstream errors", func(t *testing.T) {
		for _, tt := range []struct {
			model  string
			status int
			code   string
		}{
			{missing.ID, http.StatusNotFound, "model_not_found"},
			{throttled.ID, http.StatusTooManyRequests, "rate_limit_exceeded"},
		} {
			_, err := front.client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: tt.model,
				Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}})
			if apiErr := asAPIError(t, err, tt.status); apiErr.Code != tt.code {
				t.Errorf("%s: %s", tt.model, apiErr.RawJSON())
			}
		}
	})
}

// lastRequestID returns the request ID of the newest Invocation.
func lastRequestID(t *testing.T, e *env) string {
	t.Helper()
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if len(e.rec.invs) == 0 {
		t.Fatal("nothing recorded")
	}
	return e.rec.invs[len(e.rec.invs)-1].RequestID
}
