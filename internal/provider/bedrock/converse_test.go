package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func ptr[T any](v T) *T { return &v }

// chatRequest is a representative Converse request.
func chatRequest() *converse.Request {
	return &converse.Request{
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("What is the capital of France?")}}},
		System:          []converse.SystemContentBlock{{Text: ptr("Answer briefly.")}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(256), Temperature: ptr(0.2)},
		RequestMetadata: map[string]string{"team": "search"},
	}
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("JSON differs:\n got %s\nwant %s", gb, wb)
	}
}

func asAPIError(t *testing.T, err error) *apierror.Error {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
	}
	return e
}

func TestConverse(t *testing.T) {
	ex := loadExchange(t, "converse")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	req := chatRequest()

	resp, err := p.Converse(t.Context(), provider.Call{ModelID: "anthropic.claude-3-5-haiku", UpstreamModel: ex.Model}, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Text(); got != "The capital of France is Paris." {
		t.Errorf("text = %q", got)
	}
	if resp.StopReason != converse.StopEndTurn {
		t.Errorf("stop reason = %q", resp.StopReason)
	}
	if !reflect.DeepEqual(resp.Usage, converse.Usage{InputTokens: 14, OutputTokens: 10, TotalTokens: 24}) {
		t.Errorf("usage = %+v", resp.Usage)
	}
	if resp.Metrics.LatencyMs != 1047 {
		t.Errorf("latency = %d", resp.Metrics.LatencyMs)
	}
	// The request body is the Converse request, unchanged.
	got := rs.received()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	want, _ := json.Marshal(req)
	assertJSONEqual(t, got[0].Body, want)
}

func TestConverseUsesCatalogIDWithoutUpstreamModel(t *testing.T) {
	ex := loadExchange(t, "converse")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	if _, err := p.Converse(t.Context(), provider.Call{ModelID: ex.Model}, chatRequest()); err != nil {
		t.Fatal(err)
	}
}

func TestConverseStream(t *testing.T) {
	ex := loadExchange(t, "converse_stream")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	req := chatRequest()
	req.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{
		Name: "get_weather", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
	}}}}

	s, err := p.ConverseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	var asm converse.Assembler
	for {
		ev, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Name())
		asm.Add(ev)
	}
	wantNames := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
		"contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
	if len(names) != len(wantNames) {
		t.Fatalf("events %v, want %v", names, wantNames)
	}
	for i := range names {
		if names[i] != wantNames[i] {
			t.Fatalf("events %v, want %v", names, wantNames)
		}
	}
	resp := asm.Response()
	if resp.StopReason != converse.StopToolUse {
		t.Errorf("stop reason = %q", resp.StopReason)
	}
	if !reflect.DeepEqual(resp.Usage, converse.Usage{InputTokens: 371, OutputTokens: 58, TotalTokens: 429}) {
		t.Errorf("usage = %+v", resp.Usage)
	}
	content := resp.Output.Message.Content
	if len(content) != 2 || content[0].Text == nil || *content[0].Text != "Let me check the weather." {
		t.Fatalf("content = %+v", content)
	}
	tu := content[1].ToolUse
	if tu == nil || tu.Name != "get_weather" || tu.ToolUseID != "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q" {
		t.Fatalf("tool use = %+v", tu)
	}
	assertJSONEqual(t, tu.Input, []byte(`{"city":"Paris"}`))
	// After the end, Next keeps reporting io.EOF.
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("Next after end = %v, want io.EOF", err)
	}
	got := rs.received()
	want, _ := json.Marshal(req)
	assertJSONEqual(t, got[0].Body, want)
}

func TestConverseStreamModelStreamError(t *testing.T) {
	ex := loadExchange(t, "converse_stream_model_error")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)

	s, err := p.ConverseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var events int
	for {
		_, err = s.Next()
		if err != nil {
			break
		}
		events++
	}
	if events != 2 {
		t.Errorf("%d events before the exception, want 2", events)
	}
	e := asAPIError(t, err)
	if e.Code != apierror.ModelStreamError || e.OriginalStatusCode != 400 ||
		e.OriginalMessage != "Model produced invalid sequence as part of ToolUse." ||
		e.Message != "Model produced invalid sequence as part of ToolUse. Please refer to the model tool use troubleshooting guide." ||
		e.ResourceName != ex.Model {
		t.Errorf("error = %+v", e)
	}
	// The error is sticky.
	if _, again := s.Next(); again != err {
		t.Errorf("Next after the error = %v, want the same error", again)
	}
}

func TestThrottlingPassesThrough(t *testing.T) {
	ex := loadExchange(t, "throttling")
	for _, op := range []string{"converse", "converse-stream"} {
		t.Run(op, func(t *testing.T) {
			ex := ex
			ex.Request.Path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/" + op
			rs := newReplay(t, ex)
			p := newTestProvider(t, rs.srv.URL)
			var err error
			if op == "converse" {
				_, err = p.Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest())
			} else {
				// The failure comes before the first event: ConverseStream
				// itself returns it, so the gateway can retry.
				_, err = p.ConverseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest())
			}
			e := asAPIError(t, err)
			if e.Code != apierror.Throttling || e.Message != "Too many requests, please wait before trying again." {
				t.Errorf("error = %+v", e)
			}
			if !e.Retryable() || !e.Throttled() {
				t.Errorf("a throttle must be retryable and counted as a throttle")
			}
		})
	}
}

func TestConverseStreamCancelMidStream(t *testing.T) {
	ex := loadExchange(t, "converse_stream")
	ex.Response.Frames = ex.Response.Frames[:3] // messageStart and two deltas, then silence
	rs := newReplay(t, ex)
	upstreamDone := make(chan struct{})
	rs.hold = func(r *http.Request) {
		<-r.Context().Done() // the connection stays open until the client goes
		close(upstreamDone)
	}
	p := newTestProvider(t, rs.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	s, err := p.ConverseStream(ctx, provider.Call{UpstreamModel: ex.Model}, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	next := make(chan error, 1)
	go func() {
		_, err := s.Next() // blocks: the upstream sends nothing more
		next <- err
	}()
	cancel()
	select {
	case err = <-next:
	case <-time.After(30 * time.Second):
		t.Fatal("Next did not return after the context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
	select {
	case <-upstreamDone: // the upstream request was aborted
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream request was not aborted")
	}
}

func TestConverseStreamClose(t *testing.T) {
	ex := loadExchange(t, "converse_stream")
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL)
	s, err := p.ConverseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v, want an error", err)
	}
}

func TestConverseRejectsBadInput(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1") // never reached
	tests := []struct {
		name string
		call provider.Call
		req  *converse.Request
	}{
		{"nil request", provider.Call{UpstreamModel: "m"}, nil},
		{"no model", provider.Call{}, chatRequest()},
		{"invalid raw JSON", provider.Call{UpstreamModel: "m"}, &converse.Request{AdditionalModelRequestFields: json.RawMessage(`{`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Converse(t.Context(), tt.call, tt.req)
			if e := asAPIError(t, err); e.Code != apierror.Validation {
				t.Errorf("Converse: %v, want ValidationException", e)
			}
			_, err = p.ConverseStream(t.Context(), tt.call, tt.req)
			if e := asAPIError(t, err); e.Code != apierror.Validation {
				t.Errorf("ConverseStream: %v, want ValidationException", e)
			}
		})
	}
}
