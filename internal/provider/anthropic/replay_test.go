package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	wire "github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// testKey stands in for a real API key; no error may mention it.
const testKey = "sk-ant-api03-TEST-SECRET-never-in-errors"

var testCall = provider.Call{RequestID: "req-test", ModelID: "anthropic.claude-sonnet-4-5-20250929-v1:0", UpstreamModel: "claude-sonnet-4-5"}

// recorded is an upstream response read from a testdata/*.http file.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

func loadHTTP(t *testing.T, name string) recorded {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := http.ReadResponse(bufio.NewReader(f), nil)
	if err != nil {
		t.Fatalf("%s.http: %v", name, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s.http body: %v", name, err)
	}
	return recorded{status: resp.StatusCode, header: resp.Header, body: body}
}

// loadJSON decodes a testdata JSON file into a generic value.
func loadJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// loadMessage decodes a testdata Message object.
func loadMessage(t *testing.T, name string) *wire.MessagesResponse {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m wire.MessagesResponse
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &m
}

// replay starts a server that answers every request with rec after checking
// that the request is the Messages API call a client must make, with want
// as its JSON body (nil: any body). A request that fails the checks fails
// the test and gets a 400.
func replay(t *testing.T, rec recorded, want map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problems := checkRequest(r, want); len(problems) > 0 {
			t.Errorf("the provider sent an unexpected request:\n  %s", strings.Join(problems, "\n  "))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"replay: unexpected request"}}`)
			return
		}
		for k, vs := range rec.header {
			switch k {
			case "Content-Length", "Connection", "Transfer-Encoding":
				continue // the server frames the body itself
			}
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.status)
		if !strings.HasPrefix(rec.header.Get("Content-Type"), "text/event-stream") {
			w.Write(rec.body)
			return
		}
		// One event at a time, as Anthropic streams them.
		flusher := w.(http.Flusher)
		for rest := rec.body; len(rest) > 0; {
			event, after, found := bytes.Cut(rest, []byte("\n\n"))
			if found {
				event = append(event, "\n\n"...)
			}
			w.Write(event)
			flusher.Flush()
			rest = after
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checkRequest lists what is wrong with a request to the Messages API.
func checkRequest(r *http.Request, want map[string]any) []string {
	var problems []string
	if r.Method != http.MethodPost {
		problems = append(problems, "method "+r.Method+", want POST")
	}
	if r.URL.Path != "/v1/messages" {
		problems = append(problems, "path "+r.URL.Path+", want /v1/messages")
	}
	for h, v := range map[string]string{"X-Api-Key": testKey, "Anthropic-Version": "2023-06-01", "Content-Type": "application/json"} {
		if got := r.Header.Get(h); got != v {
			problems = append(problems, h+" is "+strconvQuote(got)+", want "+strconvQuote(v))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return append(problems, "reading the body: "+err.Error())
	}
	if want == nil {
		return problems
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		return append(problems, "the body is not a JSON object: "+err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "  ", "  ")
		w, _ := json.MarshalIndent(want, "  ", "  ")
		problems = append(problems, "body\n  "+string(g)+"\n  want\n  "+string(w))
	}
	return problems
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func newTestProvider(t *testing.T, srv *httptest.Server) *Provider {
	t.Helper()
	p, err := New(Options{BaseURL: srv.URL, APIKey: testKey, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// userRequest is a one-message conversation.
func userRequest(text string, maxTokens int) *converse.Request {
	return &converse.Request{
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock(text)}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens},
	}
}

func thinkingRequest(maxTokens int) *converse.Request {
	req := userRequest("What is 27 * 453?", maxTokens)
	req.AdditionalModelRequestFields = json.RawMessage(`{"thinking": {"type": "enabled", "budget_tokens": 16000}}`)
	return req
}

func weatherRequest() *converse.Request {
	req := userRequest("What is the weather like in San Francisco?", 1024)
	req.ToolConfig = &converse.ToolConfig{
		Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{
			Name:        "get_weather",
			Description: "Get the current weather in a given location",
			InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{
				"type": "object",
				"properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
				"required": ["location"]}`)},
		}}},
		ToolChoice: &converse.ToolChoice{Any: &struct{}{}},
	}
	return req
}

