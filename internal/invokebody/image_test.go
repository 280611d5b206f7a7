package invokebody

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider"
)

var (
	novaCanvas  = Model{ID: "amazon.nova-canvas-v1:0"}
	titanImage  = Model{ID: "amazon.titan-image-generator-v2:0"}
	sd35        = Model{ID: "stability.sd3-5-large-v1:0"}
	stableCore  = Model{ID: "stability.stable-image-core-v1:1"}
	canvasCodec = novaCanvasCodec{}
	titanCodec  = novaCanvasCodec{titan: true}
)

// testPNG is a base64 PNG of w×h pixels, grey, or black and white halves
// (left black) when mask is set.
func testPNG(t testing.TB, w, h int, mask bool) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(128)
			if mask {
				v = 255
				if x < w/2 {
					v = 0
				}
			}
			img.SetGray(x, y, color.Gray{v})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func testJPEG(t testing.TB, w, h int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestNovaCanvasDecodeTasks(t *testing.T) {
	src := testPNG(t, 512, 384, false)
	mask := testPNG(t, 512, 384, true)
	for _, c := range []struct {
		name, body string
		check      func(t *testing.T, r *provider.ImageRequest)
	}{
		{"text image (AWS example)", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a red bicycle","style":"PHOTOREALISM"},"imageGenerationConfig":{"width":1280,"height":720,"quality":"standard","cfgScale":6.5,"seed":42,"numberOfImages":2}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				want := provider.ImageRequest{Task: "TEXT_IMAGE", Prompt: "a red bicycle", Style: "PHOTOREALISM", Width: 1280, Height: 720,
					Count: 2, Seed: 42, Quality: "standard", CFGScale: 6.5, Format: "png"}
				sameImageRequest(t, r, want)
			}},
		{"defaults", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				sameImageRequest(t, r, provider.ImageRequest{Task: "TEXT_IMAGE", Prompt: "x", Width: 1024, Height: 1024, Count: 1, Seed: 12,
					Quality: "standard", CFGScale: 6.5, Format: "png"})
			}},
		{"conditioned", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x","conditionImage":"` + src + `","controlMode":"SEGMENTATION"},"imageGenerationConfig":{"quality":"premium"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if len(r.Images) != 1 || r.ControlMode != "SEGMENTATION" || r.Strength != 0.7 || r.Quality != "premium" {
					t.Errorf("got %+v", r)
				}
			}},
		{"color guided", `{"taskType":"COLOR_GUIDED_GENERATION","colorGuidedGenerationParams":{"text":"x","colors":["#FF9800","#00ff00"],"referenceImage":"` + src + `"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if len(r.Colors) != 2 || r.Colors[0] != "#FF9800" || len(r.Images) != 1 {
					t.Errorf("got %+v", r)
				}
			}},
		{"variation", `{"taskType":"IMAGE_VARIATION","imageVariationParams":{"images":["` + src + `","` + testJPEG(t, 400, 400) + `"],"similarityStrength":0.9},"imageGenerationConfig":{"width":512,"height":512}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if len(r.Images) != 2 || r.Strength != 0.9 || r.Width != 512 || r.Prompt != "" {
					t.Errorf("got %+v", r)
				}
			}},
		{"inpainting mask image", `{"taskType":"INPAINTING","inPaintingParams":{"image":"` + src + `","maskImage":"` + mask + `","text":"a cat"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if len(r.Images) != 1 || len(r.Mask) == 0 || r.Width != 512 || r.Height != 384 {
					t.Errorf("got %+v", r)
				}
			}},
		{"outpainting mask prompt", `{"taskType":"OUTPAINTING","outPaintingParams":{"image":"` + src + `","maskPrompt":"the dog","text":"a beach","outPaintingMode":"PRECISE"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if r.MaskPrompt != "the dog" || r.OutpaintingMode != "PRECISE" || r.Width != 512 || r.Height != 384 {
					t.Errorf("got %+v", r)
				}
			}},
		{"background removal", `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"` + src + `"}}`,
			func(t *testing.T, r *provider.ImageRequest) {
				if r.Count != 1 || r.Width != 512 || r.Height != 384 || len(r.Images) != 1 {
					t.Errorf("got %+v", r)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			call, err := canvasCodec.DecodeImage([]byte(c.body), novaCanvas)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, &call.Request)
		})
	}
}

