package invokebody

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var (
	reelV0 = Model{ID: "amazon.nova-reel-v1:0"}
	reelV1 = Model{ID: "amazon.nova-reel-v1:1"}
)

func reelPNG(t testing.TB, w, h int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestNovaReelDecode(t *testing.T) {
	c := novaReelCodec{}
	req, err := c.DecodeVideo([]byte(`{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"waves at dusk"},
		"videoGenerationConfig":{"durationSeconds":6,"fps":24,"dimension":"1280x720","seed":7}}`), reelV1)
	if err != nil {
		t.Fatal(err)
	}
	if req.Task != provider.TaskTextVideo || len(req.Shots) != 1 || req.Shots[0].Text != "waves at dusk" ||
		req.DurationSeconds != 6 || req.FPS != 24 || req.Width != 1280 || req.Height != 720 || req.Seed != 7 {
		t.Fatalf("%+v", req)
	}
	// Defaults when videoGenerationConfig is left out.
	req, err = c.DecodeVideo([]byte(`{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x","images":[{"format":"png","source":{"bytes":"`+reelPNG(t, 1280, 720)+`"}}]}}`), reelV0)
	if err != nil || req.Seed != 42 || req.DurationSeconds != 6 || len(req.Shots[0].Image) == 0 || req.Shots[0].ImageFormat != "png" {
		t.Fatalf("%+v %v", req, err)
	}
	req, err = c.DecodeVideo([]byte(`{"taskType":"MULTI_SHOT_AUTOMATED","multiShotAutomatedParams":{"text":"a day"},"videoGenerationConfig":{"durationSeconds":18,"seed":1}}`), reelV1)
	if err != nil || req.DurationSeconds != 18 || req.Seed != 1 || len(req.Shots) != 1 {
		t.Fatalf("%+v %v", req, err)
	}
	req, err = c.DecodeVideo([]byte(`{"taskType":"MULTI_SHOT_MANUAL","multiShotManualParams":{"shots":[{"text":"a"},{"text":"b"},{"text":"c"}]}}`), reelV1)
	if err != nil || req.DurationSeconds != 18 || len(req.Shots) != 3 || req.Shots[2].Text != "c" {
		t.Fatalf("%+v %v", req, err)
	}
}

func TestNovaReelErrors(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), 676))
	for _, tc := range []struct {
		m    Model
		body string
		want string
	}{
		{reelV1, `{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"` + long + `"}}`,
			"Malformed input request: #/textToVideoParams/text: expected maxLength: 512, actual: 676, reformat your input and try again."},
		{reelV1, `{"taskType":"MULTI_SHOT_AUTOMATED","multiShotAutomatedParams":{"text":"x"},"videoGenerationConfig":{"durationSeconds":15}}`,
			"Malformed input request: #/videoGenerationConfig/durationSeconds must be an integer evenly divisible by 6 and within the range of 12 through 120. Provide a valid duration and try again."},
		{reelV1, `{"taskType":"MULTI_SHOT_AUTOMATED","multiShotAutomatedParams":{"text":"x"},"videoGenerationConfig":{"durationSeconds":126}}`,
			"Malformed input request: #/videoGenerationConfig/durationSeconds must be an integer evenly divisible by 6 and within the range of 12 through 120. Provide a valid duration and try again."},
		{reelV0, `{"taskType":"MULTI_SHOT_AUTOMATED","multiShotAutomatedParams":{"text":"x"},"videoGenerationConfig":{"durationSeconds":12}}`,
			"Malformed input request: #/taskType: MULTI_SHOT_AUTOMATED is not a valid enum value, reformat your input and try again."},
		{reelV1, `{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x"},"videoGenerationConfig":{"durationSeconds":7,"fps":30,"dimension":"1920x1080","seed":2147483647}}`,
			"Malformed input request: #/videoGenerationConfig/dimension: 1920x1080 is not a valid enum value#/videoGenerationConfig/durationSeconds: 7 is not a valid enum value#/videoGenerationConfig/fps: 30 is not a valid enum value#/videoGenerationConfig/seed: 2147483647 is not less or equal to 2147483646, reformat your input and try again."},
		{reelV1, `{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x","images":[{"format":"png","source":{"bytes":"` + reelPNG(t, 640, 360) + `"}}]}}`,
			"Malformed input request: #/textToVideoParams/images/0: the image must be 1280x720 pixels, found 640x360, reformat your input and try again."},
		{reelV1, `{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x","images":[{"format":"jpeg","source":{"bytes":"` + reelPNG(t, 1280, 720) + `"}}]}}`,
			"Malformed input request: #/textToVideoParams/images/0: the image is not a JPEG image, reformat your input and try again."},
		{reelV1, `{"taskType":"IMAGE_VIDEO"}`,
			"Malformed input request: #/taskType: IMAGE_VIDEO is not a valid enum value, reformat your input and try again."},
		{reelV1, `{"taskType":"MULTI_SHOT_MANUAL","multiShotManualParams":{"shots":[{"text":"a"}]}}`,
			"Malformed input request: #/multiShotManualParams/shots: expected minimum item count: 2, found: 1, reformat your input and try again."},
	} {
		_, err := novaReelCodec{}.DecodeVideo([]byte(tc.body), tc.m)
		e, ok := err.(*apierror.Error)
		if !ok || e.Code != apierror.Validation || e.Message != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.body[:min(len(tc.body), 80)], err, tc.want)
		}
	}
}

func FuzzNovaReelDecode(f *testing.F) {
	f.Add([]byte(`{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"waves"},"videoGenerationConfig":{"durationSeconds":6,"fps":24,"dimension":"1280x720","seed":7}}`))
	f.Add([]byte(`{"taskType":"MULTI_SHOT_AUTOMATED","multiShotAutomatedParams":{"text":"a day"},"videoGenerationConfig":{"durationSeconds":18}}`))
	f.Add([]byte(`{"taskType":"MULTI_SHOT_MANUAL","multiShotManualParams":{"shots":[{"text":"a","image":{"format":"png","source":{"bytes":"AAAA"}}},{"text":"b"}]}}`))
	f.Add([]byte(`{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x","images":[{"format":"jpeg","source":{"s3Location":{"uri":"s3://b/k"}}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range []Model{reelV0, reelV1} {
			req, err := novaReelCodec{}.DecodeVideo(body, m)
			if err != nil {
				if e, ok := err.(*apierror.Error); !ok || e.Code != apierror.Validation {
					t.Fatalf("error %T %v", err, err)
				}
				continue
			}
			if len(req.Shots) == 0 || req.DurationSeconds%6 != 0 || req.DurationSeconds < 6 || req.DurationSeconds > 120 ||
				req.Seed < 0 || req.Seed > reelSeedMax {
				t.Fatalf("accepted %+v", req)
			}
		}
	})
}
