package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// Issue 16's Mistral chat (Large 2, Large 3, Pixtral), DeepSeek (R1,
// V3.1) and Llama 4 models, called as their users do: the AWS SDK for Go
// v2 with bodies from AWS's documentation examples, through InvokeModel,
// InvokeModelWithResponseStream and Converse. The simulator answers in
// echo mode (the reply is the last user message), so every text and token
// count is known exactly: input tokens are the simulator's count of the
// conversation the body parses into (1 per request, 3 per message, the
// text's tokens, 85 for a small image), output tokens the reply's.

// mdlModels are the models under test.
var mdlModels = []string{
	"meta.llama4-maverick-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0",
	"mistral.mistral-large-2407-v1:0", "mistral.mistral-large-3-675b-instruct", "mistral.pixtral-large-2502-v1:0",
	"deepseek.r1-v1:0", "deepseek.v3-v1:0",
}

// startEchoServer runs a server whose models under test answer in echo
// mode.
func startEchoServer(t *testing.T) (*bedrockruntime.Client, *recorder) {
	srv, rec := startServer(t, func(cfg *config.Config) {
		for i := range cfg.Models {
			for _, id := range mdlModels {
				if cfg.Models[i].ID == id {
					cfg.Models[i].Simulator.Reply = simulator.ReplyEcho
				}
			}
		}
	})
	return runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret"), rec
}

// mdlPNG is a real 4x4 PNG image.
var mdlPNG = func() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()

// mdlPNGOf is a real w x h PNG image, base64.
func mdlPNGOf(w, h int) string {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// conversationTokens is the simulator's input count of a conversation of
// the given message texts (and small images), with a system prompt.
func conversationTokens(system []string, messages [][]string, images int) int {
	n := 1 + 85*images
	for _, s := range system {
		n += simulator.CountTokens(s)
	}
	for _, m := range messages {
		n += 3
		for _, s := range m {
			n += simulator.CountTokens(s)
		}
	}
	return n
}

// mdlCase is one model called with one AWS documentation body.
type mdlCase struct {
	name, model, body string
	// echo is the reply; in and out the exact token counts.
	echo    string
	in, out int
	// text reads the reply text and the native stop reason from an
	// InvokeModel body, or from the concatenated stream chunks.
	text func(t *testing.T, body map[string]any) (text, reason string)
	// streamText reads the new text of one stream chunk, and the stop
	// reason when it carries one.
	streamText func(t *testing.T, chunk map[string]any) (text, reason string)
	// converse is the same conversation for Converse.
	converse *bedrockruntime.ConverseInput
	// reasoning: the reply starts with the model's reasoning.
	reasoning bool
}

func llamaText(_ *testing.T, o map[string]any) (string, string) {
	s, _ := o["stop_reason"].(string)
	return o["generation"].(string), s
}

func mistralChatText(t *testing.T, o map[string]any) (string, string) {
	ch := o["choices"].([]any)[0].(map[string]any)
	msg := ch["message"].(map[string]any)
	stop, _ := ch["stop_reason"].(string)
	if finish, _ := ch["finish_reason"].(string); finish != stop {
		t.Errorf("finish_reason %q differs from stop_reason %q", finish, stop)
	}
	return msg["content"].(string), stop
}

func deepseekText(_ *testing.T, o map[string]any) (string, string) {
	ch := o["choices"].([]any)[0].(map[string]any)
	s, _ := ch["stop_reason"].(string)
	return ch["text"].(string), s
}

func userText(s string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text(s)}}
}

