package simulator

import (
	"encoding/json"
	"slices"
)

// bedrockBetas are the Anthropic beta flags Bedrock's Claude models accept
// in anthropic_beta (AWS's model parameter pages, as litellm's allowlist
// keeps them), plus the two Claude Code sends on Bedrock, which Bedrock
// accepts from Claude 4 on (claude-code issue reports). Any other flag is
// refused as Bedrock refuses it: "invalid beta flag". The simulator does
// not check which model takes which flag (context-1m on Sonnet 4/4.5
// only, output-128k on 3.7 only): every Claude model takes every flag.
var bedrockBetas = []string{
	"computer-use-2024-10-22", "computer-use-2025-01-24", "computer-use-2025-11-24",
	"token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14", "output-128k-2025-02-19",
	"dev-full-thinking-2025-05-14", "context-1m-2025-08-07", "context-management-2025-06-27",
	"effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29",
	"claude-code-20250219", "fine-grained-tool-streaming-2025-05-14",
}

// checkBetas refuses an anthropic_beta that is not a list of strings, or
// that names a flag Bedrock does not know.
func checkBetas(fields map[string]json.RawMessage) error {
	raw := fields["anthropic_beta"]
	if isNull(raw) {
		return nil
	}
	var betas []string
	if err := json.Unmarshal(raw, &betas); err != nil {
		return modelError("anthropic_beta: Input should be a valid list")
	}
	for _, b := range betas {
		if !slices.Contains(bedrockBetas, b) {
			return modelError("invalid beta flag")
		}
	}
	return nil
}