func sameImageRequest(t *testing.T, got *provider.ImageRequest, want provider.ImageRequest) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("request mismatch\n got: %s\nwant: %s", g, w)
	}
}

func TestNovaCanvasDecodeErrors(t *testing.T) {
	src := testPNG(t, 512, 384, false)
	wide := testPNG(t, 10_000, 320, false)
	for _, c := range []struct{ name, body, want string }{
		{"unknown task", `{"taskType":"IMAGE_CONDITIONING","textToImageParams":{"text":"x"}}`,
			malformedMsg("#/taskType: IMAGE_CONDITIONING is not a valid enum value")},
		{"missing params", `{"taskType":"TEXT_IMAGE"}`, malformedMsg("#: required key [textToImageParams] not found")},
		{"text too long", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"` + strings.Repeat("a", 1025) + `"}}`,
			malformedMsg("#/textToImageParams/text: expected maxLength: 1024, actual: 1025")},
		{"bad style", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x","style":"OIL"}}`,
			malformedMsg("#/textToImageParams/style: OIL is not a valid enum value")},
		{"too many images", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"numberOfImages":6}}`,
			malformedMsg("#/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5")},
		{"cfg low", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"cfgScale":1}}`,
			malformedMsg("#/imageGenerationConfig/cfgScale: 1 is not greater or equal to 1.1")},
		{"seed high", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"seed":858993460}}`,
			malformedMsg("#/imageGenerationConfig/seed: 858993460 is not less or equal to 858993459")},
		{"width small", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":256,"height":256}}`,
			malformedMsg("#/imageGenerationConfig/height: 256 is not greater or equal to 320", "#/imageGenerationConfig/width: 256 is not greater or equal to 320")},
		{"not divisible", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":1000,"height":1024}}`,
			"The image size 1000x1024 is not supported: width and height must each be divisible by 16."},
		{"aspect", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":4096,"height":320}}`,
			"The image size 4096x320 is not supported: the aspect ratio must be between 1:4 and 4:1."},
		{"pixels", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":2048,"height":2048}}`,
			"The image size 2048x2048 is not supported: the image must have fewer than 4194304 pixels (4194304 requested)."},
		{"background removal config", `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"` + src + `"},"imageGenerationConfig":{"numberOfImages":1}}`,
			malformedMsg("#: extraneous key [imageGenerationConfig] is not permitted")},
		{"not base64", `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"abc"}}`,
			malformedMsg("#/backgroundRemovalParams/image: string is not valid base64")},
		{"not an image", `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"aGVsbG8gd29ybGQ="}}`,
			"The image in #/backgroundRemovalParams/image could not be decoded. Supported image formats are PNG and JPEG."},
		{"10000 pixels wide", `{"taskType":"IMAGE_VARIATION","imageVariationParams":{"images":["` + wide + `"]}}`,
			"The image in #/imageVariationParams/images/0 is 10000x320 pixels. Each side of an input image must be between 320 and 4096 pixels."},
		{"mask and prompt", `{"taskType":"INPAINTING","inPaintingParams":{"image":"` + src + `","maskPrompt":"a","maskImage":"` + src + `"}}`,
			"Exactly one of maskImage and maskPrompt must be provided in inPaintingParams."},
		{"no mask", `{"taskType":"INPAINTING","inPaintingParams":{"image":"` + src + `"}}`,
			"Exactly one of maskImage and maskPrompt must be provided in inPaintingParams."},
		{"grey mask", `{"taskType":"INPAINTING","inPaintingParams":{"image":"` + src + `","maskImage":"` + src + `"}}`,
			"The mask image in #/inPaintingParams/maskImage must contain only black and white pixels (black: the region to edit, white: the region to keep)."},
		{"mask size", `{"taskType":"INPAINTING","inPaintingParams":{"image":"` + src + `","maskImage":"` + testPNG(t, 384, 384, true) + `"}}`,
			"The mask image in #/inPaintingParams/maskImage is 384x384 pixels; it must have the input image's size, 512x384."},
		{"outpainting needs text", `{"taskType":"OUTPAINTING","outPaintingParams":{"image":"` + src + `","maskPrompt":"a"}}`,
			malformedMsg("#/outPaintingParams: required key [text] not found")},
		{"bad colour", `{"taskType":"COLOR_GUIDED_GENERATION","colorGuidedGenerationParams":{"text":"x","colors":["red"]}}`,
			malformedMsg("#/colorGuidedGenerationParams/colors/0: string [red] does not match pattern ^#[0-9A-Fa-f]{6}$")},
		{"control without image", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x","controlMode":"CANNY_EDGE"}}`,
			"controlMode and controlStrength require a conditionImage."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := canvasCodec.DecodeImage([]byte(c.body), novaCanvas)
			wantValidation(t, err, c.want)
		})
	}
}

