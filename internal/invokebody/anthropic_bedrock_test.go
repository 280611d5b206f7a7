package invokebody

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
)

// Bedrock's flavour of the Messages API: its IDs and its JSON.

// bedrockID is the tests' own derivation of the 24 characters after
// "msg_bdrk_" and "toolu_bdrk_" in the IDs Bedrock gives Claude's native
// responses ("01" and 22 base62 characters of the SHA-256 of the request
// ID and a salt: "" for the message, the Converse block index for a tool
// use without an ID), which translate.BedrockIDs makes; the tests pin the
// codec's IDs to it.
func bedrockID(requestID, salt string) string {
	sum := sha256.Sum256([]byte(requestID + "/" + salt))
	id := make([]byte, 24)
	id[0], id[1] = '0', '1'
	for i := 2; i < len(id); i++ {
		id[i] = base62[int(sum[i])%len(base62)]
	}
	return string(id)
}

func TestBedrockJSONUnescapesHTML(t *testing.T) {
	type nested struct{ S string }
	for _, s := range []string{"<a> & <b>", `\u003c literal`, `back\slash<`, "\u2028 \xff <", ""} {
		got, err := bedrockJSON(map[string]json.Marshaler{"k": json.RawMessage(mustMarshal(t, nested{s}))})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := marshal(map[string]nested{"k": {s}})
		if string(got) != string(want) {
			t.Errorf("bedrockJSON(%q) = %s, want %s", s, got, want)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzAnthropicDeltaChunk checks that the appended content_block_delta
// chunks are the bytes bedrockJSON writes for the event.
func FuzzAnthropicDeltaChunk(f *testing.F) {
	for _, s := range []string{"", "Hello <there> & you", `{"city":"Par`, "\u2028\xff\n\"\\"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, index int) {
		for _, d := range []anthropic.Delta{{Type: anthropic.DeltaText, Text: s}, {Type: anthropic.DeltaInputJSON, PartialJSON: s},
			{Type: anthropic.DeltaThinking, Thinking: s}, {Type: anthropic.DeltaSignature, Signature: s}} {
			e := anthropic.StreamEvent{Type: anthropic.EventContentBlockDelta, Index: index, Delta: &d}
			got, ok := deltaChunk(&e)
			want, err := bedrockJSON(e)
			if !ok || err != nil || string(got) != string(want) {
				t.Fatalf("deltaChunk = %s (%v), bedrockJSON = %s (%v)", got, ok, want, err)
			}
		}
	})
}
