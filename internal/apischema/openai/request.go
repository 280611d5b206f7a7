package openai

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// OpenAI's limits on the metadata parameter.
const (
	maxMetadataPairs    = 16
	maxMetadataKeyLen   = 64
	maxMetadataValueLen = 512
)

// TranslationLimits refuses what a chat request asks for that only an
// upstream speaking chat completions itself can give: several choices (n)
// and log probabilities. A request passed through untranslated to such an
// upstream gets them; one translated for any other model is refused with
// this error, which names the parameter.
func (r *ChatRequest) TranslationLimits() error {
	if r.N != nil && *r.N != 1 {
		return invalid("n", "Invalid 'n': %d. This model returns exactly one choice: leave 'n' unset or set it to 1.", *r.N)
	}
	if r.Logprobs != nil && *r.Logprobs {
		return invalid("logprobs", "'logprobs' is not supported by this model.")
	}
	return nil
}

// DecodeChatRequest parses a chat completions request body and checks the
// parameters that need no model: required members, n,
// stream_options, metadata and response_format, with OpenAI's messages.
// It builds no Converse value: messages and tools are checked by
// translate.ChatToConverse, which needs the conversation as a whole.
func DecodeChatRequest(body []byte) (*ChatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "The request body is empty: send a JSON object with 'model' and 'messages'.")
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	if req.Model == "" {
		return nil, invalid("model", "You must provide a model parameter.")
	}
	if req.Messages == nil {
		return nil, invalid("messages", "Missing required parameter: 'messages'.")
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.")
	}
	if req.N != nil && *req.N < 1 {
		return nil, invalid("n", "Invalid 'n': %d. Expected a value >= 1.", *req.N)
	}
	if req.StreamOptions != nil && !req.Stream {
		return nil, invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
	}
	if len(req.Metadata) > maxMetadataPairs {
		return nil, invalid("metadata", "Invalid 'metadata': too many pairs (%d). At most %d are allowed.", len(req.Metadata), maxMetadataPairs)
	}
	for k, v := range req.Metadata {
		if k == "" || len(k) > maxMetadataKeyLen {
			return nil, invalid("metadata", "Invalid 'metadata': keys must be 1 to %d characters long.", maxMetadataKeyLen)
		}
		if len(v) > maxMetadataValueLen {
			return nil, invalid("metadata."+k, "Invalid 'metadata.%s': values must be at most %d characters long.", k, maxMetadataValueLen)
		}
	}
	if err := req.ResponseFormat.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
