package invokebody

import (
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Amazon Titan Text Embeddings: G1 (v1) takes only inputText; V2 adds
// dimensions, normalize and embeddingTypes.

var (
	titanEmbedV1Schema = object(props{
		"inputText": str().length(1, 50000),
	}, "inputText")
	titanEmbedV2Schema = object(props{
		"inputText":      str().length(1, 50000),
		"dimensions":     integer().oneOf("256", "512", "1024"),
		"normalize":      boolean(),
		"embeddingTypes": array(enum("float", "binary")).count(1, 2),
	}, "inputText")
)

// Output lengths: V1 is fixed, V2 defaults to the largest.
const (
	titanEmbedV1Dimensions = 1536
	titanEmbedV2Dimensions = 1024
)

func titanEmbedV2(modelID string) bool { return strings.Contains(modelID, "titan-embed-text-v2") }

type titanEmbedRequest struct {
	InputText      string   `json:"inputText"`
	Dimensions     *int     `json:"dimensions"`
	Normalize      *bool    `json:"normalize"`
	EmbeddingTypes []string `json:"embeddingTypes"`
}

type titanEmbedCodec struct{}

// DecodeEmbed implements EmbedCodec.
func (titanEmbedCodec) DecodeEmbed(body []byte, m Model) (*EmbedCall, error) {
	v2 := titanEmbedV2(m.ID)
	s := titanEmbedV1Schema
	if v2 {
		s = titanEmbedV2Schema
	}
	var in titanEmbedRequest
	if err := decodeChecked(body, s, m, &in); err != nil {
		return nil, err
	}
	if !v2 {
		return &EmbedCall{Request: provider.EmbedRequest{Inputs: []string{in.InputText}, Dimensions: titanEmbedV1Dimensions}, Float: true}, nil
	}
	call := &EmbedCall{Request: provider.EmbedRequest{Inputs: []string{in.InputText}, Dimensions: titanEmbedV2Dimensions, Normalize: true}, Float: true}
	if in.Dimensions != nil {
		call.Request.Dimensions = *in.Dimensions
	}
	if in.Normalize != nil {
		call.Request.Normalize = *in.Normalize
	}
	if len(in.EmbeddingTypes) > 0 {
		call.Float = slices.Contains(in.EmbeddingTypes, "float")
		call.Binary = slices.Contains(in.EmbeddingTypes, "binary")
	}
	return call, nil
}

type titanEmbedV1Response struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int       `json:"inputTextTokenCount"`
}

type titanEmbedV2Response struct {
	Embedding           []float32        `json:"embedding"`
	EmbeddingsByType    titanEmbedByType `json:"embeddingsByType"`
	InputTextTokenCount int              `json:"inputTextTokenCount"`
}

type titanEmbedByType struct {
	Binary []int8    `json:"binary,omitempty"`
	Float  []float32 `json:"float,omitempty"`
}

// EncodeEmbed implements EmbedCodec.
func (titanEmbedCodec) EncodeEmbed(call *EmbedCall, resp *provider.EmbedResponse, meta Meta) ([]byte, error) {
	vec := []float32{}
	if len(resp.Embeddings) > 0 && resp.Embeddings[0] != nil {
		vec = resp.Embeddings[0]
	}
	if !titanEmbedV2(meta.ModelID) {
		return marshal(titanEmbedV1Response{Embedding: vec, InputTextTokenCount: resp.InputTokens})
	}
	// "embedding" is always the float vector; embeddingsByType has what was asked for.
	out := titanEmbedV2Response{Embedding: vec, InputTextTokenCount: resp.InputTokens}
	if call.Float {
		out.EmbeddingsByType.Float = vec
	}
	if call.Binary {
		bits := make([]int8, len(vec))
		for i, x := range vec {
			if x > 0 {
				bits[i] = 1
			}
		}
		out.EmbeddingsByType.Binary = bits
	}
	return marshal(out)
}

// Streaming: Titan embedding models do not stream.
