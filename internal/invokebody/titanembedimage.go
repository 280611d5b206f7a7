package invokebody

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image"
	"image/color"
	_ "image/gif" // DecodeConfig of GIF inputs (Cohere Embed v4)
	_ "image/jpeg"
	_ "image/png"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Amazon Titan Multimodal Embeddings G1 (Bedrock user guide, "Amazon Titan
// Multimodal Embeddings G1" and the model card "Amazon Titan Multimodal
// Embeddings G1 model"): inputText and/or a base64 inputImage, and
// embeddingConfig.outputEmbeddingLength. Both inputs give one vector, the
// average of the text's and the image's. The response is
// {"embedding", "inputTextTokenCount", "message"}.
//
// Decisions where the documentation is silent or contradicts itself:
//   - The text limit is the model card's current 128 tokens (older copies
//     say 256); a longer text is refused with the wording Bedrock's Titan
//     embedding models use ("Too many input tokens. Max input tokens: 128,
//     request input token count: N"), not cut.
//   - Images must be PNG or JPEG (the model card's formats), at most 5 MB
//     decoded (its current limit) and at most 4,096 pixels on a side (its
//     stated maximum dimension); a larger one gets the "Image exceeds max
//     pixels allowed." message Bedrock was seen to return for this model.
//   - A body with neither input is refused in the schema checker's style.
//   - "message" is null on success, as the model returns it.

var titanEmbedImageSchema = object(props{
	"inputText":  str().length(1, 50000),
	"inputImage": str().b64(),
	"embeddingConfig": object(props{
		"outputEmbeddingLength": integer().oneOf("256", "384", "1024"),
	}),
})

// Limits of Titan Multimodal Embeddings G1.
const (
	titanEmbedImageDimensions = 1024
	titanEmbedImageMaxTokens  = 128
	titanEmbedImageMaxBytes   = 5 << 20
	titanEmbedImageMaxSide    = 4096
)

type titanEmbedImageRequest struct {
	InputText       *string `json:"inputText"`
	InputImage      *string `json:"inputImage"`
	EmbeddingConfig *struct {
		OutputEmbeddingLength *int `json:"outputEmbeddingLength"`
	} `json:"embeddingConfig"`
}

type titanEmbedImageCodec struct{}

// DecodeEmbed implements EmbedCodec.
func (titanEmbedImageCodec) DecodeEmbed(body []byte, m Model) (*EmbedCall, error) {
	var in titanEmbedImageRequest
	if err := decodeChecked(body, titanEmbedImageSchema, m, &in); err != nil {
		return nil, err
	}
	if in.InputText == nil && in.InputImage == nil {
		return nil, malformed("#: at least one of [inputText, inputImage] is required")
	}
	req := provider.EmbedRequest{Inputs: []string{""}, Dimensions: titanEmbedImageDimensions, Normalize: true,
		MaxInputTokens: titanEmbedImageMaxTokens, Truncate: provider.TruncateNone}
	if in.InputText != nil {
		req.Inputs[0] = *in.InputText
	}
	if c := in.EmbeddingConfig; c != nil && c.OutputEmbeddingLength != nil {
		req.Dimensions = *c.OutputEmbeddingLength
	}
	if in.InputImage != nil {
		data, err := base64.StdEncoding.DecodeString(*in.InputImage)
		if err != nil { // the schema accepted it, so only line breaks can be in the way
			data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(*in.InputImage))
		}
		if err != nil {
			return nil, malformed("#/inputImage: string is not valid base64")
		}
		im, err := checkEmbedImage(data, titanImageLimits)
		if err != nil {
			return nil, err
		}
		req.Images = [][]provider.EmbedImage{{im}}
	}
	return &EmbedCall{Request: req, Float: true}, nil
}

type titanEmbedImageResponse struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int       `json:"inputTextTokenCount"`
	Message             *string   `json:"message"`
}

// EncodeEmbed implements EmbedCodec.
func (titanEmbedImageCodec) EncodeEmbed(call *EmbedCall, resp *provider.EmbedResponse, meta Meta) ([]byte, error) {
	vec := []float32{}
	if len(resp.Embeddings) > 0 && resp.Embeddings[0] != nil {
		vec = resp.Embeddings[0]
	}
	return marshal(titanEmbedImageResponse{Embedding: vec, InputTextTokenCount: resp.InputTokens})
}

