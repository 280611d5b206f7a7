package invokebody

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider"
)

func TestTitanEmbedImageDecode(t *testing.T) {
	pngData := testImage(t, "png", 40, 30)
	call, err := titanEmbedImageCodec{}.DecodeEmbed([]byte(`{"inputText":"hi","inputImage":"`+b64(pngData)+`","embeddingConfig":{"outputEmbeddingLength":256}}`), titanMM)
	if err != nil {
		t.Fatal(err)
	}
	r := call.Request
	if !slices.Equal(r.Inputs, []string{"hi"}) || r.Dimensions != 256 || !r.Normalize || r.MaxInputTokens != 128 || r.Truncate != provider.TruncateNone {
		t.Errorf("request %+v", r)
	}
	if len(r.Images) != 1 || len(r.Images[0]) != 1 {
		t.Fatalf("images %+v", r.Images)
	}
	if im := r.Images[0][0]; im.Format != "png" || im.Width != 40 || im.Height != 30 || !bytes.Equal(im.Data, pngData) {
		t.Errorf("image %s %dx%d", im.Format, im.Width, im.Height)
	}
	// Text only: default length, no images.
	call, err = titanEmbedImageCodec{}.DecodeEmbed([]byte(`{"inputText":"a dog"}`), titanMM)
	if err != nil || call.Request.Dimensions != 1024 || call.Request.Images != nil {
		t.Fatalf("%v %+v", err, call)
	}
	// Image only: the input's text is "".
	call, err = titanEmbedImageCodec{}.DecodeEmbed([]byte(`{"inputImage":"`+b64(testImage(t, "jpeg", 8, 8))+`"}`), titanMM)
	if err != nil || call.Request.Inputs[0] != "" || call.Request.Images[0][0].Format != "jpeg" {
		t.Fatalf("%v %+v", err, call)
	}
}

func TestTitanEmbedImageDecodeErrors(t *testing.T) {
	big := testImage(t, "png", 4097, 1)
	for _, c := range []struct{ name, body, want string }{
		{"empty", `{}`, "Malformed input request: #: at least one of [inputText, inputImage] is required, please reformat your input and try again."},
		{"length", `{"inputText":"x","embeddingConfig":{"outputEmbeddingLength":512}}`, "Malformed input request: #/embeddingConfig/outputEmbeddingLength: 512 is not a valid enum value, please reformat your input and try again."},
		{"extra", `{"inputText":"x","dimensions":256}`, "Malformed input request: #: extraneous key [dimensions] is not permitted, please reformat your input and try again."},
		{"base64", `{"inputImage":"not base64!"}`, "Malformed input request: #/inputImage: string is not valid base64, please reformat your input and try again."},
		{"gif", `{"inputImage":"` + b64(testImage(t, "gif", 4, 4)) + `"}`, "400 Bad Request: Unsupported image format. Supported formats: PNG, JPEG."},
		{"not an image", `{"inputImage":"` + b64([]byte("hello world")) + `"}`, "400 Bad Request: Unsupported image format. Supported formats: PNG, JPEG."},
		{"broken png", `{"inputImage":"` + b64([]byte("\x89PNG\r\n\x1a\n0000")) + `"}`, "400 Bad Request: Unable to process the provided image: it is not a valid PNG file."},
		{"too wide", `{"inputImage":"` + b64(big) + `"}`, "400 Bad Request: Image exceeds max pixels allowed."},
		{"too large", `{"inputImage":"` + b64(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 5<<20)...)) + `"}`, "400 Bad Request: Image size 5242888 bytes exceeds the maximum of 5242880 bytes."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := titanEmbedImageCodec{}.DecodeEmbed([]byte(c.body), titanMM)
			wantValidation(t, err, c.want)
		})
	}
}

func TestTitanEmbedImageEncode(t *testing.T) {
	call, err := titanEmbedImageCodec{}.DecodeEmbed([]byte(`{"inputText":"hi"}`), titanMM)
	if err != nil {
		t.Fatal(err)
	}
	out, err := titanEmbedImageCodec{}.EncodeEmbed(call, &provider.EmbedResponse{Embeddings: [][]float32{{0.5, -0.25}}, InputTokens: 2}, Meta{ModelID: titanMM.ID})
	if want := `{"embedding":[0.5,-0.25],"inputTextTokenCount":2,"message":null}`; err != nil || string(out) != want {
		t.Errorf("got %s, %v; want %s", out, err, want)
	}
}

func FuzzTitanEmbedImage(f *testing.F) {
	for _, s := range []string{`{"inputText":"hi"}`, `{"inputImage":"` + b64(testImage(f, "png", 3, 2)) + `","embeddingConfig":{"outputEmbeddingLength":384}}`,
		`{"inputText":"a","inputImage":"iVBORw0KGgo="}`, `{"embeddingConfig":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		call, err := titanEmbedImageCodec{}.DecodeEmbed(body, titanMM)
		if err != nil {
			checkFuzzError(t, err, []string{"400 Bad Request: "})
			return
		}
		r := call.Request
		if len(r.Inputs) != 1 || (r.Images != nil && len(r.Images) != 1) || (r.Inputs[0] == "" && r.ImageCount() == 0) {
			t.Fatalf("bad request %+v", r)
		}
		if r.Dimensions != 256 && r.Dimensions != 384 && r.Dimensions != 1024 {
			t.Fatalf("dimensions %d", r.Dimensions)
		}
		out, err := titanEmbedImageCodec{}.EncodeEmbed(call, &provider.EmbedResponse{Embeddings: [][]float32{make([]float32, r.Dimensions)}}, Meta{ModelID: titanMM.ID})
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeEmbed: %v %s", err, out)
		}
	})
}
