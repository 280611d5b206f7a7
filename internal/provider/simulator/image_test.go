package simulator

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func genImages(t *testing.T, req provider.ImageRequest) *provider.ImageResponse {
	t.Helper()
	s := New(nil, Options{})
	resp, err := s.GenerateImages(context.Background(), provider.Call{ModelID: "amazon.nova-canvas-v1:0"}, &req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func genDecodeAs(t *testing.T, b []byte, format string) image.Image {
	t.Helper()
	var img image.Image
	var err error
	if format == "jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(b))
	} else {
		img, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("decode %s: %v", format, err)
	}
	return img
}

func TestGenerateImagesSizeAndFormat(t *testing.T) {
	for _, c := range []struct {
		format string
		w, h   int
	}{{"png", 1280, 720}, {"jpeg", 1344, 768}, {"png", 320, 1280}} {
		resp := genImages(t, provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "a red bicycle", Width: c.w, Height: c.h,
			Count: 2, Seed: 42, Format: c.format})
		if len(resp.Images) != 2 || len(resp.Seeds) != 2 || resp.Seeds[0] != 42 || resp.Seeds[1] != 43 || resp.Error != "" {
			t.Fatalf("%+v", resp)
		}
		for _, b := range resp.Images {
			if got := genDecodeAs(t, b, c.format).Bounds().Size(); got != (image.Point{c.w, c.h}) {
				t.Errorf("%s size = %v, want %dx%d", c.format, got, c.w, c.h)
			}
		}
		if bytes.Equal(resp.Images[0], resp.Images[1]) {
			t.Error("the two images of one request are identical")
		}
	}
}

func TestGenerateImagesDeterministic(t *testing.T) {
	req := provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "a lighthouse", Width: 1024, Height: 1024, Count: 1, Seed: 7, Format: "png"}
	a, b := genImages(t, req), genImages(t, req)
	if !bytes.Equal(a.Images[0], b.Images[0]) {
		t.Error("same seed gave different bytes")
	}
	req.Seed = 8
	if c := genImages(t, req); bytes.Equal(a.Images[0], c.Images[0]) {
		t.Error("different seed gave the same bytes")
	}
	// Cheap: flat regions compress well (README: "~10 KB").
	if n := len(a.Images[0]); n > 20_000 {
		t.Errorf("a 1024x1024 PNG is %d bytes, want about 10 KB", n)
	}
}

