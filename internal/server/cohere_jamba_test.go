package server_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Bodies from the Bedrock user guide's examples for Cohere Command R/R+
// ("Cohere Command R and Command R+ models") and AI21 Jamba 1.5 ("AI21
// Labs Jamba models").
const (
	cohereExampleBody = `{"message":"What is an interesting new role in AI if I don't have an ML background?",` +
		`"chat_history":[{"role":"USER","message":"Who discovered gravity?"},{"role":"CHATBOT","message":"The man who is widely credited with discovering gravity is Sir Isaac Newton"}],` +
		`"documents":[{"title":"Tall penguins","snippet":"Emperor penguins are the tallest."}],` +
		`"preamble":"You are a helpful assistant.","max_tokens":300,"temperature":0.3,"p":0.75,"k":0}`
	jambaExampleBody = `{"messages":[{"role":"system","content":"You are a helpful chatbot with a background in earth sciences and a charming French accent."},` +
		`{"role":"user","content":"What are the main causes of earthquakes?"}],"max_tokens":300,"temperature":0.7,"top_p":0.8}`
)

// cohereJambaUsage is what one call reported: the token counts of the
// headers (or the stream's invocation metrics), for the totals.
type cohereJambaUsage struct{ in, out int }

func TestCohereAndJamba(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	models := []struct {
		id, body string
		cohere   bool
	}{
		{"cohere.command-r-v1:0", cohereExampleBody, true},
		{"cohere.command-r-plus-v1:0", cohereExampleBody, true},
		{"ai21.jamba-1-5-mini-v1:0", jambaExampleBody, false},
		{"ai21.jamba-1-5-large-v1:0", jambaExampleBody, false},
	}
	for _, m := range models {
		t.Run(m.id, func(t *testing.T) {
			var total cohereJambaUsage
			add := func(u cohereJambaUsage) { total.in += u.in; total.out += u.out }

			// InvokeModel: the native answer, its counts equal to the headers.
			out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(m.id), Body: []byte(m.body), ContentType: aws.String("application/json")})
			if err != nil {
				t.Fatal(err)
			}
			id := requestID(t, out.ResultMetadata)
			in, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
			outTok, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"))
			if in <= 0 || outTok <= 0 {
				t.Fatalf("token headers in=%d out=%d", in, outTok)
			}
			add(cohereJambaUsage{in, outTok})
			// CountTokens of the same native body counts what the call billed.
			if n := countTokens(t, client, m.id, &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(m.body)}}); n != in {
				t.Errorf("CountTokens %d, InvokeModel input tokens %d", n, in)
			}
			var text string
			if m.cohere {
				var r struct {
					ResponseID   string `json:"response_id"`
					Text         string `json:"text"`
					GenerationID string `json:"generation_id"`
					FinishReason string `json:"finish_reason"`
					ChatHistory  []struct {
						Role    string `json:"role"`
						Message string `json:"message"`
					} `json:"chat_history"`
					Meta struct {
						BilledUnits struct {
							InputTokens  int `json:"input_tokens"`
							OutputTokens int `json:"output_tokens"`
						} `json:"billed_units"`
					} `json:"meta"`
				}
				if err := json.Unmarshal(out.Body, &r); err != nil {
					t.Fatal(err)
				}
				text = r.Text
				h := r.ChatHistory
				if r.ResponseID != id || len(r.GenerationID) != 36 || r.Text == "" || (r.FinishReason != "COMPLETE" && r.FinishReason != "MAX_TOKENS") ||
					len(h) != 4 || h[0].Role != "USER" || h[1].Role != "CHATBOT" || h[2].Message != "What is an interesting new role in AI if I don't have an ML background?" ||
					h[3].Role != "CHATBOT" || h[3].Message != r.Text {
					t.Errorf("response %s", out.Body)
				}
				if r.Meta.BilledUnits.InputTokens != in || r.Meta.BilledUnits.OutputTokens != outTok {
					t.Errorf("billed units %+v, headers in=%d out=%d", r.Meta.BilledUnits, in, outTok)
				}
			} else {
				var r struct {
					ID      string `json:"id"`
					Model   string `json:"model"`
					Choices []struct {
						Index   int `json:"index"`
						Message struct {
							Role    string `json:"role"`
							Content string `json:"content"`
						} `json:"message"`
						FinishReason string `json:"finish_reason"`
					} `json:"choices"`
					Usage struct {
						PromptTokens     int `json:"prompt_tokens"`
						CompletionTokens int `json:"completion_tokens"`
						TotalTokens      int `json:"total_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal(out.Body, &r); err != nil {
					t.Fatal(err)
				}
				if r.ID != "chatcmpl-"+strings.ReplaceAll(id, "-", "") || !strings.HasPrefix(r.Model, "jamba-1.5-") || len(r.Choices) != 1 ||
					r.Choices[0].Message.Role != "assistant" || r.Choices[0].Message.Content == "" || (r.Choices[0].FinishReason != "stop" && r.Choices[0].FinishReason != "length") {
					t.Errorf("response %s", out.Body)
				}
				text = r.Choices[0].Message.Content
				if r.Usage.PromptTokens != in || r.Usage.CompletionTokens != outTok || r.Usage.TotalTokens != in+outTok {
					t.Errorf("usage %+v, headers in=%d out=%d", r.Usage, in, outTok)
				}
			}
			inv := rec.byRequestID(t, id)
			if inv.Operation != invocation.InvokeModel || inv.Usage.InputTokens != in || inv.Usage.OutputTokens != outTok {
				t.Errorf("invocation %+v", inv)
			}

			// The stream of the same body: the same text, the same counts,
			// in the invocation metrics of its last chunk.
			sid, chunks, _, err := invokeStream(t, client, m.id, m.body)
			if err != nil {
				t.Fatal(err)
			}
			var streamed strings.Builder
			last := chunks[len(chunks)-1]
			if m.cohere {
				if chunks[0]["event_type"] != "stream-start" || last["event_type"] != "stream-end" || last["is_finished"] != true {
					t.Errorf("first %v last %v", chunks[0], last)
				}
				for _, c := range chunks[1 : len(chunks)-1] {
					if c["event_type"] != "text-generation" || c["is_finished"] != false {
						t.Errorf("chunk %v", c)
					}
					streamed.WriteString(c["text"].(string))
				}
				resp := last["response"].(map[string]any)
				billed := resp["meta"].(map[string]any)["billed_units"].(map[string]any)
				if resp["text"] != text || resp["response_id"] != sid || int(billed["input_tokens"].(float64)) != in || int(billed["output_tokens"].(float64)) != outTok {
					t.Errorf("stream-end %v", last)
				}
			} else {
				for _, c := range chunks[:len(chunks)-1] {
					ch := c["choices"].([]any)[0].(map[string]any)
					if ch["finish_reason"] != nil {
						t.Errorf("finish reason before the last chunk: %v", c)
					}
					if s, ok := ch["delta"].(map[string]any)["content"].(string); ok {
						streamed.WriteString(s)
					}
				}
				u := last["usage"].(map[string]any)
				if int(u["prompt_tokens"].(float64)) != in || int(u["completion_tokens"].(float64)) != outTok || int(u["total_tokens"].(float64)) != in+outTok {
					t.Errorf("last chunk usage %v", u)
				}
			}
			if streamed.String() != text {
				t.Errorf("streamed text %q, InvokeModel text %q", streamed.String(), text)
			}
			metrics := last["amazon-bedrock-invocationMetrics"].(map[string]any)
			if int(metrics["inputTokenCount"].(float64)) != in || int(metrics["outputTokenCount"].(float64)) != outTok {
				t.Errorf("invocation metrics %v, want in=%d out=%d", metrics, in, outTok)
			}
			add(cohereJambaUsage{in, outTok})
			if inv := rec.byRequestID(t, sid); inv.Operation != invocation.InvokeModelWithResponseStream || inv.Usage.InputTokens != in || inv.Usage.OutputTokens != outTok {
				t.Errorf("stream invocation %+v", inv)
			}

			// Converse, with a system prompt.
			system := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a geography tutor."}}
			msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text_("What is the capital of France?")}}}
			conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
				ModelId: aws.String(m.id), System: system, Messages: msgs,
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(200)},
			})
			if err != nil {
				t.Fatal(err)
			}
			cu := conv.Usage
			if responseText(t, conv) == "" || *cu.TotalTokens != *cu.InputTokens+*cu.OutputTokens {
				t.Errorf("converse %+v", cu)
			}
			if n := countTokens(t, client, m.id, &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{System: system, Messages: msgs}}); n != int(*cu.InputTokens) {
				t.Errorf("CountTokens %d, Converse input tokens %d", n, *cu.InputTokens)
			}
			add(cohereJambaUsage{int(*cu.InputTokens), int(*cu.OutputTokens)})
			if inv := rec.byRequestID(t, requestID(t, conv.ResultMetadata)); inv.Usage.InputTokens != int(*cu.InputTokens) || inv.Usage.OutputTokens != int(*cu.OutputTokens) {
				t.Errorf("converse invocation %+v", inv)
			}

			// The metrics add up to the three calls' counts exactly.
			l := map[string]string{"model_id": m.id}
			if got := metric(t, srv, "bedrock_invocations_total", l); got != 3 {
				t.Errorf("invocations %v, want 3", got)
			}
			if got := metric(t, srv, "bedrock_input_tokens_total", l); got != float64(total.in) {
				t.Errorf("input tokens %v, want %d", got, total.in)
			}
			if got := metric(t, srv, "bedrock_output_tokens_total", l); got != float64(total.out) {
				t.Errorf("output tokens %v, want %d", got, total.out)
			}
		})
	}
}

// text_ is a text content block (text is the package's helper's name in
// sdk_test.go; this spelling keeps the file readable on its own).
func text_(s string) types.ContentBlock { return &types.ContentBlockMemberText{Value: s} }

func TestCohereToolLoop(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	tools := `"tools":[{"name":"top_song","description":"Get the most popular song played on a radio station.",` +
		`"parameter_definitions":{"sign":{"description":"The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP.","type":"str","required":true}}}]`
	first := `{"message":"What is the most popular song on WZPZ?",` + tools + `}`
	out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("cohere.command-r-plus-v1:0"), Body: []byte(first)})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Text        string            `json:"text"`
		ToolCalls   []json.RawMessage `json:"tool_calls"`
		ChatHistory []json.RawMessage `json:"chat_history"`
	}
	if err := json.Unmarshal(out.Body, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.ToolCalls) != 1 || !strings.HasPrefix(string(r.ToolCalls[0]), `{"name":"top_song","parameters":{`) || len(r.ChatHistory) != 2 {
		t.Fatalf("first answer %s", out.Body)
	}
	// Cohere's loop: the history of the first answer, the results, an
	// empty message.
	var call struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	}
	_ = json.Unmarshal(r.ToolCalls[0], &call)
	hist, _ := json.Marshal(r.ChatHistory)
	second := `{"message":"",` + tools + `,"chat_history":` + string(hist) +
		`,"tool_results":[{"call":{"name":"top_song","parameters":` + string(call.Parameters) + `},"outputs":[{"song":"Elemental Hotel","artist":"8 Storey Hike"}]}]}`
	out, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("cohere.command-r-plus-v1:0"), Body: []byte(second)})
	if err != nil {
		t.Fatal(err)
	}
	r.ToolCalls, r.Text = nil, ""
	if err := json.Unmarshal(out.Body, &r); err != nil || r.Text == "" || len(r.ToolCalls) != 0 {
		t.Fatalf("second answer %s", out.Body)
	}

	// The same first call streamed: one tool-calls-generation chunk.
	_, chunks, _, err := invokeStream(t, client, "cohere.command-r-plus-v1:0", first)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range chunks {
		if c["event_type"] == "tool-calls-generation" {
			n++
			calls := c["tool_calls"].([]any)
			if len(calls) != 1 || calls[0].(map[string]any)["name"] != "top_song" {
				t.Errorf("tool calls chunk %v", c)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d tool-calls-generation chunks", n)
	}
}

func TestJambaToolsThroughConverseAndInvoke(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a city.","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`
	out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("ai21.jamba-1-5-large-v1:0"),
		Body: []byte(`{"messages":[{"role":"user","content":"What is the weather in Paris?"}],` + tools + `}`)})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(out.Body, &r); err != nil {
		t.Fatal(err)
	}
	c := r.Choices[0]
	if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" ||
		!json.Valid([]byte(c.Message.ToolCalls[0].Function.Arguments)) {
		t.Fatalf("answer %s", out.Body)
	}
	tc := c.Message.ToolCalls[0]
	args, _ := json.Marshal(tc.Function.Arguments)
	second := `{"messages":[{"role":"user","content":"What is the weather in Paris?"},` +
		`{"role":"assistant","content":"","tool_calls":[{"id":"` + tc.ID + `","type":"function","function":{"name":"get_weather","arguments":` + string(args) + `}}]},` +
		`{"role":"tool","tool_call_id":"` + tc.ID + `","content":"18 degrees and sunny"}],` + tools + `}`
	out, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("ai21.jamba-1-5-large-v1:0"), Body: []byte(second)})
	if err != nil {
		t.Fatal(err)
	}
	r.Choices = nil
	if err := json.Unmarshal(out.Body, &r); err != nil || r.Choices[0].FinishReason != "stop" {
		t.Fatalf("second answer %s", out.Body)
	}

	// Converse with toolConfig on both families.
	for _, model := range []string{"ai21.jamba-1-5-mini-v1:0", "cohere.command-r-v1:0"} {
		conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
			ModelId:  aws.String(model),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text_("What is the weather in Paris?")}}},
			ToolConfig: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
				Name: aws.String("get_weather"), Description: aws.String("Get the current weather in a city."),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
					"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}})},
			}}}},
		})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if conv.StopReason != types.StopReasonToolUse {
			t.Errorf("%s: stop reason %s", model, conv.StopReason)
		}
	}
}

