package invokebody

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Cohere Embed v3 (cohere.embed-english-v3, cohere.embed-multilingual-v3)
// and v4 (cohere.embed-v4:0), as Bedrock serves them (Bedrock user guide,
// "Cohere Embed and Cohere Embed v4 models"; Cohere's Embed API reference
// for the response and the quantised types).
//
// v3 takes texts (up to 96, 2,048 characters each) or one image as a data
// URI, with input_type (search_document, search_query, classification,
// clustering, image), truncate NONE|START|END and embedding_types. v4 takes
// texts, images (up to 96 data URIs) or inputs (interleaved text and
// image_url content, one vector per input), with input_type,
// output_dimension 256|512|1024|1536, max_tokens, truncate NONE|LEFT|RIGHT
// and embedding_types.
//
// The response is {"id", "embeddings", "texts", "images"?,
// "response_type"}: a list of float vectors ("embeddings_floats") when v3
// is asked for no embedding_types, else an object with one member per type
// asked for ("embeddings_by_type"), which v4 always returns (float when
// none is asked for), as the recorded v4 replies show.
//
// Decisions where the documentation is silent:
//   - The quantised types derive from the float vector as Cohere describes
//     them: int8 is each value scaled by 127 / the vector's largest
//     magnitude and rounded (so the largest is ±127), uint8 is int8 + 128;
//     ubinary packs the signs, one bit per dimension (1 for a value > 0),
//     eight to a byte, first dimension in the high bit, and binary is
//     that byte - 128 (Cohere's signed form). Binary vectors are therefore
//     output_dimension / 8 long.
//   - input_type "image" goes with images, and only with them (v3);
//     exactly one of texts, images (and inputs for v4) must be given and
//     not be empty.
//   - Text limits: v3 embeds up to 512 tokens per text, v4 up to max_tokens
//     (default 128,000); truncate defaults to NONE, which refuses a longer
//     text, START/LEFT keep its end and END/RIGHT its start.
//   - Images: v3 takes PNG and JPEG, v4 also WebP and GIF, at most 5 MB
//     each. The response echoes each image's width, height, format and
//     bit_depth under "images", as Cohere's API does, and "texts" echoes
//     the texts given ([] for images and inputs).
//   - "id" is the request ID. Token counts are in Bedrock's
//     X-Amzn-Bedrock-Input-Token-Count header, not in the body; images are
//     counted apart (Usage.InputImages), not as tokens.

var (
	cohereEmbedTypes = array(enum("float", "int8", "uint8", "binary", "ubinary"))

	cohereEmbedV3Schema = object(props{
		"texts":           array(str().length(0, 2048)).count(0, 96),
		"images":          array(str()).count(0, 1),
		"input_type":      enum(provider.EmbedSearchDocument, provider.EmbedSearchQuery, provider.EmbedClassification, provider.EmbedClustering, provider.EmbedImageInput),
		"truncate":        enum("NONE", "START", "END"),
		"embedding_types": cohereEmbedTypes,
	}, "input_type")

	cohereEmbedV4Schema = object(props{
		"texts":  array(str()).count(0, 96),
		"images": array(str()).count(0, 96),
		"inputs": array(object(props{
			"content": array(union("type", map[string]*schema{
				"text":      object(props{"text": str()}, "text"),
				"image_url": object(props{"image_url": str().or(object(props{"url": str()}, "url"))}, "image_url"),
			})).count(1, 0),
		}, "content")).count(0, 96),
		"input_type":       enum(provider.EmbedSearchDocument, provider.EmbedSearchQuery, provider.EmbedClassification, provider.EmbedClustering),
		"embedding_types":  cohereEmbedTypes,
		"output_dimension": integer().oneOf("256", "512", "1024", "1536"),
		"max_tokens":       integer().between(1, cohereV4MaxTokens),
		"truncate":         enum("NONE", "LEFT", "RIGHT"),
	}, "input_type")
)

// Cohere Embed's fixed numbers.
const (
	cohereV3Dimensions = 1024
	cohereV4Dimensions = 1536
	cohereV3MaxTokens  = 512
	cohereV4MaxTokens  = 128000
	cohereMaxImage     = 5 << 20
)

var (
	cohereV3ImageLimits = imageLimits{formats: []string{"png", "jpeg"}, names: "PNG, JPEG", maxBytes: cohereMaxImage}
	cohereV4ImageLimits = imageLimits{formats: []string{"png", "jpeg", "webp", "gif"}, names: "PNG, JPEG, WEBP, GIF", maxBytes: cohereMaxImage}
)

