package converse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/gif"  // Converse takes gif,
	_ "image/jpeg" // jpeg
	_ "image/png"  // and png images (webp is parsed below)

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Bedrock's limits on Converse image blocks (Bedrock API reference,
// ImageBlock and "Using the Converse API"): at most 20 images a request,
// each at most 3.75 MB and at most 8,000 pixels wide and high, in the
// format the block names.
const (
	MaxImagesPerRequest = 20
	MaxImageBytes       = 3_932_160 // 3.75 MB
	MaxImageSide        = 8000
)

// ValidateImages applies Bedrock's checks on the images a Converse request
// carries as bytes (content blocks and tool results): their number, each
// one's size in bytes, its format (the bytes must be an image of the
// format the block names) and its dimensions, read from the image header
// without decoding the pixels. Images given by S3 location are not read.
// Bedrock publishes the limits but not its messages; ours name the block,
// the value and the limit. It is separate from Validate, which every
// codec's translated request also passes, so that the native bodies keep
// their own models' image rules.
func ValidateImages(r *Request) error {
	n := 0
	check := func(img *ImageBlock, at string) error {
		n++
		if n > MaxImagesPerRequest {
			return apierror.New(apierror.Validation, "The request has more than %d images. A request can contain at most %d images.", MaxImagesPerRequest, MaxImagesPerRequest)
		}
		return img.checkBytes(at)
	}
	for i := range r.Messages {
		for j := range r.Messages[i].Content {
			b := &r.Messages[i].Content[j]
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			if b.Image != nil {
				if err := check(b.Image, at+".image"); err != nil {
					return err
				}
			}
			if b.ToolResult != nil {
				for k := range b.ToolResult.Content {
					if img := b.ToolResult.Content[k].Image; img != nil {
						if err := check(img, fmt.Sprintf("%s.toolResult.content.%d.image", at, k)); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// checkBytes checks an image given as bytes.
func (img *ImageBlock) checkBytes(at string) error {
	data := img.Source.Bytes
	if len(data) == 0 {
		return nil
	}
	if len(data) > MaxImageBytes {
		return apierror.New(apierror.Validation, "The image at %s is %d bytes. An image can be at most 3.75 MB (%d bytes).", at, len(data), MaxImageBytes)
	}
	var w, h int
	format := ""
	if cfg, f, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		w, h, format = cfg.Width, cfg.Height, f
	} else if ww, hh, ok := webpSize(data); ok {
		w, h, format = ww, hh, "webp"
	}
	if format == "" || format != img.Format {
		return apierror.New(apierror.Validation, "The provided image at %s does not match the specified image format (%s).", at, img.Format)
	}
	if w > MaxImageSide || h > MaxImageSide {
		return apierror.New(apierror.Validation, "The image at %s is %dx%d pixels. Image width and height can be at most %d pixels.", at, w, h, MaxImageSide)
	}
	return nil
}

// webpSize reads a WebP file's canvas size from its first chunk (VP8,
// VP8L or VP8X); the standard library has no WebP decoder.
func webpSize(b []byte) (w, h int, ok bool) {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, false
	}
	switch string(b[12:16]) {
	case "VP8 ": // lossy: a key frame's start code, then 14-bit sizes
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, false
		}
		return int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff), true
	case "VP8L": // lossless: signature 0x2f, then 14-bit sizes minus one
		if b[20] != 0x2f {
			return 0, 0, false
		}
		v := binary.LittleEndian.Uint32(b[21:])
		return int(v&0x3fff) + 1, int(v>>14&0x3fff) + 1, true
	case "VP8X": // extended: 24-bit canvas sizes minus one
		w := int(b[24]) | int(b[25])<<8 | int(b[26])<<16
		h := int(b[27]) | int(b[28])<<8 | int(b[29])<<16
		return w + 1, h + 1, true
	}
	return 0, 0, false
}
