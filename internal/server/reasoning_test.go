package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

const (
	sonnet45  = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	nova2Lite = "amazon.nova-2-lite-v1:0"
	gptOSS    = "openai.gpt-oss-20b-1:0"
)

// reasoningOf splits a Converse answer into its reasoning block and text.
func reasoningOf(t *testing.T, msg types.Message) (*types.ReasoningTextBlock, string) {
	t.Helper()
	if len(msg.Content) != 2 {
		t.Fatalf("content = %#v, want reasoning then text", msg.Content)
	}
	rc, ok := msg.Content[0].(*types.ContentBlockMemberReasoningContent)
	if !ok {
		t.Fatalf("first block is %T, want reasoning", msg.Content[0])
	}
	rt, ok := rc.Value.(*types.ReasoningContentBlockMemberReasoningText)
	if !ok {
		t.Fatalf("reasoning block is %T, want reasoningText", rc.Value)
	}
	txt, ok := msg.Content[1].(*types.ContentBlockMemberText)
	if !ok {
		t.Fatalf("second block is %T, want text", msg.Content[1])
	}
	return &rt.Value, txt.Value
}

func TestReasoningConverseClaude(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	thinking := document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}})
	question := types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("How many prime numbers are below 20?")}}
	first, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String("us." + sonnet45), Messages: []types.Message{question},
		InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)},
		AdditionalModelRequestFields: thinking,
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Output.(*types.ConverseOutputMemberMessage).Value
	rt, answer := reasoningOf(t, msg)
	reasoning := simulator.CountTokens(aws.ToString(rt.Text))
	// Claude uses 1/16 to 1/8 of its budget on a question like this.
	if reasoning < 2048/16 || reasoning > 2048/8 || aws.ToString(rt.Signature) == "" {
		t.Errorf("reasoning of %d tokens, signature %q", reasoning, aws.ToString(rt.Signature))
	}
	if got, want := int(*first.Usage.OutputTokens), reasoning+simulator.CountTokens(answer); got != want {
		t.Errorf("outputTokens = %d, want reasoning %d + answer = %d", got, reasoning, want)
	}
	if *first.Usage.TotalTokens != *first.Usage.InputTokens+*first.Usage.OutputTokens {
		t.Errorf("usage %+v", first.Usage)
	}
	inv := rec.byRequestID(t, requestID(t, first.ResultMetadata))
	if inv.Usage.OutputTokens != int(*first.Usage.OutputTokens) {
		t.Errorf("recorded output tokens %d, response %d", inv.Usage.OutputTokens, *first.Usage.OutputTokens)
	}

	// The same answer without thinking: reasoning only adds to it.
	plain, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{question},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Output.(*types.ConverseOutputMemberMessage).Value.Content) != 1 || int(*plain.Usage.OutputTokens) != simulator.CountTokens(answer) {
		t.Errorf("without thinking: %d output tokens, want %d", *plain.Usage.OutputTokens, simulator.CountTokens(answer))
	}

	followUp := func(m types.Message) *bedrockruntime.ConverseInput {
		return &bedrockruntime.ConverseInput{
			ModelId: aws.String(sonnet45),
			Messages: []types.Message{question, m,
				{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Name them.")}}},
			InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)},
			AdditionalModelRequestFields: thinking,
		}
	}
	t.Run("reasoning sent back", func(t *testing.T) {
		out, err := client.Converse(ctx, followUp(msg))
		if err != nil {
			t.Fatal(err)
		}
		reasoningOf(t, out.Output.(*types.ConverseOutputMemberMessage).Value)
	})
	t.Run("tampered reasoning", func(t *testing.T) {
		changed := types.Message{Role: msg.Role, Content: []types.ContentBlock{
			&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{
				Text: aws.String(aws.ToString(rt.Text) + " Actually, nine."), Signature: rt.Signature}}},
			msg.Content[1]}}
		_, err := client.Converse(ctx, followUp(changed))
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: messages.1.content.0: Invalid signature in thinking block")
	})
	t.Run("redacted reasoning accepted", func(t *testing.T) {
		redacted := types.Message{Role: msg.Role, Content: []types.ContentBlock{
			&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: []byte("opaque-bytes")}},
			msg.Content[1]}}
		if _, err := client.Converse(ctx, followUp(redacted)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("budget not below maxTokens", func(t *testing.T) {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{question},
			InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(2048)},
			AdditionalModelRequestFields: thinking})
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.")
	})
	t.Run("temperature with thinking", func(t *testing.T) {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{question},
			InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096), Temperature: aws.Float32(0.2)},
			AdditionalModelRequestFields: thinking})
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: `temperature` may only be set to 1 when thinking is enabled.")
	})

	t.Run("stream", func(t *testing.T) {
		out, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
			ModelId: aws.String(sonnet45), Messages: []types.Message{question},
			InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)},
			AdditionalModelRequestFields: thinking,
		})
		if err != nil {
			t.Fatal(err)
		}
		st := out.GetStream()
		defer st.Close()
		var (
			order     []string
			text, sig strings.Builder
			body      strings.Builder
			usage     *types.TokenUsage
		)
		note := func(s string) {
			if len(order) == 0 || order[len(order)-1] != s {
				order = append(order, s)
			}
		}
		for ev := range st.Events() {
			switch e := ev.(type) {
			case *types.ConverseStreamOutputMemberContentBlockStart:
				note("start")
			case *types.ConverseStreamOutputMemberContentBlockDelta:
				idx := strconv.Itoa(int(*e.Value.ContentBlockIndex))
				switch d := e.Value.Delta.(type) {
				case *types.ContentBlockDeltaMemberReasoningContent:
					switch r := d.Value.(type) {
					case *types.ReasoningContentBlockDeltaMemberText:
						text.WriteString(r.Value)
						note("reasoning" + idx)
					case *types.ReasoningContentBlockDeltaMemberSignature:
						sig.WriteString(r.Value)
						note("signature" + idx)
					}
				case *types.ContentBlockDeltaMemberText:
					body.WriteString(d.Value)
					note("text" + idx)
				}
			case *types.ConverseStreamOutputMemberContentBlockStop:
				note("stop" + strconv.Itoa(int(*e.Value.ContentBlockIndex)))
			case *types.ConverseStreamOutputMemberMetadata:
				usage = e.Value.Usage
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(order, " "); got != "reasoning0 signature0 stop0 text1 stop1" {
			t.Errorf("event order %s", got)
		}
		if text.String() != aws.ToString(rt.Text) || sig.String() != aws.ToString(rt.Signature) || body.String() != answer {
			t.Errorf("stream differs from Converse: %q / %q / %q", text.String(), sig.String(), body.String())
		}
		if usage == nil || *usage.OutputTokens != *first.Usage.OutputTokens {
			t.Errorf("stream usage %+v, Converse %+v", usage, first.Usage)
		}
	})
}