func TestTitanImageDecode(t *testing.T) {
	call, err := titanCodec.DecodeImage([]byte(`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a lighthouse"},"imageGenerationConfig":{"numberOfImages":1,"height":768,"width":1152,"cfgScale":8.0,"seed":0}}`), titanImage)
	if err != nil {
		t.Fatal(err)
	}
	sameImageRequest(t, &call.Request, provider.ImageRequest{Task: "TEXT_IMAGE", Prompt: "a lighthouse", Width: 1152, Height: 768, Count: 1,
		Seed: 0, Quality: "standard", CFGScale: 8, Format: "png"})
	call, err = titanCodec.DecodeImage([]byte(`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"}}`), titanImage)
	if err != nil || call.Request.Seed != 42 || call.Request.CFGScale != 8 {
		t.Fatalf("defaults: %+v, %v", call, err)
	}
	for _, c := range []struct{ name, body, want string }{
		{"text", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"` + strings.Repeat("a", 513) + `"}}`,
			malformedMsg("#/textToImageParams/text: expected maxLength: 512, actual: 513")},
		{"style", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x","style":"PHOTOREALISM"}}`,
			malformedMsg("#/textToImageParams: extraneous key [style] is not permitted")},
		{"size list", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":1280,"height":720}}`,
			"The image size 1280x720 is not supported. Supported sizes (width x height) are " + titanSizeList() + "."},
		{"seed", `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"seed":2147483647}}`,
			malformedMsg("#/imageGenerationConfig/seed: 2147483647 is not less or equal to 2147483646")},
		{"input too large", `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"` + testPNG(t, 1600, 512, false) + `"}}`,
			"The image in #/backgroundRemovalParams/image is 1600x512 pixels. Each side of an input image must be between 256 and 1408 pixels."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := titanCodec.DecodeImage([]byte(c.body), titanImage)
			wantValidation(t, err, c.want)
		})
	}
}

