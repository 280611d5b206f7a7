package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// rawHeader returns a response header of an SDK call made by runtimeClient.
func rawHeader(t *testing.T, md middleware.Metadata, name string) string {
	t.Helper()
	h, ok := md.Get(responseHeadersKey{}).(http.Header)
	if !ok {
		t.Fatal("response headers were not captured")
	}
	return h.Get(name)
}

func requestID(t *testing.T, md middleware.Metadata) string {
	t.Helper()
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	if !ok || len(id) != 36 {
		t.Fatalf("request ID %q missing or not a UUID", id)
	}
	return id
}

func TestInvokeModelEveryFamily(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	tests := []struct {
		model, body string
		check       func(t *testing.T, body map[string]any) (in, out int)
		embedding   bool
	}{
		{
			model: haiku,
			body:  `{"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"system":"Be brief.","messages":[{"role":"user","content":"Name three colours."}]}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				if o["type"] != "message" || o["role"] != "assistant" || o["model"] != "claude-3-haiku-20240307" {
					t.Errorf("anthropic envelope wrong: %v", o)
				}
				content := o["content"].([]any)[0].(map[string]any)
				if content["type"] != "text" || content["text"] == "" {
					t.Errorf("content = %v", content)
				}
				u := o["usage"].(map[string]any)
				return int(u["input_tokens"].(float64)), int(u["output_tokens"].(float64))
			},
		},
		{
			model: "amazon.titan-text-express-v1",
			body:  `{"inputText":"Write a haiku about logs.","textGenerationConfig":{"maxTokenCount":100,"temperature":0.2}}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				r := o["results"].([]any)[0].(map[string]any)
				if r["outputText"] == "" || r["completionReason"] == nil {
					t.Errorf("titan result = %v", r)
				}
				return int(o["inputTextTokenCount"].(float64)), int(r["tokenCount"].(float64))
			},
		},
		{
			model: "amazon.nova-lite-v1:0",
			body:  `{"schemaVersion":"messages-v1","system":[{"text":"Be brief."}],"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"maxTokens":100}}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				msg := o["output"].(map[string]any)["message"].(map[string]any)
				if msg["role"] != "assistant" || o["stopReason"] == nil {
					t.Errorf("nova output = %v", o)
				}
				u := o["usage"].(map[string]any)
				return int(u["inputTokens"].(float64)), int(u["outputTokens"].(float64))
			},
		},
		{
			model: "meta.llama3-8b-instruct-v1:0",
			body:  `{"prompt":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is Go?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","max_gen_len":128,"temperature":0.5}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				if o["generation"] == "" || (o["stop_reason"] != "stop" && o["stop_reason"] != "length") {
					t.Errorf("llama output = %v", o)
				}
				return int(o["prompt_token_count"].(float64)), int(o["generation_token_count"].(float64))
			},
		},
		{
			model: "mistral.mistral-7b-instruct-v0:2",
			body:  `{"prompt":"<s>[INST] Explain channels in one sentence. [/INST]","max_tokens":100}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				r := o["outputs"].([]any)[0].(map[string]any)
				if r["text"] == "" || r["stop_reason"] == nil {
					t.Errorf("mistral output = %v", o)
				}
				return -1, -1 // Mistral reports usage only in headers
			},
		},
		{
			model:     "amazon.titan-embed-text-v2:0",
			embedding: true,
			body:      `{"inputText":"vector me","dimensions":256,"normalize":true}`,
			check: func(t *testing.T, o map[string]any) (int, int) {
				if n := len(o["embedding"].([]any)); n != 256 {
					t.Errorf("embedding length = %d, want 256", n)
				}
				return int(o["inputTextTokenCount"].(float64)), 0
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
				ModelId:     aws.String(tt.model),
				Body:        []byte(tt.body),
				ContentType: aws.String("application/json"),
				Accept:      aws.String("application/json"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if ct := aws.ToString(out.ContentType); ct != "application/json" {
				t.Errorf("content type = %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(out.Body, &body); err != nil {
				t.Fatalf("response is not JSON: %v: %s", err, out.Body)
			}
			bodyIn, bodyOut := tt.check(t, body)
			hdrIn, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
			hdrOut, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"))
			if _, err := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Invocation-Latency")); err != nil {
				t.Errorf("invocation latency header: %v", err)
			}
			if hdrIn <= 0 || (!tt.embedding && hdrOut <= 0) {
				t.Errorf("token headers in=%d out=%d", hdrIn, hdrOut)
			}
			if bodyIn >= 0 && (bodyIn != hdrIn || bodyOut != hdrOut) {
				t.Errorf("body usage (%d, %d) differs from headers (%d, %d)", bodyIn, bodyOut, hdrIn, hdrOut)
			}
			inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
			if inv.Operation != invocation.InvokeModel || inv.Status != 200 || inv.ErrorCode != "" || inv.CatalogModelID != tt.model {
				t.Errorf("invocation = %+v", inv)
			}
			if string(inv.Input.Data) != tt.body || string(inv.Output.Data) != string(out.Body) {
				t.Error("invocation does not carry the raw request and response bodies")
			}
			if inv.Usage.InputTokens != hdrIn || inv.Usage.OutputTokens != hdrOut {
				t.Errorf("invocation usage %+v differs from headers (%d, %d)", inv.Usage, hdrIn, hdrOut)
			}
			if inv.PrincipalARN != "arn:aws:iam::000000000000:user/anonymous" || inv.AuthMethod != invocation.AuthAnonymous {
				t.Errorf("principal = %q via %q", inv.PrincipalARN, inv.AuthMethod)
			}
			if inv.Start.IsZero() || inv.End.Before(inv.Start) || inv.FirstByte.IsZero() {
				t.Errorf("times: start %v first byte %v end %v", inv.Start, inv.FirstByte, inv.End)
			}
		})
	}
}

func TestModelIdentifierForms(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	body := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`)
	for _, tt := range []struct{ id, profile, region string }{
		{id: haiku},
		{id: "arn:aws:bedrock:us-east-1::foundation-model/" + haiku},
		{id: "us." + haiku, profile: "us." + haiku, region: "us-east-1"},
		{id: "global." + haiku, profile: "global." + haiku, region: "us-east-1"},
		{id: "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us." + haiku, profile: "us." + haiku, region: "us-east-1"},
	} {
		t.Run(tt.id, func(t *testing.T) {
			out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(tt.id), Body: body})
			if err != nil {
				t.Fatal(err)
			}
			inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
			if inv.ModelID != tt.id || inv.CatalogModelID != haiku || inv.InferenceProfileID != tt.profile || inv.InferenceRegion != tt.region {
				t.Errorf("invocation model fields: %q %q %q %q", inv.ModelID, inv.CatalogModelID, inv.InferenceProfileID, inv.InferenceRegion)
			}
		})
	}
}

