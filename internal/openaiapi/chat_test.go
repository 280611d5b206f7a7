package openaiapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// requestID returns the x-request-id of a response.
func requestID(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response captured")
	}
	id := resp.Header.Get("x-request-id")
	if id == "" {
		t.Fatal("response has no x-request-id")
	}
	return id
}

// outputCompletion parses the chat completion an Invocation recorded.
func outputCompletion(t *testing.T, inv *invocation.Invocation) *openai.ChatCompletion {
	t.Helper()
	var c openai.ChatCompletion
	if err := json.Unmarshal(inv.Output.Data, &c); err != nil {
		t.Fatalf("recorded output %q: %v", inv.Output.Data, err)
	}
	return &c
}

func TestChatCompletion(t *testing.T) {
	e := newEnv(t, Options{})
	var httpResp *http.Response
	resp, err := e.client.Chat.Completions.New(context.Background(), oai.ChatCompletionNewParams{
		Model: "haiku",
		Messages: []oai.ChatCompletionMessageParamUnion{
			oai.SystemMessage("You are a terse assistant."),
			oai.UserMessage("Tell me about the island of Santorini."),
		},
		MaxCompletionTokens: oai.Int(1000),
		Temperature:         oai.Float(0.2),
		User:                oai.String("user-42"),
		Metadata:            shared.Metadata{"team": "search"},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	id := requestID(t, httpResp)
	inv := e.rec.get(t, id)

	if resp.ID != "chatcmpl-"+strings.ReplaceAll(id, "-", "") {
		t.Errorf("completion ID %q does not derive from request ID %q", resp.ID, id)
	}
	if resp.Model != modelHaiku || resp.Object != "chat.completion" {
		t.Errorf("model/object = %q/%q", resp.Model, resp.Object)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("choices = %+v", resp.Choices)
	}
	if resp.Usage.PromptTokens != int64(inv.Usage.InputTokens) || resp.Usage.CompletionTokens != int64(inv.Usage.OutputTokens) ||
		resp.Usage.TotalTokens != int64(inv.Usage.Total()) || inv.Usage.OutputTokens == 0 {
		t.Errorf("usage %+v does not match the recorded %+v", resp.Usage, inv.Usage)
	}
	if string(inv.Output.Data) != resp.RawJSON() {
		t.Errorf("recorded output differs from the response sent:\n%s\n%s", inv.Output.Data, resp.RawJSON())
	}
	if inv.API != invocation.APIOpenAI || inv.Operation != invocation.ChatCompletions || inv.Status != 200 || inv.ErrorCode != "" {
		t.Errorf("invocation = %s/%s status %d error %q", inv.API, inv.Operation, inv.Status, inv.ErrorCode)
	}
	if inv.StopReason != "end_turn" {
		t.Errorf("recorded stop reason %q", inv.StopReason)
	}
	if inv.ModelID != "haiku" || inv.CatalogModelID != modelHaiku || inv.Streamed {
		t.Errorf("invocation model %q → %q, streamed %v", inv.ModelID, inv.CatalogModelID, inv.Streamed)
	}
	if inv.PrincipalName != "alice" || inv.AuthMethod != invocation.AuthBearer {
		t.Errorf("principal %q via %q", inv.PrincipalName, inv.AuthMethod)
	}
	if inv.RequestMetadata["team"] != "search" || inv.RequestMetadata["user"] != "user-42" {
		t.Errorf("request metadata = %v", inv.RequestMetadata)
	}
	if !strings.Contains(string(inv.Input.Data), "Santorini") {
		t.Errorf("recorded input = %s", inv.Input.Data)
	}
}

// TestSystemPrompt shows the system message reaches the model as its
// system prompt: it counts as input, and a model without system prompt
// support refuses it.
func TestSystemPrompt(t *testing.T) {
	e := newEnv(t, Options{})
	ask := func(model string, msgs ...oai.ChatCompletionMessageParamUnion) (*oai.ChatCompletion, error) {
		return e.client.Chat.Completions.New(context.Background(), oai.ChatCompletionNewParams{Model: model, Messages: msgs})
	}
	without, err := ask(modelHaiku, oai.UserMessage("Hello there."))
	if err != nil {
		t.Fatal(err)
	}
	with, err := ask(modelHaiku, oai.DeveloperMessage("Answer like a pirate, always, in every single sentence."), oai.UserMessage("Hello there."))
	if err != nil {
		t.Fatal(err)
	}
	if with.Usage.PromptTokens <= without.Usage.PromptTokens {
		t.Errorf("prompt tokens with a system prompt %d, without %d", with.Usage.PromptTokens, without.Usage.PromptTokens)
	}
	_, err = ask(modelPlain, oai.SystemMessage("Be brief."), oai.UserMessage("Hello."))
	apiErr := asAPIError(t, err, http.StatusBadRequest)
	if apiErr.Param != "messages" || !strings.Contains(apiErr.Message, "system") {
		t.Errorf("error = %+v", apiErr)
	}
}

func asAPIError(t *testing.T, err error, status int) *oai.Error {
	t.Helper()
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an API error", err)
	}
	if apiErr.StatusCode != status {
		t.Fatalf("status %d, want %d (%s)", apiErr.StatusCode, status, apiErr.RawJSON())
	}
	if strings.Contains(apiErr.RawJSON(), testAPIKey) {
		t.Errorf("error body leaks the API key: %s", apiErr.RawJSON())
	}
	return apiErr
}

func TestChatStreamWithUsage(t *testing.T) {
	e := newEnv(t, Options{})
	var httpResp *http.Response
	stream := e.client.Chat.Completions.NewStreaming(context.Background(), oai.ChatCompletionNewParams{
		Model:         modelHaiku,
		Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Describe a long walk along the beach at sunset.")},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
	}, option.WithResponseInto(&httpResp))
	var acc oai.ChatCompletionAccumulator
	var text strings.Builder
	var chunks []oai.ChatCompletionChunk
	for stream.Next() {
		c := stream.Current()
		chunks = append(chunks, c)
		if !acc.AddChunk(c) {
			t.Fatalf("accumulator refused chunk %s", c.RawJSON())
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := httpResp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("content type %q", got)
	}
	inv := e.rec.get(t, requestID(t, httpResp))

	if len(chunks) < 4 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first chunk %s has no role", chunks[0].RawJSON())
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.PromptTokens == 0 {
		t.Fatalf("last chunk %s is not the usage chunk", last.RawJSON())
	}
	if last.Usage.PromptTokens != int64(inv.Usage.InputTokens) || last.Usage.CompletionTokens != int64(inv.Usage.OutputTokens) || inv.Usage.OutputTokens == 0 {
		t.Errorf("streamed usage %+v, recorded %+v", last.Usage, inv.Usage)
	}
	recorded := outputCompletion(t, inv)
	if got := *recorded.Choices[0].Message.Content; got != text.String() || got == "" {
		t.Errorf("recorded output %q, streamed text %q", got, text.String())
	}
	if acc.Choices[0].FinishReason != "stop" || acc.Choices[0].Message.Content != text.String() {
		t.Errorf("accumulated %+v", acc.Choices[0])
	}
	if !inv.Streamed || inv.Status != 200 || inv.ErrorCode != "" || inv.FirstByte.IsZero() {
		t.Errorf("invocation streamed=%v status=%d error=%q first byte %v", inv.Streamed, inv.Status, inv.ErrorCode, inv.FirstByte)
	}
}

// TestStreamWithoutUsage checks the raw frames of a stream that did not
// ask for usage: the finish chunk, then [DONE], and no usage chunk.
func TestStreamWithoutUsage(t *testing.T) {
	e := newEnv(t, Options{})
	body := `{"model":"haiku","stream":true,"messages":[{"role":"user","content":"Hi"}]}`
	resp := post(t, e, "/v1/chat/completions", body)
	raw := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.HasSuffix(raw, "\n\ndata: [DONE]\n\n") || strings.Contains(raw, `"usage"`) {
		t.Fatalf("status %d, stream:\n%s", resp.StatusCode, raw)
	}
	frames := strings.Split(strings.TrimSuffix(raw, "\n\n"), "\n\n")
	if fin := frames[len(frames)-2]; !strings.Contains(fin, `"finish_reason":"stop"`) {
		t.Errorf("frame before [DONE] is %s", fin)
	}
	for _, f := range frames {
		if !strings.HasPrefix(f, "data: ") {
			t.Errorf("frame %q is not a data frame", f)
		}
	}
}

var weatherTool = oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: param.NewOpt("Current weather in a city"),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
})