func TestCanvasEncode(t *testing.T) {
	call := &ImageCall{}
	resp := &provider.ImageResponse{Images: [][]byte{[]byte("ab"), []byte("c")}}
	for _, c := range []struct {
		codec novaCanvasCodec
		resp  *provider.ImageResponse
		want  string
	}{
		{canvasCodec, resp, `{"images":["YWI=","Yw=="]}`},
		{titanCodec, resp, `{"images":["YWI=","Yw=="],"error":null}`},
		{canvasCodec, &provider.ImageResponse{Images: [][]byte{[]byte("ab")}, FinishReasons: []string{"", provider.FilterReasonOutput},
			Error: provider.BlockedSomeMessage}, `{"images":["YWI="],"error":"Some of the generated images have been blocked by our content filters."}`},
		{canvasCodec, &provider.ImageResponse{FinishReasons: []string{provider.FilterReasonOutput}, Error: provider.BlockedAllMessage},
			`{"images":[],"error":"All of the generated images have been blocked by our content filters."}`},
	} {
		out, err := c.codec.EncodeImage(call, c.resp, Meta{})
		if err != nil || string(out) != c.want {
			t.Errorf("got %s, %v; want %s", out, err, c.want)
		}
	}
	_, err := canvasCodec.EncodeImage(call, &provider.ImageResponse{FinishReasons: []string{provider.FilterReasonPrompt}}, Meta{})
	wantValidation(t, err, provider.BlockedPromptMessage)
}

func TestStabilityDecode(t *testing.T) {
	call, err := stabilityCodec{}.DecodeImage([]byte(`{"prompt":"a fox","negative_prompt":"blur","aspect_ratio":"16:9","seed":7,"output_format":"jpeg"}`), sd35)
	if err != nil {
		t.Fatal(err)
	}
	sameImageRequest(t, &call.Request, provider.ImageRequest{Task: "TEXT_IMAGE", Prompt: "a fox", NegativePrompt: "blur", Width: 1344, Height: 768,
		Count: 1, Seed: 7, Format: "jpeg"})
	a, _ := stabilityCodec{}.DecodeImage([]byte(`{"prompt":"a fox"}`), stableCore)
	b, _ := stabilityCodec{}.DecodeImage([]byte(`{"prompt":"a fox","seed":0}`), stableCore)
	if a.Request.Seed == 0 || a.Request.Seed != b.Request.Seed || a.Request.Width != 1024 || a.Request.Format != "png" {
		t.Errorf("derived seed: %+v %+v", a.Request, b.Request)
	}
	src := testPNG(t, 640, 480, false)
	call, err = stabilityCodec{}.DecodeImage([]byte(`{"prompt":"x","mode":"image-to-image","image":"`+src+`","strength":0.25}`), sd35)
	if err != nil || call.Request.Task != provider.TaskImageVariation || call.Request.Strength != 0.75 || call.Request.Width != 640 || call.Request.Height != 480 {
		t.Fatalf("image-to-image: %+v, %v", call, err)
	}
	for _, c := range []struct {
		name string
		m    Model
		body string
		want string
	}{
		{"no prompt", sd35, `{}`, malformedMsg("#: required key [prompt] not found")},
		{"long prompt", sd35, `{"prompt":"` + strings.Repeat("a", 10_001) + `"}`, malformedMsg("#/prompt: expected maxLength: 10000, actual: 10001")},
		{"aspect", sd35, `{"prompt":"x","aspect_ratio":"4:3"}`, malformedMsg("#/aspect_ratio: 4:3 is not a valid enum value")},
		{"format", sd35, `{"prompt":"x","output_format":"gif"}`, malformedMsg("#/output_format: gif is not a valid enum value")},
		{"seed", sd35, `{"prompt":"x","seed":4294967295}`, malformedMsg("#/seed: 4294967295 is not less or equal to 4294967294")},
		{"core mode", stableCore, `{"prompt":"x","mode":"text-to-image"}`, malformedMsg("#: extraneous key [mode] is not permitted")},
		{"no image", sd35, `{"prompt":"x","mode":"image-to-image","strength":0.5}`, "image is required when mode is image-to-image."},
		{"no strength", sd35, `{"prompt":"x","mode":"image-to-image","image":"` + src + `"}`, "strength is required when mode is image-to-image."},
		{"aspect with image", sd35, `{"prompt":"x","mode":"image-to-image","image":"` + src + `","strength":0.5,"aspect_ratio":"1:1"}`,
			"aspect_ratio is not supported when mode is image-to-image: the output has the input image's aspect ratio."},
		{"image without mode", sd35, `{"prompt":"x","image":"` + src + `"}`, "image and strength are only supported when mode is image-to-image."},
		{"10000 wide", sd35, `{"prompt":"x","mode":"image-to-image","strength":0.5,"image":"` + testPNG(t, 10_000, 320, false) + `"}`,
			"The image in #/image is 10000x320 pixels. Each side of an input image must be between 64 and 8192 pixels."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := stabilityCodec{}.DecodeImage([]byte(c.body), c.m)
			wantValidation(t, err, c.want)
		})
	}
}