func mdlCases() []mdlCase {
	llamaQ := "Describe the purpose of a 'hello world' program in one line."
	llama4Prompt := "<|begin_of_text|><|header_start|>user<|header_end|>\n\n" + llamaQ + "<|eot|><|header_start|>assistant<|header_end|>\n\n"
	llamaBody, _ := json.Marshal(map[string]any{"prompt": llama4Prompt, "max_gen_len": 512, "temperature": 0.5})
	wzpz := "What is the most popular song on WZPZ?"
	deepseekQ := "Hi. In a short paragraph, explain what you can do."
	r1Body, _ := json.Marshal(map[string]any{"prompt": "<｜begin▁of▁sentence｜><｜User｜>" + deepseekQ + "<｜Assistant｜><think>\n", "max_tokens": 512, "temperature": 0.5, "top_p": 0.9})
	v3Body, _ := json.Marshal(map[string]any{"prompt": "<｜begin▁of▁sentence｜><｜User｜>" + deepseekQ + "<｜Assistant｜></think>", "max_tokens": 512, "temperature": 0.5, "top_p": 0.9})
	pixQ := "What is in this image?"
	pixBody := `{"messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":[{"type":"text","text":"` + pixQ + `"},{"type":"image_url","image_url":"data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(mdlPNG) + `"}]}],"max_tokens":300}`
	converse := func(model string, maxTokens int32, msgs ...types.Message) *bedrockruntime.ConverseInput {
		return &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}}
	}
	var cases []mdlCase
	for _, model := range []string{"meta.llama4-maverick-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0"} {
		cases = append(cases, mdlCase{name: model, model: model, body: string(llamaBody), echo: llamaQ,
			in: conversationTokens(nil, [][]string{{llamaQ}}, 0), out: simulator.CountTokens(llamaQ),
			text: llamaText, streamText: llamaText, converse: converse(model, 512, userText(llamaQ))})
	}
	for _, model := range []string{"mistral.mistral-large-2407-v1:0", "mistral.mistral-large-3-675b-instruct"} {
		cases = append(cases, mdlCase{name: model, model: model,
			body: `{"messages":[{"role":"user","content":"` + wzpz + `"}],"max_tokens":200,"temperature":0.5,"top_p":0.9}`, echo: wzpz,
			in: conversationTokens(nil, [][]string{{wzpz}}, 0), out: simulator.CountTokens(wzpz),
			text: mistralChatText, streamText: mistralChatText, converse: converse(model, 200, userText(wzpz))})
	}
	pixConverse := converse("mistral.pixtral-large-2502-v1:0", 300, types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
		text(pixQ), &types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: mdlPNG}}}}})
	pixConverse.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Answer briefly."}}
	cases = append(cases,
		mdlCase{name: "pixtral with an image", model: "mistral.pixtral-large-2502-v1:0", body: pixBody, echo: pixQ,
			in: conversationTokens([]string{"Answer briefly."}, [][]string{{pixQ}}, 1), out: simulator.CountTokens(pixQ),
			text: mistralChatText, streamText: mistralChatText, converse: pixConverse},
		mdlCase{name: "deepseek-r1 through its profile", model: "us.deepseek.r1-v1:0", body: string(r1Body), echo: deepseekQ,
			in: conversationTokens(nil, [][]string{{deepseekQ}}, 0), out: -1, reasoning: true,
			text: deepseekText, streamText: deepseekText, converse: converse("us.deepseek.r1-v1:0", 512, userText(deepseekQ))},
		mdlCase{name: "deepseek-v3.1", model: "deepseek.v3-v1:0", body: string(v3Body), echo: deepseekQ,
			in: conversationTokens(nil, [][]string{{deepseekQ}}, 0), out: simulator.CountTokens(deepseekQ),
			text: deepseekText, streamText: deepseekText, converse: converse("deepseek.v3-v1:0", 512, userText(deepseekQ))},
	)
	return cases
}