func text(s string) types.ContentBlock { return &types.ContentBlockMemberText{Value: s} }

func responseText(t *testing.T, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		t.Fatalf("output is %T", out.Output)
	}
	var s string
	for _, b := range msg.Value.Content {
		if tb, ok := b.(*types.ContentBlockMemberText); ok {
			s += tb.Value
		}
	}
	return s
}

func TestConverse(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	conversation := []types.Message{
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("What is the capital of France?")}},
		{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{text("Paris.")}},
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("And of Italy? Answer at length.")}},
	}
	base := func() *bedrockruntime.ConverseInput {
		return &bedrockruntime.ConverseInput{
			ModelId:         aws.String(haiku),
			System:          []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a geography tutor."}},
			Messages:        conversation,
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(1000), Temperature: aws.Float32(0.3), TopP: aws.Float32(0.9)},
			RequestMetadata: map[string]string{"team": "geo"},
		}
	}

	full, err := client.Converse(ctx, base())
	if err != nil {
		t.Fatal(err)
	}
	fullText := responseText(t, full)
	if full.StopReason != types.StopReasonEndTurn || fullText == "" {
		t.Fatalf("stop reason %q, text %q", full.StopReason, fullText)
	}
	u := full.Usage
	if *u.InputTokens <= 0 || *u.OutputTokens <= 0 || *u.TotalTokens != *u.InputTokens+*u.OutputTokens || full.Metrics == nil {
		t.Errorf("usage %+v metrics %+v", u, full.Metrics)
	}
	inv := rec.byRequestID(t, requestID(t, full.ResultMetadata))
	if inv.Operation != invocation.Converse || inv.RequestMetadata["team"] != "geo" || inv.StopReason != "end_turn" {
		t.Errorf("invocation = %+v", inv)
	}
	if inv.Usage.InputTokens != int(*u.InputTokens) || inv.Usage.OutputTokens != int(*u.OutputTokens) {
		t.Errorf("invocation usage %+v, response usage %+v", inv.Usage, u)
	}

	t.Run("deterministic", func(t *testing.T) {
		again, err := client.Converse(ctx, base())
		if err != nil {
			t.Fatal(err)
		}
		if responseText(t, again) != fullText {
			t.Error("the same request produced a different reply")
		}
	})
	t.Run("system prompt counts as input", func(t *testing.T) {
		in := base()
		in.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: strings.Repeat("Be extremely thorough. ", 50)}}
		out, err := client.Converse(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if *out.Usage.InputTokens <= *u.InputTokens {
			t.Errorf("a longer system prompt did not raise input tokens: %d <= %d", *out.Usage.InputTokens, *u.InputTokens)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		in := base()
		in.InferenceConfig.MaxTokens = aws.Int32(5)
		out, err := client.Converse(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if out.StopReason != types.StopReasonMaxTokens || *out.Usage.OutputTokens != 5 {
			t.Errorf("stop %q output tokens %d", out.StopReason, *out.Usage.OutputTokens)
		}
		if got := responseText(t, out); !strings.HasPrefix(fullText, got) {
			t.Errorf("truncated reply %q is not a prefix of %q", got, fullText)
		}
	})
	t.Run("stop sequence", func(t *testing.T) {
		words := strings.Fields(fullText)
		if len(words) < 4 {
			t.Skip("reply too short")
		}
		stop := words[3]
		in := base()
		in.InferenceConfig.StopSequences = []string{stop}
		out, err := client.Converse(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got := responseText(t, out)
		if out.StopReason != types.StopReasonStopSequence || strings.Contains(got, stop) || !strings.HasPrefix(fullText, got) {
			t.Errorf("stop %q on %q: reason %q, text %q", stop, fullText, out.StopReason, got)
		}
	})
	t.Run("tool use", func(t *testing.T) {
		schema := document.NewLazyDocument(map[string]any{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}},
			"required":   []string{"city"},
		})
		toolConfig := &types.ToolConfiguration{
			Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
				Name: aws.String("get_weather"), Description: aws.String("Weather by city"),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: schema},
			}}},
			ToolChoice: &types.ToolChoiceMemberAny{},
		}
		msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Weather in Rome?")}}}
		out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs, ToolConfig: toolConfig})
		if err != nil {
			t.Fatal(err)
		}
		if out.StopReason != types.StopReasonToolUse {
			t.Fatalf("stop reason %q", out.StopReason)
		}
		var use *types.ToolUseBlock
		for _, b := range out.Output.(*types.ConverseOutputMemberMessage).Value.Content {
			if tu, ok := b.(*types.ContentBlockMemberToolUse); ok {
				use = &tu.Value
			}
		}
		if use == nil || aws.ToString(use.Name) != "get_weather" {
			t.Fatalf("no get_weather tool use in %+v", out.Output)
		}
		var input map[string]any
		if err := use.Input.UnmarshalSmithyDocument(&input); err != nil || input["city"] == nil {
			t.Errorf("tool input %v (%v) lacks the required city", input, err)
		}
		msgs = append(msgs,
			types.Message{Role: types.ConversationRoleAssistant, Content: out.Output.(*types.ConverseOutputMemberMessage).Value.Content},
			types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: use.ToolUseId, Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "Sunny, 24 C"}},
			}}}},
		)
		toolConfig.ToolChoice = &types.ToolChoiceMemberAuto{}
		final, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs, ToolConfig: toolConfig})
		if err != nil {
			t.Fatal(err)
		}
		if final.StopReason != types.StopReasonEndTurn || responseText(t, final) == "" {
			t.Errorf("after the tool result: stop %q text %q", final.StopReason, responseText(t, final))
		}
	})
}

