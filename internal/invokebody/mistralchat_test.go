package invokebody

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

var (
	mistralLarge = Model{ID: "mistral.mistral-large-2407-v1:0", MaxOutputTokens: 8192, DefaultMaxTokens: 8192}
	pixtral      = Model{ID: "mistral.pixtral-large-2502-v1:0", MaxOutputTokens: 4096, DefaultMaxTokens: 4096}
)

// pngOf is a real w x h PNG image, base64.
func pngOf(w, h int) string {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// tinyPNG is a real 2x1 PNG image, base64.
var tinyPNG = pngOf(2, 1)

func TestMistralChatDecode(t *testing.T) {
	for _, c := range []struct {
		name  string
		model Model
		body  string
		want  string
	}{
		{"AWS page example", mistralLarge,
			`{"messages":[{"role":"user","content":"What is the most popular song on WZPZ?"}],"max_tokens":200,"temperature":0.5,"top_p":0.9}`,
			`{"messages":[{"role":"user","content":[{"text":"What is the most popular song on WZPZ?"}]}],"inferenceConfig":{"maxTokens":200,"temperature":0.5,"topP":0.9}}`},
		{"default budget, system anywhere, stop string and seed", mistralLarge,
			`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"system","content":[{"type":"text","text":"Use French."}]}],"stop":"END","random_seed":7}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief."},{"text":"Use French."}],
			"inferenceConfig":{"maxTokens":8192,"stopSequences":["END"]},"additionalModelRequestFields":{"random_seed":7}}`},
		{"AWS page tool round trip", mistralLarge,
			`{"messages":[{"role":"user","content":"What is the most popular song on WZPZ?"},
			{"role":"assistant","content":"","tool_calls":[{"id":"v6RMMiRlT7ygYkT4uULjtg","function":{"name":"top_song","arguments":"{\"sign\": \"WZPZ\"}"}}]},
			{"role":"tool","tool_call_id":"v6RMMiRlT7ygYkT4uULjtg","content":"{\"song\": \"Elemental Hotel\", \"artist\": \"8 Storey Hike\"}"}],
			"tools":[{"type":"function","function":{"name":"top_song","description":"Get the most popular song played on a radio station.","parameters":{"type":"object","properties":{"sign":{"type":"string"}},"required":["sign"]}}}],
			"tool_choice":"auto"}`,
			`{"messages":[{"role":"user","content":[{"text":"What is the most popular song on WZPZ?"}]},
			{"role":"assistant","content":[{"toolUse":{"toolUseId":"v6RMMiRlT7ygYkT4uULjtg","name":"top_song","input":{"sign":"WZPZ"}}}]},
			{"role":"user","content":[{"toolResult":{"toolUseId":"v6RMMiRlT7ygYkT4uULjtg","content":[{"text":"{\"song\": \"Elemental Hotel\", \"artist\": \"8 Storey Hike\"}"}]}}]}],
			"inferenceConfig":{"maxTokens":8192},
			"toolConfig":{"tools":[{"toolSpec":{"name":"top_song","description":"Get the most popular song played on a radio station.","inputSchema":{"json":{"type":"object","properties":{"sign":{"type":"string"}},"required":["sign"]}}}}],"toolChoice":{"auto":{}}}}`},
		{"null content, object arguments, tool then user merge, any", mistralLarge,
			`{"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":null,"tool_calls":[{"id":"a1","type":"function","function":{"name":"f","arguments":{"x":1}}}]},
			{"role":"tool","tool_call_id":"a1","content":"42"},{"role":"user","content":"Thanks"}],
			"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"any"}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"a1","name":"f","input":{"x":1}}}]},
			{"role":"user","content":[{"toolResult":{"toolUseId":"a1","content":[{"text":"42"}]}},{"text":"Thanks"}]}],
			"inferenceConfig":{"maxTokens":8192},
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`},
		{"none offers no tools", mistralLarge,
			`{"messages":[{"role":"user","content":"Q"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]}],"inferenceConfig":{"maxTokens":8192}}`},
		{"specific tool", mistralLarge,
			`{"messages":[{"role":"user","content":"Q"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]}],"inferenceConfig":{"maxTokens":8192},
			"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"tool":{"name":"f"}}}}`},
		{"pixtral image parts", pixtral,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":"data:image/png;base64,` + tinyPNG + `"},
			{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` + tinyPNG + `"}}]}],"max_tokens":100}`,
			`{"messages":[{"role":"user","content":[{"text":"What is in this image?"},{"image":{"format":"png","source":{"bytes":"` + tinyPNG + `"}}},
			{"image":{"format":"png","source":{"bytes":"` + tinyPNG + `"}}}]}],"inferenceConfig":{"maxTokens":100}}`},
		{"tool history without tools declares the tools called", mistralLarge,
			`{"messages":[{"role":"user","content":"Q"},{"role":"assistant","tool_calls":[{"id":"a1","function":{"name":"f","arguments":"{}"}},{"id":"a2","function":{"name":"f","arguments":"{\"b\":2}"}}]},
			{"role":"tool","tool_call_id":"a1","content":"1"},{"role":"tool","tool_call_id":"a2","content":"2"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"a1","name":"f","input":{}}},{"toolUse":{"toolUseId":"a2","name":"f","input":{"b":2}}}]},
			{"role":"user","content":[{"toolResult":{"toolUseId":"a1","content":[{"text":"1"}]}},{"toolResult":{"toolUseId":"a2","content":[{"text":"2"}]}}]}],
			"inferenceConfig":{"maxTokens":8192},"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}}`},
		{"assistant prefill", mistralLarge,
			`{"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"Well,","prefix":true}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]},{"role":"assistant","content":[{"text":"Well,"}]}],"inferenceConfig":{"maxTokens":8192}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := mistralChatCodec{}.DecodeChat([]byte(c.body), c.model)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestMistralChatDecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"prompt body", `{"prompt":"<s>[INST] Hi [/INST]"}`,
			malformedMsg("#: required key [messages] not found", "#: extraneous key [prompt] is not permitted")},
		{"empty messages", `{"messages":[]}`, malformedMsg("#/messages: expected minimum item count: 1, found: 0")},
		{"bad role and tool choice", `{"messages":[{"role":"developer","content":"x"}],"tool_choice":"sometimes"}`,
			malformedMsg("#/messages/0/role: developer is not a valid enum value", "#/tool_choice: sometimes is not a valid enum value")},
		{"ranges", `{"messages":[{"role":"user","content":"x"}],"temperature":1.5,"top_p":-0.1,"max_tokens":8193}`,
			malformedMsg("#/max_tokens: 8193 is not less or equal to 8192", "#/temperature: 1.5 is not less or equal to 1", "#/top_p: -0.1 is not greater or equal to 0")},
		{"null outside messages", `{"messages":[{"role":"user","content":"x"}],"temperature":null}`,
			malformedMsg("#/temperature: expected type: Number, found: Null")},
		{"unknown part", `{"messages":[{"role":"user","content":[{"type":"audio","data":"x"}]}]}`,
			malformedMsg("#/messages/0/content/0/type: audio is not a valid enum value")},
		{"tool without id", `{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}`,
			malformedMsg("#/messages/1: required key [tool_call_id] not found")},
		{"arguments not an object", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"[1]"}}]}]}`,
			malformedMsg("#/messages/1/tool_calls/0/function/arguments: the arguments must be a JSON object")},
		{"remote image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://example.com/cat.png"}]}]}`,
			malformedMsg("#/messages/0/content/0/image_url: image URLs are not supported, send the image inline as a data URL (data:image/png;base64,...)")},
		{"not a data URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"cat.png"}}]}]}`,
			malformedMsg("#/messages/0/content/0/image_url/url: expected a base64 data URL such as data:image/png;base64,...")},
		{"unsupported type", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/tiff;base64,AAAA"}]}]}`,
			malformedMsg(`#/messages/0/content/0/image_url: image type "image/tiff" is not supported, expected png, jpeg, gif or webp`)},
		{"bad base64", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,!!!"}]}]}`,
			malformedMsg("#/messages/0/content/0/image_url: the image data is not valid base64")},
		{"not an image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,aGVsbG8="}]}]}`,
			malformedMsg("#/messages/0/content/0/image_url: image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image")},
		{"10,000 pixels wide", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + pngOf(10000, 1) + `"}}]}]}`,
			malformedMsg("#/messages/0/content/0/image_url/url: the image is 10000x1 pixels, image width and height can be at most 8000 pixels")},
		{"21 images", `{"messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"image_url","image_url":"data:image/png;base64,`+tinyPNG+`"},`, 20) +
			`{"type":"text","text":"x"}]},{"role":"assistant","content":"y"},{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,` + tinyPNG + `"}]}]}`,
			malformedMsg("#/messages/2: the request has more than 20 images, a request can contain at most 20")},
		{"image from the assistant", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"image_url","image_url":"data:image/png;base64,` + tinyPNG + `"}]}]}`,
			malformedMsg("#/messages/1/content/0: image_url parts are only accepted in user messages")},
		{"bad JSON", `{"messages":[`, malformedMsg("A JSONObject text must end with '}' at 13 [character 14 line 1]")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := mistralChatCodec{}.DecodeChat([]byte(c.body), mistralLarge)
			wantValidation(t, err, c.want)
		})
	}
	// The conversation rules are Converse's.
	_, err := mistralChatCodec{}.DecodeChat([]byte(`{"messages":[{"role":"assistant","content":"Hi"}]}`), mistralLarge)
	if err == nil {
		t.Fatal("a conversation starting with the assistant was accepted")
	}
	checkFuzzError(t, err, []string{"A conversation must start with a user message"})
}

func TestMistralChatEncode(t *testing.T) {
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "top_song", Input: json.RawMessage(`{"sign":"WZPZ"}`)}}
	reasoning := converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "hmm"}}}
	for _, c := range []struct {
		name string
		resp *converse.Response
		want string
	}{
		{"text", textResponse(converse.StopEndTurn, 12, 4, "Hello ", "<there>"),
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello <there>"},"stop_reason":"stop","finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`},
		{"length", textResponse(converse.StopMaxTokens, 3, 2, "Once upon"),
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"Once upon"},"stop_reason":"length","finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`},
		{"tool call, reasoning left out", response(converse.StopToolUse, 40, 20, reasoning, toolUse),
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"top_song","arguments":"{\"sign\":\"WZPZ\"}"}}]},"stop_reason":"tool_calls","finish_reason":"tool_calls"}],"usage":{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60}}`},
		{"no message", &converse.Response{StopReason: converse.StopContentFiltered},
			`{"choices":[{"index":0,"message":{"role":"assistant","content":""},"stop_reason":"stop","finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := mistralChatCodec{}.EncodeChat(nil, c.resp, Meta{})
			if err != nil || string(got) != c.want {
				t.Errorf("\n got: %s (%v)\nwant: %s", got, err, c.want)
			}
		})
	}
}

