package invokebody

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// nativeTurn is one message of a native Anthropic conversation.
type nativeTurn struct {
	Role    string            `json:"role"`
	Content []json.RawMessage `json:"content"`
}

// nativeReply is what a client reads from a native response body.
type nativeReply struct {
	Content []json.RawMessage `json:"content"`
	Usage   map[string]any    `json:"usage"`
}

type nativeBlock struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
	Text string `json:"text"`
}

// TestAnthropicToolLoopKeepsToolIDs runs a two-step tool loop the way a
// client of InvokeModel does (send the conversation, append the reply and
// a tool_result naming the tool_use ID, send it all again) through the codec
// and the simulator, streaming each call too. The simulator names its calls
// "tooluse_" + 22 characters as Converse does; the client sees
// "toolu_bdrk_" + the same 22, identical in the stream and in the body; and
// the simulator, which finds the tool a result answers by its ID, recognises
// every result the client sends back, in every later request.
func TestAnthropicToolLoopKeepsToolIDs(t *testing.T) {
	sim := simulator.New(nil, simulator.Options{})
	ctx := context.Background()
	codec := anthropicCodec{}
	var turns []nativeTurn
	user := func(blocks ...string) {
		raw := make([]json.RawMessage, len(blocks))
		for i, b := range blocks {
			raw[i] = json.RawMessage(b)
		}
		turns = append(turns, nativeTurn{Role: "user", Content: raw})
	}
	body := func() []byte {
		msgs, err := json.Marshal(turns)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(`{"anthropic_version":"2026-10-21","max_tokens":512,"tool_choice":{"type":"auto"},` +
			`"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},` +
			`{"name":"get_time","input_schema":{"type":"object","properties":{"zone":{"type":"string"}}}}],"messages":` + string(msgs) + `}`)
	}
	// send decodes the conversation, checks that every ID reached Converse
	// in its Converse form, and runs the call both ways.
	send := func(step string) (nativeReply, *converse.Request) {
		t.Helper()
		req, err := codec.DecodeChat(body(), haiku)
		if err != nil {
			t.Fatalf("%s: DecodeChat: %v", step, err)
		}
		for _, m := range req.Messages {
			for _, b := range m.Content {
				id := ""
				switch {
				case b.ToolUse != nil:
					id = b.ToolUse.ToolUseID
				case b.ToolResult != nil:
					id = b.ToolResult.ToolUseID
				default:
					continue
				}
				if !strings.HasPrefix(id, "tooluse_") {
					t.Errorf("%s: Converse got tool-use ID %q, not the tooluse_ form the model made", step, id)
				}
			}
		}
		call := provider.Call{RequestID: "req-" + step, ModelID: haiku.ID}
		meta := Meta{RequestID: call.RequestID, ModelID: haiku.ID}
		resp, err := sim.Converse(ctx, call, req)
		if err != nil {
			t.Fatalf("%s: Converse: %v", step, err)
		}
		out, err := codec.EncodeChat(req, resp, meta)
		if err != nil {
			t.Fatalf("%s: EncodeChat: %v", step, err)
		}
		var reply nativeReply
		if err := json.Unmarshal(out, &reply); err != nil {
			t.Fatalf("%s: body %s: %v", step, out, err)
		}

		chunks := simulatedChunks(t, step, sim, ctx, call, req, codec.NewStreamEncoder(req, meta))
		var streamed nativeReply
		if err := json.Unmarshal(assembleAnthropic(t, chunks), &streamed); err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, mustJSON(t, streamed.Content), string(mustJSON(t, reply.Content))) {
			t.Errorf("%s: streamed content differs from the body's\nstream: %s\n  body: %s", step, mustJSON(t, streamed.Content), mustJSON(t, reply.Content))
		}
		return reply, req
	}
	// toolCall returns the reply's one tool_use, checking its ID's form.
	toolCall := func(step string, reply nativeReply, tool string) nativeBlock {
		t.Helper()
		var calls []nativeBlock
		for _, raw := range reply.Content {
			var b nativeBlock
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			if b.Type == "tool_use" {
				calls = append(calls, b)
			}
		}
		if len(calls) != 1 || calls[0].Name != tool {
			t.Fatalf("%s: want one %s call, got %+v", step, tool, calls)
		}
		rest, ok := strings.CutPrefix(calls[0].ID, "toolu_bdrk_")
		if !ok || len(rest) != 22 {
			t.Errorf("%s: tool_use id %q is not toolu_bdrk_ + 22 characters", step, calls[0].ID)
		}
		return calls[0]
	}
	// answered checks that the model knew which call a result answers.
	answered := func(step string, reply nativeReply, tool string) {
		t.Helper()
		var b nativeBlock
		if len(reply.Content) == 0 || json.Unmarshal(reply.Content[0], &b) != nil || !strings.Contains(b.Text, tool) {
			t.Errorf("%s: reply to the tool result does not name %s (the model did not match the IDs): %s", step, tool, mustJSON(t, reply.Content))
		}
	}

	user(`{"type":"text","text":"What does get_weather say for Paris?"}`)
	reply, _ := send("1")
	weather := toolCall("1", reply, "get_weather")
	turns = append(turns, nativeTurn{Role: "assistant", Content: reply.Content})
	user(`{"type":"tool_result","tool_use_id":"` + weather.ID + `","content":"18C and sunny"}`)
	reply, _ = send("2")
	answered("2", reply, "get_weather")
	turns = append(turns, nativeTurn{Role: "assistant", Content: reply.Content})

	user(`{"type":"text","text":"And what does get_time say there?"}`)
	reply, _ = send("3")
	clock := toolCall("3", reply, "get_time")
	if clock.ID == weather.ID {
		t.Errorf("two calls share the ID %s", clock.ID)
	}
	turns = append(turns, nativeTurn{Role: "assistant", Content: reply.Content})
	user(`{"type":"tool_result","tool_use_id":"` + clock.ID + `","content":[{"type":"text","text":"14:05"}]}`)
	reply, req := send("4")
	answered("4", reply, "get_time")

	// The whole history went back to the model in Converse's form.
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
	want := []string{converseToolID(weather.ID), converseToolID(weather.ID), converseToolID(clock.ID), converseToolID(clock.ID)}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("tool-use IDs sent to the model = %v, want %v", ids, want)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnthropicToolIDMapping(t *testing.T) {
	for _, c := range []struct{ name, converse, native string }{
		{"Converse ID", "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "toolu_bdrk_kZJMlvQmRJ6eAyJE5GIl7Q"},
		{"Anthropic API ID kept", "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "toolu_01T1x1fJ34qAmk2tNTrN7Up6"},
		{"client ID kept", "call_1", "call_1"},
		{"bare prefix", "tooluse_", "toolu_bdrk_"},
		{"Bedrock's own native ID kept", "toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ", "toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ"},
		{"Converse ID of the native length", "tooluse_01AbkxtHRBE6DZyuxjrqa8S", "toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8S"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := anthropicToolID(c.converse); got != c.native {
				t.Errorf("anthropicToolID(%q) = %q, want %q", c.converse, got, c.native)
			}
			if got := converseToolID(c.native); got != c.converse {
				t.Errorf("converseToolID(%q) = %q, want %q", c.native, got, c.converse)
			}
		})
	}
}

// simulatedChunks streams req from the simulator and encodes the events
// with enc: the native chunks a streamed round trip step produces.
func simulatedChunks(t *testing.T, step string, sim provider.Provider, ctx context.Context, call provider.Call, req *converse.Request, enc StreamEncoder) []string {
	t.Helper()
	st, err := sim.ConverseStream(ctx, call, req)
	if err != nil {
		t.Fatalf("%s: ConverseStream: %v", step, err)
	}
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatalf("%s: stream: %v", step, err)
	}
	var chunks []string
	for i := range evs {
		cs, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatalf("%s: Encode: %v", step, err)
		}
		for _, c := range cs {
			chunks = append(chunks, string(c))
		}
	}
	return chunks
}
