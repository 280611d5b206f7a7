package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// pngSize decodes a base64 PNG and returns its size.
func pngSize(t *testing.T, s string) image.Point {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img.Bounds().Size()
}

// TestOpenAIImagesGenerate calls POST /v1/images/generations with the
// unmodified openai-go client (client.Images.Generate) for each image
// family, and checks the images, the Invocation and the cost.
func TestOpenAIImagesGenerate(t *testing.T) {
	srv, rec := startServer(t, withAlice)
	client := oai.NewClient(option.WithBaseURL(srv.URL()+"/v1"), option.WithAPIKey(aliceAPIKey), option.WithMaxRetries(0))
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		params  oai.ImageGenerateParams
		n, w, h int
		format  string
		quality string // recorded
		cost    float64
	}{
		// 1280x720 has fewer pixels than 1024x1024: 2 x $0.06 premium.
		{"nova canvas hd", oai.ImageGenerateParams{Model: novaCanvasID, Prompt: "a red bicycle", N: oai.Int(2), Size: "1280x720",
			Quality: oai.ImageGenerateParamsQualityHD, ResponseFormat: oai.ImageGenerateParamsResponseFormatB64JSON}, 2, 1280, 720, "png", "premium", 0.12},
		{"nova canvas 2048x1024 standard", oai.ImageGenerateParams{Model: novaCanvasID, Prompt: "a wide valley", Size: "2048x1024"},
			1, 2048, 1024, "png", "standard", 0.06},
		// auto: the model's default 1024x1024, standard: $0.01 (larger than 512x512).
		{"titan auto", oai.ImageGenerateParams{Model: titanImageID, Prompt: "a cup of coffee", Size: oai.ImageGenerateParamsSizeAuto,
			Quality: oai.ImageGenerateParamsQualityMedium}, 1, 1024, 1024, "png", "standard", 0.01},
		{"titan 512x512 high", oai.ImageGenerateParams{Model: titanImageID, Prompt: "a cup of tea", Size: oai.ImageGenerateParamsSize512x512,
			Quality: oai.ImageGenerateParamsQualityHigh}, 1, 512, 512, "png", "premium", 0.01},
		// 1536x1024 is 3:2, which Stability makes at 1216x832.
		{"stable image core 3:2", oai.ImageGenerateParams{Model: "stability.stable-image-core-v1:1", Prompt: "a car made of vegetables",
			Size: oai.ImageGenerateParamsSize1536x1024}, 1, 1216, 832, "png", "", 0.04},
		{"sd3.5 jpeg", oai.ImageGenerateParams{Model: "stability.sd3-5-large-v1:0", Prompt: "a lighthouse",
			OutputFormat: oai.ImageGenerateParamsOutputFormatJPEG}, 1, 1024, 1024, "jpeg", "", 0.08},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := string(c.params.Model)
			l := map[string]string{"model_id": model, "principal": "alice"}
			costBefore := metric(t, srv, "modelwatch_cost_dollars_total", l)
			imagesBefore := metric(t, srv, imageMetricID, map[string]string{"model_id": model})
			var res *http.Response
			out, err := client.Images.Generate(ctx, c.params, option.WithResponseInto(&res))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Data) != c.n {
				t.Fatalf("%d images, want %d", len(out.Data), c.n)
			}
			for _, d := range out.Data {
				if d.URL != "" || d.B64JSON == "" {
					t.Fatalf("image as url %q", d.URL)
				}
				if got := decodeImage(t, d.B64JSON, c.format).Bounds().Size(); got != (image.Point{c.w, c.h}) {
					t.Errorf("image size %v, want %dx%d", got, c.w, c.h)
				}
			}
			if string(out.Size) != fmt.Sprintf("%dx%d", c.w, c.h) || string(out.OutputFormat) != c.format || out.Created == 0 {
				t.Errorf("size %q format %q created %d", out.Size, out.OutputFormat, out.Created)
			}
			if c.n == 2 && out.Data[0].B64JSON == out.Data[1].B64JSON {
				t.Error("the two images are identical")
			}
			inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
			u := inv.Usage
			if inv.API != invocation.APIOpenAI || inv.Operation != invocation.ImageGenerations || inv.OutputModality != "IMAGE" || inv.Status != 200 ||
				u.OutputImages != c.n || u.ImageWidth != c.w || u.ImageHeight != c.h || u.ImageQuality != c.quality || inv.PrincipalName != "alice" {
				t.Errorf("invocation: api %s op %s modality %q status %d principal %q usage %+v", inv.API, inv.Operation, inv.OutputModality, inv.Status, inv.PrincipalName, u)
			}
			if got := metric(t, srv, imageMetricID, map[string]string{"model_id": model}) - imagesBefore; got != float64(c.n) {
				t.Errorf("%s grew by %v, want %d", imageMetricID, got, c.n)
			}
			if got := metric(t, srv, "modelwatch_cost_dollars_total", l) - costBefore; math.Abs(got-c.cost) > 1e-12 {
				t.Errorf("cost $%v, want $%v", got, c.cost)
			}
		})
	}

	t.Run("response_format url gives data: URLs", func(t *testing.T) {
		out, err := client.Images.Generate(ctx, oai.ImageGenerateParams{Model: novaCanvasID, Prompt: "a fox", Size: oai.ImageGenerateParamsSize512x512,
			ResponseFormat: oai.ImageGenerateParamsResponseFormatURL})
		if err != nil {
			t.Fatal(err)
		}
		b64, ok := strings.CutPrefix(out.Data[0].URL, "data:image/png;base64,")
		if !ok || out.Data[0].B64JSON != "" {
			t.Fatalf("url %.40q", out.Data[0].URL)
		}
		if got := pngSize(t, b64); got != (image.Point{512, 512}) {
			t.Errorf("size %v", got)
		}
	})

	t.Run("same request and seed, same images", func(t *testing.T) {
		body := `{"model":"` + novaCanvasID + `","prompt":"a blue boat","size":"512x512","seed":7}`
		_, a := postImages(t, srv.URL(), body, http.StatusOK)
		_, b := postImages(t, srv.URL(), body, http.StatusOK)
		if !bytes.Equal(dataOf(t, a), dataOf(t, b)) {
			t.Error("a repeated call gave other images")
		}
		_, c := postImages(t, srv.URL(), strings.Replace(body, `"seed":7`, `"seed":8`, 1), http.StatusOK)
		if bytes.Equal(dataOf(t, a), dataOf(t, c)) {
			t.Error("another seed gave the same images")
		}
	})

	t.Run("output moderation keeps the images left", func(t *testing.T) {
		res, body := postImages(t, srv.URL(), `{"model":"`+novaCanvasID+`","prompt":"BLOCKED_OUTPUT","n":3,"size":"512x512"}`, http.StatusOK)
		var out struct{ Data []json.RawMessage }
		if err := json.Unmarshal(body, &out); err != nil || len(out.Data) != 2 {
			t.Fatalf("%d images (%v), want 2", len(out.Data), err)
		}
		if inv := rec.byRequestID(t, res.Header.Get("X-Request-Id")); inv.Usage.OutputImages != 2 {
			t.Errorf("recorded %d images, want 2", inv.Usage.OutputImages)
		}
	})
}

