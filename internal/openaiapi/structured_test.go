package openaiapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/provider"
	anthropicprovider "github.com/modelwatch/modelwatch/internal/provider/anthropic"
	openaiprovider "github.com/modelwatch/modelwatch/internal/provider/openai"
)

// The answer both fake upstreams give, and the schema it follows.
const (
	contactJSON   = `{"name":"John Smith","email":"john@example.com","plan_interest":"Enterprise","demo_requested":true}`
	contactSchema = `{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"},"plan_interest":{"type":"string"},"demo_requested":{"type":"boolean"}},"required":["name","email","plan_interest","demo_requested"],"additionalProperties":false}`
	contactPrompt = "Extract the key information from this email: John Smith (john@example.com) is interested in our Enterprise plan and wants to schedule a demo for next Tuesday at 2pm."
)

// Token counts of the fake upstreams' answers: uncached input, cache reads
// and output.
const (
	upInput  = 57
	upCached = 1024
	upOutput = 31
)

// upstream is an HTTP server speaking one provider's wire format that
// records every request body and answers with contactJSON.
type upstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]json.RawMessage
}

// last returns the body of the newest request.
func (u *upstream) last(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.bodies[len(u.bodies)-1]
}

func newUpstream(t *testing.T, answer func(w http.ResponseWriter, stream bool)) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("upstream request %q: %v", data, err)
		}
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.mu.Unlock()
		answer(w, string(body["stream"]) == "true")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// openAIUpstream answers as OpenAI does: prompt_tokens include the cached
// tokens.
func openAIUpstream(t *testing.T) *upstream {
	content, _ := json.Marshal(contactJSON)
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d}}`,
		upInput+upCached, upOutput, upInput+upCached+upOutput, upCached)
	return newUpstream(t, func(w http.ResponseWriter, stream bool) {
		if !stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null},"finish_reason":"stop"}],"usage":%s}`, content, usage)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":%s,"finish_reason":%s}],"usage":null}`
		fmt.Fprintf(w, "data: "+chunk+"\n\n", `{"role":"assistant","content":""}`, "null")
		fmt.Fprintf(w, "data: "+chunk+"\n\n", `{"content":`+string(content)+`}`, "null")
		fmt.Fprintf(w, "data: "+chunk+"\n\n", `{}`, `"stop"`)
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":%s}\n\ndata: [DONE]\n\n", usage)
	})
}

// anthropicUpstream answers as the Messages API does: input_tokens exclude
// the cache reads.
func anthropicUpstream(t *testing.T) *upstream {
	content, _ := json.Marshal(contactJSON)
	return newUpstream(t, func(w http.ResponseWriter, stream bool) {
		if !stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":%d,"cache_read_input_tokens":%d,"cache_creation_input_tokens":0,"output_tokens":%d}}`,
				content, upInput, upCached, upOutput)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		event := func(data string) {
			var typ struct{ Type string }
			_ = json.Unmarshal([]byte(data), &typ)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ.Type, data)
		}
		event(fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_read_input_tokens":%d,"cache_creation_input_tokens":0,"output_tokens":1}}}`, upInput, upCached))
		event(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		event(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":` + string(content) + `}}`)
		event(`{"type":"content_block_stop","index":0}`)
		event(fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":%d}}`, upOutput))
		event(`{"type":"message_stop"}`)
	})
}

// structuredEnv is a front door whose models are served by the OpenAI and
// Anthropic providers, each calling its fake upstream.
type structuredEnv struct {
	*env
	openai, anthropic *upstream
}

const (
	modelViaOpenAI    = "openai.gpt-4o-structured-v1"
	modelViaAnthropic = "anthropic.claude-structured-v1"
)

func newStructuredEnv(t *testing.T) *structuredEnv {
	t.Helper()
	oaUp, anUp := openAIUpstream(t), anthropicUpstream(t)
	oaProv, err := openaiprovider.New(openaiprovider.Options{BaseURL: oaUp.srv.URL + "/v1", APIKey: "sk-upstream"})
	if err != nil {
		t.Fatal(err)
	}
	anProv, err := anthropicprovider.New(anthropicprovider.Options{BaseURL: anUp.srv.URL, APIKey: "sk-ant-upstream"})
	if err != nil {
		t.Fatal(err)
	}
	model := func(id, prov, upstreamModel string) *catalog.Model {
		return &catalog.Model{ID: id, Name: id, Vendor: "Test", Provider: prov, UpstreamModel: upstreamModel,
			InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"}, Streaming: true, Tools: true, SystemPrompt: true,
			MaxOutputTokens: 4096, DefaultMaxTokens: 1024, Timeout: time.Minute}
	}
	e := newEnvWith(t, Options{}, []*catalog.Model{
		model(modelViaOpenAI, "openai-upstream", "gpt-4o"),
		model(modelViaAnthropic, "anthropic-upstream", "claude-sonnet-4-5"),
	}, map[string]provider.Provider{"openai-upstream": oaProv, "anthropic-upstream": anProv})
	return &structuredEnv{env: e, openai: oaUp, anthropic: anUp}
}

// contactFormat is a json_schema response format for the contact schema.
func contactFormat(strict bool) oai.ChatCompletionNewParamsResponseFormatUnion {
	var schema map[string]any
	if err := json.Unmarshal([]byte(contactSchema), &schema); err != nil {
		panic(err)
	}
	return oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "contact", Description: oai.String("The sender"), Schema: schema, Strict: oai.Bool(strict)}}}
}