// apiError asserts that err is the named AWS exception with the HTTP status.
func apiError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	if msg != "" && !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("message %q does not contain %q", ae.ErrorMessage(), msg)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("HTTP status %d, want %d", re.HTTPStatusCode(), status)
	}
}

func TestRuntimeErrors(t *testing.T) {
	srv, rec := startServer(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 64 << 10 })
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	anthropic := func(maxTokens int) []byte {
		return []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"hi"}]}`)
	}
	invoke := func(model string, body []byte) error {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: body})
		return err
	}
	conv := func(model string, msgs []types.Message, cfg *types.InferenceConfiguration) error {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: cfg})
		return err
	}
	hello := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("hello")}}}
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"unknown model", func() error { return invoke("anthropic.claude-9-v1:0", anthropic(10)) }, "ValidationException", 400, "The provided model identifier is invalid."},
		{"profile outside the region's geography", func() error { return invoke("eu."+haiku, anthropic(10)) }, "ValidationException", 400, "The provided model identifier is invalid."},
		{"profile of another account", func() error {
			return invoke("arn:aws:bedrock:us-east-1:111122223333:inference-profile/us."+haiku, anthropic(10))
		}, "AccessDeniedException", 403, ""},
		{"provisioned model", func() error {
			return invoke("arn:aws:bedrock:us-east-1:000000000000:provisioned-model/abcdefghijkl", anthropic(10))
		}, "ResourceNotFoundException", 404, ""},
		{"malformed native body", func() error {
			return invoke(haiku, []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10}`))
		}, "ValidationException", 400, "Malformed input request"},
		{"native body without anthropic_version", func() error { return invoke(haiku, []byte(`{"max_tokens":10}`)) }, "ValidationException", 400, "anthropic_version: Field required"},
		{"native body not JSON", func() error { return invoke(haiku, []byte(`hello`)) }, "ValidationException", 400, "Malformed input request"},
		{"native max_tokens over the model limit", func() error { return invoke(haiku, anthropic(5000)) }, "ValidationException", 400, "max_tokens: 5000 > 4096"},
		{"body over the size limit", func() error { return invoke(haiku, make([]byte, 65<<10)) }, "ValidationException", 400, "Member must have length less than or equal to 65536"},
		{"converse without messages", func() error { return conv(haiku, nil, nil) }, "ValidationException", 400, "A conversation must start with a user message"},
		{"converse roles not alternating", func() error { return conv(haiku, append(hello, hello...), nil) }, "ValidationException", 400, "must alternate between user and assistant"},
		{"converse maxTokens over the model limit", func() error {
			return conv(haiku, hello, &types.InferenceConfiguration{MaxTokens: aws.Int32(9000)})
		}, "ValidationException", 400, "The maximum tokens you requested exceeds the model limit of 4096"},
		{"converse temperature out of range", func() error {
			return conv(haiku, hello, &types.InferenceConfiguration{Temperature: aws.Float32(1.5)})
		}, "ValidationException", 400, "at 'inferenceConfig.temperature' failed to satisfy constraint"},
		{"converse on an embedding model", func() error { return conv("amazon.titan-embed-text-v2:0", hello, nil) }, "ValidationException", 400, "This action doesn't support the model that you provided"},
		{"system prompt on a model without one", func() error {
			_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("mistral.mistral-7b-instruct-v0:2"), Messages: hello,
				System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "x"}}})
			return err
		}, "ValidationException", 400, "doesn't support system messages"},
		{"throttled", func() error { return invoke(modelThrottled, anthropic(10)) }, "ThrottlingException", 429, "Too many requests"},
		{"throttled converse", func() error { return conv(modelThrottled, hello, nil) }, "ThrottlingException", 429, ""},
		{"server error", func() error { return invoke(modelFailing, anthropic(10)) }, "InternalServerException", 500, ""},
		{"model error", func() error { return conv(modelModelError, hello, nil) }, "ModelErrorException", 424, ""},
		{"model timeout", func() error { return invoke(modelSlow, anthropic(10)) }, "ModelTimeoutException", 408, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rec.count()
			err := tt.call()
			if err == nil {
				t.Fatal("call succeeded")
			}
			apiError(t, err, tt.code, tt.status, tt.msg)
			var re *awshttp.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("no response error in %v", err)
			}
			inv := rec.byRequestID(t, re.ServiceRequestID())
			if inv.ErrorCode != tt.code || inv.Status != tt.status || inv.ErrorMessage == "" {
				t.Errorf("invocation error %q status %d message %q", inv.ErrorCode, inv.Status, inv.ErrorMessage)
			}
			if got := rec.count() - before; got != 1 {
				t.Errorf("%d invocations recorded for one call", got)
			}
		})
	}
}