// postImages posts a body to /v1/images/generations as alice and checks
// the status.
func postImages(t *testing.T, url, body string, status int) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/images/generations", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+aliceAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, status, out)
	}
	return res, out
}

// dataOf returns the data member of an images answer.
func dataOf(t *testing.T, body []byte) []byte {
	t.Helper()
	var out struct{ Data json.RawMessage }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

// TestOpenAIImagesErrors checks that bad requests get OpenAI's error
// shape, with the parameter at fault, and are recorded.
func TestOpenAIImagesErrors(t *testing.T) {
	srv, rec := startServer(t, withAlice)
	for _, c := range []struct {
		name, body    string
		status        int
		param, code   string
		msg           string
		recordedModel string
	}{
		{"no prompt", `{"model":"` + novaCanvasID + `"}`, 400, "prompt", "", "Missing required parameter: 'prompt'.", ""},
		{"unknown argument", `{"model":"` + novaCanvasID + `","prompt":"x","colour":"red"}`, 400, "colour", "", "Unrecognized request argument supplied: colour", ""},
		{"bad size", `{"model":"` + novaCanvasID + `","prompt":"x","size":"big"}`, 400, "size", "",
			`Invalid value for 'size': "big". It must be 'auto' or WIDTHxHEIGHT in pixels, such as '1024x1024'.`, ""},
		{"n too large", `{"model":"` + novaCanvasID + `","prompt":"x","n":11}`, 400, "n", "", "Invalid 'n': 11. It must be between 1 and 10.", ""},
		{"quality", `{"model":"` + novaCanvasID + `","prompt":"x","quality":"ultra"}`, 400, "quality", "",
			`Invalid value: "ultra". Supported values are: 'standard', 'hd', 'low', 'medium', 'high', 'xhigh', 'max', 'auto'.`, ""},
		{"stream", `{"model":"` + novaCanvasID + `","prompt":"x","stream":true}`, 400, "stream", "",
			"Streaming image generation is not supported: send 'stream': false (or leave it out) and read the whole answer.", ""},
		{"nova: six images", `{"model":"` + novaCanvasID + `","prompt":"x","n":6}`, 400, "n", "",
			"Invalid request for model `amazon.nova-canvas-v1:0`: Malformed input request: #/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5, please reformat your input and try again.", novaCanvasID},
		{"nova: size not divisible by 16", `{"model":"` + novaCanvasID + `","prompt":"x","size":"1000x1000"}`, 400, "size", "",
			"Invalid request for model `amazon.nova-canvas-v1:0`: ", novaCanvasID},
		{"nova: jpeg", `{"model":"` + novaCanvasID + `","prompt":"x","output_format":"jpeg"}`, 400, "output_format", "",
			"Invalid value for 'output_format': \"jpeg\". Model `amazon.nova-canvas-v1:0` makes PNG images only: use 'png'.", novaCanvasID},
		{"titan: size not in its list", `{"model":"` + titanImageID + `","prompt":"x","size":"1280x720"}`, 400, "size", "",
			"Invalid request for model `amazon.titan-image-generator-v2:0`: The image size 1280x720 is not supported.", titanImageID},
		{"stability: two images", `{"model":"stability.stable-image-ultra-v1:1","prompt":"x","n":2}`, 400, "n", "",
			"Invalid 'n': 2. Model `stability.stable-image-ultra-v1:1` makes one image per request: 'n' must be 1.", "stability.stable-image-ultra-v1:1"},
		{"stability: size", `{"model":"stability.stable-image-ultra-v1:1","prompt":"x","size":"1792x1024"}`, 400, "size", "",
			"Invalid value for 'size': \"1792x1024\". Model `stability.stable-image-ultra-v1:1` makes 1344x768, 1024x1024, 1536x640, 832x1216, 1216x832, 896x1088, 1088x896, 768x1344, 640x1536, or any size with one of their aspect ratios (16:9, 1:1, 21:9, 2:3, 3:2, 4:5, 5:4, 9:16, 9:21), or 'auto'.", "stability.stable-image-ultra-v1:1"},
		{"transparent background", `{"model":"` + titanImageID + `","prompt":"x","background":"transparent"}`, 400, "background", "",
			"Invalid value for 'background': 'transparent' is not supported by model `amazon.titan-image-generator-v2:0`. Use 'auto' or 'opaque'.", titanImageID},
		{"a chat model", `{"model":"anthropic.claude-3-haiku-20240307-v1:0","prompt":"x"}`, 400, "model", "",
			"The model `anthropic.claude-3-haiku-20240307-v1:0` does not generate images", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"unknown model", `{"model":"dall-e-9","prompt":"x"}`, 404, "model", "model_not_found",
			"The model `dall-e-9` does not exist or you do not have access to it.", "dall-e-9"},
		{"blocked prompt", `{"model":"` + novaCanvasID + `","prompt":"a BLOCKED_PROMPT scene"}`, 400, "prompt", "content_policy_violation",
			"This request has been blocked by our content filters. Please adjust your text prompt to submit a new request.", novaCanvasID},
		{"all output blocked", `{"model":"` + novaCanvasID + `","prompt":"BLOCKED_OUTPUT","size":"512x512"}`, 400, "prompt", "content_policy_violation",
			"All of the generated images have been blocked by our content filters.", novaCanvasID},
		{"stability prompt filtered", `{"model":"stability.stable-image-core-v1:1","prompt":"BLOCKED_PROMPT"}`, 400, "prompt", "content_policy_violation",
			"This request has been blocked by our content filters. Please adjust your text prompt to submit a new request.", "stability.stable-image-core-v1:1"},
		{"stability output filtered", `{"model":"stability.stable-image-core-v1:1","prompt":"BLOCKED_OUTPUT"}`, 400, "prompt", "content_policy_violation",
			"All of the generated images have been blocked by our content filters.", "stability.stable-image-core-v1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body := postImages(t, srv.URL(), c.body, c.status)
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if !strings.HasPrefix(e.Error.Message, c.msg) || e.Error.Type != "invalid_request_error" || e.Error.Param == nil || *e.Error.Param != c.param {
				t.Errorf("error %s", body)
			}
			if c.code != "" && (e.Error.Code == nil || *e.Error.Code != c.code) {
				t.Errorf("code %v, want %s", e.Error.Code, c.code)
			}
			inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
			if inv.Status != c.status || inv.Operation != invocation.ImageGenerations || inv.Usage.OutputImages != 0 || inv.ModelID != c.recordedModel {
				t.Errorf("recorded status %d op %s images %d model %q", inv.Status, inv.Operation, inv.Usage.OutputImages, inv.ModelID)
			}
		})
	}
	t.Run("through the openai client", func(t *testing.T) {
		client := oai.NewClient(option.WithBaseURL(srv.URL()+"/v1"), option.WithAPIKey(aliceAPIKey), option.WithMaxRetries(0))
		_, err := client.Images.Generate(context.Background(), oai.ImageGenerateParams{Model: novaCanvasID, Prompt: "x", N: oai.Int(6)})
		var apiErr *oai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" || apiErr.Type != "invalid_request_error" {
			t.Fatalf("error %v", err)
		}
	})
}