func cohereEmbedV4(modelID string) bool { return strings.Contains(modelID, "embed-v4") }

type cohereEmbedRequest struct {
	Texts           []string           `json:"texts"`
	Images          []string           `json:"images"`
	Inputs          []cohereEmbedInput `json:"inputs"`
	InputType       string             `json:"input_type"`
	Truncate        string             `json:"truncate"`
	EmbeddingTypes  []string           `json:"embedding_types"`
	OutputDimension *int               `json:"output_dimension"`
	MaxTokens       *int               `json:"max_tokens"`
}

type cohereEmbedInput struct {
	Content []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		ImageURL json.RawMessage `json:"image_url"`
	} `json:"content"`
}

type cohereEmbedCodec struct{}

// DecodeEmbed implements EmbedCodec.
func (cohereEmbedCodec) DecodeEmbed(body []byte, m Model) (*EmbedCall, error) {
	v4 := cohereEmbedV4(m.ID)
	s, lim := cohereEmbedV3Schema, cohereV3ImageLimits
	if v4 {
		s, lim = cohereEmbedV4Schema, cohereV4ImageLimits
	}
	var in cohereEmbedRequest
	if err := decodeChecked(body, s, m, &in); err != nil {
		return nil, err
	}
	given := 0
	for _, n := range []int{len(in.Texts), len(in.Images), len(in.Inputs)} {
		if n > 0 {
			given++
		}
	}
	if given != 1 {
		if v4 {
			return nil, malformed("#: exactly one of [texts, images, inputs] must be provided and not be empty")
		}
		return nil, malformed("#: exactly one of [texts, images] must be provided and not be empty")
	}
	if !v4 && (len(in.Images) > 0) != (in.InputType == provider.EmbedImageInput) {
		return nil, malformed("#/input_type: image is required with images and accepted only with them")
	}
	req := provider.EmbedRequest{Normalize: true, InputType: in.InputType, Dimensions: cohereV3Dimensions,
		MaxInputTokens: cohereV3MaxTokens, Truncate: provider.TruncateNone, EmbeddingTypes: in.EmbeddingTypes}
	if v4 {
		req.Dimensions, req.MaxInputTokens = cohereV4Dimensions, cohereV4MaxTokens
		if in.OutputDimension != nil {
			req.Dimensions = *in.OutputDimension
		}
		if in.MaxTokens != nil {
			req.MaxInputTokens = *in.MaxTokens
		}
		if len(req.EmbeddingTypes) == 0 {
			req.EmbeddingTypes = []string{"float"}
		}
	}
	switch in.Truncate {
	case "START", "LEFT":
		req.Truncate = provider.TruncateStart
	case "END", "RIGHT":
		req.Truncate = provider.TruncateEnd
	}
	switch {
	case len(in.Texts) > 0:
		req.Inputs = in.Texts
	case len(in.Images) > 0:
		req.Inputs = make([]string, len(in.Images))
		req.Images = make([][]provider.EmbedImage, len(in.Images))
		for i, uri := range in.Images {
			im, err := dataURIImage(uri, "#/images/"+strconv.Itoa(i), lim)
			if err != nil {
				return nil, err
			}
			req.Images[i] = []provider.EmbedImage{im}
		}
	default:
		req.Inputs = make([]string, len(in.Inputs))
		req.Images = make([][]provider.EmbedImage, len(in.Inputs))
		for i, input := range in.Inputs {
			var texts []string
			for j, c := range input.Content {
				if c.Type == "text" {
					texts = append(texts, c.Text)
					continue
				}
				at := "#/inputs/" + strconv.Itoa(i) + "/content/" + strconv.Itoa(j) + "/image_url"
				uri, err := imageURL(c.ImageURL, at)
				if err != nil {
					return nil, err
				}
				im, err := dataURIImage(uri, at, lim)
				if err != nil {
					return nil, err
				}
				req.Images[i] = append(req.Images[i], im)
			}
			// The text parts of one input are embedded as one text.
			req.Inputs[i] = strings.Join(texts, "\n")
		}
	}
	return &EmbedCall{Request: req, Float: true}, nil
}

// imageURL is an image_url content part's URL: the string itself or its
// object form's url.
func imageURL(raw json.RawMessage, at string) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", malformed(at + ": expected a data URI")
	}
	return obj.URL, nil
}