// normalized strips what legitimately differs between two translations of
// the same answer: latency, and the spacing of tool inputs.
func normalized(t *testing.T, r *converse.Response) *converse.Response {
	t.Helper()
	cp := *r
	cp.Metrics = converse.Metrics{}
	if m := r.Output.Message; m != nil {
		msg := *m
		msg.Content = append([]converse.ContentBlock(nil), m.Content...)
		for i, b := range msg.Content {
			if b.ToolUse != nil {
				tu := *b.ToolUse
				var buf bytes.Buffer
				if err := json.Compact(&buf, tu.Input); err != nil {
					t.Fatalf("tool input %q: %v", tu.Input, err)
				}
				tu.Input = buf.Bytes()
				msg.Content[i].ToolUse = &tu
			}
		}
		cp.Output.Message = &msg
	}
	return &cp
}

func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// assertNoSecret fails if the API key appears in the error or its cause.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	text := err.Error()
	var ae *apierror.Error
	if errors.As(err, &ae) && ae.Cause != nil {
		text += " " + ae.Cause.Error()
	}
	if strings.Contains(text, testKey) {
		t.Errorf("the error mentions the API key: %s", text)
	}
}

func TestConverseReplaysMessage(t *testing.T) {
	cached := userRequest("Analyze the major themes in 'Pride and Prejudice'.", 1024)
	cached.System = []converse.SystemContentBlock{
		{Text: ptr("You are an AI assistant tasked with analyzing literary works. Your goal is to provide insightful commentary on themes, characters, and writing style.\n")},
		{Text: ptr("<the entire contents of 'Pride and Prejudice'>")},
		{CachePoint: &converse.CachePointBlock{Type: "default"}},
	}
	tests := []struct {
		request string
		req     *converse.Request
	}{
		{"message.request.json", userRequest("Hello, world", 1024)},
		{"message_cached_system.request.json", cached},
	}
	want := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{converse.TextBlock("Hi! My name is Claude.")}}},
		StopReason: converse.StopEndTurn,
		// inputTokens is the uncached input, as Bedrock reports it; the
		// total counts every input token.
		Usage: converse.Usage{InputTokens: 2095, OutputTokens: 503, CacheReadInputTokens: 2051, CacheWriteInputTokens: 2051, TotalTokens: 2095 + 2051 + 2051 + 503},
	}
	for _, tt := range tests {
		t.Run(tt.request, func(t *testing.T) {
			p := newTestProvider(t, replay(t, loadHTTP(t, "message"), loadJSON(t, tt.request)))
			got, err := p.Converse(context.Background(), testCall, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if g := normalized(t, got); !reflect.DeepEqual(g, want) {
				t.Errorf("response\n%s\nwant\n%s", asJSON(g), asJSON(want))
			}
		})
	}
}

// contactSchema is the schema of the structured outputs example of
// Anthropic's documentation, as a Converse request carries it: a string.
const contactSchema = `{"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "plan_interest": {"type": "string"}, "demo_requested": {"type": "boolean"}}, "required": ["name", "email", "plan_interest", "demo_requested"], "additionalProperties": false}`

const contactEmail = "Extract the key information from this email: John Smith (john@example.com) is interested in our Enterprise plan and wants to schedule a demo for next Tuesday at 2pm."

const contactJSON = `{"name":"John Smith","email":"john@example.com","plan_interest":"Enterprise","demo_requested":true}`

// structuredRequest asks for the contact of contactEmail as JSON.
func structuredRequest(effort string) *converse.Request {
	req := userRequest(contactEmail, 1024)
	req.OutputConfig = &converse.OutputConfig{Effort: effort, TextFormat: &converse.OutputFormat{
		Type: converse.OutputFormatJSONSchema,
		// Anthropic's format has no name or description: they are not sent.
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: contactSchema, Name: "contact", Description: "The sender"}},
	}}
	return req
}

func TestConverseReplaysStructuredOutput(t *testing.T) {
	p := newTestProvider(t, replay(t, loadHTTP(t, "message_structured"), loadJSON(t, "message_structured.request.json")))
	got, err := p.Converse(context.Background(), testCall, structuredRequest(""))
	if err != nil {
		t.Fatal(err)
	}
	want := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{converse.TextBlock(contactJSON)}}},
		StopReason: converse.StopEndTurn,
		// A cache_creation of zeros is no cache write: no cacheDetails.
		Usage: converse.Usage{InputTokens: 208, OutputTokens: 31, TotalTokens: 239},
	}
	if g := normalized(t, got); !reflect.DeepEqual(g, want) {
		t.Errorf("response\n%s\nwant\n%s", asJSON(g), asJSON(want))
	}
}