// imageLimits are a model's rules for an image input.
type imageLimits struct {
	// formats are the accepted formats, as EmbedImage.Format names them;
	// names is how the model's messages list them.
	formats []string
	names   string
	// maxBytes bounds the decoded file; maxSide each dimension (0: none).
	maxBytes, maxSide int
}

var titanImageLimits = imageLimits{formats: []string{"png", "jpeg"}, names: "PNG, JPEG",
	maxBytes: titanEmbedImageMaxBytes, maxSide: titanEmbedImageMaxSide}

// checkEmbedImage identifies an image file by its signature, reads its
// size from the header (without decoding pixels) and checks it against the
// model's limits. Errors are ValidationExceptions in Titan's "400 Bad
// Request: ..." wording, which Bedrock's embedding models share.
func checkEmbedImage(data []byte, lim imageLimits) (provider.EmbedImage, error) {
	im := provider.EmbedImage{Format: sniffImage(data), Data: data}
	if len(data) > lim.maxBytes {
		return im, apierror.New(apierror.Validation, "400 Bad Request: Image size %d bytes exceeds the maximum of %d bytes.", len(data), lim.maxBytes)
	}
	if !slices.Contains(lim.formats, im.Format) {
		return im, apierror.New(apierror.Validation, "400 Bad Request: Unsupported image format. Supported formats: %s.", lim.names)
	}
	var err error
	if im.Format == "webp" {
		im.Width, im.Height, err = webpSize(data)
	} else {
		var cfg image.Config
		cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
		im.Width, im.Height = cfg.Width, cfg.Height
	}
	if err != nil || im.Width <= 0 || im.Height <= 0 {
		return im, apierror.New(apierror.Validation, "400 Bad Request: Unable to process the provided image: it is not a valid %s file.", strings.ToUpper(im.Format))
	}
	if lim.maxSide > 0 && (im.Width > lim.maxSide || im.Height > lim.maxSide) {
		return im, apierror.New(apierror.Validation, "400 Bad Request: Image exceeds max pixels allowed.")
	}
	return im, nil
}

// sniffImage names an image file's format from its signature ("" when it
// is none of PNG, JPEG, GIF and WebP).
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// webpSize reads a WebP file's canvas size from its first chunk (VP8X,
// lossy VP8 or lossless VP8L); the standard library has no WebP decoder.
func webpSize(b []byte) (w, h int, err error) {
	bad := apierror.New(apierror.Validation, "bad WebP header")
	if len(b) < 30 {
		return 0, 0, bad
	}
	chunk := b[12:16]
	switch string(chunk) {
	case "VP8X":
		w = 1 + (int(b[24]) | int(b[25])<<8 | int(b[26])<<16)
		h = 1 + (int(b[27]) | int(b[28])<<8 | int(b[29])<<16)
		return w, h, nil
	case "VP8 ":
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, bad
		}
		w = int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff)
		return w, h, nil
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, bad
		}
		bits := binary.LittleEndian.Uint32(b[21:])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	}
	return 0, 0, bad
}

// bitDepth is the bits per pixel of an image file (Cohere's "bit_depth",
// 24 for an ordinary colour picture): for PNG its header's bits per sample
// times the samples of its colour type (a palette index counts once), for
// JPEG 8 per component (gray 8, YCbCr 24, CMYK 32), 8 for GIF's palette,
// and for WebP 24, or 32 when its extended header flags alpha.
func bitDepth(im provider.EmbedImage) int {
	switch im.Format {
	case "png":
		if len(im.Data) < 26 {
			return 24
		}
		samples := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[im.Data[25]]
		return int(im.Data[24]) * max(samples, 1)
	case "gif":
		return 8
	case "webp":
		if len(im.Data) > 20 && string(im.Data[12:16]) == "VP8X" && im.Data[20]&0x10 != 0 {
			return 32
		}
		return 24
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(im.Data))
	if err != nil {
		return 24
	}
	switch cfg.ColorModel {
	case color.GrayModel:
		return 8
	case color.CMYKModel:
		return 32
	}
	return 24
}

// Streaming: Titan embedding models do not stream.
