package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

func TestConverseStreamAssemblesToConverse(t *testing.T) {
	weather := `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`
	cases := map[string]*converse.Request{
		"text": {Messages: []converse.Message{textMsg("user", "Tell me about streams.")}},
		"max tokens": {Messages: []converse.Message{textMsg("user", "Tell me about streams.")},
			InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(3)}},
		"tool use": {Messages: []converse.Message{textMsg("user", "What is the weather in Paris?")},
			ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(weather)}}}},
				ToolChoice: &converse.ToolChoice{Any: &struct{}{}}}},
	}
	s := New(map[string]ModelSettings{"m": {TimePerOutputToken: 50 * time.Microsecond}}, Options{})
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := s.Converse(context.Background(), provider.Call{ModelID: "m"}, req)
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.ConverseStream(context.Background(), provider.Call{ModelID: "m"}, req)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := provider.Collect(st)
			if err != nil {
				t.Fatal(err)
			}
			if evs[0].MessageStart == nil || evs[len(evs)-1].Metadata == nil || evs[len(evs)-2].MessageStop == nil {
				t.Fatalf("event order: first %q, last two %q %q", evs[0].Name(), evs[len(evs)-2].Name(), evs[len(evs)-1].Name())
			}
			var a converse.Assembler
			for i := range evs {
				a.Add(&evs[i])
			}
			got := a.Response()
			got.Metrics, want.Metrics = converse.Metrics{}, converse.Metrics{}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("assembled stream differs from Converse:\n got %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestConverseStreamFailsMidway(t *testing.T) {
	s := New(map[string]ModelSettings{"m": {StreamErrorRate: 1, MinReplyTokens: 20, MaxReplyTokens: 20}}, Options{})
	st, err := s.ConverseStream(context.Background(), provider.Call{ModelID: "m"}, &converse.Request{Messages: []converse.Message{textMsg("user", "hi")}})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := provider.Collect(st)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ModelStreamError {
		t.Fatalf("stream ended with %v, want ModelStreamErrorException", err)
	}
	deltas := 0
	for _, ev := range evs {
		if ev.ContentBlockDelta != nil {
			deltas++
		}
	}
	if deltas == 0 {
		t.Errorf("the stream failed before any content; want a failure midway")
	}
}

func TestConverseStreamStopsWhenCancelled(t *testing.T) {
	s := New(map[string]ModelSettings{"m": {TimePerOutputToken: 20 * time.Millisecond, MinReplyTokens: 100, MaxReplyTokens: 100}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := s.ConverseStream(ctx, provider.Call{ModelID: "m"}, &converse.Request{Messages: []converse.Message{textMsg("user", "hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = st.Next()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel = %v, want an error wrapping context.Canceled", err)
	}
}

func textMsg(role, text string) converse.Message {
	return converse.Message{Role: role, Content: []converse.ContentBlock{converse.TextBlock(text)}}
}

// TestStreamContract runs the provider.Stream contract shared with the
// upstream adapters over the simulator's failure modes.
func TestStreamContract(t *testing.T) {
	for name, settings := range map[string]ModelSettings{
		"plain":          {},
		"stream failure": {StreamErrorRate: 1},
		"throttled":      {ThrottleRate: 1},
		"failing":        {ErrorRate: 1, ErrorCode: "ModelErrorException"},
		"echo":           {Reply: ReplyEcho},
	} {
		t.Run(name, func(t *testing.T) {
			providertest.CheckStream(t, New(map[string]ModelSettings{"m": settings}, Options{}))
		})
	}
}
