package converse

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func imageRequest(blocks ...ContentBlock) *Request {
	return &Request{Messages: []Message{{Role: RoleUser, Content: blocks}}}
}

func imgBlock(format string, b []byte) ContentBlock {
	return ContentBlock{Image: &ImageBlock{Format: format, Source: ImageSource{Bytes: b}}}
}

func TestValidateImages(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	// A lossless WebP header of 9000×20 (VP8L: 14-bit sizes minus one).
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f")
	v := uint32(9000-1) | uint32(20-1)<<14
	webp = append(webp, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), 0, 0, 0, 0, 0, 0)
	small := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f")
	v = uint32(99) | uint32(49)<<14
	small = append(small, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), 0, 0, 0, 0, 0, 0)

	ok := pngBytes(t, 40, 30)
	many := make([]ContentBlock, 21)
	for i := range many {
		many[i] = imgBlock("png", ok)
	}
	for _, c := range []struct {
		name string
		req  *Request
		want string
	}{
		{"png", imageRequest(imgBlock("png", ok)), ""},
		{"gif", imageRequest(imgBlock("gif", gifBuf.Bytes())), ""},
		{"webp", imageRequest(imgBlock("webp", small)), ""},
		{"20 images", imageRequest(many[:20]...), ""},
		{"21 images", imageRequest(many...), "The request has more than 20 images. A request can contain at most 20 images."},
		{"format mismatch", imageRequest(imgBlock("jpeg", ok)), "The provided image at messages.0.content.0.image does not match the specified image format (jpeg)."},
		{"not an image", imageRequest(imgBlock("png", []byte("hello"))), "The provided image at messages.0.content.0.image does not match the specified image format (png)."},
		{"too wide", imageRequest(imgBlock("png", pngBytes(t, 10_000, 2))), "The image at messages.0.content.0.image is 10000x2 pixels. Image width and height can be at most 8000 pixels."},
		{"webp too wide", imageRequest(imgBlock("webp", webp)), "The image at messages.0.content.0.image is 9000x20 pixels. Image width and height can be at most 8000 pixels."},
		{"too many bytes", imageRequest(imgBlock("png", append(ok, make([]byte, MaxImageBytes)...))),
			"The image at messages.0.content.0.image is 3932244 bytes. An image can be at most 3.75 MB (3932160 bytes)."},
		{"tool result", imageRequest(ContentBlock{ToolResult: &ToolResultBlock{ToolUseID: "t", Content: []ToolResultContentBlock{{Image: &ImageBlock{Format: "gif", Source: ImageSource{Bytes: ok}}}}}}),
			"The provided image at messages.0.content.0.toolResult.content.0.image does not match the specified image format (gif)."},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateImages(c.req)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.Validation || ae.Message != c.want {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}
