package simulator

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// scene draws a w×h picture: a sky-to-ground gradient with a sun disc,
// tinted by adding tint to the red channel. The same scene at another size
// is the picture resized.
func scene(w, h int, tint int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fy, fx := float64(y)/float64(h), float64(x)/float64(w)
			c := color.NRGBA{R: uint8(60 + 100*fy), G: uint8(120 + 60*(1-fy)), B: uint8(230 - 150*fy), A: 255}
			if dx, dy := fx-0.7, fy-0.3; dx*dx+dy*dy < 0.02 {
				c = color.NRGBA{R: 250, G: 220, B: 40, A: 255}
			}
			c.R = uint8(min(255, max(0, int(c.R)+tint)))
			img.Set(x, y, c)
		}
	}
	return img
}

// checker draws an unrelated picture: a red and black checkerboard.
func checker(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{A: 255}
			if (x*8/w+y*8/h)%2 == 0 {
				c.R = 200
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) provider.EmbedImage {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	return provider.EmbedImage{Format: "png", Data: buf.Bytes(), Width: b.Dx(), Height: b.Dy()}
}

func encodeJPEG(t testing.TB, img image.Image) provider.EmbedImage {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	return provider.EmbedImage{Format: "jpeg", Data: buf.Bytes(), Width: b.Dx(), Height: b.Dy()}
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func embedAll(t *testing.T, s *Simulator, req *provider.EmbedRequest) *provider.EmbedResponse {
	t.Helper()
	resp, err := s.Embed(context.Background(), provider.Call{ModelID: "mm"}, req)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	return resp
}

func TestEmbedImagesSimilarity(t *testing.T) {
	s := New(nil, Options{})
	orig := encodePNG(t, scene(320, 240, 0))
	images := [][]provider.EmbedImage{
		{orig},
		{encodePNG(t, scene(160, 120, 0))},  // resized to half
		{encodeJPEG(t, scene(320, 240, 0))}, // re-encoded lossily
		{encodePNG(t, scene(320, 240, 20))}, // slightly recoloured
		{encodePNG(t, checker(320, 240))},   // unrelated
	}
	for _, dims := range []int{256, 384, 1024, 1536} {
		req := &provider.EmbedRequest{Inputs: make([]string, len(images)), Images: images, Dimensions: dims, Normalize: true}
		resp := embedAll(t, s, req)
		if resp.InputImages != 5 || resp.InputTokens != 0 {
			t.Errorf("dims %d: InputImages %d InputTokens %d, want 5 and 0", dims, resp.InputImages, resp.InputTokens)
		}
		v := resp.Embeddings
		for i, e := range v {
			if len(e) != dims {
				t.Fatalf("vector %d has %d values, want %d", i, len(e), dims)
			}
			if n := norm(e); math.Abs(n-1) > 1e-5 {
				t.Errorf("vector %d norm %v", i, n)
			}
		}
		resized, reencoded, tinted, unrelated := cosine(v[0], v[1]), cosine(v[0], v[2]), cosine(v[0], v[3]), cosine(v[0], v[4])
		t.Logf("dims %d: resized %.3f, JPEG %.3f, tinted %.3f, unrelated %.3f", dims, resized, reencoded, tinted, unrelated)
		for name, c := range map[string]float64{"resized": resized, "re-encoded": reencoded, "tinted": tinted} {
			if c < 0.9 {
				t.Errorf("dims %d: %s copy cosine %.3f, want >= 0.9", dims, name, c)
			}
			if c < unrelated+0.5 {
				t.Errorf("dims %d: %s copy (%.3f) not clearly closer than an unrelated picture (%.3f)", dims, name, c, unrelated)
			}
		}
		if unrelated > 0.4 {
			t.Errorf("dims %d: unrelated pictures cosine %.3f, want < 0.4", dims, unrelated)
		}
		again := embedAll(t, s, req)
		for i := range v {
			if !slices.Equal(v[i], again.Embeddings[i]) {
				t.Errorf("dims %d: image %d not deterministic", dims, i)
			}
		}
	}
}

func TestEmbedTextAndImage(t *testing.T) {
	s := New(nil, Options{})
	img := encodePNG(t, scene(64, 64, 0))
	resp := embedAll(t, s, &provider.EmbedRequest{
		Inputs:     []string{"a sunny sky", "", "a sunny sky", "unrelated words"},
		Images:     [][]provider.EmbedImage{nil, {img}, {img}, nil},
		Dimensions: 1024, Normalize: true,
	})
	text, image, both, other := resp.Embeddings[0], resp.Embeddings[1], resp.Embeddings[2], resp.Embeddings[3]
	// The text-only input gets exactly the vector a text-only request gives.
	plain := embedAll(t, s, &provider.EmbedRequest{Inputs: []string{"a sunny sky"}, Dimensions: 1024, Normalize: true})
	if !slices.Equal(text, plain.Embeddings[0]) {
		t.Error("a text in a multimodal request must embed as it does alone")
	}
	cross, withText, withImage, toOther := cosine(text, image), cosine(both, text), cosine(both, image), cosine(both, other)
	t.Logf("text~image %.3f, both~text %.3f, both~image %.3f, both~other %.3f", cross, withText, withImage, toOther)
	if math.Abs(cross) > 0.15 {
		t.Errorf("text and image of independent sources: cosine %.3f, want about 0", cross)
	}
	for _, c := range []float64{withText, withImage} {
		if math.Abs(c-math.Sqrt(0.5)) > 0.1 {
			t.Errorf("combined input to a part: cosine %.3f, want about 0.707", c)
		}
	}
	if math.Abs(toOther) > 0.15 {
		t.Errorf("combined input to an unrelated text: cosine %.3f", toOther)
	}
	if n := norm(both); math.Abs(n-1) > 1e-5 {
		t.Errorf("combined norm %v", n)
	}
	if want := 2*CountTokens("a sunny sky") + CountTokens("unrelated words"); resp.InputTokens != want || resp.InputImages != 2 {
		t.Errorf("InputTokens %d InputImages %d, want %d and 2", resp.InputTokens, resp.InputImages, want)
	}
}

func TestEmbedTokenLimit(t *testing.T) {
	s := New(nil, Options{})
	long := strings.Repeat("word ", 200)
	n := CountTokens(long)
	_, err := s.Embed(context.Background(), provider.Call{ModelID: "mm"}, &provider.EmbedRequest{Inputs: []string{long}, MaxInputTokens: 128})
	want := "400 Bad Request: Too many input tokens. Max input tokens: 128, request input token count: " + strconv.Itoa(n)
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Validation || e.Message != want {
		t.Fatalf("got %v, want ValidationException %q", err, want)
	}
	text := "alpha beta gamma delta epsilon"
	for mode, want := range map[string]string{provider.TruncateEnd: "alpha beta", provider.TruncateStart: " delta epsilon"} {
		limit := CountTokens(want)
		got := embedAll(t, s, &provider.EmbedRequest{Inputs: []string{text}, MaxInputTokens: limit, Truncate: mode})
		exp := embedAll(t, s, &provider.EmbedRequest{Inputs: []string{want}})
		if !slices.Equal(got.Embeddings[0], exp.Embeddings[0]) || got.InputTokens != limit {
			t.Errorf("%s: not the embedding of %q (%d tokens, want %d)", mode, want, got.InputTokens, limit)
		}
	}
}

func TestEmbedBadImage(t *testing.T) {
	s := New(nil, Options{})
	bad := provider.EmbedImage{Format: "png", Data: []byte("\x89PNG\r\n\x1a\nnot really"), Width: 1, Height: 1}
	_, err := s.Embed(context.Background(), provider.Call{ModelID: "mm"}, &provider.EmbedRequest{Inputs: []string{""}, Images: [][]provider.EmbedImage{{bad}}})
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Validation || !strings.Contains(e.Message, "Unable to process the provided image") {
		t.Fatalf("got %v", err)
	}
	_, err = s.Embed(context.Background(), provider.Call{ModelID: "mm"}, &provider.EmbedRequest{Inputs: []string{"a", "b"}, Images: [][]provider.EmbedImage{nil}})
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Validation {
		t.Fatalf("mismatched images: got %v", err)
	}
}

// TestEmbedHugeImageRefused: a small file claiming a picture over 40
// megapixels is refused from its header, before any decoding.
func TestEmbedHugeImageRefused(t *testing.T) {
	s := New(nil, Options{})
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// Rewrite the IHDR size to 10000×5000, with its CRC.
	binary.BigEndian.PutUint32(data[16:], 10000)
	binary.BigEndian.PutUint32(data[20:], 5000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	_, err := s.Embed(context.Background(), provider.Call{ModelID: "mm"}, &provider.EmbedRequest{Inputs: []string{""},
		Images: [][]provider.EmbedImage{{{Format: "png", Data: data, Width: 10000, Height: 5000}}}})
	if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Validation || e.Message != "400 Bad Request: Image exceeds max pixels allowed." {
		t.Fatalf("got %v", err)
	}
}
