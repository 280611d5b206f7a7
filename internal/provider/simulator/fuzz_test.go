package simulator

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// FuzzConverse checks the invariants of a reply for arbitrary prompts,
// budgets and stop sequences: no panic; outputTokens within the budget;
// the text a prefix of the uncut reply; the token count consistent with the
// tokenizer; the plan's pieces consistent with the response.
func FuzzConverse(f *testing.F) {
	f.Add("Hello there", 100, "the", "", false)
	f.Add("Explain quantum computing in simple terms.", 5, ".", ",", false)
	f.Add("echo this back, please: 12345", 3, "back", "ck,", true)
	f.Add("日本語 😀 \xff", 0, "", "e", true)
	f.Add("", -4, "\n", " ", false)
	sims := map[bool]*Simulator{
		false: New(map[string]ModelSettings{testModel: {MinReplyTokens: 1, MaxReplyTokens: 300}}, Options{}),
		true:  New(map[string]ModelSettings{testModel: {Reply: ReplyEcho}}, Options{}),
	}
	f.Fuzz(func(t *testing.T, text string, maxTokens int, stop1, stop2 string, echo bool) {
		maxTokens %= 1000
		s := sims[echo]
		full := mustConverse(t, s, withInference(userReq(text), 1<<20))
		if full.StopReason != converse.StopEndTurn || CountTokens(full.Text()) != full.Usage.OutputTokens {
			t.Fatalf("uncut reply: %q with %d tokens, %q", full.Text(), full.Usage.OutputTokens, full.StopReason)
		}

		req := withInference(userReq(text), maxTokens, stop1, stop2)
		resp := mustConverse(t, s, req)
		got, out := resp.Text(), resp.Usage.OutputTokens
		if out > max(maxTokens, 0) || out < 0 {
			t.Fatalf("outputTokens %d beyond maxTokens %d", out, maxTokens)
		}
		if !strings.HasPrefix(full.Text(), got) {
			t.Fatalf("%q is not a prefix of the uncut reply %q", got, full.Text())
		}
		switch resp.StopReason {
		case converse.StopSequence:
			seq := resp.StopSequence
			if seq == "" || (seq != stop1 && seq != stop2) || !strings.HasPrefix(full.Text()[len(got):], seq) {
				t.Fatalf("stop sequence %q does not follow the text %q", seq, got)
			}
			for _, s := range []string{stop1, stop2} {
				if s != "" && strings.Contains(got, s) {
					t.Fatalf("text %q still contains stop sequence %q", got, s)
				}
			}
			// Pieces starting before the cut, a partly emitted one included.
			want, off := 0, 0
			for _, p := range appendPieces(nil, full.Text()) {
				if off >= len(got) {
					break
				}
				want++
				off += len(p)
			}
			if out != want {
				t.Fatalf("outputTokens %d, want %d pieces before the cut", out, want)
			}
			if off == len(got) && CountTokens(got) != out {
				// Cut between pieces: prefix stability applies.
				t.Fatalf("cut at a piece boundary: CountTokens(%q) = %d, outputTokens %d", got, CountTokens(got), out)
			}
		case converse.StopMaxTokens:
			if out != max(maxTokens, 0) || CountTokens(got) != out {
				t.Fatalf("max_tokens with %d tokens (%d counted), budget %d", out, CountTokens(got), maxTokens)
			}
		case converse.StopEndTurn:
			if got != full.Text() || out != full.Usage.OutputTokens {
				t.Fatalf("end_turn but the reply was cut")
			}
		default:
			t.Fatalf("stop reason %q", resp.StopReason)
		}

		p := s.plan(call(), req)
		var pieces []string
		for _, b := range p.blocks {
			pieces = append(pieces, b.pieces()...)
		}
		if strings.Join(pieces, "") != got || len(pieces) != out || p.outputTokens != out {
			t.Fatalf("plan pieces %q do not match the response %q (%d tokens)", pieces, got, out)
		}
	})
}