func TestCohereJambaErrors(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	for _, tc := range []struct{ model, body, msg string }{
		{"cohere.command-r-v1:0", `{"chat_history":[]}`, "Malformed input request: #: required key [message] not found, please reformat your input and try again."},
		{"cohere.command-r-v1:0", `{"message":"x","temperature":3}`, "Malformed input request: #/temperature: 3 is not less or equal to 1, please reformat your input and try again."},
		{"cohere.command-r-plus-v1:0", `{"message":"x","search_queries_only":true}`, "search_queries_only is not supported"},
		{"ai21.jamba-1-5-mini-v1:0", `{"messages":[{"role":"user","content":"x"}],"max_tokens":4097}`, "Malformed input request: #/max_tokens: 4097 is not less or equal to 4096, please reformat your input and try again."},
		{"ai21.jamba-1-5-large-v1:0", `{"messages":[{"role":"user","content":"x"}],"n":2}`, "n is 2, but modelwatch generates one chat response per call"},
		{"ai21.jamba-1-5-large-v1:0", `{"prompt":"x"}`, "Malformed input request: #: required key [messages] not found#: extraneous key [prompt] is not permitted, please reformat your input and try again."},
	} {
		_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(tc.model), Body: []byte(tc.body)})
		apiError(t, err, "ValidationException", 400, tc.msg)
		_, _, _, err = invokeStream(t, client, tc.model, tc.body)
		apiError(t, err, "ValidationException", 400, tc.msg)
	}
}