// assertMember compares a member of an upstream body with the expected
// JSON ("" for absent).
func assertMember(t *testing.T, body map[string]json.RawMessage, member, want string) {
	t.Helper()
	got, ok := body[member]
	switch {
	case !ok && want == "":
		return
	case !ok:
		t.Errorf("upstream body has no %s, want %s", member, want)
		return
	case want == "":
		t.Errorf("upstream body has %s = %s, want none", member, got)
		return
	}
	var g, w any
	_ = json.Unmarshal(got, &g)
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s", want)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("upstream %s = %s\nwant %s", member, gb, wb)
	}
}

func TestResponseFormatReachesEachProvider(t *testing.T) {
	e := newStructuredEnv(t)
	strictSchema := `{"type":"json_schema","json_schema":{"name":"contact","description":"The sender","strict":true,"schema":` + contactSchema + `}}`
	anthropicSchema := `{"format":{"type":"json_schema","schema":` + contactSchema + `}}`
	tests := []struct {
		name   string
		format oai.ChatCompletionNewParamsResponseFormatUnion
		// What each upstream must receive ("" for nothing).
		openAI, anthropic string
	}{
		{"strict json_schema", contactFormat(true), strictSchema, anthropicSchema},
		// An OpenAI-compatible upstream gets the caller's body as sent
		// (passed through). Converse cannot say "not strict": Anthropic is
		// asked for strict output, which is what Bedrock gives.
		{"non-strict json_schema", contactFormat(false), strings.Replace(strictSchema, `"strict":true`, `"strict":false`, 1), anthropicSchema},
		{"json_object", oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
			`{"type":"json_object"}`, `{"format":{"type":"json_schema","schema":{"type":"object"}}}`},
		{"text", oai.ChatCompletionNewParamsResponseFormatUnion{OfText: &shared.ResponseFormatTextParam{}}, `{"type":"text"}`, ""},
	}
	for _, tt := range tests {
		for _, via := range []struct {
			model, member string
			up            *upstream
			want          string
		}{
			{modelViaOpenAI, "response_format", e.openai, tt.openAI},
			{modelViaAnthropic, "output_config", e.anthropic, tt.anthropic},
		} {
			t.Run(tt.name+"/"+via.model, func(t *testing.T) {
				var httpResp *http.Response
				resp, err := e.client.Chat.Completions.New(context.Background(), oai.ChatCompletionNewParams{
					Model:          via.model,
					Messages:       []oai.ChatCompletionMessageParamUnion{oai.UserMessage(contactPrompt)},
					ResponseFormat: tt.format,
				}, option.WithResponseInto(&httpResp))
				if err != nil {
					t.Fatal(err)
				}
				assertMember(t, via.up.last(t), via.member, via.want)
				if got := resp.Choices[0].Message.Content; got != contactJSON {
					t.Errorf("content %q, want %q", got, contactJSON)
				}
				// prompt_tokens count the cached tokens, which
				// cached_tokens reports, whichever upstream served them.
				u := resp.Usage
				if u.PromptTokens != upInput+upCached || u.PromptTokensDetails.CachedTokens != upCached || u.CompletionTokens != upOutput ||
					u.TotalTokens != upInput+upCached+upOutput {
					t.Errorf("usage %s", u.RawJSON())
				}
				inv := e.rec.get(t, requestID(t, httpResp))
				if inv.Usage.CacheReadInputTokens != upCached || inv.Usage.InputTokens != upInput {
					t.Errorf("recorded usage %+v", inv.Usage)
				}
			})
		}
	}
}