func TestConverseReplaysCacheTTLs(t *testing.T) {
	req := userRequest("<the conversation so far>", 1024)
	req.Messages[0].Content = append(req.Messages[0].Content, cachePoint(""), text("Where is my order?"))
	req.System = []converse.SystemContentBlock{
		{Text: ptr("You are a support agent for Acme Corp. <the product manual>")},
		{CachePoint: &converse.CachePointBlock{Type: "default", TTL: converse.CacheTTL1h}},
	}
	req.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{
		{ToolSpec: &converse.ToolSpec{Name: "get_order", Description: "Look up an order by its ID", InputSchema: converse.ToolInputSchema{
			JSON: json.RawMessage(`{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}`)}}},
		{CachePoint: &converse.CachePointBlock{Type: "default", TTL: converse.CacheTTL1h}},
	}}
	p := newTestProvider(t, replay(t, loadHTTP(t, "message_cache_ttl"), loadJSON(t, "message_cache_ttl.request.json")))
	got, err := p.Converse(context.Background(), testCall, req)
	if err != nil {
		t.Fatal(err)
	}
	// Bedrock's cacheDetails list the writes per TTL, 1h before 5m.
	want := converse.Usage{InputTokens: 12, OutputTokens: 10, CacheReadInputTokens: 2048, CacheWriteInputTokens: 556, TotalTokens: 12 + 10 + 2048 + 556,
		CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL1h, InputTokens: 100}, {TTL: converse.CacheTTL5m, InputTokens: 456}}}
	if !reflect.DeepEqual(got.Usage, want) {
		t.Errorf("usage\n%s\nwant\n%s", asJSON(got.Usage), asJSON(want))
	}
}

func repeat(name string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name
	}
	return out
}

func seq(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			out = append(out, p)
		case []string:
			out = append(out, p...)
		}
	}
	return out
}

const (
	evStart      = converse.EventMessageStart
	evBlockStart = converse.EventContentBlockStart
	evDelta      = converse.EventContentBlockDelta
	evBlockStop  = converse.EventContentBlockStop
	evStop       = converse.EventMessageStop
	evMetadata   = converse.EventMetadata
)

// collect reads a stream to its end.
func collect(t *testing.T, st provider.Stream) []converse.StreamEvent {
	t.Helper()
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatalf("after %d events: %v", len(evs), err)
	}
	return evs
}