func genEncodePNG(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateImagesEdits(t *testing.T) {
	// A white image with a red square in the middle.
	src := image.NewNRGBA(image.Rect(0, 0, 400, 320))
	for y := range 320 {
		for x := range 400 {
			c := color.NRGBA{255, 255, 255, 255}
			if x >= 150 && x < 250 && y >= 110 && y < 210 {
				c = color.NRGBA{200, 0, 0, 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	srcPNG := genEncodePNG(t, src)
	// Mask: black (edit) on the left half.
	mask := image.NewGray(image.Rect(0, 0, 400, 320))
	for y := range 320 {
		for x := range 400 {
			if x >= 200 {
				mask.SetGray(x, y, color.Gray{255})
			}
		}
	}
	maskPNG := genEncodePNG(t, mask)

	t.Run("background removal", func(t *testing.T) {
		resp := genImages(t, provider.ImageRequest{Task: provider.TaskBackgroundRemoval, Width: 400, Height: 320, Count: 1, Images: [][]byte{srcPNG}})
		out := genDecodeAs(t, resp.Images[0], "png")
		if _, _, _, a := out.At(5, 5).RGBA(); a != 0 {
			t.Errorf("background alpha = %d, want 0", a)
		}
		if r, g, b, a := out.At(200, 160).RGBA(); r>>8 != 200 || g != 0 || b != 0 || a != 0xffff {
			t.Errorf("subject = %d %d %d %d, want the red square, opaque", r>>8, g, b, a)
		}
	})
	t.Run("inpainting", func(t *testing.T) {
		resp := genImages(t, provider.ImageRequest{Task: provider.TaskInpainting, Prompt: "a cat", Width: 400, Height: 320, Count: 1, Seed: 1,
			Images: [][]byte{srcPNG}, Mask: maskPNG})
		out := genDecodeAs(t, resp.Images[0], "png")
		changed := 0
		for y := range 320 {
			for x := range 400 {
				r1, g1, b1, _ := out.At(x, y).RGBA()
				r0, g0, b0, _ := src.At(x, y).RGBA()
				same := r1 == r0 && g1 == g0 && b1 == b0
				if x >= 200 && !same {
					t.Fatalf("pixel (%d,%d) outside the mask changed", x, y)
				}
				if x < 200 && !same {
					changed++
				}
			}
		}
		if changed < 200*320/2 {
			t.Errorf("only %d masked pixels changed", changed)
		}
	})
	t.Run("outpainting keeps the masked region", func(t *testing.T) {
		resp := genImages(t, provider.ImageRequest{Task: provider.TaskOutpainting, Prompt: "a beach", Width: 400, Height: 320, Count: 1,
			Images: [][]byte{srcPNG}, Mask: maskPNG})
		out := genDecodeAs(t, resp.Images[0], "png")
		for y := 0; y < 320; y += 7 {
			for x := 0; x < 200; x += 7 {
				if r1, _, _, _ := out.At(x, y).RGBA(); r1 != func() uint32 { r, _, _, _ := src.At(x, y).RGBA(); return r }() {
					t.Fatalf("kept pixel (%d,%d) changed", x, y)
				}
			}
		}
	})
	t.Run("variation follows the source", func(t *testing.T) {
		resp := genImages(t, provider.ImageRequest{Task: provider.TaskImageVariation, Width: 400, Height: 320, Count: 1, Strength: 1,
			Images: [][]byte{srcPNG}})
		out := genDecodeAs(t, resp.Images[0], "png")
		if r, g, _, _ := out.At(200, 160).RGBA(); r>>8 != 200 || g != 0 {
			t.Errorf("strength 1 variation does not keep the source: %d %d", r>>8, g)
		}
	})
}

func TestGenerateImagesModeration(t *testing.T) {
	resp := genImages(t, provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "a BLOCKED_PROMPT thing", Width: 512, Height: 512, Count: 2, Format: "png"})
	if len(resp.Images) != 0 || resp.FinishReasons[0] != provider.FilterReasonPrompt || resp.Error != provider.BlockedPromptMessage {
		t.Errorf("blocked prompt: %+v", resp)
	}
	resp = genImages(t, provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "BLOCKED_OUTPUT", Width: 512, Height: 512, Count: 3, Format: "png"})
	if len(resp.Images) != 2 || resp.FinishReasons[2] != provider.FilterReasonOutput || resp.FinishReasons[0] != "" || resp.Error != provider.BlockedSomeMessage {
		t.Errorf("blocked output: %+v", resp)
	}
	resp = genImages(t, provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "BLOCKED_OUTPUT", Width: 512, Height: 512, Count: 1, Format: "png"})
	if len(resp.Images) != 0 || resp.Error != provider.BlockedAllMessage {
		t.Errorf("all blocked: %+v", resp)
	}
}

func TestGenerateImagesRefusals(t *testing.T) {
	s := New(nil, Options{})
	for _, req := range []*provider.ImageRequest{
		nil,
		{Task: provider.TaskTextImage, Width: 512, Height: 512, Count: 1, Format: "webp"},
		{Task: provider.TaskTextImage, Width: 10_000, Height: 512, Count: 1},
		{Task: provider.TaskTextImage, Width: 512, Height: 512, Count: 0},
		{Task: provider.TaskInpainting, Width: 512, Height: 512, Count: 1},
	} {
		_, err := s.GenerateImages(context.Background(), provider.Call{}, req)
		var ae *apierror.Error
		if !errors.As(err, &ae) || ae.Code != apierror.Validation {
			t.Errorf("%+v: %v", req, err)
		}
	}
}

func BenchmarkGenerateImage1024(b *testing.B) {
	s := New(nil, Options{})
	req := &provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "a red bicycle", Width: 1024, Height: 1024, Count: 1, Format: "png"}
	for i := 0; b.Loop(); i++ {
		req.Seed = int64(i)
		if _, err := s.GenerateImages(context.Background(), provider.Call{}, req); err != nil {
			b.Fatal(err)
		}
	}
}