// FuzzToolInput feeds arbitrary schemas to the tool input generator, which
// must always produce a JSON object.
func FuzzToolInput(f *testing.F) {
	f.Add([]byte(weatherSchema), uint64(1))
	f.Add([]byte(searchSchema), uint64(2))
	f.Add([]byte(`{"properties":{"a":{"$ref":"#/properties"}},"required":["a"]}`), uint64(3))
	f.Add([]byte(`{"type":["array","null"],"items":[{"enum":[null]}]}`), uint64(4))
	f.Add([]byte(`{"properties":{"n":{"type":"number","minimum":1e300,"exclusiveMaximum":-1e300}}}`), uint64(5))
	f.Fuzz(func(t *testing.T, schema []byte, seed uint64) {
		r := newPRNG(seed)
		out := toolInput(schema, &r)
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("schema %s gave %s: %v", schema, out, err)
		}
	})
}

// FuzzDecodeOrdered checks the schema decoder against encoding/json: the
// same values, numbers kept as written.
func FuzzDecodeOrdered(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":[true,null,"x\u00e9\"",-1.5e3],"b":{"c":{}}}`))
	f.Add([]byte(` [ ] `))
	f.Add([]byte(`"\ud83d\ude00"`))
	f.Add([]byte(`{"a":1}x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := decodeOrdered(data)
		// Numbers stay json.Number, so that 1E700 is as valid as JSON says.
		if ok != json.Valid(data) {
			t.Fatalf("%q: decodeOrdered ok=%v, json.Valid %v", data, ok, !ok)
		}
		if !ok {
			return
		}
		want, _ := decodePlain(data)
		var out []byte
		appendValue(&out, v)
		got, gok := decodePlain(out)
		if !gok {
			t.Fatalf("%q re-encoded as invalid JSON %q", data, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decoded as %#v, want %#v", data, got, want)
		}
	})
}

// FuzzToolChoice checks the tool choice rules for arbitrary questions and
// tool names: forced choices always call, auto never calls a tool twice
// in a turn, and nothing panics.
func FuzzToolChoice(f *testing.F) {
	f.Add("What's the weather in Paris?", "get_weather", "Current weather.", uint8(0))
	f.Add("", "", "", uint8(1))
	f.Add("use X", "X", "x x x", uint8(2))
	f.Add("ÄÖÜ straße 😀", "straße_finden", "Straße", uint8(3))
	s := New(nil, Options{})
	f.Fuzz(func(t *testing.T, question, name, desc string, mode uint8) {
		if name == "" {
			name = "tool"
		}
		choices := []*converse.ToolChoice{nil, choiceAuto, choiceAny, choiceTool(name)}
		choice := choices[int(mode)%len(choices)]
		req := userReq(question)
		req.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{
			{ToolSpec: &converse.ToolSpec{Name: name, Description: desc, InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}}},
			{ToolSpec: &converse.ToolSpec{Name: "other_" + name, Description: question, InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{}`)}}},
		}, ToolChoice: choice}
		forced := choice == choiceAny || choice != nil && choice.Tool != nil
		seen := map[string]bool{}
		for turn := range 4 {
			resp := mustConverse(t, s, req)
			content := resp.Output.Message.Content
			use := content[len(content)-1].ToolUse
			if forced && (use == nil || len(content) != 1) {
				t.Fatalf("turn %d: forced choice gave %+v", turn, content)
			}
			if use == nil {
				return
			}
			if !forced && seen[use.Name] {
				t.Fatalf("turn %d: auto called %s twice", turn, use.Name)
			}
			seen[use.Name] = true
			req.Messages = append(req.Messages, *resp.Output.Message, converse.Message{Role: converse.RoleUser,
				Content: []converse.ContentBlock{{ToolResult: &converse.ToolResultBlock{ToolUseID: use.ToolUseID,
					Content: []converse.ToolResultContentBlock{{Text: ptr("ok")}}}}}})
		}
	})
}
