package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var testCall = provider.Call{RequestID: "req-123", ModelID: "openai.gpt-4o", UpstreamModel: "gpt-4o"}

func newProvider(t *testing.T, baseURL string, mutate ...func(*Options)) *Provider {
	t.Helper()
	opts := Options{Name: "OpenAI", BaseURL: baseURL, APIKey: testKey, MaxTokensParam: MaxCompletionTokens,
		Headers: map[string]string{"OpenAI-Organization": "org-test"}}
	for _, m := range mutate {
		m(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// chatRequest is a Converse request with a system prompt, sampling
// parameters and a short conversation.
func chatRequest() *converse.Request {
	return &converse.Request{
		System: []converse.SystemContentBlock{{Text: ptr("You are a helpful assistant.")}},
		Messages: []converse.Message{
			{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("Hello!")}},
		},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(50), Temperature: ptr(0.2), StopSequences: []string{"END"}},
	}
}

const chatMessages = `[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}]`

func assemble(evs []converse.StreamEvent) *converse.Response {
	var a converse.Assembler
	for i := range evs {
		a.Add(&evs[i])
	}
	return a.Response()
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkOrder asserts the Bedrock order of stream events: messageStart,
// blocks one at a time (optional start, deltas, stop), messageStop,
// metadata.
func checkOrder(t *testing.T, evs []converse.StreamEvent) {
	t.Helper()
	var names []string
	for i := range evs {
		names = append(names, evs[i].Name())
	}
	seq := strings.Join(names, " ")
	if len(evs) < 3 || names[0] != "messageStart" || names[len(names)-2] != "messageStop" || names[len(names)-1] != "metadata" {
		t.Fatalf("order: %s", seq)
	}
	open := -1
	for _, ev := range evs[1 : len(evs)-2] {
		switch {
		case ev.ContentBlockStart != nil:
			if open != -1 {
				t.Fatalf("block starts while %d is open: %s", open, seq)
			}
			open = ev.ContentBlockStart.ContentBlockIndex
		case ev.ContentBlockDelta != nil:
			if open == -1 {
				open = ev.ContentBlockDelta.ContentBlockIndex
			} else if ev.ContentBlockDelta.ContentBlockIndex != open {
				t.Fatalf("delta for another block while %d is open: %s", open, seq)
			}
		case ev.ContentBlockStop != nil:
			if ev.ContentBlockStop.ContentBlockIndex != open {
				t.Fatalf("stop for block %d while %d is open: %s", ev.ContentBlockStop.ContentBlockIndex, open, seq)
			}
			open = -1
		default:
			t.Fatalf("unexpected %s: %s", ev.Name(), seq)
		}
	}
}

func TestConverse(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_chat.json",
		header: map[string]string{"X-Client-Request-Id": "req-123", "OpenAI-Organization": "org-test", "Accept": "application/json"},
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "model", `"gpt-4o"`)
			wantJSON(t, b, "messages", chatMessages)
			wantJSON(t, b, "max_completion_tokens", `50`)
			wantJSON(t, b, "max_tokens", ``)
			wantJSON(t, b, "temperature", `0.2`)
			wantJSON(t, b, "stop", `["END"]`)
			wantJSON(t, b, "seed", `7`)
			wantJSON(t, b, "stream", ``)
			wantJSON(t, b, "stream_options", ``)
		},
	})
	req := chatRequest()
	// Fields Converse has no member for travel in additionalModelRequestFields;
	// they cannot override what the provider sets.
	req.AdditionalModelRequestFields = json.RawMessage(`{"seed":7,"model":"other"}`)
	resp, err := newProvider(t, srv.URL+"/v1").Converse(context.Background(), testCall, req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"output":{"message":{"role":"assistant","content":[{"text":"Hello! How can I assist you today?"}]}},"stopReason":"end_turn","usage":{"inputTokens":19,"outputTokens":10,"totalTokens":29},"metrics":{"latencyMs":0}}`
	if got := js(resp); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConverseStream(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_chat_stream.sse",
		header: map[string]string{"Accept": "text/event-stream"},
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "model", `"gpt-4o"`)
			wantJSON(t, b, "messages", chatMessages)
			wantJSON(t, b, "stream", `true`)
			wantJSON(t, b, "stream_options", `{"include_usage":true}`)
			wantJSON(t, b, "max_completion_tokens", `50`)
		},
	})
	st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, evs)
	deltas := 0
	for _, ev := range evs {
		if ev.ContentBlockDelta != nil {
			deltas++
		}
	}
	if deltas != 12 {
		t.Errorf("%d text deltas, want the 12 the upstream sent", deltas)
	}
	want := `{"output":{"message":{"role":"assistant","content":[{"text":"Let's take a journey to the beautiful island of Santorini."}]}},"stopReason":"end_turn","usage":{"inputTokens":24,"outputTokens":12,"totalTokens":36},"metrics":{"latencyMs":0}}`
	if got := js(assemble(evs)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConverseStreamToolCall(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_tool_stream.sse",
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "messages", `[{"role":"user","content":"What's the weather in Santorini?"},`+
				`{"role":"assistant","content":"Let me look.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Athens\"}"}}]},`+
				`{"role":"tool","content":"{\"temperature\":24}","tool_call_id":"call_1"},`+
				`{"role":"user","content":"And in Santorini?"}]`)
			wantJSON(t, b, "tools", `[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]`)
			wantJSON(t, b, "tool_choice", `"auto"`)
		},
	})
	req := &converse.Request{
		Messages: []converse.Message{
			{Role: "user", Content: []converse.ContentBlock{converse.TextBlock("What's the weather in Santorini?")}},
			{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("Let me look."),
				{ToolUse: &converse.ToolUseBlock{ToolUseID: "call_1", Name: "get_weather", Input: json.RawMessage(`{"location": "Athens"}`)}}}},
			{Role: "user", Content: []converse.ContentBlock{
				{ToolResult: &converse.ToolResultBlock{ToolUseID: "call_1", Content: []converse.ToolResultContentBlock{{JSON: json.RawMessage(`{"temperature": 24}`)}}}},
				converse.TextBlock("And in Santorini?")}},
		},
		ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", Description: "Get the weather",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}}}`)}}}},
			ToolChoice: &converse.ToolChoice{Auto: &struct{}{}},
		},
	}
	st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, evs)
	var inputDeltas int
	for _, ev := range evs {
		if ev.ContentBlockDelta != nil && ev.ContentBlockDelta.Delta.ToolUse != nil {
			inputDeltas++
		}
	}
	if inputDeltas != 8 {
		t.Errorf("%d tool input deltas, want the 8 pieces the upstream sent", inputDeltas)
	}
	want := `{"output":{"message":{"role":"assistant","content":[{"text":"Now, let's check the weather in Santorini."},` +
		`{"toolUse":{"toolUseId":"call_FXoAjBUMcVv1k40fficJ9cSs","name":"get_weather","input":{"location":"Santorini, Greece"}}}]}},` +
		`"stopReason":"tool_use","usage":{"inputTokens":21,"outputTokens":29,"totalTokens":114,"cacheReadInputTokens":64},"metrics":{"latencyMs":0}}`
	if got := js(assemble(evs)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEmbed(t *testing.T) {
	srv, _ := replay(t, exchange{
		path: "/v1/embeddings", auth: "Bearer " + testKey, fixture: "openai_embeddings.json",
		check: func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "model", `"text-embedding-3-small"`)
			wantJSON(t, b, "input", `["The food was delicious","and the waiter..."]`)
			wantJSON(t, b, "dimensions", `4`)
			wantJSON(t, b, "encoding_format", `"float"`)
		},
	})
	p := newProvider(t, srv.URL+"/v1")
	call := provider.Call{ModelID: "openai.text-embedding-3-small", UpstreamModel: "text-embedding-3-small"}
	resp, err := p.Embed(context.Background(), call, &provider.EmbedRequest{Inputs: []string{"The food was delicious", "and the waiter..."}, Dimensions: 4, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.InputTokens != 8 || len(resp.Embeddings) != 2 {
		t.Fatalf("response %+v", resp)
	}
	for i, v := range resp.Embeddings {
		var sum float64
		for _, x := range v {
			sum += float64(x) * float64(x)
		}
		if len(v) != 4 || math.Abs(sum-1) > 1e-5 {
			t.Errorf("vector %d: %v (length² %v)", i, v, sum)
		}
	}
	if resp.Embeddings[0][0] <= 0 || resp.Embeddings[1][0] >= 0 {
		t.Errorf("vectors out of order: %v", resp.Embeddings)
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		status  int
		stream  bool
		code    apierror.Code
		message string
	}{
		{"429 rate limit", "openai_error_429.json", 429, false, apierror.Throttling, "Too many requests"},
		{"429 rate limit before a stream", "openai_error_429.json", 429, true, apierror.Throttling, "Too many requests"},
		{"400 context length", "openai_error_400.json", 400, false, apierror.Validation, "maximum context length is 4097 tokens"},
		{"400 before a stream", "openai_error_400.json", 400, true, apierror.Validation, "maximum context length is 4097 tokens"},
		{"401 bad key", "openai_error_400.json", 401, false, apierror.ModelError, "refused the gateway's credentials"},
		{"500", "openai_error_400.json", 500, false, apierror.ModelError, "returned an error"},
		{"503", "openai_error_400.json", 503, true, apierror.ServiceUnavailable, "temporarily unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, count := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: tt.fixture, status: tt.status})
			p := newProvider(t, srv.URL+"/v1")
			var err error
			if tt.stream {
				_, err = p.ConverseStream(context.Background(), testCall, chatRequest())
			} else {
				_, err = p.Converse(context.Background(), testCall, chatRequest())
			}
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q does not contain %q", e.Message, tt.message)
			}
			if e.Cause == nil || !strings.Contains(e.Cause.Error(), "gpt-4o") {
				t.Errorf("cause %v does not keep the upstream's answer for the log", e.Cause)
			}
			if count() != 1 {
				t.Errorf("%d upstream requests; the provider must not retry (the gateway does)", count())
			}
		})
	}
}