func TestMistralDeepSeekLlama4(t *testing.T) {
	client, rec := startEchoServer(t)
	ctx := context.Background()
	for _, c := range mdlCases() {
		t.Run(c.name, func(t *testing.T) {
			// Converse first: its reasoning is what the native bodies
			// must carry inline.
			conv, err := client.Converse(ctx, c.converse)
			if err != nil {
				t.Fatal(err)
			}
			var reasoning, answer string
			for _, b := range conv.Output.(*types.ConverseOutputMemberMessage).Value.Content {
				switch v := b.(type) {
				case *types.ContentBlockMemberText:
					answer += v.Value
				case *types.ContentBlockMemberReasoningContent:
					rt, ok := v.Value.(*types.ReasoningContentBlockMemberReasoningText)
					if !ok {
						t.Fatalf("reasoning block %T, want reasoningText", v.Value)
					}
					if rt.Value.Signature != nil {
						t.Errorf("DeepSeek reasoning has a signature %q", *rt.Value.Signature)
					}
					reasoning += aws.ToString(rt.Value.Text)
				}
			}
			if answer != c.echo || conv.StopReason != types.StopReasonEndTurn {
				t.Fatalf("Converse answered %q (%s), want %q", answer, conv.StopReason, c.echo)
			}
			if (reasoning != "") != c.reasoning {
				t.Fatalf("Converse reasoning %q, want reasoning: %v", reasoning, c.reasoning)
			}
			wantOut := c.out
			if c.reasoning {
				wantOut = simulator.CountTokens(reasoning) + simulator.CountTokens(c.echo)
			}
			if u := conv.Usage; int(*u.InputTokens) != c.in || int(*u.OutputTokens) != wantOut {
				t.Errorf("Converse usage in=%d out=%d, want in=%d out=%d", *u.InputTokens, *u.OutputTokens, c.in, wantOut)
			}
			wantText := c.echo
			if c.reasoning {
				wantText = reasoning + "\n</think>\n\n" + c.echo
			}
			wantReason := "stop"

			out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.model), Body: []byte(c.body),
				ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(out.Body, &body); err != nil {
				t.Fatalf("response is not JSON: %v: %s", err, out.Body)
			}
			if got, reason := c.text(t, body); got != wantText || reason != wantReason {
				t.Errorf("InvokeModel text %q (%s), want %q (%s)", got, reason, wantText, wantReason)
			}
			hdrIn, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
			hdrOut, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"))
			if hdrIn != c.in || hdrOut != wantOut {
				t.Errorf("InvokeModel headers in=%d out=%d, want in=%d out=%d", hdrIn, hdrOut, c.in, wantOut)
			}
			switch {
			case body["usage"] != nil: // Mistral chat
				u := body["usage"].(map[string]any)
				if int(u["prompt_tokens"].(float64)) != c.in || int(u["completion_tokens"].(float64)) != wantOut || int(u["total_tokens"].(float64)) != c.in+wantOut {
					t.Errorf("usage %v, want %d + %d", u, c.in, wantOut)
				}
			case body["prompt_token_count"] != nil: // Llama
				if int(body["prompt_token_count"].(float64)) != c.in || int(body["generation_token_count"].(float64)) != wantOut {
					t.Errorf("llama counts %v, want %d and %d", body, c.in, wantOut)
				}
			}
			inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
			if inv.Operation != invocation.InvokeModel || inv.Status != 200 || inv.Usage.InputTokens != c.in || inv.Usage.OutputTokens != wantOut ||
				string(inv.Input.Data) != c.body || string(inv.Output.Data) != string(out.Body) {
				t.Errorf("invocation %+v", inv)
			}

			id, chunks, _, err := invokeStream(t, client, c.model, c.body)
			if err != nil {
				t.Fatal(err)
			}
			var streamed strings.Builder
			for i, ch := range chunks {
				s, reason := c.streamText(t, ch)
				streamed.WriteString(s)
				if last := i == len(chunks)-1; last != (reason != "") {
					t.Errorf("chunk %d of %d has stop reason %q", i+1, len(chunks), reason)
				} else if last && reason != wantReason {
					t.Errorf("stream stop reason %q, want %q", reason, wantReason)
				}
			}
			if streamed.String() != wantText {
				t.Errorf("stream text %q, want %q", streamed.String(), wantText)
			}
			m := chunks[len(chunks)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)
			if int(m["inputTokenCount"].(float64)) != c.in || int(m["outputTokenCount"].(float64)) != wantOut {
				t.Errorf("stream metrics %v, want in=%d out=%d", m, c.in, wantOut)
			}
			if inv := rec.byRequestID(t, id); inv.Operation != invocation.InvokeModelWithResponseStream || !inv.Streamed || inv.Usage.OutputTokens != wantOut {
				t.Errorf("stream invocation %+v", inv)
			}
		})
	}
}