func TestReasoningConverseNovaAndGptOSS(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	question := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Plan a three day trip to Lisbon.")}}}
	for _, tc := range []struct {
		model  string
		fields map[string]any
		lo, hi int
	}{
		{nova2Lite, map[string]any{"reasoningConfig": map[string]any{"type": "enabled", "maxReasoningEffort": "low"}}, 200, 600},
		{gptOSS, map[string]any{"reasoning_effort": "low"}, 20, 60},
	} {
		t.Run(tc.model, func(t *testing.T) {
			out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(tc.model), Messages: question,
				AdditionalModelRequestFields: document.NewLazyDocument(tc.fields)})
			if err != nil {
				t.Fatal(err)
			}
			rt, answer := reasoningOf(t, out.Output.(*types.ConverseOutputMemberMessage).Value)
			reasoning := int(*out.Usage.OutputTokens) - simulator.CountTokens(answer)
			if reasoning < tc.lo || reasoning > tc.hi || rt.Signature != nil {
				t.Errorf("reasoning tokens %d (want %d..%d), signature %v", reasoning, tc.lo, tc.hi, rt.Signature)
			}
			if tc.model == nova2Lite && aws.ToString(rt.Text) != "[REDACTED]" {
				t.Errorf("Nova 2 reasoning text %q", aws.ToString(rt.Text))
			}
			if tc.model == gptOSS && simulator.CountTokens(aws.ToString(rt.Text)) != reasoning {
				t.Errorf("gpt-oss reasoning text of %d tokens, output counts %d", simulator.CountTokens(aws.ToString(rt.Text)), reasoning)
			}
		})
	}
	t.Run("nova high effort refuses maxTokens", func(t *testing.T) {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(nova2Lite), Messages: question,
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(1000)},
			AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{
				"reasoningConfig": map[string]any{"type": "enabled", "maxReasoningEffort": "high"}})})
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: `maxTokens` must be unset when reasoningConfig type is 'enabled' and maxReasoningEffort is 'high'. Please consult our documentation at https://docs.aws.amazon.com/nova/latest/userguide")
	})
}