func TestModelErrorCarriesUpstreamDetails(t *testing.T) {
	srv, _ := startServer(t, nil)
	_, err := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret").Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:  aws.String(modelModelError),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("hi")}}},
	})
	var me *types.ModelErrorException
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *types.ModelErrorException", err)
	}
	if aws.ToInt32(me.OriginalStatusCode) != 500 || aws.ToString(me.ResourceName) != modelModelError {
		t.Errorf("originalStatusCode %d resourceName %q", aws.ToInt32(me.OriginalStatusCode), aws.ToString(me.ResourceName))
	}
}

func TestFoundationModels(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	all, err := client.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range all.ModelSummaries {
		ids[aws.ToString(m.ModelId)] = true
		if !strings.HasPrefix(aws.ToString(m.ModelArn), "arn:aws:bedrock:us-east-1::foundation-model/") || aws.ToString(m.ProviderName) == "" {
			t.Errorf("summary %+v", m)
		}
	}
	for _, want := range []string{haiku, "anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.titan-text-express-v1", "amazon.nova-lite-v1:0",
		"meta.llama3-8b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2", "amazon.titan-embed-text-v2:0"} {
		if !ids[want] {
			t.Errorf("ListFoundationModels lacks %s", want)
		}
	}
	anth, err := client.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{ByProvider: aws.String("anthropic")})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range anth.ModelSummaries {
		if aws.ToString(m.ProviderName) != "Anthropic" {
			t.Errorf("byProvider=anthropic returned %s", aws.ToString(m.ModelId))
		}
	}
	if len(anth.ModelSummaries) == 0 || len(anth.ModelSummaries) >= len(all.ModelSummaries) {
		t.Errorf("byProvider filter returned %d of %d", len(anth.ModelSummaries), len(all.ModelSummaries))
	}
	emb, err := client.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{ByOutputModality: "EMBEDDING"})
	var embIDs []string
	for _, m := range emb.ModelSummaries {
		embIDs = append(embIDs, aws.ToString(m.ModelId))
	}
	if err != nil || !slices.Contains(embIDs, "amazon.titan-embed-text-v2:0") || !slices.Contains(embIDs, "amazon.titan-embed-image-v1") || len(embIDs) >= len(all.ModelSummaries) {
		t.Errorf("byOutputModality=EMBEDDING: %v %v", err, embIDs)
	}
	got, err := client.GetFoundationModel(ctx, &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String(haiku)})
	if err != nil || aws.ToString(got.ModelDetails.ModelName) != "Claude 3 Haiku" || !aws.ToBool(got.ModelDetails.ResponseStreamingSupported) {
		t.Errorf("GetFoundationModel: %v %+v", err, got)
	}
	_, err = client.GetFoundationModel(ctx, &bedrock.GetFoundationModelInput{ModelIdentifier: aws.String("nope.nope-v1")})
	apiError(t, err, "ValidationException", 400, "")
	if rec.count() != 0 {
		t.Errorf("control-plane calls produced %d invocations", rec.count())
	}
}

func TestUnknownOperation(t *testing.T) {
	srv, _ := startServer(t, nil)
	resp, err := http.Post(srv.URL()+"/model/"+haiku+"/frobnicate", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("status %d error type %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}
