package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const (
	claudeModel = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	oldClaude   = "anthropic.claude-3-5-haiku-20241022-v1:0"
	novaModel   = "amazon.nova-2-lite-v1:0"
	ossModel    = "openai.gpt-oss-20b-1:0"
	r1Model     = "deepseek.r1-v1:0"
)

func reasoningSim() *Simulator {
	return New(map[string]ModelSettings{
		claudeModel: {Reasoning: "on-request"},
		oldClaude:   {},
		novaModel:   {Reasoning: "on-request", DefaultMaxTokens: 5000},
		ossModel:    {Reasoning: "always"},
		r1Model:     {Reasoning: "always"},
	}, Options{})
}

// reasoningReq is a question with additionalModelRequestFields and a
// maxTokens.
func reasoningReq(question, fields string, maxTokens int) *converse.Request {
	req := withInference(userReq(question), maxTokens)
	if fields != "" {
		req.AdditionalModelRequestFields = json.RawMessage(fields)
	}
	return req
}

func converseErr(t *testing.T, s *Simulator, model string, req *converse.Request) (*converse.Response, error) {
	t.Helper()
	return s.Converse(context.Background(), provider.Call{ModelID: model}, req)
}

// answerTokens is the output of the same request without reasoning.
func answerOf(t *testing.T, s *Simulator, model, question string, maxTokens int) *converse.Response {
	t.Helper()
	resp, err := converseErr(t, s, model, reasoningReq(question, "", maxTokens))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestReasoningPerFamily(t *testing.T) {
	s := reasoningSim()
	const q = "What is the capital of France?"
	for _, tc := range []struct {
		name, model, fields string
		lo, hi              int
		signed, redacted    bool
	}{
		{"claude enabled", claudeModel, `{"thinking":{"type":"enabled","budget_tokens":2048}}`, 128, 256, true, false},
		{"claude adaptive", claudeModel, `{"thinking":{"type":"adaptive"}}`, 64, 256, true, false},
		{"nova low", novaModel, `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`, 200, 600, false, true},
		{"nova medium", novaModel, `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"medium"}}`, 800, 1600, false, true},
		{"gpt-oss high", ossModel, `{"reasoning_effort":"high"}`, 180, 480, false, false},
		{"gpt-oss default", ossModel, ``, 60, 180, false, false},
		{"claude from reasoning_effort", claudeModel, `{"reasoning_effort":"medium"}`, 256, 512, true, false},
		{"nova from reasoning_effort", novaModel, `{"reasoning_effort":"low"}`, 200, 600, false, true},
		{"deepseek always", r1Model, ``, 60, 180, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := answerOf(t, New(nil, Options{}), tc.model, q, 8000)
			resp, err := converseErr(t, s, tc.model, reasoningReq(q, tc.fields, 8000))
			if err != nil {
				t.Fatal(err)
			}
			c := resp.Output.Message.Content
			if len(c) != 2 || c[0].ReasoningContent == nil || c[0].ReasoningContent.ReasoningText == nil || c[1].Text == nil {
				t.Fatalf("content = %+v, want reasoning then text", c)
			}
			rt := c[0].ReasoningContent.ReasoningText
			if *c[1].Text != *plain.Output.Message.Content[0].Text {
				t.Errorf("answer changed with reasoning: %q vs %q", *c[1].Text, *plain.Output.Message.Content[0].Text)
			}
			answer := plain.Usage.OutputTokens
			reasoning := resp.Usage.OutputTokens - answer
			if tc.redacted {
				if rt.Text != "[REDACTED]" {
					t.Errorf("nova reasoning text = %q", rt.Text)
				}
			} else if got := CountTokens(rt.Text); got != reasoning {
				t.Errorf("reasoning text is %d tokens, output tokens say %d", got, reasoning)
			}
			if reasoning < tc.lo || reasoning > tc.hi {
				t.Errorf("reasoning tokens = %d, want %d..%d", reasoning, tc.lo, tc.hi)
			}
			if resp.Usage.TotalTokens != resp.Usage.InputTokens+resp.Usage.OutputTokens {
				t.Errorf("usage = %+v", resp.Usage)
			}
			if tc.signed != (rt.Signature != "") {
				t.Errorf("signature = %q", rt.Signature)
			}
			if tc.signed && !validSignature(rt.Text, rt.Signature) {
				t.Error("own signature does not verify")
			}
			// Deterministic.
			again, _ := converseErr(t, s, tc.model, reasoningReq(q, tc.fields, 8000))
			if again.Output.Message.Content[0].ReasoningContent.ReasoningText.Text != rt.Text {
				t.Error("reasoning is not deterministic")
			}
		})
	}
}