func TestReasoningInvokeModelNative(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	const body = `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":4096,` +
		`"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"2+2?"}]}`
	out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: []byte(body), ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Content []struct {
			Type, Text, Thinking, Signature string
		}
		Usage struct {
			OutputTokens int `json:"output_tokens"`
		}
	}
	if err := json.Unmarshal(out.Body, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Content) != 2 || resp.Content[0].Type != "thinking" || resp.Content[0].Signature == "" || resp.Content[1].Type != "text" {
		t.Fatalf("content %+v", resp.Content)
	}
	want := simulator.CountTokens(resp.Content[0].Thinking) + simulator.CountTokens(resp.Content[1].Text)
	if resp.Usage.OutputTokens != want || rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count") != strconv.Itoa(want) {
		t.Errorf("output tokens %d (header %s), want %d", resp.Usage.OutputTokens, rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"), want)
	}

	// The thinking block back in the next turn: unmodified passes,
	// modified fails.
	turn := func(thinking string) []byte {
		block, _ := json.Marshal(map[string]any{"type": "thinking", "thinking": thinking, "signature": resp.Content[0].Signature})
		return []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},` +
			`"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":[` + string(block) + `,{"type":"text","text":` +
			strconv.Quote(resp.Content[1].Text) + `}]},{"role":"user","content":"And 3+3?"}]}`)
	}
	if _, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: turn(resp.Content[0].Thinking)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: turn(resp.Content[0].Thinking + "!")})
	apiError(t, err, "ValidationException", 400, "The model returned the following errors: messages.1.content.0: Invalid signature in thinking block")

	t.Run("unknown beta", func(t *testing.T) {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: []byte(
			`{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["mcp-servers-2025-12-04"],"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`)})
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: invalid beta flag")
	})
	t.Run("temperature and top_p on Sonnet 4.5", func(t *testing.T) {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: []byte(
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"temperature":0.5,"top_p":0.9,"messages":[{"role":"user","content":"hi"}]}`)})
		apiError(t, err, "ValidationException", 400, "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one.")
	})
	t.Run("nova 2 reasoningConfig at the top level", func(t *testing.T) {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(nova2Lite), Body: []byte(
			`{"messages":[{"role":"user","content":[{"text":"Plan a three day trip to Lisbon."}]}],"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Output struct {
				Message struct {
					Content []struct {
						Text             *string
						ReasoningContent *struct {
							ReasoningText struct{ Text string }
						}
					}
				}
			}
			Usage struct{ OutputTokens int }
		}
		if err := json.Unmarshal(out.Body, &r); err != nil {
			t.Fatal(err)
		}
		c := r.Output.Message.Content
		if len(c) != 2 || c[0].ReasoningContent == nil || c[0].ReasoningContent.ReasoningText.Text != "[REDACTED]" || c[1].Text == nil {
			t.Fatalf("content %s", out.Body)
		}
		if n := r.Usage.OutputTokens - simulator.CountTokens(*c[1].Text); n < 200 || n > 600 {
			t.Errorf("reasoning tokens %d, want 200..600", n)
		}
	})
	t.Run("gpt-oss reasoning inline", func(t *testing.T) {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(gptOSS), Body: []byte(
			`{"messages":[{"role":"user","content":"Plan a three day trip to Lisbon."}],"reasoning_effort":"low","max_completion_tokens":2000}`)})
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Choices []struct{ Message struct{ Content string } }
			Usage   struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		if err := json.Unmarshal(out.Body, &r); err != nil || len(r.Choices) != 1 {
			t.Fatalf("%s: %v", out.Body, err)
		}
		reasoning, answer, ok := strings.Cut(strings.TrimPrefix(r.Choices[0].Message.Content, "<reasoning>"), "</reasoning>")
		if !ok || !strings.HasPrefix(r.Choices[0].Message.Content, "<reasoning>") {
			t.Fatalf("content %q", r.Choices[0].Message.Content)
		}
		if got, want := r.Usage.CompletionTokens, simulator.CountTokens(reasoning)+simulator.CountTokens(answer); got != want {
			t.Errorf("completion tokens %d, want %d", got, want)
		}
	})

	t.Run("stream", func(t *testing.T) {
		_, chunks, _, err := invokeStream(t, client, sonnet45, body)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		var thinking, sig string
		for _, c := range chunks {
			switch c["type"] {
			case "content_block_start":
				kinds = append(kinds, "start:"+c["content_block"].(map[string]any)["type"].(string))
			case "content_block_delta":
				d := c["delta"].(map[string]any)
				k := d["type"].(string)
				thinking += str(d["thinking"])
				sig += str(d["signature"])
				if len(kinds) == 0 || kinds[len(kinds)-1] != k {
					kinds = append(kinds, k)
				}
			}
		}
		if got := strings.Join(kinds, " "); got != "start:thinking thinking_delta signature_delta start:text text_delta" {
			t.Errorf("chunks %s", got)
		}
		if thinking != resp.Content[0].Thinking || sig != resp.Content[0].Signature {
			t.Errorf("streamed thinking differs from InvokeModel's")
		}
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestTodaysModelsResolve: each model this change adds answers under its
// base ID and its us. and global. profiles (Claude Code's first call on
// Bedrock asks for the Haiku 4.5 profile).
func TestTodaysModelsResolve(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	question := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello")}}}
	for _, id := range []string{
		"anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0", sonnet45,
		"anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-opus-4-20250514-v1:0",
		"anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0",
		nova2Lite, "amazon.nova-2-pro-preview-20251202-v1:0", "amazon.nova-premier-v1:0",
		"openai.gpt-oss-120b-1:0", gptOSS, "qwen.qwen3-32b-v1:0", "qwen.qwen3-coder-30b-a3b-v1:0",
	} {
		names := []string{id, "us." + id, "global." + id}
		if id == "amazon.nova-premier-v1:0" {
			names = names[1:] // profile only: TestProfileOnlyModels
		}
		for _, name := range names {
			out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(name), Messages: question,
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100)}})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if out.StopReason != types.StopReasonEndTurn && out.StopReason != types.StopReasonMaxTokens {
				t.Errorf("%s: stop reason %s", name, out.StopReason)
			}
		}
	}
}