func TestStreamErrorMidway(t *testing.T) {
	srv, _ := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_stream_error.sse"})
	st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := provider.Collect(st)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ModelStreamError {
		t.Fatalf("error %v, want ModelStreamErrorException", err)
	}
	if !strings.Contains(e.Message, "The server had an error while processing your request") || e.OriginalStatusCode != 500 || e.ResourceName != "gpt-4o" {
		t.Errorf("error %+v", e)
	}
	if got := assemble(evs).Text(); got != "Once upon a time" {
		t.Errorf("text before the failure %q", got)
	}
	if _, err := st.Next(); !errors.As(err, &e) {
		t.Errorf("Next after the failure returned %v", err)
	}
}

func TestOllama(t *testing.T) {
	noKey := func(o *Options) { o.APIKey, o.MaxTokensParam, o.Headers = "", "", nil }
	check := func(stream bool) func(t *testing.T, b map[string]json.RawMessage) {
		return func(t *testing.T, b map[string]json.RawMessage) {
			wantJSON(t, b, "model", `"llama3"`)
			wantJSON(t, b, "messages", chatMessages)
			// Ollama reads max_tokens only; any server that is not
			// api.openai.com gets it by default.
			wantJSON(t, b, "max_tokens", `50`)
			wantJSON(t, b, "max_completion_tokens", ``)
			if stream {
				wantJSON(t, b, "stream_options", `{"include_usage":true}`)
			}
		}
	}
	call := provider.Call{ModelID: "meta.llama3-8b-instruct-v1:0", UpstreamModel: "llama3"}

	t.Run("chat", func(t *testing.T) {
		srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: "ollama_chat.json", check: check(false)})
		resp, err := newProvider(t, srv.URL+"/v1", noKey).Converse(context.Background(), call, chatRequest())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text() == "" || resp.StopReason != "end_turn" || resp.Usage.InputTokens != 22 || resp.Usage.OutputTokens != 23 {
			t.Errorf("response %s", js(resp))
		}
	})
	t.Run("stream", func(t *testing.T) {
		srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: "ollama_chat_stream.sse", check: check(true)})
		st, err := newProvider(t, srv.URL+"/v1", noKey).ConverseStream(context.Background(), call, chatRequest())
		if err != nil {
			t.Fatal(err)
		}
		evs, err := provider.Collect(st)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, evs)
		want := `{"output":{"message":{"role":"assistant","content":[{"text":"Higress is a gateway."}]}},"stopReason":"end_turn","usage":{"inputTokens":31,"outputTokens":7,"totalTokens":38},"metrics":{"latencyMs":0}}`
		if got := js(assemble(evs)); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("whole tool call in one chunk, no usage", func(t *testing.T) {
		srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: "ollama_tool_stream.sse", check: check(true)})
		st, err := newProvider(t, srv.URL+"/v1", noKey).ConverseStream(context.Background(), call, chatRequest())
		if err != nil {
			t.Fatal(err)
		}
		evs, err := provider.Collect(st)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, evs)
		want := `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_lbcjwr0u","name":"run_command","input":{"command":"ls -a"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}`
		if got := js(assemble(evs)); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}

