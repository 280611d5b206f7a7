package invokebody

import "strings"

// Tool-use IDs take two shapes on Bedrock. Converse (and Nova's native
// body) name a call "tooluse_" and 22 characters ("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
// in a real Converse response; the simulator makes the same); Anthropic's
// native bodies name it
// "toolu_bdrk_01" and 22 base62 characters, in InvokeModel responses and in
// the stream's content_block_start alike (real Bedrock chunks: a Claude
// Sonnet 4.6 stream recorded in a Go relay's tests, "toolu_bdrk_0193mV9uwy5TFF8p8sTGi3hC";
// Claude Code transcripts made through Bedrock, "toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ").
//
// A call is presented in the native body as "toolu_bdrk_" + the rest of its
// Converse ID, and a native request's "toolu_bdrk_" IDs are read back as
// "tooluse_" + the rest. The mapping is a pure function of the ID, so a call
// keeps one ID across the stream and the final body, and a conversation
// sent back (tool_use and tool_result) names the calls as the model made
// them. IDs of any other form (the real Anthropic API's "toolu_01...", IDs a
// client made up) pass through unchanged both ways, and so does an ID of
// Bedrock's own native shape, "toolu_bdrk_01" and 22 base62 characters: a
// mapped Converse ID never has it (its rest is Converse's 22 characters),
// while an Anthropic-shaped upstream on Bedrock, the fallback IDs of a tool
// use that arrived without one (translate.BedrockIDs) and transcripts
// recorded from Bedrock do, and the model that made such an ID must get it
// back as it is.
const (
	converseToolIDPrefix  = "tooluse_"
	anthropicToolIDPrefix = "toolu_bdrk_"
)

// anthropicToolID is the native form of a Converse tool-use ID.
func anthropicToolID(id string) string {
	if rest, ok := strings.CutPrefix(id, converseToolIDPrefix); ok {
		return anthropicToolIDPrefix + rest
	}
	return id
}

// converseToolID is the Converse form of a native tool-use ID; it undoes
// anthropicToolID.
func converseToolID(id string) string {
	if rest, ok := strings.CutPrefix(id, anthropicToolIDPrefix); ok && !bedrockNativeID(rest) {
		return converseToolIDPrefix + rest
	}
	return id
}

// bedrockNativeID reports whether rest, what follows "toolu_bdrk_", has the
// shape of the IDs Bedrock makes for Claude: "01" and 22 base62 characters.
func bedrockNativeID(rest string) bool {
	if len(rest) != 24 || !strings.HasPrefix(rest, "01") {
		return false
	}
	for i := 2; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// base62 is the alphabet of Anthropic's IDs.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
