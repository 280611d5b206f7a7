package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// converseStream runs a ConverseStream call to its end and returns what
// the SDK delivered: the text, tool uses, stop reason, final usage and the
// error that ended the stream.
type streamed struct {
	requestID  string
	text       string
	toolInput  string
	toolName   string
	stopReason types.StopReason
	usage      *types.TokenUsage
	latencyMs  int64
	events     int
	err        error
}

func converseStream(t *testing.T, client *bedrockruntime.Client, in *bedrockruntime.ConverseStreamInput) streamed {
	t.Helper()
	out, err := client.ConverseStream(context.Background(), in)
	if err != nil {
		return streamed{err: err}
	}
	var s streamed
	s.requestID = requestID(t, out.ResultMetadata)
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		s.events++
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if tu, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				s.toolName = aws.ToString(tu.Value.Name)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := e.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				s.text += d.Value
			case *types.ContentBlockDeltaMemberToolUse:
				s.toolInput += aws.ToString(d.Value.Input)
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			s.stopReason = e.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			s.usage = e.Value.Usage
			s.latencyMs = aws.ToInt64(e.Value.Metrics.LatencyMs)
		}
	}
	s.err = st.Err()
	return s
}

func TestConverseStream(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Describe the sea at length.")}}}

	full, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: msgs,
		RequestMetadata: map[string]string{"team": "sea"}})
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.text != responseText(t, full) || s.stopReason != types.StopReasonEndTurn {
		t.Errorf("streamed %q (%s), Converse said %q", s.text, s.stopReason, responseText(t, full))
	}
	if s.usage == nil || *s.usage.InputTokens != *full.Usage.InputTokens || *s.usage.OutputTokens != *full.Usage.OutputTokens ||
		*s.usage.TotalTokens != *s.usage.InputTokens+*s.usage.OutputTokens {
		t.Fatalf("stream usage %+v, Converse usage %+v", s.usage, full.Usage)
	}
	inv := rec.byRequestID(t, s.requestID)
	if inv.Operation != invocation.ConverseStream || inv.Status != 200 || inv.ErrorCode != "" || inv.RequestMetadata["team"] != "sea" {
		t.Errorf("invocation %+v", inv)
	}
	if inv.Usage.InputTokens != int(*s.usage.InputTokens) || inv.Usage.OutputTokens != int(*s.usage.OutputTokens) {
		t.Errorf("invocation usage %+v, stream's final usage %+v", inv.Usage, s.usage)
	}
	if inv.FirstByte.IsZero() || inv.FirstByte.Before(inv.Start) || inv.End.Before(inv.FirstByte) {
		t.Errorf("first byte %v not within %v..%v", inv.FirstByte, inv.Start, inv.End)
	}
	// The record's output is the assembled Converse response.
	var out struct {
		Output struct {
			Message struct {
				Role    string `json:"role"`
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason string `json:"stopReason"`
		Usage      struct{ InputTokens, OutputTokens, TotalTokens int }
		Metrics    struct{ LatencyMs int64 }
	}
	if err := json.Unmarshal(inv.Output.Data, &out); err != nil {
		t.Fatalf("output %s: %v", inv.Output.Data, err)
	}
	if len(out.Output.Message.Content) != 1 || out.Output.Message.Content[0].Text != s.text || out.StopReason != "end_turn" ||
		out.Usage.OutputTokens != int(*s.usage.OutputTokens) || out.Output.Message.Role != "assistant" {
		t.Errorf("assembled output %s", inv.Output.Data)
	}
	if len(inv.Attempts) != 1 || inv.Attempts[0].ErrorCode != "" || inv.Attempts[0].Provider != "simulator" {
		t.Errorf("attempts %+v", inv.Attempts)
	}
}

func TestConverseStreamToolUse(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}})
	s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{
		ModelId:  aws.String(haiku),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("What's the weather in Oslo?")}}},
		ToolConfig: &types.ToolConfiguration{
			Tools:      []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}}},
			ToolChoice: &types.ToolChoiceMemberAny{},
		},
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	var input map[string]any
	if s.toolName != "get_weather" || json.Unmarshal([]byte(s.toolInput), &input) != nil || input["city"] == nil || s.stopReason != types.StopReasonToolUse {
		t.Fatalf("tool %q input %q stop %q", s.toolName, s.toolInput, s.stopReason)
	}
	inv := rec.byRequestID(t, s.requestID)
	if !strings.Contains(string(inv.Output.Data), `"toolUse"`) || inv.StopReason != "tool_use" {
		t.Errorf("assembled output %s", inv.Output.Data)
	}
}

func TestConverseStreamFailures(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	in := func(model string) *bedrockruntime.ConverseStreamInput {
		return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello")}}}}
	}

	t.Run("before the stream: an ordinary error", func(t *testing.T) {
		s := converseStream(t, client, in(modelThrottled))
		apiError(t, s.err, "ThrottlingException", 429, "")
		s = converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku)})
		apiError(t, s.err, "ValidationException", 400, "")
	})

	t.Run("midway: an exception event", func(t *testing.T) {
		s := converseStream(t, client, in(modelStreamFail))
		var mse *types.ModelStreamErrorException
		if !errors.As(s.err, &mse) {
			t.Fatalf("stream error %v (%T), want ModelStreamErrorException", s.err, s.err)
		}
		if aws.ToInt32(mse.OriginalStatusCode) != 500 || mse.ErrorMessage() == "" {
			t.Errorf("exception %+v", mse)
		}
		if s.text == "" || s.usage != nil {
			t.Errorf("want partial text and no metadata, got text %q usage %v", s.text, s.usage)
		}
		var inv *invocation.Invocation
		rec.mu.Lock()
		for _, i := range rec.invs {
			if i.CatalogModelID == modelStreamFail {
				inv = i
			}
		}
		rec.mu.Unlock()
		if inv == nil || inv.ErrorCode != "ModelStreamErrorException" || inv.Status != 424 || inv.Outcome() != invocation.ClientError {
			t.Fatalf("invocation %+v", inv)
		}
		if !strings.Contains(string(inv.Output.Data), s.text) {
			t.Errorf("the record's output %s lacks the partial text the client received", inv.Output.Data)
		}
	})

	t.Run("client disconnects: upstream cancelled, call recorded", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out, err := client.ConverseStream(ctx, in(modelTrickle))
		if err != nil {
			t.Fatal(err)
		}
		id := requestID(t, out.ResultMetadata)
		st := out.GetStream()
		deltas := 0
		for ev := range st.Events() {
			if _, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
				deltas++
				if deltas == 2 {
					cancel()
					break
				}
			}
		}
		st.Close()
		// 500 tokens at 20 ms would take 10 s; the record must come long
		// before that because the disconnect cancelled the simulated model.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			rec.mu.Lock()
			var got *invocation.Invocation
			for _, i := range rec.invs {
				if i.RequestID == id {
					got = i
				}
			}
			rec.mu.Unlock()
			if got != nil {
				if got.ErrorCode != gateway.ErrorCodeClientClosed || got.Status != gateway.StatusClientClosedRequest || got.Latency() > 5*time.Second {
					t.Errorf("invocation %+v", got)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no invocation recorded for the abandoned stream")
	})
}