// TestSSEQuirks covers event stream details real servers produce: comment
// lines (OpenRouter's keep-alives), CRLF line endings, data: without a
// space, event and id fields, and an end after the finish reason without
// [DONE].
func TestSSEQuirks(t *testing.T) {
	body := ": OPENROUTER PROCESSING\r\n\r\n" +
		"id: 1\r\nevent: message\r\ndata:{\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\r\n\r\n" +
		": keep-alive\n\n" +
		"data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"length\"}]," +
		"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	st, err := newProvider(t, srv.URL).ConverseStream(context.Background(), testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, evs)
	resp := assemble(evs)
	if resp.Text() != "Hi there" || resp.StopReason != "max_tokens" || resp.Usage.OutputTokens != 2 {
		t.Errorf("response %s", js(resp))
	}
}

func TestStreamBrokenUpstream(t *testing.T) {
	tests := []struct {
		name, body string
		msg        string
	}{
		{"ends before the finish reason", "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n", "ended before the response was complete"},
		{"malformed event", "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {oops\n\n", "malformed stream event"},
		{"plain error string", "data: {\"error\":\"model crashed\"}\n\n", "model crashed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			st, err := newProvider(t, srv.URL).ConverseStream(context.Background(), testCall, chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			_, err = provider.Collect(st)
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.ModelStreamError || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error %v, want ModelStreamErrorException about %q", err, tt.msg)
			}
		})
	}
}