// assembleMistralChat rebuilds the InvokeModel body from Mistral chat
// stream chunks, checking the reasons and usage come on the last chunk
// only.
func assembleMistralChat(t *testing.T, chunks []string) []byte {
	t.Helper()
	var out mistralChatResponse
	out.Choices = []mistralChatChoice{{Message: mistralChatOutMessage{Role: converse.RoleAssistant}}}
	msg := &out.Choices[0].Message
	for i, c := range chunks {
		var ch struct {
			Choices []mistralChatStreamChoice `json:"choices"`
			Usage   *mistralChatUsage         `json:"usage"`
		}
		if err := json.Unmarshal([]byte(c), &ch); err != nil || len(ch.Choices) != 1 {
			t.Fatalf("chunk %s: want one choice (%v)", c, err)
		}
		ck := ch.Choices[0]
		msg.Content += ck.Message.Content
		msg.ToolCalls = append(msg.ToolCalls, ck.Message.ToolCalls...)
		last := i == len(chunks)-1
		if last != (ck.StopReason != nil) || last != (ck.FinishReason != nil) || last != (ch.Usage != nil) {
			t.Errorf("chunk %d of %d: %s: reasons and usage belong on the last chunk only", i+1, len(chunks), c)
		} else if last {
			out.Choices[0].StopReason, out.Choices[0].FinishReason, out.Usage = *ck.StopReason, *ck.FinishReason, *ch.Usage
		}
	}
	b, err := marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMistralChatStream(t *testing.T) {
	text := func(s string) string {
		return `{"choices":[{"index":0,"message":{"role":"assistant","content":` + s + `},"stop_reason":null,"finish_reason":null}]}`
	}
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{"a":1}`)}}
	wantChunks(t, encodeStream(t, MistralChat, splitDeltas(converse.Events(response(converse.StopToolUse, 9, 12, converse.TextBlock("Let me check."), toolUse)), 4)),
		text(`"Let "`), text(`"me c"`), text(`"heck"`), text(`"."`),
		`{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"stop_reason":null,"finish_reason":null}]}`,
		`{"choices":[{"index":0,"message":{"role":"assistant","content":""},"stop_reason":"tool_calls","finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`)
}

// myStreamFamilies are this file's and deepseek_test.go's streaming
// families, checked like the shared ones in stream_test.go.
var myStreamFamilies = map[string]func(t *testing.T, chunks []string) []byte{
	MistralChat: assembleMistralChat,
	DeepSeek:    assembleDeepSeek,
}

// TestMistralChatDeepSeekStreamCrossCheck checks that the assembled stream
// says what EncodeChat says, for every split of the deltas, with and
// without reasoning and tool use.
func TestMistralChatDeepSeekStreamCrossCheck(t *testing.T) {
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris","unit":"C"}`)}}
	think := func(s string) converse.ContentBlock {
		return converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: s}}}
	}
	resps := map[string]*converse.Response{
		"text":                textResponse(converse.StopEndTurn, 12, 6, "Hello <there> & \"you\"\n\té 日本 🎉 \u2028"),
		"two blocks":          textResponse(converse.StopEndTurn, 5, 9, "First part. ", "Second part."),
		"max_tokens":          textResponse(converse.StopMaxTokens, 3, 2, "Once upon"),
		"empty":               textResponse(converse.StopEndTurn, 4, 0),
		"reasoning":           response(converse.StopEndTurn, 7, 30, think("The user greets me.\nI greet back."), converse.TextBlock("Hello!")),
		"reasoning cut short": response(converse.StopMaxTokens, 7, 5, think("The user asks")),
		"reasoning only":      response(converse.StopEndTurn, 7, 5, think("Nothing to say.")),
		"tool use":            response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking the weather."), toolUse),
		"two tool uses":       response(converse.StopToolUse, 40, 20, toolUse, converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t2", Name: "g"}}),
	}
	for family, assemble := range myStreamFamilies {
		for name, resp := range resps {
			if resp.StopReason == converse.StopToolUse && family == DeepSeek {
				continue // DeepSeek's prompt API has no tool use
			}
			crossCheckStream(t, family, name, resp, assemble)
		}
	}
}

