package invocationlog

import "encoding/json"

// Record is one ModelInvocationLog record as delivered (schemaType
// ModelInvocationLog, schemaVersion 1.0). The request path encodes it with
// the bodies left empty (so they are omitted) and delivery splices the
// bodies in; input and output come last so that their splice points are
// found by searching from the end.
type Record struct {
	SchemaType      string            `json:"schemaType"`
	SchemaVersion   string            `json:"schemaVersion"`
	Timestamp       string            `json:"timestamp"`
	AccountID       string            `json:"accountId"`
	Identity        Identity          `json:"identity"`
	Region          string            `json:"region"`
	RequestID       string            `json:"requestId"`
	Operation       string            `json:"operation"`
	ModelID         string            `json:"modelId"`
	InferenceRegion string            `json:"inferenceRegion,omitempty"`
	RequestMetadata map[string]string `json:"requestMetadata,omitempty"`
	// Upstream is modelwatch's addition to Bedrock's schema: which
	// provider answered (or was tried last) and how many upstream attempts
	// the call took. Readers of Bedrock records ignore unknown keys.
	Upstream *RecordUpstream `json:"upstream,omitempty"`
	// ErrorCode is the exception name of a failed call.
	ErrorCode string `json:"errorCode,omitempty"`
	// Status is an asynchronous invocation's end (Completed, Failed).
	Status string       `json:"status,omitempty"`
	Input  RecordInput  `json:"input"`
	Output RecordOutput `json:"output"`
}

// Identity is the caller.
type Identity struct {
	ARN string `json:"arn"`
}

// RecordInput is the request side of a record.
type RecordInput struct {
	InputContentType          string          `json:"inputContentType,omitempty"`
	InputBodyJSON             json.RawMessage `json:"inputBodyJson,omitempty"`
	InputBodyS3Path           string          `json:"inputBodyS3Path,omitempty"`
	InputTokenCount           int             `json:"inputTokenCount"`
	CacheReadInputTokenCount  int             `json:"cacheReadInputTokenCount"`
	CacheWriteInputTokenCount int             `json:"cacheWriteInputTokenCount"`
}

// RecordOutput is the response side of a record.
type RecordOutput struct {
	OutputContentType string          `json:"outputContentType,omitempty"`
	OutputBodyJSON    json.RawMessage `json:"outputBodyJson,omitempty"`
	OutputBodyS3Path  string          `json:"outputBodyS3Path,omitempty"`
	OutputTokenCount  int             `json:"outputTokenCount"`
	// The video of an asynchronous invocation (Nova Reel).
	OutputVideoS3Path          string `json:"outputVideoS3Path,omitempty"`
	OutputVideoDurationSeconds int    `json:"outputVideoDurationSeconds,omitempty"`
	OutputVideoFramesPerSecond int    `json:"outputVideoFramesPerSecond,omitempty"`
	OutputVideoWidth           int    `json:"outputVideoWidth,omitempty"`
	OutputVideoHeight          int    `json:"outputVideoHeight,omitempty"`
}

// RecordUpstream says where a call was served.
type RecordUpstream struct {
	// Provider is the configured provider's name; Model the upstream's name
	// for the model.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// ServedModelID is the catalog model that answered: the requested one,
	// or a fallback.
	ServedModelID string `json:"servedModelId"`
	// Attempts counts upstream calls, retries and fallbacks included.
	Attempts int `json:"attempts"`
}