func TestReasoningOff(t *testing.T) {
	s := reasoningSim()
	for _, tc := range []struct{ model, fields string }{
		{claudeModel, ``},
		{claudeModel, `{"thinking":{"type":"disabled"}}`},
		{novaModel, ``},
		{novaModel, `{"reasoningConfig":{"type":"disabled"}}`},
	} {
		resp, err := converseErr(t, s, tc.model, reasoningReq("hello there", tc.fields, 1000))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range resp.Output.Message.Content {
			if b.ReasoningContent != nil {
				t.Errorf("%s %s: reasoning without asking", tc.model, tc.fields)
			}
		}
	}
}

// TestReasoningMaxTokens: maxTokens covers reasoning and answer; reasoning
// that uses it all ends the reply with no answer.
func TestReasoningMaxTokens(t *testing.T) {
	s := reasoningSim()
	const q = "Explain the tides."
	full, _ := converseErr(t, s, novaModel, reasoningReq(q, `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`, 5000))
	reasoning := full.Usage.OutputTokens - answerOf(t, s, novaModel, q, 5000).Usage.OutputTokens

	resp, err := converseErr(t, s, novaModel, reasoningReq(q, `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`, reasoning+3))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != converse.StopMaxTokens || resp.Usage.OutputTokens != reasoning+3 {
		t.Errorf("stop %s, output %d; want max_tokens, %d", resp.StopReason, resp.Usage.OutputTokens, reasoning+3)
	}
	if c := resp.Output.Message.Content; len(c) != 2 || CountTokens(*c[1].Text) != 3 {
		t.Errorf("content = %+v, want reasoning and a 3-token answer", c)
	}

	resp, err = converseErr(t, s, novaModel, reasoningReq(q, `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`, 100))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != converse.StopMaxTokens || resp.Usage.OutputTokens != 100 || len(resp.Output.Message.Content) != 1 {
		t.Errorf("stop %s, output %d, content %d blocks; want max_tokens, 100, reasoning only", resp.StopReason, resp.Usage.OutputTokens, len(resp.Output.Message.Content))
	}
}

// followUp is a second turn that sends the first turn's answer back.
func followUp(first *converse.Response, fields string) *converse.Request {
	req := reasoningReq("Why?", fields, 4096)
	req.Messages = append([]converse.Message{
		{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("What is 2+2?")}},
		*first.Output.Message,
	}, req.Messages...)
	return req
}

