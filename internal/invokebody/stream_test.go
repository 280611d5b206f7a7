package invokebody

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Shared stream test helpers.

var streamMeta = Meta{RequestID: "b4d3c5a0-0000-4000-8000-000000000001", ModelID: haiku.ID}

// streamFamilies lists the families that stream.
var streamFamilies = []string{Anthropic, TitanText, Nova, Llama, Mistral, OpenAI}

func streamCodec(t testing.TB, name string) StreamCodec {
	t.Helper()
	c, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) failed", name)
	}
	sc, ok := c.(StreamCodec)
	if !ok {
		t.Fatalf("%s codec is not a StreamCodec", name)
	}
	return sc
}

// encodeStream feeds evs through a new encoder of the family and returns
// the chunks; each must be a JSON object.
func encodeStream(t testing.TB, family string, evs []converse.StreamEvent) []string {
	t.Helper()
	enc := streamCodec(t, family).NewStreamEncoder(nil, streamMeta)
	var out []string
	for i := range evs {
		chunks, err := enc.Encode(&evs[i])
		if err != nil {
			t.Fatalf("%s: Encode(%s): %v", family, evs[i].Name(), err)
		}
		for _, c := range chunks {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(c, &obj); err != nil {
				t.Fatalf("%s: chunk %s is not a JSON object: %v", family, c, err)
			}
			out = append(out, string(c))
		}
	}
	return out
}

// wantChunks compares chunk sequences exactly.
func wantChunks(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("chunks mismatch\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// response builds a chat response from content blocks.
func response(stop string, in, out int, blocks ...converse.ContentBlock) *converse.Response {
	return &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: blocks}},
		StopReason: stop,
		Usage:      converse.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out},
	}
}

// textResponse builds a response of text blocks.
func textResponse(stop string, in, out int, texts ...string) *converse.Response {
	blocks := make([]converse.ContentBlock, len(texts))
	for i, s := range texts {
		blocks[i] = converse.TextBlock(s)
	}
	return response(stop, in, out, blocks...)
}

// splitDeltas rewrites every text and tool input delta into deltas of at
// most n bytes, cut on rune boundaries, as a token-by-token upstream sends
// them.
func splitDeltas(evs []converse.StreamEvent, n int) []converse.StreamEvent {
	var out []converse.StreamEvent
	for _, ev := range evs {
		d := ev.ContentBlockDelta
		if d == nil || (d.Delta.Text == nil && d.Delta.ToolUse == nil) {
			out = append(out, ev)
			continue
		}
		s := ""
		if d.Delta.Text != nil {
			s = *d.Delta.Text
		} else {
			s = d.Delta.ToolUse.Input
		}
		for _, piece := range pieces(s, n) {
			nd := converse.ContentBlockDeltaEvent{ContentBlockIndex: d.ContentBlockIndex}
			if d.Delta.Text != nil {
				nd.Delta.Text = &piece
			} else {
				nd.Delta.ToolUse = &converse.ToolUseBlockDelta{Input: piece}
			}
			out = append(out, converse.StreamEvent{ContentBlockDelta: &nd})
		}
	}
	return out
}