func TestToolCallRoundTrip(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	question := oai.UserMessage("What is the weather in Paris? Use get_weather.")
	params := oai.ChatCompletionNewParams{Model: modelHaiku, Messages: []oai.ChatCompletionMessageParamUnion{question},
		Tools: []oai.ChatCompletionToolUnionParam{weatherTool}}
	first, err := e.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Choices[0].Message
	if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("first answer %s", first.RawJSON())
	}
	call := msg.ToolCalls[0]
	var args map[string]any
	if call.Function.Name != "get_weather" || call.ID == "" || json.Unmarshal([]byte(call.Function.Arguments), &args) != nil {
		t.Fatalf("tool call %s", call.RawJSON())
	}

	// The same request streamed yields the same call, in pieces.
	stream := e.client.Chat.Completions.NewStreaming(ctx, params)
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.ToolCalls; len(got) != 1 || got[0].ID != call.ID || got[0].Function.Arguments != call.Function.Arguments ||
		acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("streamed tool calls %+v, finish %q; want %s", got, acc.Choices[0].FinishReason, call.RawJSON())
	}

	// Answering the call gets a text reply.
	var httpResp *http.Response
	second, err := e.client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: modelHaiku, Tools: params.Tools,
		Messages: []oai.ChatCompletionMessageParamUnion{question, msg.ToParam(), oai.ToolMessage(`{"temperature_c": 21, "sky": "clear"}`, call.ID)},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	if second.Choices[0].FinishReason != "stop" || second.Choices[0].Message.Content == "" || len(second.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("second answer %s", second.RawJSON())
	}
	inv := e.rec.get(t, requestID(t, httpResp))
	if inv.StopReason != "end_turn" || !strings.Contains(string(inv.Input.Data), call.ID) {
		t.Errorf("recorded stop reason %q, input %s", inv.StopReason, inv.Input.Data)
	}
}