// TestMistralChatDeepSeekStreamRobust feeds partial streams, metadata
// alone and misuse to the encoders, as stream_test.go does for the shared
// families.
func TestMistralChatDeepSeekStreamRobust(t *testing.T) {
	resp := response(converse.StopToolUse, 10, 20,
		converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: "Let me think.", Signature: "c2ln"}}},
		converse.TextBlock("Checking."),
		converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{"a":1}`)}},
	)
	evs := splitDeltas(converse.Events(resp), 3)
	metadata := &converse.StreamEvent{Metadata: &converse.MetadataEvent{}}
	for family := range myStreamFamilies {
		for n := 0; n < len(evs); n++ {
			encodeStream(t, family, evs[:n])
		}
		chunks, err := streamCodec(t, family).NewStreamEncoder(nil, streamMeta).Encode(metadata)
		if err != nil || len(chunks) != 1 {
			t.Errorf("%s: metadata alone gave %d chunks (%v), want one", family, len(chunks), err)
		}
		enc := streamCodec(t, family).NewStreamEncoder(nil, streamMeta)
		if _, err := enc.Encode(metadata); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []*converse.StreamEvent{nil, {}, metadata} {
			if chunks, err := enc.Encode(ev); err == nil || len(chunks) != 0 {
				t.Errorf("%s: misuse gave %d chunks, error %v", family, len(chunks), err)
			}
		}
	}
}

func FuzzMistralChat(f *testing.F) {
	fuzzChat(f, mistralChatCodec{}, pixtral, []string{"A conversation", "The ", "1 validation error detected", "A toolResult", "A toolUse", "The toolConfig"},
		`{"messages":[{"role":"user","content":"What is the most popular song on WZPZ?"}],"max_tokens":200,"temperature":0.5,"top_p":0.9}`,
		`{"messages":[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":"data:image/png;base64,`+tinyPNG+`"}]}],"stop":["a",""],"random_seed":1}`,
		`{"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":null,"tool_calls":[{"id":"a1","function":{"name":"f","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"a1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"none"}`,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlh"}}]}]}`,
		`{"messages":[{"role":"assistant","content":"x","prefix":true}],"tool_choice":{"type":"function","function":{"name":"g"}}}`,
		`{"messages":[{"role":"tool","content":[]}]}`,
	)
}
