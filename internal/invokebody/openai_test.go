package invokebody

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// gptOss is gpt-oss-120b as a catalog might describe it: an output limit,
// no default budget.
var gptOss = Model{ID: "openai.gpt-oss-120b-1:0", MaxOutputTokens: 32768}

// openaiFixed is the codec with a fixed clock, so that created is
// deterministic.
var openaiFixed = openaiCodec{now: func() time.Time { return time.Unix(1754400000, 0) }}

var openaiMeta = Meta{RequestID: "b4d3c5a0-0000-4000-8000-000000000001", ModelID: gptOss.ID}

// openaiError is a refusal's message as Bedrock reports it for these models.
func openaiError(msg string) string { return "The model returned the following errors: " + msg }

func TestOpenAIForModelID(t *testing.T) {
	for id, want := range map[string]string{
		"openai.gpt-oss-120b-1:0":            OpenAI,
		"openai.gpt-oss-20b-1:0":             OpenAI,
		"openai.gpt-oss-safeguard-20b":       OpenAI,
		"us.openai.gpt-oss-120b-1:0":         "",
		"openai":                             "",
		"gpt-4o-mini":                        "",
		"arn:aws:bedrock:::openai.gpt-oss-1": "",
	} {
		if got := ForModelID(id); got != want {
			t.Errorf("ForModelID(%q) = %q, want %q", id, got, want)
		}
	}
	if _, ok := chatCodec(t, OpenAI).(StreamCodec); !ok {
		t.Error("the openai codec does not stream")
	}
}

func TestOpenAIDecode(t *testing.T) {
	user := `{"role":"user","content":"Hi"}`
	userJSON := `{"role":"user","content":[{"text":"Hi"}]}`
	for _, c := range []struct {
		name  string
		model Model
		body  string
		want  string
	}{
		{"user message", gptOss,
			`{"messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"system and developer messages become the system prompt", gptOss,
			`{"messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},` + user + `]}`,
			`{"system":[{"text":"Be brief."},{"text":"Answer in French."}],"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"content parts and an assistant turn", gptOss,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"Q1"},{"type":"text","text":"more"}]},
				{"role":"assistant","content":"A1"},{"role":"user","content":"Q2"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Q1"},{"text":"more"}]},{"role":"assistant","content":[{"text":"A1"}]},
				{"role":"user","content":[{"text":"Q2"}]}],"inferenceConfig":{"maxTokens":4096}}`},
		{"tools, tool calls and tool results", gptOss,
			`{"messages":[{"role":"user","content":"Weather in Paris?"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
				{"role":"tool","tool_call_id":"call_1","content":"18C"},
				{"role":"user","content":"Thanks. And tomorrow?"}],
			"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
			"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather in Paris?"}]},
				{"role":"assistant","content":[{"toolUse":{"toolUseId":"call_1","name":"get_weather","input":{"city":"Paris"}}}]},
				{"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"text":"18C"}]}},{"text":"Thanks. And tomorrow?"}]}],
			"inferenceConfig":{"maxTokens":4096},
			"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather by city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],
				"toolChoice":{"tool":{"name":"get_weather"}}}}`},
		{"tool_choice required", gptOss,
			`{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096},
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`},
		{"tool_choice none drops unused tools", gptOss,
			`{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"sampling and stop", gptOss,
			`{"messages":[` + user + `],"max_completion_tokens":300,"temperature":0.2,"top_p":0.9,"stop":["END","\n\n"]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":300,"temperature":0.2,"topP":0.9,"stopSequences":["END","\n\n"]}}`},
		{"stop as a string", gptOss,
			`{"messages":[` + user + `],"stop":"END"}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096,"stopSequences":["END"]}}`},
		{"max_tokens", gptOss,
			`{"messages":[` + user + `],"max_tokens":200}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":200}}`},
		{"max_completion_tokens wins over max_tokens", gptOss,
			`{"messages":[` + user + `],"max_tokens":200,"max_completion_tokens":100}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":100}}`},
		{"the model's default budget", Model{ID: gptOss.ID, MaxOutputTokens: 32768, DefaultMaxTokens: 2048},
			`{"messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":2048}}`},
		{"the family default within the model's limit", Model{ID: gptOss.ID, MaxOutputTokens: 1000},
			`{"messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":1000}}`},
		{"the family default for an unknown model", Model{},
			`{"messages":[` + user + `],"model":"anything"}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"members Converse has no field for", gptOss,
			`{"messages":[` + user + `],"top_k":40,"seed":7,"reasoning_effort":"high","logit_bias":{ "50256" : -100 },
				"presence_penalty":0.5,"frequency_penalty":-0.25}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096},
			"additionalModelRequestFields":{"reasoning_effort":"high","frequency_penalty":-0.25,"presence_penalty":0.5,"seed":7,"logit_bias":{"50256":-100},"top_k":40}}`},
		{"null members are absent", gptOss,
			`{"messages":[` + user + `],"model":null,"stream":null,"reasoning_effort":null,"seed":null,"max_tokens":null}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"other members are accepted and ignored", gptOss,
			`{"messages":[` + user + `],"user":"u1","metadata":{"k":"v"},"store":false,"parallel_tool_calls":true,"service_tier":"auto",
				"prompt_cache_key":"k","safety_identifier":"s","verbosity":"low","include_reasoning":true,"n":1,"logprobs":false}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"model as the base ID", gptOss,
			`{"model":"openai.gpt-oss-120b-1:0","messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"model as an inference profile", gptOss,
			`{"model":"us.openai.gpt-oss-120b-1:0","messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"model as a foundation-model ARN", gptOss,
			`{"model":"arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-120b-1:0","messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		// The codec serves both operations: the operation decides.
		{"stream true is ignored", gptOss,
			`{"messages":[` + user + `],"stream":true,"stream_options":{"include_usage":true}}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"stream_options without stream is ignored", gptOss,
			`{"messages":[` + user + `],"stream_options":{"include_usage":false}}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"stream false", gptOss,
			`{"stream":false,"messages":[` + user + `]}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096}}`},
		{"structured output", gptOss,
			`{"messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
			`{"messages":[` + userJSON + `],"inferenceConfig":{"maxTokens":4096},
			"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"name":"answer","schema":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}"}}}}}`},
		{"a reasoning answer sent back stays text", gptOss,
			`{"messages":[` + user + `,{"role":"assistant","content":"<reasoning>Greet back.</reasoning>Hello!"},{"role":"user","content":"Bye"}]}`,
			`{"messages":[` + userJSON + `,{"role":"assistant","content":[{"text":"<reasoning>Greet back.</reasoning>Hello!"}]},
				{"role":"user","content":[{"text":"Bye"}]}],"inferenceConfig":{"maxTokens":4096}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := openaiCodec{}.DecodeChat([]byte(c.body), c.model)
			wantRequest(t, req, err, c.want)
		})
	}
}

