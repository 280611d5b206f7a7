package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
)

// Embedding encoding formats.
const (
	EncodingFloat  = "float"
	EncodingBase64 = "base64"
)

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string         `json:"model"`
	Input EmbeddingInput `json:"input"`
	// Dimensions is the requested vector length (models that support it).
	Dimensions *int `json:"dimensions,omitempty"`
	// EncodingFormat is float (the default) or base64.
	EncodingFormat string `json:"encoding_format,omitempty"`
	User           string `json:"user,omitempty"`
}

// EmbeddingInput is the input parameter: a string or an array of strings,
// held as a list. Token arrays (arrays of integers) are refused: no
// provider accepts pre-tokenised input.
type EmbeddingInput []string

// UnmarshalJSON reads a string or an array of strings.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	*in = nil
	switch firstByte(b) {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*in = EmbeddingInput{s}
		return nil
	case '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		list := make(EmbeddingInput, len(raw))
		for i, r := range raw {
			switch firstByte(r) {
			case '"':
				if err := json.Unmarshal(r, &list[i]); err != nil {
					return err
				}
			case '[', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				return invalid("input", "Token arrays are not supported for 'input': send the text as a string or an array of strings.")
			default:
				return invalid(paramf("input[%d]", i), "Invalid type for 'input[%d]': expected a string.", i)
			}
		}
		*in = list
		return nil
	case 'n':
		return nil
	}
	return invalid("input", "Invalid type for 'input': it must be a string or an array of strings.")
}

// EmbeddingResponse is the body of an embeddings response.
type EmbeddingResponse struct {
	Object string         `json:"object"`
	Data   []Embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  EmbeddingUsage `json:"usage"`
}

// Embedding is one input's vector.
type Embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding Vector `json:"embedding"`
}

// EmbeddingUsage is the token accounting of an embeddings call.
type EmbeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// Vector is an embedding vector, written as an array of numbers or, when
// Base64 is set, as base64 of its little-endian float32 bytes (OpenAI's
// encoding_format=base64). Both forms are read.
type Vector struct {
	Values []float32
	Base64 bool
}

// MarshalJSON writes the vector in its format.
func (v Vector) MarshalJSON() ([]byte, error) {
	if !v.Base64 {
		if v.Values == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.Values)
	}
	buf := make([]byte, 4*len(v.Values))
	for i, f := range v.Values {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(buf))
}

// UnmarshalJSON reads an array of numbers or a base64 string.
func (v *Vector) UnmarshalJSON(b []byte) error {
	*v = Vector{}
	if firstByte(b) != '"' {
		return json.Unmarshal(b, &v.Values)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw)%4 != 0 {
		return invalid("embedding", "The embedding is not valid base64 of float32 values.")
	}
	v.Base64 = true
	v.Values = make([]float32, len(raw)/4)
	for i := range v.Values {
		v.Values[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}

// DecodeEmbeddingRequest parses and checks an embeddings request body.
func DecodeEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "The request body is empty: send a JSON object with 'model' and 'input'.")
	}
	var req EmbeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	if req.Model == "" {
		return nil, invalid("model", "You must provide a model parameter.")
	}
	if req.Input == nil {
		return nil, invalid("input", "Missing required parameter: 'input'.")
	}
	if len(req.Input) == 0 {
		return nil, invalid("input", "'input' must not be empty.")
	}
	for i, s := range req.Input {
		if s == "" {
			return nil, invalid(paramf("input[%d]", i), "'input[%d]' must not be an empty string.", i)
		}
	}
	if req.Dimensions != nil && *req.Dimensions < 1 {
		return nil, invalid("dimensions", "Invalid 'dimensions': %d. It must be at least 1.", *req.Dimensions)
	}
	switch req.EncodingFormat {
	case "", EncodingFloat, EncodingBase64:
	default:
		return nil, invalid("encoding_format", "Invalid value for 'encoding_format': %q. Supported values are: 'float' and 'base64'.", req.EncodingFormat)
	}
	return &req, nil
}

// Model is an entry of the models list.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}