func TestStabilityEncode(t *testing.T) {
	call := &ImageCall{Request: provider.ImageRequest{Seed: 9}}
	for _, c := range []struct {
		resp *provider.ImageResponse
		want string
	}{
		{&provider.ImageResponse{Images: [][]byte{[]byte("ab")}, Seeds: []int64{2130420379}, FinishReasons: []string{""}},
			`{"seeds":[2130420379],"finish_reasons":[null],"images":["YWI="]}`},
		{&provider.ImageResponse{FinishReasons: []string{provider.FilterReasonPrompt}},
			`{"seeds":[9],"finish_reasons":["Filter reason: prompt"],"images":[]}`},
	} {
		out, err := stabilityCodec{}.EncodeImage(call, c.resp, Meta{})
		if err != nil || string(out) != c.want {
			t.Errorf("got %s, %v; want %s", out, err, c.want)
		}
	}
}

// fuzzImage checks that an image decoder never panics, refuses bad bodies
// with a ValidationException in Bedrock's or our image wording, and that
// what it accepts is a sound neutral request whose answer encodes.
func fuzzImage(f *testing.F, codec ImageCodec, m Model, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		call, err := codec.DecodeImage(body, m)
		if err != nil {
			checkFuzzError(t, err, []string{"The image", "Exactly one of", "The mask image", "controlMode", "image", "strength", "aspect_ratio"})
			return
		}
		r := &call.Request
		if r.Count < 1 || r.Count > 5 || r.Width < 1 || r.Height < 1 || r.Task == "" {
			t.Fatalf("unsound request: %+v", r)
		}
		out, err := codec.EncodeImage(call, &provider.ImageResponse{Images: [][]byte{body}, Seeds: []int64{r.Seed}, FinishReasons: []string{""}}, Meta{ModelID: m.ID})
		if err != nil || !json.Valid(out) {
			t.Fatalf("EncodeImage: %v, %s", err, out)
		}
	})
}

func FuzzNovaCanvas(f *testing.F) {
	src := testPNG(f, 320, 320, false)
	fuzzImage(f, canvasCodec, novaCanvas,
		`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a red bicycle","style":"PHOTOREALISM"},"imageGenerationConfig":{"width":1280,"height":720,"seed":42,"numberOfImages":2}}`,
		`{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"`+src+`"}}`,
		`{"taskType":"INPAINTING","inPaintingParams":{"image":"`+src+`","maskPrompt":"cat"}}`,
		`{"taskType":"COLOR_GUIDED_GENERATION","colorGuidedGenerationParams":{"text":"x","colors":["#FF9800"]}}`)
}

func FuzzTitanImage(f *testing.F) {
	fuzzImage(f, titanCodec, titanImage,
		`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":1152,"height":768,"cfgScale":8.0}}`,
		`{"taskType":"IMAGE_VARIATION","imageVariationParams":{"images":["`+testPNG(f, 256, 256, false)+`"]}}`)
}

func FuzzStability(f *testing.F) {
	fuzzImage(f, stabilityCodec{}, sd35,
		`{"prompt":"a fox","aspect_ratio":"16:9","seed":7,"output_format":"jpeg"}`,
		`{"prompt":"x","mode":"image-to-image","image":"`+testPNG(f, 64, 64, false)+`","strength":0.5}`)
}