// openaiMemberList is the list Bedrock's refusal of an unknown member ends
// with, as users reported it.
const openaiMemberList = "`audio`, `frequency_penalty`, `function_call`, `functions`, `include_reasoning`, `logit_bias`, `logprobs`, " +
	"`max_completion_tokens`, `max_tokens`, `messages`, `metadata`, `modalities`, `model`, `n`, `parallel_tool_calls`, " +
	"`prediction`, `presence_penalty`, `prompt_cache_key`, `reasoning_effort`, `response_format`, `safety_identifier`, " +
	"`seed`, `service_tier`, `stop`, `store`, `stream`, `stream_options`, `temperature`, `text`, `tool_choice`, `tools`, " +
	"`top_k`, `top_logprobs`, `top_p`, `user`, `verbosity`, `web_search_options`"

func TestOpenAIDecodeErrors(t *testing.T) {
	const (
		parse = "Failed to parse the request body as JSON: "
		data  = "Failed to deserialize the JSON body into the target type: "
		hi    = `{"role":"user","content":"Hi"}`
	)
	for _, c := range []struct{ name, body, want string }{
		// The body's shape, in the model server's (serde's) wording.
		{"empty body", ``, parse + "EOF while parsing a value at line 1 column 0"},
		{"not JSON", `messages`, parse + "expected value at line 1 column 1"},
		{"truncated", `{"messages":[`, parse + "EOF while parsing a value at line 1 column 13"},
		{"missing colon, on the third line", "{\n  \"messages\": [],\n  \"n\" 2\n}", parse + "expected `:` at line 3 column 7"},
		{"missing comma", `{"messages":[] "n":1}`, parse + "expected `,` or `}` at line 1 column 16"},
		{"trailing characters", `{"messages":[` + hi + `]} {}`, parse + "trailing characters at line 1 column 47"},
		{"an array", `[` + hi + `]`, data + "invalid type: sequence, expected a map at line 1 column 32"},
		{"a Claude body", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[` + hi + `]}`,
			data + "unknown variant `anthropic_version`, expected one of " + openaiMemberList + " at line 1 column 20"},
		{"system as a member", `{"messages":[` + hi + `],"system":"Be brief."}`,
			data + "unknown variant `system`, expected one of " + openaiMemberList + " at line 1 column 53"},
		{"an unknown member before a syntax error", `{"system":"S","messages":[`,
			data + "unknown variant `system`, expected one of " + openaiMemberList + " at line 1 column 9"},
		{"a member twice", `{"messages":[` + hi + `],"messages":[]}`, data + "duplicate field `messages` at line 1 column 55"},
		{"no messages", `{"max_tokens":10}`, data + "missing field `messages` at line 1 column 17"},
		{"reasoning_effort as an object", `{"messages":[` + hi + `],"reasoning_effort":{"effort":"low"}}`,
			data + "reasoning_effort: invalid type: map, expected a string at line 1 column 80"},
		{"model as a number", `{"model":5,"messages":[` + hi + `]}`, data + "model: invalid type: integer `5`, expected a string at line 1 column 10"},
		{"stream as a string", `{"stream":"yes","messages":[` + hi + `]}`,
			data + `stream: invalid type: string "yes", expected a boolean at line 1 column 15`},
		{"seed as a fraction", `{"seed":1.5,"messages":[` + hi + `]}`, data + "seed: invalid type: floating point `1.5`, expected i64 at line 1 column 11"},
		{"a penalty as a string", `{"presence_penalty":"high","messages":[` + hi + `]}`,
			data + `presence_penalty: invalid type: string "high", expected f32 at line 1 column 26`},
		{"stream_options as a boolean", `{"stream_options":true,"messages":[` + hi + `]}`,
			data + "stream_options: invalid type: boolean `true`, expected a map at line 1 column 22"},

		// The request itself.
		{"another model", `{"model":"openai.gpt-oss-20b-1:0","messages":[` + hi + `]}`,
			`The model "openai.gpt-oss-20b-1:0" in the request body does not match the model of the request (openai.gpt-oss-120b-1:0). Omit the model member or set it to the model ID of the request.`},
		{"messages of the wrong type", `{"messages":"Hi"}`, "Invalid type for 'messages': a JSON string is not allowed here."},
		{"no message", `{"messages":[]}`, "Invalid 'messages': empty array. Expected an array with minimum length 1."},
		{"only a system message", `{"messages":[{"role":"system","content":"S"}]}`, "The conversation has no user message with content."},
		{"assistant first", `{"messages":[{"role":"assistant","content":"A"},` + hi + `]}`,
			"The conversation must start with a user message (after any system or developer messages)."},
		{"unknown role", `{"messages":[{"role":"bot","content":"A"}]}`,
			`Invalid value for 'messages[0].role': "bot". Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.`},
		{"tool message without its call ID", `{"messages":[` + hi + `,{"role":"tool","content":"42"}]}`,
			"Missing required parameter: 'messages[1].tool_call_id'."},
		{"tool results without tools", `{"messages":[` + hi + `,{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
			"The conversation contains tool calls or tool results, so 'tools' must list the tools they use."},
		{"tool_choice naming no tool", `{"messages":[` + hi + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`,
			`Invalid 'tool_choice': the function "g" is not among 'tools'.`},
		{"temperature over 1", `{"messages":[` + hi + `],"temperature":1.5}`,
			"Unsupported 'temperature': 1.5. The models behind this gateway accept values between 0 and 1."},
		{"two choices", `{"messages":[` + hi + `],"n":2}`,
			"Invalid 'n': 2. This model returns exactly one choice: leave 'n' unset or set it to 1."},
		{"log probabilities", `{"messages":[` + hi + `],"logprobs":true}`, "'logprobs' is not supported by this model."},
		{"zero max_tokens", `{"messages":[` + hi + `],"max_tokens":0}`, "Invalid 'max_tokens': 0. It must be at least 1."},
		{"max_completion_tokens over the model's limit", `{"messages":[` + hi + `],"max_completion_tokens":40000}`,
			"max_completion_tokens is too large: 40000. This model supports at most 32768 completion tokens, whereas you provided 40000."},
		{"empty stop sequence", `{"messages":[` + hi + `],"stop":["x",""]}`, "Invalid 'stop[1]': stop sequences must not be empty."},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := openaiCodec{}.DecodeChat([]byte(c.body), gptOss)
			if err == nil {
				t.Fatalf("accepted: %+v", req)
			}
			wantValidation(t, err, openaiError(c.want))
		})
	}
}

func TestOpenAIEncode(t *testing.T) {
	const head = `{"id":"chatcmpl-b4d3c5a0000040008000000000000001","object":"chat.completion","created":1754400000,"model":"openai.gpt-oss-120b-1:0",`
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Name: "get_weather", Input: json.RawMessage(`{"city": "Paris"}`)}}
	reasoning := converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "The user greets me."}}}
	cached := textResponse(converse.StopEndTurn, 10, 2, "Yes.")
	cached.Usage.CacheReadInputTokens, cached.Usage.CacheWriteInputTokens = 100, 20
	for _, c := range []struct {
		name string
		resp *converse.Response
		want string
	}{
		{"text", textResponse(converse.StopEndTurn, 12, 5, "Hello <b>you</b> & \"them\"\n"),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"Hello <b>you</b> & \"them\"\n","refusal":null},"finish_reason":"stop","logprobs":null}],` +
				`"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"two text blocks and a stop sequence", textResponse(converse.StopSequence, 3, 4, "One. ", "Two."),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"One. Two.","refusal":null},"finish_reason":"stop","logprobs":null}],` +
				`"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"max tokens", textResponse(converse.StopMaxTokens, 3, 2, "Once upon"),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"Once upon","refusal":null},"finish_reason":"length","logprobs":null}],` +
				`"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"text and a tool call", response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking."), toolUse),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"Checking.","refusal":null,` +
				`"tool_calls":[{"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
				`"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"a tool call alone has null content", response(converse.StopToolUse, 40, 20, toolUse),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,` +
				`"tool_calls":[{"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
				`"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"reasoning goes in front of the content", response(converse.StopEndTurn, 8, 9, reasoning, converse.TextBlock("Hello!")),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"<reasoning>The user greets me.</reasoning>Hello!","refusal":null},"finish_reason":"stop","logprobs":null}],` +
				`"usage":{"prompt_tokens":8,"completion_tokens":9,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}}}`},
		{"cached tokens count as prompt tokens", cached,
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"Yes.","refusal":null},"finish_reason":"stop","logprobs":null}],` +
				`"usage":{"prompt_tokens":130,"completion_tokens":2,"total_tokens":132,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":20}}}`},
		{"no output", textResponse(converse.StopContentFiltered, 4, 0),
			head + `"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"content_filter","logprobs":null}],` +
				`"usage":{"prompt_tokens":4,"completion_tokens":0,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":0}}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := openaiFixed.EncodeChat(nil, c.resp, openaiMeta)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("body mismatch\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

// TestOpenAIEncodeCreated checks that created is the time of encoding when
// no clock is set.
func TestOpenAIEncodeCreated(t *testing.T) {
	before := time.Now().Unix()
	out, err := openaiCodec{}.EncodeChat(nil, textResponse(converse.StopEndTurn, 1, 1, "x"), openaiMeta)
	if err != nil {
		t.Fatal(err)
	}
	var cc openai.ChatCompletion
	if err := json.Unmarshal(out, &cc); err != nil {
		t.Fatal(err)
	}
	if after := time.Now().Unix(); cc.Created < before || cc.Created > after {
		t.Errorf("created = %d, want between %d and %d", cc.Created, before, after)
	}
}

// TestOpenAIToolLoop runs a tool loop the way a client of InvokeModel does
// (send the conversation, append the reply's message and a tool message
// naming the tool call's ID, send it all again) through the codec and the
// simulator, streaming each call too: every ID the client sends back is the
// one the model made, the simulator recognises the results, and the
// assembled stream says what the body says.
func TestOpenAIToolLoop(t *testing.T) {
	sim := simulator.New(nil, simulator.Options{})
	ctx := context.Background()
	var msgs []json.RawMessage
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	send := func(step string) (openai.ResponseMessage, *converse.Request) {
		t.Helper()
		body := `{"model":"openai.gpt-oss-120b-1:0","max_completion_tokens":512,"tool_choice":"auto","reasoning_effort":"low",` +
			`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
			`{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}],` +
			`"messages":` + string(mustJSON(t, msgs)) + `}`
		req, err := openaiFixed.DecodeChat([]byte(body), gptOss)
		if err != nil {
			t.Fatalf("%s: DecodeChat: %v\nbody: %s", step, err, body)
		}
		call := provider.Call{RequestID: "req-" + step, ModelID: gptOss.ID}
		meta := Meta{RequestID: call.RequestID, ModelID: gptOss.ID}
		resp, err := sim.Converse(ctx, call, req)
		if err != nil {
			t.Fatalf("%s: Converse: %v", step, err)
		}
		out, err := openaiFixed.EncodeChat(req, resp, meta)
		if err != nil {
			t.Fatalf("%s: EncodeChat: %v", step, err)
		}
		var cc openai.ChatCompletion
		if err := json.Unmarshal(out, &cc); err != nil || len(cc.Choices) != 1 {
			t.Fatalf("%s: body %s: %v", step, out, err)
		}
		if cc.ID != "chatcmpl-req"+step || cc.Model != gptOss.ID || cc.Object != openai.ObjectChatCompletion {
			t.Errorf("%s: id %q, model %q, object %q", step, cc.ID, cc.Model, cc.Object)
		}

		chunks := simulatedChunks(t, step, sim, ctx, call, req, openaiFixed.NewStreamEncoder(req, meta))
		var streamed openai.ChatCompletion
		if err := json.Unmarshal(assembleOpenAI(t, chunks), &streamed); err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, mustJSON(t, streamed.Choices[0].Message), string(mustJSON(t, cc.Choices[0].Message))) {
			t.Errorf("%s: streamed message differs from the body's\nstream: %s\n  body: %s", step, mustJSON(t, streamed.Choices[0].Message), mustJSON(t, cc.Choices[0].Message))
		}
		return cc.Choices[0].Message, req
	}
	toolCall := func(step string, msg openai.ResponseMessage, tool string) openai.ToolCall {
		t.Helper()
		if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != tool || msg.ToolCalls[0].ID == "" {
			t.Fatalf("%s: want one %s call, got %+v", step, tool, msg.ToolCalls)
		}
		return msg.ToolCalls[0]
	}
	answered := func(step string, msg openai.ResponseMessage, tool string) {
		t.Helper()
		if msg.Content == nil || !strings.Contains(*msg.Content, tool) {
			t.Errorf("%s: reply to the tool result does not name %s (the model did not match the IDs): %+v", step, tool, msg)
		}
	}

	add(map[string]any{"role": "system", "content": "Use the tools."})
	add(map[string]any{"role": "user", "content": "What does get_weather say for Paris?"})
	reply, _ := send("1")
	weather := toolCall("1", reply, "get_weather")
	add(reply)
	add(map[string]any{"role": "tool", "tool_call_id": weather.ID, "content": "18C and sunny"})
	reply, _ = send("2")
	answered("2", reply, "get_weather")
	add(reply)

	add(map[string]any{"role": "user", "content": "And what does get_time say there?"})
	reply, _ = send("3")
	clock := toolCall("3", reply, "get_time")
	if clock.ID == weather.ID {
		t.Errorf("two calls share the ID %s", clock.ID)
	}
	add(reply)
	add(map[string]any{"role": "tool", "tool_call_id": clock.ID, "content": "14:05"})
	reply, req := send("4")
	answered("4", reply, "get_time")

	var ids []string
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.ToolUse != nil {
				ids = append(ids, b.ToolUse.ToolUseID)
			}
			if b.ToolResult != nil {
				ids = append(ids, b.ToolResult.ToolUseID)
			}
		}
	}
	if want := []string{weather.ID, weather.ID, clock.ID, clock.ID}; strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("tool-use IDs sent to the model = %v, want %v", ids, want)
	}
	if string(req.AdditionalModelRequestFields) != `{"reasoning_effort":"low"}` {
		t.Errorf("additionalModelRequestFields = %s", req.AdditionalModelRequestFields)
	}
}

func BenchmarkOpenAIDecode(b *testing.B) {
	body := []byte(`{"model":"openai.gpt-oss-120b-1:0","messages":[{"role":"system","content":"You are a helpful assistant."},
		{"role":"user","content":"What is the capital of France?"},{"role":"assistant","content":"Paris."},
		{"role":"user","content":"And of Germany? Answer in one word, please."}],"max_completion_tokens":256,"temperature":0.7,"reasoning_effort":"low"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (openaiCodec{}).DecodeChat(body, gptOss); err != nil {
			b.Fatal(err)
		}
	}
}