func TestConverseStreamReplays(t *testing.T) {
	tests := []struct {
		name string
		req  *converse.Request
		// events is the expected sequence of Converse event names.
		events []string
		// startInput is messageStart's input count; usage the metadata's.
		startInput int
		usage      converse.Usage
	}{
		{
			name:       "stream_text",
			req:        userRequest("Hello", 256),
			events:     seq(evStart, repeat(evDelta, 2), evBlockStop, evStop, evMetadata),
			startInput: 25,
			usage:      converse.Usage{InputTokens: 25, OutputTokens: 15, TotalTokens: 40},
		},
		{
			name: "stream_tool_use",
			req:  weatherRequest(),
			// 13 text pieces; 9 input pieces of which the first is empty.
			events:     seq(evStart, repeat(evDelta, 13), evBlockStop, evBlockStart, repeat(evDelta, 8), evBlockStop, evStop, evMetadata),
			startInput: 472,
			usage:      converse.Usage{InputTokens: 472, OutputTokens: 89, TotalTokens: 561},
		},
		{
			name: "stream_structured",
			req: func() *converse.Request {
				req := structuredRequest("low")
				req.System = []converse.SystemContentBlock{
					{Text: ptr("You extract contact details from sales email. <the extraction guidelines>")},
					{CachePoint: &converse.CachePointBlock{Type: "default", TTL: converse.CacheTTL1h}},
				}
				return req
			}(),
			events:     seq(evStart, repeat(evDelta, 3), evBlockStop, evStop, evMetadata),
			startInput: 208,
			usage: converse.Usage{InputTokens: 208, OutputTokens: 31, CacheWriteInputTokens: 1500, TotalTokens: 208 + 31 + 1500,
				CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL1h, InputTokens: 1500}}},
		},
		{
			name: "stream_thinking",
			req:  thinkingRequest(20000),
			// 6 thinking pieces and the signature, then the answer.
			events: seq(evStart, repeat(evDelta, 7), evBlockStop, evDelta, evBlockStop, evStop, evMetadata),
			// The documented stream reports no usage.
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReq := loadJSON(t, tt.name+".request.json")
			p := newTestProvider(t, replay(t, loadHTTP(t, tt.name), wantReq))
			st, err := p.ConverseStream(context.Background(), testCall, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			evs := collect(t, st)

			var names []string
			var asm converse.Assembler
			for i := range evs {
				names = append(names, evs[i].Name())
				asm.Add(&evs[i])
				if s := evs[i].ContentBlockStart; s != nil && s.Start.ToolUse == nil {
					t.Errorf("contentBlockStart for a block that is not a tool use: %s", asJSON(s))
				}
			}
			if !reflect.DeepEqual(names, tt.events) {
				t.Fatalf("events\n%v\nwant\n%v", names, tt.events)
			}
			if got := evs[0].MessageStart.InputTokens; got != tt.startInput {
				t.Errorf("messageStart input tokens %d, want %d", got, tt.startInput)
			}
			// The cache usage is known at the start too.
			if ms := evs[0].MessageStart; ms.CacheRead != tt.usage.CacheReadInputTokens || ms.CacheWrite != tt.usage.CacheWriteInputTokens ||
				!reflect.DeepEqual(ms.CacheDetails, tt.usage.CacheDetails) {
				t.Errorf("messageStart cache usage %d/%d/%+v, want the metadata's %+v", ms.CacheRead, ms.CacheWrite, ms.CacheDetails, tt.usage)
			}
			if got := evs[len(evs)-1].Metadata.Usage; !reflect.DeepEqual(got, tt.usage) {
				t.Errorf("metadata usage %+v, want %+v", got, tt.usage)
			}

			// The stream amounts to the non-streamed answer of the same
			// message, sent through Converse.
			nonStreamReq := loadJSON(t, tt.name+".request.json")
			delete(nonStreamReq, "stream")
			message, err := os.ReadFile(filepath.Join("testdata", tt.name+".message.json"))
			if err != nil {
				t.Fatal(err)
			}
			asJSONResponse := recorded{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: message}
			whole, err := newTestProvider(t, replay(t, asJSONResponse, nonStreamReq)).Converse(context.Background(), testCall, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			assembled, translatedWhole := normalized(t, asm.Response()), normalized(t, whole)
			if !reflect.DeepEqual(assembled, translatedWhole) {
				t.Errorf("assembled stream\n%s\nnon-streamed translation\n%s", asJSON(assembled), asJSON(translatedWhole))
			}
			if !asm.Done() {
				t.Error("the assembler saw no metadata event")
			}
		})
	}
}