// dataURIImage decodes a "data:image/<format>;base64,<data>" URI, the only
// form Cohere Embed on Bedrock takes images in (no http URLs).
func dataURIImage(uri, at string, lim imageLimits) (provider.EmbedImage, error) {
	rest, ok := strings.CutPrefix(uri, "data:")
	meta, payload, found := strings.Cut(rest, ",")
	if !ok || !found || !strings.HasPrefix(meta, "image/") || !strings.HasSuffix(meta, ";base64") {
		return provider.EmbedImage{}, malformed(at + ": string is not a data URI of the form data:image/<format>;base64,<data>")
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(data) == 0 {
		return provider.EmbedImage{}, malformed(at + ": the data URI's data is not valid base64")
	}
	return checkEmbedImage(data, lim)
}

// cohereEmbedResponse is Cohere's embed response; Embeddings is a
// [][]float32 or a *cohereByType.
type cohereEmbedResponse struct {
	ID           string            `json:"id"`
	Embeddings   any               `json:"embeddings"`
	Texts        []string          `json:"texts"`
	Images       []cohereImageMeta `json:"images,omitempty"`
	ResponseType string            `json:"response_type"`
}

type cohereByType struct {
	Float   [][]float32 `json:"float,omitempty"`
	Int8    [][]int     `json:"int8,omitempty"`
	Uint8   [][]int     `json:"uint8,omitempty"`
	Binary  [][]int     `json:"binary,omitempty"`
	Ubinary [][]int     `json:"ubinary,omitempty"`
}

type cohereImageMeta struct {
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Format   string `json:"format"`
	BitDepth int    `json:"bit_depth"`
}

// EncodeEmbed implements EmbedCodec.
func (cohereEmbedCodec) EncodeEmbed(call *EmbedCall, resp *provider.EmbedResponse, meta Meta) ([]byte, error) {
	req := &call.Request
	out := cohereEmbedResponse{ID: meta.RequestID, Texts: []string{}}
	if req.Images == nil {
		out.Texts = req.Inputs
	}
	for _, imgs := range req.Images {
		for _, im := range imgs {
			out.Images = append(out.Images, cohereImageMeta{Width: im.Width, Height: im.Height, Format: im.Format, BitDepth: bitDepth(im)})
		}
	}
	if len(req.EmbeddingTypes) == 0 {
		out.Embeddings, out.ResponseType = nonNil(resp.Embeddings), "embeddings_floats"
		return marshal(out)
	}
	by := &cohereByType{}
	for _, t := range req.EmbeddingTypes {
		switch t {
		case "float":
			by.Float = nonNil(resp.Embeddings)
		case "int8":
			by.Int8 = quantize(resp.Embeddings, QuantizeInt8)
		case "uint8":
			by.Uint8 = quantize(resp.Embeddings, QuantizeUint8)
		case "binary":
			by.Binary = quantize(resp.Embeddings, QuantizeBinary)
		case "ubinary":
			by.Ubinary = quantize(resp.Embeddings, QuantizeUbinary)
		}
	}
	out.Embeddings, out.ResponseType = by, "embeddings_by_type"
	return marshal(out)
}

func nonNil(v [][]float32) [][]float32 {
	if v == nil {
		return [][]float32{}
	}
	return v
}

func quantize(vs [][]float32, f func([]float32) []int) [][]int {
	out := make([][]int, len(vs))
	for i, v := range vs {
		out[i] = f(v)
	}
	return out
}

// QuantizeInt8 is Cohere's int8 form of a float embedding: each value
// scaled by 127 over the vector's largest magnitude and rounded, so that
// the largest is ±127 (a zero vector stays zero).
func QuantizeInt8(v []float32) []int {
	var peak float64
	for _, x := range v {
		peak = max(peak, math.Abs(float64(x)))
	}
	out := make([]int, len(v))
	if peak == 0 || math.IsNaN(peak) || math.IsInf(peak, 0) {
		return out
	}
	for i, x := range v {
		out[i] = int(math.Round(float64(x) * 127 / peak))
	}
	return out
}

// QuantizeUint8 is the uint8 form: the int8 form plus 128.
func QuantizeUint8(v []float32) []int {
	out := QuantizeInt8(v)
	for i := range out {
		out[i] += 128
	}
	return out
}

// QuantizeUbinary packs the signs of v, one bit per dimension (1 for a
// value > 0), eight to a byte with the first dimension in the high bit; a
// last partial byte is padded with zero bits.
func QuantizeUbinary(v []float32) []int {
	out := make([]int, (len(v)+7)/8)
	for i, x := range v {
		if x > 0 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// QuantizeBinary is the signed form of QuantizeUbinary: each byte - 128.
func QuantizeBinary(v []float32) []int {
	out := QuantizeUbinary(v)
	for i := range out {
		out[i] -= 128
	}
	return out
}

// Streaming: Cohere embedding models do not stream.
