package invokebody

import "slices"

// anthropicVersions are the anthropic_version values a native Claude body
// may carry on Bedrock; any other string is refused.
//
//   - "bedrock-2023-05-31": the Bedrock user guide, "Anthropic Claude
//     Messages API" (model-parameters-anthropic-claude-messages-request-response):
//     "anthropic_version – (Required) The anthropic version. The value must
//     be bedrock-2023-05-31." Every AWS SDK sample and the older Anthropic
//     SDKs (@anthropic-ai/bedrock-sdk 0.x) send it.
//   - "2026-10-21": the Anthropic API version of @anthropic-ai/sdk 1.x, which
//     sends it as its anthropic-version header (src/client.ts, default
//     headers; checked in 1.15.0). @anthropic-ai/bedrock-sdk 1.x, whose
//     1.0.0 (2026-10-21) "add[s] support for new API version 2026-10-21",
//     moves that header into the body's anthropic_version when the body has
//     none (src/client.ts, #adaptRequest; checked in 1.1.4), so the official
//     SDK's requests carry it.
var anthropicVersions = []string{"bedrock-2023-05-31", "2026-10-21"}

// anthropicCheckVersion applies Bedrock's check of anthropic_version, which
// comes before the schema: the version selects the API, so a missing or
// unknown one is reported on its own (texts from real Bedrock errors:
// boto/boto3#4218 "Invalid API version: claude-3-sonnet-20240229-v1:0",
// QuantumNous/new-api#3339 "anthropic_version: Field required"). A value
// that is not a string is left to the schema, which names its type.
func anthropicCheckVersion(root map[string]any) error {
	v, ok := root["anthropic_version"]
	if !ok {
		return anthropicError("anthropic_version: Field required")
	}
	if s, isString := v.(string); isString && !slices.Contains(anthropicVersions, s) {
		return anthropicError("Invalid API version: %s", s)
	}
	return nil
}