func TestThinkingSignature(t *testing.T) {
	s := reasoningSim()
	const fields = `{"thinking":{"type":"enabled","budget_tokens":1024}}`
	first, err := converseErr(t, s, claudeModel, reasoningReq("What is 2+2?", fields, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := converseErr(t, s, claudeModel, followUp(first, fields)); err != nil {
		t.Fatalf("unmodified block refused: %v", err)
	}
	// Also with thinking off: the block is still checked.
	if _, err := converseErr(t, s, claudeModel, followUp(first, "")); err != nil {
		t.Fatalf("unmodified block refused without thinking: %v", err)
	}

	tampered := followUp(first, fields)
	rt := tampered.Messages[1].Content[0].ReasoningContent.ReasoningText
	rt.Text += " And then I changed my mind."
	checkValidation(t, s, claudeModel, tampered,
		"The model returned the following errors: messages.1.content.0: Invalid signature in thinking block")

	forged := followUp(first, fields)
	forged.Messages[1].Content[0].ReasoningContent.ReasoningText.Signature = "Zm9yZ2Vk"
	checkValidation(t, s, claudeModel, forged,
		"The model returned the following errors: messages.1.content.0: Invalid signature in thinking block")

	unsigned := followUp(first, fields)
	unsigned.Messages[1].Content[0].ReasoningContent.ReasoningText.Signature = ""
	checkValidation(t, s, claudeModel, unsigned,
		"The model returned the following errors: messages.1.content.0.thinking.signature: Field required")

	// Redacted thinking is opaque and accepted back.
	redacted := followUp(first, fields)
	redacted.Messages[1].Content[0].ReasoningContent = &converse.ReasoningContentBlock{RedactedContent: []byte("opaque")}
	if _, err := converseErr(t, s, claudeModel, redacted); err != nil {
		t.Fatalf("redacted block refused: %v", err)
	}
}

func checkValidation(t *testing.T, s *Simulator, model string, req *converse.Request, want string) {
	t.Helper()
	_, err := converseErr(t, s, model, req)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation || e.Message != want {
		t.Errorf("error = %v, want ValidationException %q", err, want)
	}
	if _, err := s.ConverseStream(context.Background(), provider.Call{ModelID: model}, req); !errors.As(err, &e) || e.Message != want {
		t.Errorf("stream error = %v, want %q", err, want)
	}
}

func TestReasoningConstraints(t *testing.T) {
	s := reasoningSim()
	const docs = " Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
	const prefix = "The model returned the following errors: "
	enabled := `{"thinking":{"type":"enabled","budget_tokens":2048}}`
	for _, tc := range []struct {
		name, model string
		req         *converse.Request
		want        string
	}{
		{"small budget", claudeModel, reasoningReq("hi", `{"thinking":{"type":"enabled","budget_tokens":1000}}`, 4096),
			prefix + "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
		{"no budget", claudeModel, reasoningReq("hi", `{"thinking":{"type":"enabled"}}`, 4096),
			prefix + "thinking.enabled.budget_tokens: Field required"},
		{"budget over max", claudeModel, reasoningReq("hi", enabled, 2048),
			prefix + "`max_tokens` must be greater than `thinking.budget_tokens`." + docs},
		{"bad type", claudeModel, reasoningReq("hi", `{"thinking":{"type":"on"}}`, 4096),
			prefix + "thinking: Input tag 'on' found using 'type' does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'"},
		{"temperature", claudeModel, func() *converse.Request {
			r := reasoningReq("hi", enabled, 4096)
			r.InferenceConfig.Temperature = ptr(0.5)
			return r
		}(), prefix + "`temperature` may only be set to 1 when thinking is enabled." + docs},
		{"top_p", claudeModel, func() *converse.Request {
			r := reasoningReq("hi", enabled, 4096)
			r.InferenceConfig.TopP = ptr(0.9)
			return r
		}(), prefix + "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled." + docs},
		{"top_k", claudeModel, reasoningReq("hi", `{"thinking":{"type":"enabled","budget_tokens":2048},"top_k":5}`, 4096),
			prefix + "`top_k` must be unset when thinking is enabled." + docs},
		{"forced tool", claudeModel, func() *converse.Request {
			r := reasoningReq("hi", enabled, 4096)
			r.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "w",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}},
				ToolChoice: &converse.ToolChoice{Any: &struct{}{}}}
			return r
		}(), prefix + "Thinking may not be enabled when tool_choice forces tool use."},
		{"temperature and top_p on 4.5", claudeModel, func() *converse.Request {
			r := reasoningReq("hi", "", 4096)
			r.InferenceConfig.Temperature, r.InferenceConfig.TopP = ptr(0.5), ptr(0.5)
			return r
		}(), prefix + "`temperature` and `top_p` cannot both be specified for this model. Please use only one."},
		{"unknown beta", claudeModel, reasoningReq("hi", `{"anthropic_beta":["interleaved-thinking-2025-05-14","mcp-servers-2025-12-04"]}`, 4096),
			prefix + "invalid beta flag"},
		{"thinking on an older Claude", oldClaude, reasoningReq("hi", enabled, 4096),
			prefix + "thinking: Extra inputs are not permitted"},
		{"nova high with maxTokens", novaModel, reasoningReq("hi", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}}`, 1000),
			prefix + "`maxTokens` must be unset when reasoningConfig type is 'enabled' and maxReasoningEffort is 'high'. Please consult our documentation at https://docs.aws.amazon.com/nova/latest/userguide"},
		{"nova high with temperature", novaModel, func() *converse.Request {
			r := reasoningReq("hi", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}}`, 5000)
			r.InferenceConfig.Temperature = ptr(0.2)
			return r
		}(), prefix + "`temperature` must be unset when reasoningConfig type is 'enabled' and maxReasoningEffort is 'high'. Please consult our documentation at https://docs.aws.amazon.com/nova/latest/userguide"},
		{"nova bad effort", novaModel, reasoningReq("hi", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"max"}}`, 1000),
			prefix + "reasoningConfig.maxReasoningEffort must be one of 'low', 'medium', 'high', got 'max'"},
		{"gpt-oss bad effort", ossModel, reasoningReq("hi", `{"reasoning_effort":"extreme"}`, 1000),
			prefix + "Failed to deserialize the JSON body into the target type: reasoning_effort: unknown variant `extreme`, expected one of `low`, `medium`, `high`"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValidation(t, s, tc.model, tc.req, tc.want) })
	}
	// Allowed: temperature 1, top_p 0.95 with thinking; Nova high with the
	// default budget.
	ok := reasoningReq("hi", enabled, 4096)
	ok.InferenceConfig.Temperature = ptr(1.0)
	if _, err := converseErr(t, s, claudeModel, ok); err != nil {
		t.Error(err)
	}
	if _, err := converseErr(t, s, novaModel, reasoningReq("hi", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}}`, 5000)); err != nil {
		t.Error(err)
	}
}