// TestMistralChatTools runs the AWS page's tool example: the model calls
// top_song, the tool result goes back, the model answers.
func TestMistralChatTools(t *testing.T) {
	// The simulator generates replies here: in echo mode the answer to a
	// tool result would be empty.
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	tools := `"tools":[{"type":"function","function":{"name":"top_song","description":"Get the most popular song played on a radio station.","parameters":{"type":"object","properties":{"sign":{"type":"string","description":"The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},"required":["sign"]}}}]`
	first := `{"messages":[{"role":"user","content":"What is the most popular song on WZPZ?"}],` + tools + `,"tool_choice":"any"}`
	out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("mistral.mistral-large-2407-v1:0"), Body: []byte(first)})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content   string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			StopReason string `json:"stop_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(out.Body, &resp); err != nil || len(resp.Choices) != 1 {
		t.Fatalf("%s: %v", out.Body, err)
	}
	ch := resp.Choices[0]
	if ch.StopReason != "tool_calls" || ch.Message.Content != "" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("response %s", out.Body)
	}
	call := ch.Message.ToolCalls[0]
	var args map[string]string
	if call.Type != "function" || call.Function.Name != "top_song" || json.Unmarshal([]byte(call.Function.Arguments), &args) != nil || args["sign"] == "" || len(call.ID) != 30 {
		t.Fatalf("tool call %+v", call)
	}
	// The streamed call is the same call, whole in one chunk.
	_, chunks, _, err := invokeStream(t, client, "mistral.mistral-large-2407-v1:0", first)
	if err != nil {
		t.Fatal(err)
	}
	var streamedCalls []any
	for _, c := range chunks {
		msg := c["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		if tc, ok := msg["tool_calls"].([]any); ok {
			streamedCalls = append(streamedCalls, tc...)
		}
	}
	if len(streamedCalls) != 1 || streamedCalls[0].(map[string]any)["id"] != call.ID {
		t.Errorf("streamed tool calls %v, want the call %s", streamedCalls, call.ID)
	}
	if last := chunks[len(chunks)-1]["choices"].([]any)[0].(map[string]any); last["stop_reason"] != "tool_calls" {
		t.Errorf("last chunk %v", last)
	}

	result := `{"song": "Elemental Hotel", "artist": "8 Storey Hike"}`
	callJSON, _ := json.Marshal(map[string]any{"id": call.ID, "function": map[string]string{"name": "top_song", "arguments": call.Function.Arguments}})
	resultJSON, _ := json.Marshal(result)
	second := `{"messages":[{"role":"user","content":"What is the most popular song on WZPZ?"},{"role":"assistant","content":"","tool_calls":[` + string(callJSON) +
		`]},{"role":"tool","tool_call_id":"` + call.ID + `","content":` + string(resultJSON) + `}],` + tools + `}`
	out, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("mistral.mistral-large-2407-v1:0"), Body: []byte(second)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Choices = nil // decode afresh: the first answer's tool calls must not linger
	if err := json.Unmarshal(out.Body, &resp); err != nil || len(resp.Choices) != 1 {
		t.Fatalf("%s: %v", out.Body, err)
	}
	if ch := resp.Choices[0]; ch.StopReason != "stop" || len(ch.Message.ToolCalls) != 0 || ch.Message.Content == "" {
		t.Errorf("answer after the tool result: %s", out.Body)
	}

	// Converse with the same tool gives the same kind of call.
	conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("mistral.mistral-large-2407-v1:0"),
		Messages: []types.Message{userText("What is the most popular song on WZPZ?")},
		ToolConfig: &types.ToolConfiguration{ToolChoice: &types.ToolChoiceMemberAny{}, Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
			Name: aws.String("top_song"), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
				"type": "object", "properties": map[string]any{"sign": map[string]any{"type": "string"}}, "required": []string{"sign"}})}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if conv.StopReason != types.StopReasonToolUse {
		t.Errorf("Converse stop reason %s", conv.StopReason)
	}
}

// TestMistralDeepSeekLlama4Errors checks the refusals users meet, in
// Bedrock's words.
func TestMistralDeepSeekLlama4Errors(t *testing.T) {
	client, _ := startEchoServer(t)
	for _, c := range []struct{ name, model, body, msg string }{
		{"deepseek max_tokens over 32768", "us.deepseek.r1-v1:0", `{"prompt":"Hi","max_tokens":32769}`,
			"Malformed input request: #/max_tokens: 32769 is not less or equal to 32768, please reformat your input and try again."},
		{"deepseek temperature over 1", "deepseek.v3-v1:0", `{"prompt":"Hi","temperature":1.5}`,
			"Malformed input request: #/temperature: 1.5 is not less or equal to 1, please reformat your input and try again."},
		{"mistral chat prompt body", "mistral.mistral-large-2407-v1:0", `{"prompt":"<s>[INST] Hi [/INST]"}`,
			"Malformed input request: #: required key [messages] not found#: extraneous key [prompt] is not permitted, please reformat your input and try again."},
		{"pixtral remote image", "mistral.pixtral-large-2502-v1:0", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://example.com/a.png"}]}]}`,
			"Malformed input request: #/messages/0/content/0/image_url: image URLs are not supported, send the image inline as a data URL (data:image/png;base64,...), please reformat your input and try again."},
		{"pixtral not an image", "mistral.pixtral-large-2502-v1:0", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,aGVsbG8="}]}]}`,
			"Malformed input request: #/messages/0/content/0/image_url: image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image, please reformat your input and try again."},
		{"pixtral 10,000-pixel image", "mistral.pixtral-large-2502-v1:0", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,` + mdlPNGOf(10000, 2) + `"}]}]}`,
			"Malformed input request: #/messages/0/content/0/image_url: the image is 10000x2 pixels, image width and height can be at most 8000 pixels, please reformat your input and try again."},
		{"image to a text-only Mistral", "mistral.mistral-large-2407-v1:0",
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(mdlPNG) + `"}]}]}`,
			"This model doesn't support the image content block that you provided. Try again with a supported content block."},
		{"llama 4 image not an image", "meta.llama4-scout-17b-instruct-v1:0", `{"prompt":"Describe","images":["aGVsbG8="]}`,
			"Malformed input request: #/images/0: image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image, please reformat your input and try again."},
		{"llama 4 over its limit", "meta.llama4-scout-17b-instruct-v1:0", `{"prompt":"Hi","max_gen_len":4097}`,
			"Malformed input request: #/max_gen_len: 4097 is not less or equal to 4096, please reformat your input and try again."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.model), Body: []byte(c.body)})
			apiError(t, err, "ValidationException", 400, c.msg)
		})
	}
}