// upstreamPNG is a w x h PNG, as an OpenAI-compatible image model returns
// it.
func upstreamPNG(t *testing.T, w, h int) string {
	return base64.StdEncoding.EncodeToString(serverPNG(t, w, h))
}

// TestOpenAIUpstreamServesImageModels routes Nova Canvas to a fake
// OpenAI-compatible upstream speaking the images API's exact wire, and
// calls it both with a native Nova Canvas InvokeModel body (AWS SDK) and
// through the OpenAI door.
func TestOpenAIUpstreamServesImageModels(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var paths []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		mu.Lock()
		got, paths = append(got, req), append(paths, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(req["prompt"].(string), "refuse") {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"message":"Your request was rejected as a result of our safety system.","type":"image_generation_user_error","param":null,"code":"moderation_blocked"}}`))
			return
		}
		var wd, ht int
		_, _ = fmt.Sscanf(req["size"].(string), "%dx%d", &wd, &ht)
		n := int(req["n"].(float64))
		data := make([]map[string]any, n)
		for i := range data {
			data[i] = map[string]any{"b64_json": upstreamPNG(t, wd, ht)}
		}
		// gpt-image-1's answer: base64 images, the size and usage.
		_ = json.NewEncoder(w).Encode(map[string]any{"created": 1713833628, "data": data, "background": "opaque", "output_format": "png",
			"quality": "medium", "size": req["size"], "usage": map[string]any{"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
				"input_tokens_details": map[string]any{"text_tokens": 10, "image_tokens": 40}}})
	}))
	t.Cleanup(up.Close)
	t.Setenv("TEST_OPENAI_KEY", "sk-upstream-test")
	srv, rec := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: "openai", Settings: map[string]any{"baseURL": up.URL + "/v1", "apiKeyEnv": "TEST_OPENAI_KEY"}})
		// An image model of no Bedrock family: the OpenAI door gives it the
		// request in the neutral form.
		c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: "openai.gpt-image-1", Provider: "openai", UpstreamModel: "gpt-image-1",
			Aliases: []string{"gpt-image-1"}, OutputModalities: []string{"IMAGE"}}})
		for i := range c.Models {
			switch c.Models[i].ID {
			case novaCanvasID:
				c.Models[i].Provider, c.Models[i].UpstreamModel = "openai", "gpt-image-1"
			case titanImageID:
				c.Models[i].Provider, c.Models[i].UpstreamModel = "openai", "dall-e-3"
			}
		}
	})
	last := func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		if paths[len(paths)-1] != "/v1/images/generations Bearer sk-upstream-test" {
			t.Errorf("upstream got %s", paths[len(paths)-1])
		}
		return got[len(got)-1]
	}
	client := runtimeClient(srv.URL(), aliceKeyID, aliceSecret)
	ctx := context.Background()

	t.Run("nova canvas InvokeModel to gpt-image-1", func(t *testing.T) {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID), Body: []byte(novaCanvasBody)})
		if err != nil {
			t.Fatal(err)
		}
		var resp struct{ Images []string }
		if err := json.Unmarshal(out.Body, &resp); err != nil || len(resp.Images) != 2 {
			t.Fatalf("%.200s: %v", out.Body, err)
		}
		for _, s := range resp.Images {
			if sz := pngSize(t, s); sz != (image.Point{1280, 720}) {
				t.Errorf("size %v", sz)
			}
		}
		req, _ := json.Marshal(last())
		if want := `{"model":"gpt-image-1","n":2,"output_format":"png","prompt":"A whimsical illustration of a fluffy domestic feline, lounging in a sunbeam.","quality":"medium","size":"1280x720"}`; string(req) != want {
			t.Errorf("upstream request\n%s\nwant\n%s", req, want)
		}
		inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
		if inv.Provider != "openai" || inv.UpstreamModel != "gpt-image-1" || inv.Usage.OutputImages != 2 || inv.Usage.InputTokens != 50 || inv.Usage.ImageQuality != "standard" {
			t.Errorf("invocation provider %s upstream %s usage %+v", inv.Provider, inv.UpstreamModel, inv.Usage)
		}
		// Prompt tokens are free for Nova Canvas: 2 x $0.04.
		if c := metric(t, srv, "modelwatch_cost_dollars_total", map[string]string{"model_id": novaCanvasID}); math.Abs(c-0.08) > 1e-12 {
			t.Errorf("cost %v, want 0.08", c)
		}
	})
	t.Run("titan premium through the openai door to dall-e-3", func(t *testing.T) {
		_, body := postImages(t, srv.URL(), `{"model":"`+titanImageID+`","prompt":"a cat","quality":"hd","size":"512x512","style":"vivid"}`, http.StatusOK)
		var out struct {
			Data []struct {
				B64JSON string `json:"b64_json"`
			}
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Data) != 1 || pngSize(t, out.Data[0].B64JSON) != (image.Point{512, 512}) {
			t.Fatalf("%.200s: %v", body, err)
		}
		req, _ := json.Marshal(last())
		// The door drops vivid for Titan; dall-e gets b64_json and hd.
		if want := `{"model":"dall-e-3","n":1,"prompt":"a cat","quality":"hd","response_format":"b64_json","size":"512x512"}`; string(req) != want {
			t.Errorf("upstream request\n%s\nwant\n%s", req, want)
		}
	})
	t.Run("gpt-image-1 by its own name through the openai door", func(t *testing.T) {
		res, body := postImages(t, srv.URL(), `{"model":"gpt-image-1","prompt":"a cat","n":2,"quality":"high","size":"1536x1024","output_format":"webp","user":"u-7"}`, http.StatusOK)
		var out struct {
			Data []struct {
				B64JSON string `json:"b64_json"`
			} `json:"data"`
			OutputFormat string `json:"output_format"`
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Data) != 2 || out.OutputFormat != "webp" {
			t.Fatalf("%.200s: %v", body, err)
		}
		req, _ := json.Marshal(last())
		if want := `{"model":"gpt-image-1","n":2,"output_format":"webp","prompt":"a cat","quality":"high","size":"1536x1024"}`; string(req) != want {
			t.Errorf("upstream request\n%s\nwant\n%s", req, want)
		}
		inv := rec.byRequestID(t, res.Header.Get("X-Request-Id"))
		if inv.CatalogModelID != "openai.gpt-image-1" || inv.Usage.OutputImages != 2 || inv.Usage.ImageQuality != "premium" || inv.RequestMetadata["user"] != "u-7" {
			t.Errorf("invocation model %s usage %+v metadata %v", inv.CatalogModelID, inv.Usage, inv.RequestMetadata)
		}
		// No price is known for it: unpriced, never $0.
		if n := metric(t, srv, "modelwatch_unpriced_invocations_total", map[string]string{"model_id": "openai.gpt-image-1"}); n != 1 {
			t.Errorf("unpriced invocations %v, want 1", n)
		}
	})
	t.Run("upstream refusal", func(t *testing.T) {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID),
			Body: []byte(`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"refuse this"}}`)})
		apiError(t, err, "ValidationException", 400, "Your request was rejected as a result of our safety system.")
	})
	t.Run("edit tasks are refused", func(t *testing.T) {
		src := b64(serverPNG(t, 640, 480))
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID),
			Body: []byte(`{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"` + src + `"}}`)})
		apiError(t, err, "ValidationException", 400, "The task type BACKGROUND_REMOVAL is not supported by the model's provider (openai), which serves text-to-image generation only.")
	})
}