func TestToolUseStreamIndices(t *testing.T) {
	p := newTestProvider(t, replay(t, loadHTTP(t, "stream_tool_use"), loadJSON(t, "stream_tool_use.request.json")))
	st, err := p.ConverseStream(context.Background(), testCall, weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var input strings.Builder
	for _, ev := range collect(t, st) {
		if s := ev.ContentBlockStart; s != nil {
			if s.ContentBlockIndex != 1 || s.Start.ToolUse.ToolUseID != "toolu_01T1x1fJ34qAmk2tNTrN7Up6" || s.Start.ToolUse.Name != "get_weather" {
				t.Errorf("tool use start %s", asJSON(s))
			}
		}
		if d := ev.ContentBlockDelta; d != nil && d.Delta.ToolUse != nil {
			if d.ContentBlockIndex != 1 {
				t.Errorf("tool input delta at index %d, want 1", d.ContentBlockIndex)
			}
			if d.Delta.ToolUse.Input == "" {
				t.Error("an empty tool input delta was passed on")
			}
			input.WriteString(d.Delta.ToolUse.Input)
		}
		if s := ev.MessageStop; s != nil && s.StopReason != converse.StopToolUse {
			t.Errorf("stop reason %q, want tool_use", s.StopReason)
		}
	}
	if got, want := input.String(), `{"location": "San Francisco, CA", "unit": "fahrenheit"}`; got != want {
		t.Errorf("tool input %s, want %s", got, want)
	}
}

func TestUpstreamErrorsReplay(t *testing.T) {
	tests := []struct {
		fixture, request string
		req              *converse.Request
		code             apierror.Code
		message          string // the caller-facing message, when it is Anthropic's
		causeHas         []string
		retryable        bool
	}{
		{
			fixture: "error_429", request: "message.request.json", req: userRequest("Hello, world", 1024),
			code:      apierror.Throttling,
			causeHas:  []string{"429", "rate_limit_error", "req_011CcR9mkMvXdaiWP4739PSN", "This request would exceed your account's rate limit"},
			retryable: true,
		},
		{
			fixture: "error_529", request: "message.request.json", req: userRequest("Hello, world", 1024),
			code:      apierror.ServiceUnavailable,
			causeHas:  []string{"529", "overloaded_error", "req_01RCc7MbLyQNtGKzBTv8VCep", "Overloaded"},
			retryable: true,
		},
		{
			fixture: "error_400", request: "error_400.request.json", req: thinkingRequest(1024),
			code:     apierror.Validation,
			message:  "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
			causeHas: []string{"400", "invalid_request_error", "req_011CXs6hk18SX5aBxD3jchRc"},
		},
	}
	for _, tt := range tests {
		for _, streamed := range []bool{false, true} {
			name := tt.fixture + "/converse"
			if streamed {
				name = tt.fixture + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				want := loadJSON(t, tt.request)
				if streamed {
					want["stream"] = true
				}
				p := newTestProvider(t, replay(t, loadHTTP(t, tt.fixture), want))
				var err error
				if streamed {
					var st provider.Stream
					st, err = p.ConverseStream(context.Background(), testCall, tt.req)
					if st != nil {
						t.Error("ConverseStream returned a stream with its error")
					}
				} else {
					_, err = p.Converse(context.Background(), testCall, tt.req)
				}
				var ae *apierror.Error
				if !errors.As(err, &ae) {
					t.Fatalf("error %v, want an *apierror.Error", err)
				}
				if ae.Code != tt.code {
					t.Errorf("code %s, want %s (%v)", ae.Code, tt.code, err)
				}
				if tt.message != "" && ae.Message != tt.message {
					t.Errorf("message %q, want %q", ae.Message, tt.message)
				}
				if ae.Retryable() != tt.retryable {
					t.Errorf("retryable %v, want %v", ae.Retryable(), tt.retryable)
				}
				for _, s := range tt.causeHas {
					if ae.Cause == nil || !strings.Contains(ae.Cause.Error(), s) {
						t.Errorf("cause %v does not mention %q", ae.Cause, s)
					}
				}
				assertNoSecret(t, err)
			})
		}
	}
}

func TestStreamEndingInErrorEvent(t *testing.T) {
	p := newTestProvider(t, replay(t, loadHTTP(t, "stream_error"), loadJSON(t, "stream_text.request.json")))
	st, err := p.ConverseStream(context.Background(), testCall, userRequest("Hello", 256))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var text string
	for {
		ev, err := st.Next()
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v, want an *apierror.Error", err)
			}
			if ae.Code != apierror.ModelStreamError || ae.OriginalStatusCode != wire.StatusOverloaded || ae.OriginalMessage != "Overloaded" {
				t.Errorf("error %+v, want ModelStreamErrorException with status 529 and message Overloaded", ae)
			}
			if !ae.Retryable() {
				t.Error("an overloaded stream should be retryable")
			}
			if !strings.Contains(ae.Cause.Error(), "overloaded_error") || !strings.Contains(ae.Cause.Error(), "req_011CPMsLhaJwf2izoCdiKbnt") {
				t.Errorf("cause %v lacks the error type or request ID", ae.Cause)
			}
			assertNoSecret(t, err)
			if _, again := st.Next(); again != err {
				t.Errorf("Next after the failure returned %v, want the same error", again)
			}
			break
		}
		names = append(names, ev.Name())
		if d := ev.ContentBlockDelta; d != nil && d.Delta.Text != nil {
			text += *d.Delta.Text
		}
	}
	if want := []string{evStart, evDelta}; !reflect.DeepEqual(names, want) {
		t.Errorf("events before the error %v, want %v", names, want)
	}
	if text != "Hello" {
		t.Errorf("text before the error %q, want Hello", text)
	}
	if err := st.Close(); err != nil {
		t.Error(err)
	}
	if err := st.Close(); err != nil {
		t.Error(err)
	}
}