// TestReasoningOtherDoors: the OpenAI chat door's reasoning_effort thinks
// on Claude and shows the reasoning as reasoning_content; the Anthropic
// Messages door's thinking gives thinking blocks.
func TestReasoningOtherDoors(t *testing.T) {
	srv, _ := startServer(t, withAlice)
	hc := http1Client(nil)
	post := func(path, header, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(body))
		if header == "x-api-key" {
			req.Header.Set(header, aliceAPIKey)
			req.Header.Set("anthropic-version", "2023-06-01")
		} else {
			req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		return out
	}

	var chat struct {
		Choices []struct {
			Message struct {
				Content          string
				ReasoningContent string `json:"reasoning_content"`
			}
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	out := post("/v1/chat/completions", "", `{"model":"`+sonnet45+`","max_tokens":8000,"reasoning_effort":"medium","messages":[{"role":"user","content":"How many prime numbers are below 20?"}]}`)
	if err := json.Unmarshal(out, &chat); err != nil || len(chat.Choices) != 1 {
		t.Fatalf("%s: %v", out, err)
	}
	m := chat.Choices[0].Message
	reasoning := simulator.CountTokens(m.ReasoningContent)
	// medium is a 4,096-token budget, of which Claude uses 1/16 to 1/8.
	if reasoning < 4096/16 || reasoning > 4096/8 || chat.Usage.CompletionTokens != reasoning+simulator.CountTokens(m.Content) {
		t.Errorf("reasoning of %d tokens, completion tokens %d, answer %d", reasoning, chat.Usage.CompletionTokens, simulator.CountTokens(m.Content))
	}

	var msg struct {
		Content []struct{ Type, Thinking, Signature, Text string }
		Usage   struct {
			OutputTokens int `json:"output_tokens"`
		}
	}
	out = post("/v1/messages", "x-api-key", `{"model":"claude-sonnet-4-5-20250929","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"How many prime numbers are below 20?"}]}`)
	if err := json.Unmarshal(out, &msg); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Signature == "" || msg.Content[1].Type != "text" {
		t.Fatalf("content %s", out)
	}
	if got, want := msg.Usage.OutputTokens, simulator.CountTokens(msg.Content[0].Thinking)+simulator.CountTokens(msg.Content[1].Text); got != want {
		t.Errorf("output tokens %d, want %d", got, want)
	}
}