func TestReasoningStream(t *testing.T) {
	s := reasoningSim()
	req := reasoningReq("What is 2+2?", `{"thinking":{"type":"enabled","budget_tokens":1024}}`, 4096)
	want, err := converseErr(t, s, claudeModel, req)
	if err != nil {
		t.Fatal(err)
	}
	got, evs := collectStream(t, s, claudeModel, req)
	if !jsonEqualValues(t, got.Output, want.Output) || got.Usage.OutputTokens != want.Usage.OutputTokens {
		t.Fatalf("stream assembles to %+v, Converse gave %+v", got, want)
	}
	// Order: reasoning text deltas, one signature delta, stop of block 0,
	// then text deltas at index 1.
	var order []string
	for _, ev := range evs {
		switch {
		case ev.ContentBlockStart != nil:
			order = append(order, "start")
		case ev.ContentBlockDelta != nil:
			d := ev.ContentBlockDelta
			kind := "text"
			if r := d.Delta.ReasoningContent; r != nil {
				kind = "reasoning"
				if r.Signature != nil {
					kind = "signature"
				}
			}
			if n := len(order); n == 0 || order[n-1] != kind+string(rune('0'+d.ContentBlockIndex)) {
				order = append(order, kind+string(rune('0'+d.ContentBlockIndex)))
			}
		case ev.ContentBlockStop != nil:
			order = append(order, "stop"+string(rune('0'+ev.ContentBlockStop.ContentBlockIndex)))
		}
	}
	if got := strings.Join(order, " "); got != "reasoning0 signature0 stop0 text1 stop1" {
		t.Errorf("event order = %s", got)
	}
	// Nova's hidden reasoning: one [REDACTED] delta, tokens counted.
	nreq := reasoningReq("hi", `{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"low"}}`, 5000)
	nwant, _ := converseErr(t, s, novaModel, nreq)
	ngot, _ := collectStream(t, s, novaModel, nreq)
	if ngot.Output.Message.Content[0].ReasoningContent.ReasoningText.Text != "[REDACTED]" || ngot.Usage.OutputTokens != nwant.Usage.OutputTokens {
		t.Errorf("nova stream = %+v, usage %+v", ngot.Output.Message.Content, ngot.Usage)
	}
}

func jsonEqualValues(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func FuzzReasoningFields(f *testing.F) {
	for _, s := range []string{
		`{"thinking":{"type":"enabled","budget_tokens":2048}}`,
		`{"thinking":{"type":"adaptive"}}`,
		`{"thinking":"yes"}`,
		`{"reasoningConfig":{"type":"enabled","maxReasoningEffort":"high"}}`,
		`{"reasoning_effort":"low"}`,
		`{"reasoning_effort":{}}`,
		`[]`,
	} {
		f.Add(s, 4096)
	}
	s := reasoningSim()
	f.Fuzz(func(t *testing.T, fields string, maxTokens int) {
		for _, model := range []string{claudeModel, novaModel, ossModel} {
			req := reasoningReq("question", fields, maxTokens%20000)
			resp, err := s.Converse(context.Background(), provider.Call{ModelID: model}, req)
			if err != nil {
				var e *apierror.Error
				if !errors.As(err, &e) || e.Code != apierror.Validation {
					t.Fatalf("%s: %v", model, err)
				}
				continue
			}
			mt := max(maxTokens%20000, 0)
			if resp.Usage.OutputTokens > mt {
				t.Fatalf("%s: output %d over maxTokens %d", model, resp.Usage.OutputTokens, mt)
			}
		}
	})
}