func TestStructuredStreamReportsCachedTokens(t *testing.T) {
	e := newStructuredEnv(t)
	for _, via := range []struct {
		model, member string
		up            *upstream
	}{
		{modelViaOpenAI, "response_format", e.openai},
		{modelViaAnthropic, "output_config", e.anthropic},
	} {
		t.Run(via.model, func(t *testing.T) {
			stream := e.client.Chat.Completions.NewStreaming(context.Background(), oai.ChatCompletionNewParams{
				Model:          via.model,
				Messages:       []oai.ChatCompletionMessageParamUnion{oai.UserMessage(contactPrompt)},
				ResponseFormat: contactFormat(true),
				StreamOptions:  oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
			})
			var acc oai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if _, ok := via.up.last(t)[via.member]; !ok {
				t.Errorf("the streamed upstream request has no %s", via.member)
			}
			if got := acc.Choices[0].Message.Content; got != contactJSON {
				t.Errorf("content %q", got)
			}
			if u := acc.Usage; u.PromptTokens != upInput+upCached || u.PromptTokensDetails.CachedTokens != upCached || u.CompletionTokens != upOutput {
				t.Errorf("stream usage %+v", u)
			}
		})
	}
}

func TestResponseFormatErrorsAreOpenAIs(t *testing.T) {
	e := newEnv(t, Options{})
	schema := map[string]any{"type": "object"}
	tests := []struct {
		name        string
		format      oai.ChatCompletionNewParamsResponseFormatUnion
		opts        []option.RequestOption
		param, code string
		message     string
	}{
		{name: "empty name",
			format: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "", Schema: schema}}},
			param:  "response_format.json_schema.name", code: "missing_required_parameter",
			message: "Missing required parameter: 'response_format.json_schema.name'."},
		{name: "name with spaces",
			format: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "my schema", Schema: schema}}},
			param:  "response_format.json_schema.name", code: "invalid_value",
			message: "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."},
		{name: "name too long",
			format: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: strings.Repeat("x", 65), Schema: schema}}},
			param:  "response_format.json_schema.name", code: "string_above_max_length",
			message: "Invalid 'response_format.json_schema.name': string too long. Expected a string with maximum length 64, but got a string with length 65 instead."},
		{name: "schema given as a string",
			format: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "n", Schema: `{"type":"object"}`}}},
			param:  "response_format.json_schema.schema", code: "invalid_type",
			message: "Invalid type for 'response_format.json_schema.schema': expected an object, but got a string instead."},
		{name: "json_schema missing", opts: []option.RequestOption{option.WithJSONSet("response_format", map[string]any{"type": "json_schema"})},
			param: "response_format.json_schema", code: "missing_required_parameter",
			message: "Missing required parameter: 'response_format.json_schema'."},
		{name: "unknown type", opts: []option.RequestOption{option.WithJSONSet("response_format", map[string]any{"type": "xml"})},
			param: "response_format.type", code: "invalid_value",
			message: "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and 'text'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.rec.count()
			_, err := e.client.Chat.Completions.New(context.Background(), oai.ChatCompletionNewParams{
				Model:          "haiku",
				Messages:       []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
				ResponseFormat: tt.format,
			}, tt.opts...)
			apiErr := asAPIError(t, err, http.StatusBadRequest)
			if apiErr.Type != "invalid_request_error" || apiErr.Param != tt.param || apiErr.Code != tt.code || apiErr.Message != tt.message {
				t.Errorf("error %s\nwant param %q, code %q, message %q", apiErr.RawJSON(), tt.param, tt.code, tt.message)
			}
			// A refused request is still recorded, as every call is.
			if e.rec.count() != before+1 {
				t.Errorf("%d invocations recorded, want 1", e.rec.count()-before)
			}
		})
	}
}
