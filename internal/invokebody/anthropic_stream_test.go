package invokebody

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// assembleAnthropic rebuilds the Messages response from stream chunks as
// Anthropic's SDKs do, checking the event grammar on the way.
func assembleAnthropic(t *testing.T, chunks []string) []byte {
	t.Helper()
	var (
		msg    map[string]any
		blocks []map[string]any
		inputs []string // partial_json per block
		open   = -1
	)
	for i, c := range chunks {
		var ev struct {
			Type         string         `json:"type"`
			Index        int            `json:"index"`
			Message      map[string]any `json:"message"`
			ContentBlock map[string]any `json:"content_block"`
			Delta        map[string]any `json:"delta"`
			Usage        map[string]any `json:"usage"`
		}
		if err := json.Unmarshal([]byte(c), &ev); err != nil {
			t.Fatalf("chunk %s: %v", c, err)
		}
		if (i == 0) != (ev.Type == "message_start") || (i == len(chunks)-1) != (ev.Type == "message_stop") {
			t.Errorf("chunk %d is %s: message_start must come first and message_stop last", i, ev.Type)
		}
		switch ev.Type {
		case "message_start":
			msg = ev.Message
		case "content_block_start":
			if open >= 0 || ev.Index != len(blocks) {
				t.Fatalf("content_block_start %d while block %d is open, %d blocks so far", ev.Index, open, len(blocks))
			}
			open = ev.Index
			blocks = append(blocks, ev.ContentBlock)
			inputs = append(inputs, "")
		case "content_block_delta":
			if ev.Index != open {
				t.Fatalf("content_block_delta for block %d while block %d is open", ev.Index, open)
			}
			b := blocks[ev.Index]
			appendTo := func(key, s string) { b[key] = b[key].(string) + s }
			switch ev.Delta["type"] {
			case "text_delta":
				appendTo("text", ev.Delta["text"].(string))
			case "thinking_delta":
				appendTo("thinking", ev.Delta["thinking"].(string))
			case "signature_delta":
				appendTo("signature", ev.Delta["signature"].(string))
			case "input_json_delta":
				inputs[ev.Index] += ev.Delta["partial_json"].(string)
			default:
				t.Fatalf("unknown delta %s", c)
			}
		case "content_block_stop":
			if ev.Index != open {
				t.Fatalf("content_block_stop for block %d while block %d is open", ev.Index, open)
			}
			open = -1
		case "message_delta":
			if open >= 0 {
				t.Fatalf("message_delta while block %d is open", open)
			}
			msg["stop_reason"], msg["stop_sequence"] = ev.Delta["stop_reason"], ev.Delta["stop_sequence"]
			usage := msg["usage"].(map[string]any)
			for k, v := range ev.Usage { // cumulative
				usage[k] = v
			}
		case "message_stop":
		default:
			t.Fatalf("unknown chunk %s", c)
		}
	}
	content := []any{}
	for i, b := range blocks {
		if b["type"] == "tool_use" && inputs[i] != "" {
			var v any
			if err := json.Unmarshal([]byte(inputs[i]), &v); err != nil {
				t.Fatalf("tool input %q: %v", inputs[i], err)
			}
			b["input"] = v
		}
		content = append(content, b)
	}
	msg["content"] = content
	out, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAnthropicStream(t *testing.T) {
	msgStart := func(in int) string {
		return `{"type":"message_start","message":{"id":"msg_bdrk_` + bedrockID(streamMeta.RequestID, "") +
			`","type":"message","role":"assistant","model":"claude-3-haiku-20240307","content":[],"stop_reason":null,"stop_sequence":null,"usage":` +
			noCacheUsage(in, 1) + `}}`
	}
	textStart := func(i string) string {
		return `{"type":"content_block_start","index":` + i + `,"content_block":{"type":"text","text":""}}`
	}
	textDelta := func(i, s string) string {
		return `{"type":"content_block_delta","index":` + i + `,"delta":{"type":"text_delta","text":` + s + `}}`
	}
	stop := func(i string) string { return `{"type":"content_block_stop","index":` + i + `}` }
	msgDelta := func(reason, seq string, in, out int) string {
		s := "null"
		if seq != "" {
			s = strconv.Quote(seq)
		}
		return fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":%s},"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d}}`, reason, s, in, out)
	}
	const msgStop = `{"type":"message_stop"}`
	thinking := "Paris is the capital."
	sig := "EqQBCgIYAh"
	s := func(s string) *string { return &s }

	for _, c := range []struct {
		name string
		evs  []converse.StreamEvent
		want []string
	}{
		{"text", converse.Events(textResponse(converse.StopEndTurn, 12, 6, "Hello <there> & you")), []string{
			msgStart(12), textStart("0"), textDelta("0", `"Hello <there> & you"`), stop("0"),
			msgDelta("end_turn", "", 12, 6), msgStop,
		}},
		{"text in pieces", splitDeltas(converse.Events(textResponse(converse.StopEndTurn, 12, 3, "Hi there")), 3), []string{
			msgStart(12), textStart("0"), textDelta("0", `"Hi "`), textDelta("0", `"the"`), textDelta("0", `"re"`), stop("0"),
			msgDelta("end_turn", "", 12, 3), msgStop,
		}},
		{"max_tokens", converse.Events(textResponse(converse.StopMaxTokens, 3, 2, "Once upon")), []string{
			msgStart(3), textStart("0"), textDelta("0", `"Once upon"`), stop("0"),
			msgDelta("max_tokens", "", 3, 2), msgStop,
		}},
		{"stop_sequence", func() []converse.StreamEvent {
			r := textResponse(converse.StopSequence, 9, 7, "1, 2, 3")
			r.StopSequence = "\nHuman:"
			return converse.Events(r)
		}(), []string{
			msgStart(9), textStart("0"), textDelta("0", `"1, 2, 3"`), stop("0"),
			msgDelta("stop_sequence", "\nHuman:", 9, 7), msgStop,
		}},
		{"tool use", converse.Events(response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking."),
			converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "toolu_bdrk_01abc", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}})), []string{
			msgStart(40), textStart("0"), textDelta("0", `"Checking."`), stop("0"),
			`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_bdrk_01abc","name":"get_weather","input":{}}}`,
			`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}`,
			stop("1"),
			msgDelta("tool_use", "", 40, 20), msgStop,
		}},
		{"tool use with a Converse ID", converse.Events(response(converse.StopToolUse, 40, 20,
			converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Name: "get_weather", Input: json.RawMessage(`{}`)}})), []string{
			msgStart(40),
			`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_bdrk_kZJMlvQmRJ6eAyJE5GIl7Q","name":"get_weather","input":{}}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}`,
			stop("0"), msgDelta("tool_use", "", 40, 20), msgStop,
		}},
		{"prompt cache use in the final usage", func() []converse.StreamEvent {
			r := textResponse(converse.StopEndTurn, 3, 25, "Hi")
			r.Usage.CacheReadInputTokens, r.Usage.CacheWriteInputTokens = 28530, 311
			r.Usage.CacheDetails = []converse.CacheDetail{{TTL: converse.CacheTTL5m, InputTokens: 311}}
			return converse.Events(r)
		}(), []string{
			msgStart(3), textStart("0"), textDelta("0", `"Hi"`), stop("0"),
			`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":3,"cache_creation_input_tokens":311,"cache_read_input_tokens":28530,"output_tokens":25}}`, msgStop,
		}},
		{"tool use without ID", converse.Events(response(converse.StopToolUse, 1, 2,
			converse.ContentBlock{ToolUse: &converse.ToolUseBlock{Name: "f"}})), []string{
			msgStart(1),
			`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_bdrk_` + bedrockID(streamMeta.RequestID, "0") + `","name":"f","input":{}}}`,
			stop("0"),
			msgDelta("tool_use", "", 1, 2), msgStop,
		}},
		{"thinking", converse.Events(response(converse.StopEndTurn, 20, 30,
			converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: thinking, Signature: sig}}},
			converse.TextBlock("Paris."))), []string{
			msgStart(20),
			`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Paris is the capital."}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAh"}}`,
			stop("0"), textStart("1"), textDelta("1", `"Paris."`), stop("1"),
			msgDelta("end_turn", "", 20, 30), msgStop,
		}},
		{"redacted thinking", converse.Events(response(converse.StopEndTurn, 5, 6,
			converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{RedactedContent: []byte("EmwKAhgB")}})), []string{
			msgStart(5),
			`{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}}`,
			stop("0"),
			msgDelta("end_turn", "", 5, 6), msgStop,
		}},
		{"input tokens known only at the end", unknownInput(converse.Events(textResponse(converse.StopEndTurn, 12, 6, "Hi"))), []string{
			msgStart(0), textStart("0"), textDelta("0", `"Hi"`), stop("0"),
			msgDelta("end_turn", "", 12, 6), msgStop,
		}},
		// An upstream that skips messageStart, leaves blocks open and numbers
		// them with gaps still yields a well-formed native stream.
		{"sloppy upstream", []converse.StreamEvent{
			{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: s("a")}}},
			{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 2, Delta: converse.ContentBlockDelta{Text: s("b")}}},
			{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 5}},
			{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopEndTurn}},
			{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 4, OutputTokens: 2}}},
		}, []string{
			msgStart(0), textStart("0"), textDelta("0", `"a"`), stop("0"), textStart("1"), textDelta("1", `"b"`), stop("1"),
			msgDelta("end_turn", "", 4, 2), msgStop,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantChunks(t, encodeStream(t, Anthropic, c.evs), c.want...)
		})
	}
}

// TestAnthropicStreamHoldsStop checks which events produce chunks:
// messageStop waits for the usage of the metadata event.
func TestAnthropicStreamHoldsStop(t *testing.T) {
	evs := converse.Events(textResponse(converse.StopEndTurn, 1, 1, "x"))
	enc := anthropicCodec{}.NewStreamEncoder(nil, streamMeta)
	var counts []int
	for i := range evs {
		chunks, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, len(chunks))
	}
	// messageStart, delta (start + delta), stop, messageStop, metadata (message_delta + message_stop).
	if want := []int{1, 2, 1, 0, 2}; !slices.Equal(counts, want) {
		t.Errorf("chunks per event = %v, want %v", counts, want)
	}
}
