package invokebody

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider"
)

var (
	titanMM  = Model{ID: "amazon.titan-embed-image-v1"}
	cohereV3 = Model{ID: "cohere.embed-english-v3"}
	cohereV4 = Model{ID: "cohere.embed-v4:0"}
)

// testImage encodes a w×h picture in format ("png", "jpeg" or "gif").
func testImage(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func dataURI(format string, b []byte) string { return "data:image/" + format + ";base64," + b64(b) }

func TestCohereEmbedDecode(t *testing.T) {
	pngData := testImage(t, "png", 20, 10)
	for _, c := range []struct {
		name string
		m    Model
		body string
		want provider.EmbedRequest
	}{
		{"v3 texts", cohereV3, `{"texts":["a","b"],"input_type":"search_query","truncate":"END","embedding_types":["int8","float"]}`,
			provider.EmbedRequest{Inputs: []string{"a", "b"}, Dimensions: 1024, Normalize: true, InputType: "search_query",
				MaxInputTokens: 512, Truncate: "END", EmbeddingTypes: []string{"int8", "float"}}},
		{"v3 default truncate", cohereV3, `{"texts":["a"],"input_type":"clustering"}`,
			provider.EmbedRequest{Inputs: []string{"a"}, Dimensions: 1024, Normalize: true, InputType: "clustering", MaxInputTokens: 512, Truncate: "NONE"}},
		{"v4 texts", cohereV4, `{"texts":["a"],"input_type":"search_document","output_dimension":256,"max_tokens":1000,"truncate":"LEFT"}`,
			provider.EmbedRequest{Inputs: []string{"a"}, Dimensions: 256, Normalize: true, InputType: "search_document",
				MaxInputTokens: 1000, Truncate: "START", EmbeddingTypes: []string{"float"}}},
		{"v4 defaults", cohereV4, `{"texts":["a"],"input_type":"classification","truncate":"RIGHT","embedding_types":["binary"]}`,
			provider.EmbedRequest{Inputs: []string{"a"}, Dimensions: 1536, Normalize: true, InputType: "classification",
				MaxInputTokens: 128000, Truncate: "END", EmbeddingTypes: []string{"binary"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			call, err := cohereEmbedCodec{}.DecodeEmbed([]byte(c.body), c.m)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(call.Request)
			want, _ := json.Marshal(c.want)
			if !bytes.Equal(got, want) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	// v3 image.
	call, err := cohereEmbedCodec{}.DecodeEmbed([]byte(`{"images":["`+dataURI("png", pngData)+`"],"input_type":"image"}`), cohereV3)
	if err != nil {
		t.Fatal(err)
	}
	if r := call.Request; !slices.Equal(r.Inputs, []string{""}) || len(r.Images) != 1 || r.Images[0][0].Width != 20 || r.Images[0][0].Height != 10 {
		t.Errorf("v3 image request %+v", r)
	}
	// v4 interleaved inputs: texts joined, images in order, both URL forms.
	body := `{"input_type":"search_document","inputs":[{"content":[{"type":"text","text":"red"},{"type":"image_url","image_url":"` +
		dataURI("png", pngData) + `"},{"type":"text","text":"square"}]},{"content":[{"type":"image_url","image_url":{"url":"` +
		dataURI("gif", testImage(t, "gif", 3, 3)) + `"}}]}]}`
	call, err = cohereEmbedCodec{}.DecodeEmbed([]byte(body), cohereV4)
	if err != nil {
		t.Fatal(err)
	}
	if r := call.Request; !slices.Equal(r.Inputs, []string{"red\nsquare", ""}) || len(r.Images[0]) != 1 || r.Images[1][0].Format != "gif" || r.ImageCount() != 2 {
		t.Errorf("v4 inputs request %+v", r)
	}
}

func TestCohereEmbedDecodeErrors(t *testing.T) {
	uri := dataURI("png", testImage(t, "png", 4, 4))
	long := strings.Repeat("x", 2049)
	for _, c := range []struct {
		name string
		m    Model
		body string
		want string
	}{
		{"input_type", cohereV3, `{"texts":["a"],"input_type":"search"}`, "Malformed input request: #/input_type: search is not a valid enum value, please reformat your input and try again."},
		{"no input_type", cohereV4, `{"texts":["a"]}`, "Malformed input request: #: required key [input_type] not found, please reformat your input and try again."},
		{"v4 image type", cohereV4, `{"texts":["a"],"input_type":"image"}`, "Malformed input request: #/input_type: image is not a valid enum value, please reformat your input and try again."},
		{"truncate v3", cohereV3, `{"texts":["a"],"input_type":"clustering","truncate":"LEFT"}`, "Malformed input request: #/truncate: LEFT is not a valid enum value, please reformat your input and try again."},
		{"truncate v4", cohereV4, `{"texts":["a"],"input_type":"clustering","truncate":"END"}`, "Malformed input request: #/truncate: END is not a valid enum value, please reformat your input and try again."},
		{"embedding type", cohereV3, `{"texts":["a"],"input_type":"clustering","embedding_types":["int4"]}`, "Malformed input request: #/embedding_types/0: int4 is not a valid enum value, please reformat your input and try again."},
		{"dimension", cohereV4, `{"texts":["a"],"input_type":"clustering","output_dimension":768}`, "Malformed input request: #/output_dimension: 768 is not a valid enum value, please reformat your input and try again."},
		{"v3 dimension", cohereV3, `{"texts":["a"],"input_type":"clustering","output_dimension":256}`, "Malformed input request: #: extraneous key [output_dimension] is not permitted, please reformat your input and try again."},
		{"max_tokens", cohereV4, `{"texts":["a"],"input_type":"clustering","max_tokens":200000}`, "Malformed input request: #/max_tokens: 200000 is not less or equal to 128000, please reformat your input and try again."},
		{"too long", cohereV3, `{"texts":["` + long + `"],"input_type":"clustering"}`, "Malformed input request: #/texts/0: expected maxLength: 2048, actual: 2049, please reformat your input and try again."},
		{"too many", cohereV3, `{"texts":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 97), ",") + `],"input_type":"clustering"}`, "Malformed input request: #/texts: expected maximum item count: 96, found: 97, please reformat your input and try again."},
		{"two images v3", cohereV3, `{"images":["` + uri + `","` + uri + `"],"input_type":"image"}`, "Malformed input request: #/images: expected maximum item count: 1, found: 2, please reformat your input and try again."},
		{"none", cohereV3, `{"texts":[],"input_type":"clustering"}`, "Malformed input request: #: exactly one of [texts, images] must be provided and not be empty, please reformat your input and try again."},
		{"both", cohereV4, `{"texts":["a"],"images":["` + uri + `"],"input_type":"clustering"}`, "Malformed input request: #: exactly one of [texts, images, inputs] must be provided and not be empty, please reformat your input and try again."},
		{"image without image type", cohereV3, `{"images":["` + uri + `"],"input_type":"clustering"}`, "Malformed input request: #/input_type: image is required with images and accepted only with them, please reformat your input and try again."},
		{"text with image type", cohereV3, `{"texts":["a"],"input_type":"image"}`, "Malformed input request: #/input_type: image is required with images and accepted only with them, please reformat your input and try again."},
		{"not a data uri", cohereV4, `{"images":["https://example.com/a.png"],"input_type":"clustering"}`, "Malformed input request: #/images/0: string is not a data URI of the form data:image/<format>;base64,<data>, please reformat your input and try again."},
		{"bad base64", cohereV4, `{"images":["data:image/png;base64,@@"],"input_type":"clustering"}`, "Malformed input request: #/images/0: the data URI's data is not valid base64, please reformat your input and try again."},
		{"gif v3", cohereV3, `{"images":["` + dataURI("gif", testImage(t, "gif", 2, 2)) + `"],"input_type":"image"}`, "400 Bad Request: Unsupported image format. Supported formats: PNG, JPEG."},
		{"content type", cohereV4, `{"inputs":[{"content":[{"type":"video","text":"a"}]}],"input_type":"clustering"}`, "Malformed input request: #/inputs/0/content/0/type: video is not a valid enum value, please reformat your input and try again."},
		{"empty content", cohereV4, `{"inputs":[{"content":[]}],"input_type":"clustering"}`, "Malformed input request: #/inputs/0/content: expected minimum item count: 1, found: 0, please reformat your input and try again."},
		{"json", cohereV4, `{"texts":`, "Malformed input request: A JSONObject text must end with '}' at 9 [character 10 line 1], please reformat your input and try again."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := cohereEmbedCodec{}.DecodeEmbed([]byte(c.body), c.m)
			wantValidation(t, err, c.want)
		})
	}
}

func TestCohereEmbedEncode(t *testing.T) {
	vecs := [][]float32{{0.5, -0.25, 0, 1, -1, 0.1, 0.2, -0.3, 0.4}, {0, 0, 0, 0, 0, 0, 0, 0, 0}}
	resp := &provider.EmbedResponse{Embeddings: vecs, InputTokens: 4}
	meta := Meta{RequestID: "8d4a1c0e-0000-4000-8000-000000000001"}
	enc := func(m Model, body string) string {
		t.Helper()
		call, err := cohereEmbedCodec{}.DecodeEmbed([]byte(body), m)
		if err != nil {
			t.Fatal(err)
		}
		meta.ModelID = m.ID
		out, err := cohereEmbedCodec{}.EncodeEmbed(call, resp, meta)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	got := enc(cohereV3, `{"texts":["hello","world"],"input_type":"search_document"}`)
	want := `{"id":"8d4a1c0e-0000-4000-8000-000000000001","embeddings":[[0.5,-0.25,0,1,-1,0.1,0.2,-0.3,0.4],[0,0,0,0,0,0,0,0,0]],"texts":["hello","world"],"response_type":"embeddings_floats"}`
	if got != want {
		t.Errorf("floats\n got %s\nwant %s", got, want)
	}
	// int8: x*127/1 rounded; uint8 = int8+128; ubinary: signs of
	// [+,-,0,+,-,+,+,-] = 10010110 = 150, then [+] = 10000000 = 128;
	// binary = ubinary-128.
	got = enc(cohereV3, `{"texts":["hello","world"],"input_type":"search_document","embedding_types":["float","int8","uint8","binary","ubinary"]}`)
	want = `{"id":"8d4a1c0e-0000-4000-8000-000000000001","embeddings":{"float":[[0.5,-0.25,0,1,-1,0.1,0.2,-0.3,0.4],[0,0,0,0,0,0,0,0,0]],` +
		`"int8":[[64,-32,0,127,-127,13,25,-38,51],[0,0,0,0,0,0,0,0,0]],` +
		`"uint8":[[192,96,128,255,1,141,153,90,179],[128,128,128,128,128,128,128,128,128]],` +
		`"binary":[[22,0],[-128,-128]],"ubinary":[[150,128],[0,0]]},"texts":["hello","world"],"response_type":"embeddings_by_type"}`
	if got != want {
		t.Errorf("by type\n got %s\nwant %s", got, want)
	}
	// v4 answers by type even when no type is asked for.
	got = enc(cohereV4, `{"texts":["hello","world"],"input_type":"search_query"}`)
	if !strings.Contains(got, `"embeddings":{"float":[[0.5,`) || !strings.HasSuffix(got, `"response_type":"embeddings_by_type"}`) {
		t.Errorf("v4 default: %s", got)
	}
	// Images are echoed with their size, format and bit depth; texts is [].
	resp = &provider.EmbedResponse{Embeddings: vecs[:1]}
	got = enc(cohereV3, `{"images":["`+dataURI("jpeg", testImage(t, "jpeg", 12, 7))+`"],"input_type":"image","embedding_types":["ubinary"]}`)
	want = `{"id":"8d4a1c0e-0000-4000-8000-000000000001","embeddings":{"ubinary":[[150,128]]},"texts":[],"images":[{"width":12,"height":7,"format":"jpeg","bit_depth":24}],"response_type":"embeddings_by_type"}`
	if got != want {
		t.Errorf("image\n got %s\nwant %s", got, want)
	}
}

func TestWebpSize(t *testing.T) {
	// A lossless (VP8L) header for 300×200 and an extended (VP8X) one for
	// 5000×3000.
	vp8l := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f")
	bits := uint32(299) | uint32(199)<<14
	vp8l = append(vp8l, byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24), 0, 0, 0, 0, 0)
	if w, h, err := webpSize(vp8l); err != nil || w != 300 || h != 200 {
		t.Errorf("VP8L: %d×%d %v", w, h, err)
	}
	vp8x := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	vp8x = append(vp8x, 0x87, 0x13, 0x00, 0xb7, 0x0b, 0x00) // 4999, 2999
	if w, h, err := webpSize(vp8x); err != nil || w != 5000 || h != 3000 {
		t.Errorf("VP8X: %d×%d %v", w, h, err)
	}
	im, err := checkEmbedImage(vp8l, cohereV4ImageLimits)
	if err != nil || im.Format != "webp" || im.Width != 300 {
		t.Errorf("checkEmbedImage: %+v %v", im, err)
	}
}

func FuzzCohereEmbed(f *testing.F) {
	uri := dataURI("png", testImage(f, "png", 2, 2))
	for _, s := range []string{`{"texts":["a"],"input_type":"search_query","embedding_types":["int8","binary"]}`,
		`{"images":["` + uri + `"],"input_type":"image"}`,
		`{"inputs":[{"content":[{"type":"text","text":"x"},{"type":"image_url","image_url":"` + uri + `"}]}],"input_type":"clustering","output_dimension":512}`,
		`{"texts":["a"],"input_type":"classification","truncate":"LEFT","max_tokens":5}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, v4 bool) {
		m := cohereV3
		if v4 {
			m = cohereV4
		}
		call, err := cohereEmbedCodec{}.DecodeEmbed(body, m)
		if err != nil {
			checkFuzzError(t, err, []string{"400 Bad Request: "})
			return
		}
		r := call.Request
		if len(r.Inputs) == 0 || len(r.Inputs) > 96 || (r.Images != nil && len(r.Images) != len(r.Inputs)) || r.MaxInputTokens < 1 {
			t.Fatalf("bad request %+v", r)
		}
		vecs := make([][]float32, len(r.Inputs))
		for i := range vecs {
			vecs[i] = make([]float32, r.Dimensions)
			vecs[i][0] = -0.5
		}
		out, err := cohereEmbedCodec{}.EncodeEmbed(call, &provider.EmbedResponse{Embeddings: vecs}, Meta{ModelID: m.ID, RequestID: "r"})
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeEmbed: %v %s", err, out)
		}
	})
}

func TestBitDepth(t *testing.T) {
	enc := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	translucent.Set(0, 0, color.NRGBA{R: 9, A: 100})
	for _, c := range []struct {
		name string
		im   provider.EmbedImage
		want int
	}{
		{"gray png", provider.EmbedImage{Format: "png", Data: enc(image.NewGray(image.Rect(0, 0, 2, 2)))}, 8},
		{"rgb png", provider.EmbedImage{Format: "png", Data: testImage(t, "png", 2, 2)}, 24},
		{"rgba png", provider.EmbedImage{Format: "png", Data: enc(translucent)}, 32},
		{"jpeg", provider.EmbedImage{Format: "jpeg", Data: testImage(t, "jpeg", 2, 2)}, 24},
		{"gif", provider.EmbedImage{Format: "gif", Data: testImage(t, "gif", 2, 2)}, 8},
	} {
		if got := bitDepth(c.im); got != c.want {
			t.Errorf("%s: bit depth %d, want %d", c.name, got, c.want)
		}
	}
}
