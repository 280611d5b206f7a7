package invokebody

import (
	"bytes"
	"encoding/base64"
	"image"
	_ "image/jpeg" // input images may be JPEG
	_ "image/png"  // or PNG

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// ImageCall is a decoded native image-generation request: the neutral
// request for the provider, and what the native response needs.
type ImageCall struct {
	Request provider.ImageRequest
}

// ImageCodec translates an image-generation family's native bodies (Nova
// Canvas, Titan Image Generator, Stability). Image models answer
// InvokeModel only: they do not stream and Converse refuses them.
type ImageCodec interface {
	// DecodeImage validates a native request body, input images included
	// (decoded, their format and size checked), and translates it into a
	// neutral image request. Errors are *apierror.Error
	// ValidationExceptions in Bedrock's wording.
	DecodeImage(body []byte, m Model) (*ImageCall, error)
	// EncodeImage renders the neutral response in the family's native
	// response format: the images base64-encoded, with the family's
	// moderation fields.
	EncodeImage(call *ImageCall, resp *provider.ImageResponse, meta Meta) ([]byte, error)
}

// genImageLimits bound an input image of one model family. Bedrock
// documents the formats (PNG and JPEG) but words no message for a bad
// input image; ours name the field, the value and the limit, in
// Bedrock's sentence style.
type genImageLimits struct {
	// minSide and maxSide bound each side in pixels; maxPixels bounds
	// width×height (0: unchecked).
	minSide, maxSide, maxPixels int
	// maxRatio bounds the aspect ratio, longer side over shorter (0:
	// unchecked).
	maxRatio float64
}

// genInputImage is a decoded input image: its bytes and size.
type genInputImage struct {
	data          []byte
	width, height int
	format        string
}

// decodeGenImage decodes a base64 input image (the schema has checked
// the base64) and checks that it is a PNG or JPEG within lim. Only the
// header is read to learn the size, so an image too large to be accepted
// is refused without being decompressed. field is the body's JSON path,
// named in the error.
func decodeGenImage(b64, field string, lim genImageLimits) (*genInputImage, error) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, genImageError("%s is not valid base64.", field)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, genImageError("The image in %s could not be decoded. Supported image formats are PNG and JPEG.", field)
	}
	if format != "png" && format != "jpeg" {
		return nil, genImageError("The image format %s in %s is not supported. Supported image formats are PNG and JPEG.", format, field)
	}
	w, h := cfg.Width, cfg.Height
	if w < lim.minSide || h < lim.minSide || w > lim.maxSide || h > lim.maxSide {
		return nil, genImageError("The image in %s is %dx%d pixels. Each side of an input image must be between %d and %d pixels.",
			field, w, h, lim.minSide, lim.maxSide)
	}
	if lim.maxPixels > 0 && w*h > lim.maxPixels {
		return nil, genImageError("The image in %s is %dx%d pixels (%d pixels). An input image must have at most %d pixels.",
			field, w, h, w*h, lim.maxPixels)
	}
	if lim.maxRatio > 0 && float64(max(w, h)) > lim.maxRatio*float64(min(w, h)) {
		return nil, genImageError("The image in %s is %dx%d pixels. The aspect ratio of an input image must be between 1:%s and %s:1.",
			field, w, h, formatNum(lim.maxRatio), formatNum(lim.maxRatio))
	}
	return &genInputImage{data: data, width: w, height: h, format: format}, nil
}

// genImageError is a ValidationException about an image parameter.
func genImageError(format string, args ...any) *apierror.Error {
	return apierror.New(apierror.Validation, format, args...)
}

// encodeGenImages base64-encodes the output images for a JSON response.
func encodeGenImages(imgs [][]byte) []string {
	out := make([]string, len(imgs))
	for i, b := range imgs {
		out[i] = base64.StdEncoding.EncodeToString(b)
	}
	return out
}
