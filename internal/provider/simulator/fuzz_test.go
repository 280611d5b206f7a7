package simulator

import (
	"encoding/json"
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