// TestStreamAnsweredAsJSON: a server that ignores stream: true and answers
// with a complete JSON completion is replayed as a stream.
func TestStreamAnsweredAsJSON(t *testing.T) {
	srv, _ := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: "openai_chat.json"})
	st, err := newProvider(t, srv.URL+"/v1").ConverseStream(context.Background(), testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, evs)
	if r := assemble(evs); r.Text() != "Hello! How can I assist you today?" || r.Usage.InputTokens != 19 {
		t.Errorf("response %s", js(r))
	}
}

// hangingUpstream sends one chunk, then waits until the request is
// aborted, and reports that on aborted.
func hangingUpstream(t *testing.T) (*httptest.Server, <-chan struct{}) {
	aborted := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv, aborted
}

func waitAborted(t *testing.T, aborted <-chan struct{}) {
	t.Helper()
	select {
	case <-aborted:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not aborted")
	}
}

func TestCancelAbortsUpstream(t *testing.T) {
	srv, aborted := hangingUpstream(t)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newProvider(t, srv.URL).ConverseStream(ctx, testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 { // messageStart, the first delta
		if _, err := st.Next(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := st.Next() // blocks on the upstream
		done <- err
	}()
	cancel()
	waitAborted(t, aborted)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel returned %v, want context.Canceled", err)
	}
}

func TestCloseAbortsUpstream(t *testing.T) {
	srv, aborted := hangingUpstream(t)
	st, err := newProvider(t, srv.URL).ConverseStream(context.Background(), testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	waitAborted(t, aborted)
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDeadlineIsModelTimeout(t *testing.T) {
	srv, _ := hangingUpstream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, err := newProvider(t, srv.URL).ConverseStream(ctx, testCall, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = provider.Collect(st)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ModelTimeout {
		t.Errorf("error %v, want ModelTimeoutException", err)
	}
}

func TestUnreachableUpstream(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newProvider(t, url).Converse(context.Background(), testCall, chatRequest())
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ServiceUnavailable {
		t.Fatalf("error %v, want ServiceUnavailableException", err)
	}
	if strings.Contains(e.Error(), testKey) || strings.Contains(e.Cause.Error(), testKey) {
		t.Error("the error leaks the API key")
	}
}

// TestKeyNeverLeaks: an upstream that echoes the key in its error message
// (some proxies do) has it redacted.
func TestKeyNeverLeaks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"bad request from `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+`"}}`)
	}))
	defer srv.Close()
	_, err := newProvider(t, srv.URL).Converse(context.Background(), testCall, chatRequest())
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(e.Message, testKey) || strings.Contains(e.Cause.Error(), testKey) || !strings.Contains(e.Message, "[REDACTED]") {
		t.Errorf("message %q / cause %v", e.Message, e.Cause)
	}
}

func TestUnsupportedContent(t *testing.T) {
	srv, count := replay(t, exchange{path: "/v1/chat/completions", fixture: "openai_chat.json"})
	req := chatRequest()
	req.Messages[0].Content = append(req.Messages[0].Content, converse.ContentBlock{Document: &converse.DocumentBlock{Name: "report", Format: "pdf"}})
	_, err := newProvider(t, srv.URL).Converse(context.Background(), testCall, req)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation || !strings.Contains(e.Message, "document") {
		t.Errorf("error %v", err)
	}
	if count() != 0 {
		t.Error("an unsupported request was sent upstream")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"bad scheme", Options{BaseURL: "ftp://example.com"}, "http:// or https://"},
		{"no host", Options{BaseURL: "http://"}, "no host"},
		{"credentials in URL", Options{BaseURL: "https://user:" + testKey + "@example.com/v1"}, "must not contain credentials"},
		{"query", Options{BaseURL: "https://example.com/v1?x=1"}, "query"},
		{"bad header name", Options{Headers: map[string]string{"Bad Header": "x"}}, "not valid"},
		{"header value with line break", Options{Headers: map[string]string{"X-Test": testKey + "\r\nX-Evil: 1"}}, "line break"},
		{"key and Authorization header", Options{APIKey: testKey, Headers: map[string]string{"authorization": "Basic " + testKey}}, "not both"},
		{"bad max tokens param", Options{MaxTokensParam: "max_output_tokens"}, "maxTokensParam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one about %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.base != DefaultBaseURL || p.legacyMaxTokens || p.name != "OpenAI" {
		t.Errorf("defaults: base %q legacy %v name %q", p.base, p.legacyMaxTokens, p.name)
	}
	if p, _ := New(Options{BaseURL: "http://127.0.0.1:11434/v1/"}); p.base != "http://127.0.0.1:11434/v1" || !p.legacyMaxTokens {
		t.Errorf("Ollama: base %q legacy %v", p.base, p.legacyMaxTokens)
	}
}