// TestLlama4Images sends Llama 4 an image in its native images member:
// the image is counted as Converse counts the same image block.
func TestLlama4Images(t *testing.T) {
	client, _ := startEchoServer(t)
	q := "What is in this image?"
	body, _ := json.Marshal(map[string]any{
		"prompt": "<|begin_of_text|><|header_start|>user<|header_end|>\n\n<|image|>" + q + "<|eot|><|header_start|>assistant<|header_end|>\n\n",
		"images": []string{base64.StdEncoding.EncodeToString(mdlPNG)}, "max_gen_len": 100,
	})
	out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("meta.llama4-maverick-17b-instruct-v1:0"), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Generation string `json:"generation"`
		Prompt     int    `json:"prompt_token_count"`
		Generated  int    `json:"generation_token_count"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(out.Body, &resp); err != nil {
		t.Fatal(err)
	}
	prompt := "<|image|>" + q
	if resp.Generation != prompt || resp.StopReason != "stop" || resp.Prompt != conversationTokens(nil, [][]string{{prompt}}, 1) || resp.Generated != simulator.CountTokens(prompt) {
		t.Errorf("response %s, want the echo %q with %d prompt tokens", out.Body, prompt, conversationTokens(nil, [][]string{{prompt}}, 1))
	}
	// Llama 3 8B takes no images.
	_, err = client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("meta.llama3-8b-instruct-v1:0"), Body: body})
	apiError(t, err, "ValidationException", 400, "This model doesn't support the image content block that you provided.")
}