func TestStreamFailsMidway(t *testing.T) {
	e := newEnv(t, Options{})
	var httpResp *http.Response
	stream := e.client.Chat.Completions.NewStreaming(context.Background(), oai.ChatCompletionNewParams{
		Model:    modelStreamFail,
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Tell me a story.")},
	}, option.WithResponseInto(&httpResp))
	var text strings.Builder
	n := 0
	for stream.Next() {
		n++
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if stream.Err() == nil {
		t.Fatal("a stream that failed midway ended without an error")
	}
	if !strings.Contains(stream.Err().Error(), "model_error") && !strings.Contains(stream.Err().Error(), "stream failed") {
		t.Errorf("error %q does not describe the failure", stream.Err())
	}
	if text.Len() == 0 {
		t.Error("no content arrived before the failure")
	}
	inv := e.rec.get(t, requestID(t, httpResp))
	if inv.ErrorCode != "ModelStreamErrorException" || inv.Status != http.StatusBadGateway {
		t.Errorf("recorded error %q status %d", inv.ErrorCode, inv.Status)
	}
	if got := *outputCompletion(t, inv).Choices[0].Message.Content; got != text.String() {
		t.Errorf("recorded partial output %q, streamed %q", got, text.String())
	}

	// On the wire: an error frame ends the stream, without [DONE].
	raw := readAll(t, post(t, e, "/v1/chat/completions", `{"model":"`+modelStreamFail+`","stream":true,"messages":[{"role":"user","content":"Tell me a story."}]}`))
	frames := strings.Split(strings.TrimSuffix(raw, "\n\n"), "\n\n")
	lastFrame := frames[len(frames)-1]
	var errBody openai.ErrorResponse
	if err := json.Unmarshal([]byte(strings.TrimPrefix(lastFrame, "data: ")), &errBody); err != nil || errBody.Error.Message == "" ||
		errBody.Error.Type != "server_error" || strings.Contains(raw, "[DONE]") {
		t.Errorf("stream ends with %q (has [DONE]: %v)", lastFrame, strings.Contains(raw, "[DONE]"))
	}
}

func TestClientDisconnectMidStream(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := oai.ChatCompletionNewParams{Model: modelSlowStream, Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Write a very long essay.")}}
	var httpResp *http.Response
	stream := e.client.Chat.Completions.NewStreaming(ctx, req, option.WithResponseInto(&httpResp))
	var seen strings.Builder
	for seen.Len() == 0 {
		if !stream.Next() {
			t.Fatalf("stream ended before any content: %v", stream.Err())
		}
		for _, ch := range stream.Current().Choices {
			seen.WriteString(ch.Delta.Content)
		}
	}
	cancel()
	for stream.Next() {
	}
	inv := e.rec.get(t, requestID(t, httpResp))
	if inv.ErrorCode != gateway.ErrorCodeClientClosed || inv.Status != gateway.StatusClientClosedRequest {
		t.Errorf("recorded error %q status %d, want %s %d", inv.ErrorCode, inv.Status, gateway.ErrorCodeClientClosed, gateway.StatusClientClosedRequest)
	}
	if e.gw.InFlight() != 0 {
		t.Errorf("%d calls still in flight after the invocation was recorded", e.gw.InFlight())
	}

	// The simulator stopped: what was recorded is a strict prefix of the
	// reply the model would have streamed in full.
	full := fullReply(t, req)
	partial := *outputCompletion(t, inv).Choices[0].Message.Content
	if !strings.HasPrefix(partial, seen.String()) || !strings.HasPrefix(full, partial) || len(partial) >= len(full) {
		t.Errorf("recorded %d bytes of a %d-byte reply; not a strict prefix", len(partial), len(full))
	}
}

// fullReply asks a simulator with the slow model's reply settings but no
// latency for the reply the gateway would have streamed for the request.
func fullReply(t *testing.T, req oai.ChatCompletionNewParams) string {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := openai.DecodeChatRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	creq, err := translate.ChatToConverse(cr)
	if err != nil {
		t.Fatal(err)
	}
	n := haikuDefaultMax
	creq.InferenceConfig.MaxTokens = &n
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	settings := simSettings[modelSlowStream]
	settings.TimePerOutputToken = 0
	sim := simulator.New(map[string]simulator.ModelSettings{modelSlowStream: settings}, simulator.Options{})
	st, err := sim.ConverseStream(ctx, provider.Call{ModelID: modelSlowStream}, creq)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		ev, err := st.Next()
		if err != nil {
			break
		}
		if d := ev.ContentBlockDelta; d != nil && d.Delta.Text != nil {
			text.WriteString(*d.Delta.Text)
		}
	}
	if text.Len() == 0 {
		t.Fatal("empty reference reply")
	}
	return text.String()
}