// pieces cuts s into pieces of at most n bytes (a whole rune when one is
// longer), at least one.
func pieces(s string, n int) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for s != "" {
		end := 0
		for end < len(s) {
			_, size := utf8.DecodeRuneInString(s[end:])
			if end > 0 && end+size > n {
				break
			}
			end += size
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// unknownInput clears the input count of messageStart, as for an upstream
// that reports it only at the end.
func unknownInput(evs []converse.StreamEvent) []converse.StreamEvent {
	out := append([]converse.StreamEvent(nil), evs...)
	for i := range out {
		if out[i].MessageStart != nil {
			ms := *out[i].MessageStart
			ms.InputTokens = 0
			out[i].MessageStart = &ms
		}
	}
	return out
}

func TestStreamCodecs(t *testing.T) {
	for _, name := range Names() {
		c, _ := Lookup(name)
		_, isChat := c.(ChatCodec)
		_, streams := c.(StreamCodec)
		if streams != isChat {
			t.Errorf("%s: implements StreamCodec = %v, want %v (every chat family streams)", name, streams, isChat)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<html> & 'amp'", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é 日本 🎉", "line\u2028para\u2029end", "bad \xff utf8 \xe2\x82", "\xed\xa0\x80 surrogate",
	} {
		want, err := marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\u2028", "\xff", "日本\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got[1:]) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}

// streamAssemblers rebuild a family's non-streaming response body from its
// stream chunks, the way a client does; the cross-check compares the result
// with EncodeChat's body for the same response.
var streamAssemblers = map[string]func(t *testing.T, chunks []string) []byte{
	Anthropic: assembleAnthropic,
	TitanText: assembleTitanText,
	Nova:      assembleNova,
	Llama:     assembleLlama,
	Mistral:   assembleMistral,
	OpenAI:    assembleOpenAI,
}

// crossCheckStream checks that family's stream of resp, rebuilt by
// assemble, is the body EncodeChat gives for resp, with the deltas split
// into pieces of 1, 4 and any number of bytes, and with the input token
// count known at the start or only at the end (unknownInput). name names
// resp in the errors.
func crossCheckStream(t *testing.T, family, name string, resp *converse.Response, assemble func(t *testing.T, chunks []string) []byte) {
	t.Helper()
	for _, split := range []int{1, 4, 1 << 20} {
		for _, unknown := range []bool{false, true} {
			evs := splitDeltas(converse.Events(resp), split)
			if unknown {
				evs = unknownInput(evs)
			}
			chunks := encodeStream(t, family, evs)
			want, err := chatCodec(t, family).EncodeChat(nil, resp, streamMeta)
			if err != nil {
				t.Fatal(err)
			}
			if got := assemble(t, chunks); !sameJSON(t, got, string(want)) {
				t.Errorf("%s %s (split %d, input unknown at start %v): assembled stream differs from EncodeChat\n got: %s\nwant: %s\nchunks:\n  %s",
					family, name, split, unknown, got, want, strings.Join(chunks, "\n  "))
			}
		}
	}
}

// TestStreamCrossCheck checks, for every family, that the stream of a
// response says what the non-streaming body says: the same text (and tool
// uses), stop reason and token counts, the counts coming from the chunks
// that carry them at the end.
func TestStreamCrossCheck(t *testing.T) {
	toolUse := converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris","unit":"C"}`)}}
	resps := map[string]*converse.Response{
		"text":       textResponse(converse.StopEndTurn, 12, 6, "Hello <there> & \"you\"\n\té 日本 🎉 \u2028"),
		"two blocks": textResponse(converse.StopEndTurn, 5, 9, "First part. ", "Second part."),
		"max_tokens": textResponse(converse.StopMaxTokens, 3, 2, "Once upon"),
		"stop_sequence": func() *converse.Response {
			r := textResponse(converse.StopSequence, 9, 7, "1, 2, 3")
			r.StopSequence = "\nHuman:"
			return r
		}(),
		"empty":          textResponse(converse.StopEndTurn, 4, 0),
		"content filter": textResponse(converse.StopContentFiltered, 4, 1, "I"),
		"tool use":       response(converse.StopToolUse, 40, 20, converse.TextBlock("Checking the weather."), toolUse),
	}
	for _, family := range streamFamilies {
		for name, resp := range resps {
			if resp.StopReason == converse.StopToolUse && family != Anthropic && family != Nova {
				continue // the prompt families have no tool use
			}
			crossCheckStream(t, family, name, resp, streamAssemblers[family])
		}
	}
}

// TestStreamPartial feeds every prefix of streams without their end: no
// panic, no error, every chunk a JSON object.
func TestStreamPartial(t *testing.T) {
	reasoning := "Let me think."
	sig := "c2ln"
	resp := response(converse.StopToolUse, 10, 20,
		converse.ContentBlock{ReasoningContent: &converse.ReasoningContentBlock{ReasoningText: &converse.ReasoningText{Text: reasoning, Signature: sig}}},
		converse.TextBlock("Checking."),
		converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{"a":1}`)}},
	)
	evs := splitDeltas(converse.Events(resp), 3)
	for _, family := range streamFamilies {
		for n := 0; n < len(evs); n++ {
			encodeStream(t, family, evs[:n])
		}
	}
}

// TestStreamRandom feeds random event sequences (any order, unknown
// indexes, empty deltas, no end): the encoders never panic, and every chunk
// they produce is a JSON object.
func TestStreamRandom(t *testing.T) {
	text, empty, sig := "tok ", "", "s"
	pool := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: 3}},
		{MessageStart: &converse.MessageStartEvent{}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 1, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: "t", Name: "f"}}}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 2}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.ContentBlockDelta{Text: &text}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: `{"a":`}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 2, Delta: converse.ContentBlockDelta{Text: &empty}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 3}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 4, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &text, Signature: &sig}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 5, Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte("x")}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 7}},
		{MessageStop: &converse.MessageStopEvent{StopReason: "unknown_reason"}},
		{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopSequence}},
	}
	metadata := converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 3, OutputTokens: 5}}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, family := range streamFamilies {
		for range 200 {
			evs := make([]converse.StreamEvent, rng.IntN(12))
			for i := range evs {
				evs[i] = pool[rng.IntN(len(pool))]
			}
			if rng.IntN(2) == 0 {
				evs = append(evs, metadata)
			}
			chunks := encodeStream(t, family, evs)
			if n := len(evs); n > 0 && evs[n-1].Metadata != nil && len(chunks) == 0 {
				t.Fatalf("%s: a stream ending in metadata produced no chunk", family)
			}
		}
	}
}

// TestStreamMetadataChunk checks the caller's contract: metadata always
// produces at least one chunk, even as the only event.
func TestStreamMetadataChunk(t *testing.T) {
	for _, family := range streamFamilies {
		enc := streamCodec(t, family).NewStreamEncoder(nil, streamMeta)
		chunks, err := enc.Encode(&converse.StreamEvent{Metadata: &converse.MetadataEvent{}})
		if err != nil || len(chunks) == 0 {
			t.Errorf("%s: metadata alone produced %d chunks (%v), want at least one", family, len(chunks), err)
		}
	}
}

func TestStreamMisuse(t *testing.T) {
	metadata := &converse.StreamEvent{Metadata: &converse.MetadataEvent{}}
	for _, family := range streamFamilies {
		for _, c := range []struct {
			name   string
			before []*converse.StreamEvent
			ev     *converse.StreamEvent
		}{
			{"nil event", nil, nil},
			{"empty event", nil, &converse.StreamEvent{}},
			{"event after metadata", []*converse.StreamEvent{metadata}, &converse.StreamEvent{MessageStop: &converse.MessageStopEvent{}}},
			{"second metadata", []*converse.StreamEvent{metadata}, metadata},
		} {
			enc := streamCodec(t, family).NewStreamEncoder(nil, streamMeta)
			for _, ev := range c.before {
				if _, err := enc.Encode(ev); err != nil {
					t.Fatal(err)
				}
			}
			chunks, err := enc.Encode(c.ev)
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.InternalServer || len(chunks) != 0 {
				t.Errorf("%s %s: got %d chunks, error %v; want no chunks and an InternalServerException", family, c.name, len(chunks), err)
			}
		}
	}
}

// BenchmarkStreamTextDelta measures the per-token cost: one text delta.
func BenchmarkStreamTextDelta(b *testing.B) {
	text := " token"
	ev := &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.ContentBlockDelta{Text: &text}}}
	for _, family := range streamFamilies {
		b.Run(family, func(b *testing.B) {
			enc := streamCodec(b, family).NewStreamEncoder(nil, streamMeta)
			start := &converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: 10}}
			if _, err := enc.Encode(start); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.Encode(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
