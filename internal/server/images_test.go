package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/cwlogs/cwlogsfake"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// Bodies after the AWS documentation's examples: Nova user guide ("Image
// generation request and response structure", text-to-image and
// background removal), Bedrock user guide ("Amazon Titan Image Generator
// G1 models" text-to-image, "Stable Diffusion 3.5 Large", "Stable Image
// Core", "Stable Image Ultra").
const (
	novaCanvasID = "amazon.nova-canvas-v1:0"
	titanImageID = "amazon.titan-image-generator-v2:0"

	novaCanvasBody = `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"A whimsical illustration of a fluffy domestic feline, lounging in a sunbeam.","style":"PHOTOREALISM"},` +
		`"imageGenerationConfig":{"width":1280,"height":720,"quality":"standard","cfgScale":6.5,"seed":42,"numberOfImages":2}}`
	titanImageBody = `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"A photograph of a cup of coffee from the side."},` +
		`"imageGenerationConfig":{"numberOfImages":1,"height":768,"width":1152,"cfgScale":8.0,"seed":0,"quality":"premium"}}`
	sd35Body      = `{"prompt":"A car made out of vegetables.","mode":"text-to-image","aspect_ratio":"16:9","output_format":"jpeg","seed":2130420379}`
	coreBody      = `{"prompt":"A car made out of vegetables.","aspect_ratio":"2:3","output_format":"png"}`
	ultraBody     = `{"prompt":"A car made out of vegetables.","negative_prompt":"blurry","seed":5}`
	imageMetricID = "bedrock_output_images_total"
)

// serverPNG is a w×h PNG: white, with a red square in the middle.
func serverPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{255, 255, 255, 255}
			if x > w/3 && x < 2*w/3 && y > h/3 && y < 2*h/3 {
				c = color.NRGBA{200, 0, 0, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeImage(t *testing.T, s, format string) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var img image.Image
	if format == "jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(raw))
	} else {
		img, err = png.Decode(bytes.NewReader(raw))
	}
	if err != nil {
		t.Fatalf("decode %s: %v", format, err)
	}
	return img
}

func TestImageModelsInvoke(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	for _, c := range []struct {
		id, body, format string
		w, h, n          int
		quality          string
		stability        bool
	}{
		{novaCanvasID, novaCanvasBody, "png", 1280, 720, 2, "standard", false},
		{titanImageID, titanImageBody, "png", 1152, 768, 1, "premium", false},
		{"stability.sd3-5-large-v1:0", sd35Body, "jpeg", 1344, 768, 1, "", true},
		{"stability.stable-image-core-v1:1", coreBody, "png", 832, 1216, 1, "", true},
		{"stability.stable-image-ultra-v1:1", ultraBody, "png", 1024, 1024, 1, "", true},
	} {
		t.Run(c.id, func(t *testing.T) {
			before := metric(t, srv, imageMetricID, map[string]string{"model_id": c.id})
			out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.id), Body: []byte(c.body),
				ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				Images        []string  `json:"images"`
				Seeds         []int64   `json:"seeds"`
				FinishReasons []*string `json:"finish_reasons"`
				Error         *string   `json:"error"`
			}
			if err := json.Unmarshal(out.Body, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.Images) != c.n {
				t.Fatalf("%d images, want %d", len(resp.Images), c.n)
			}
			for _, s := range resp.Images {
				if got := decodeImage(t, s, c.format).Bounds().Size(); got != (image.Point{c.w, c.h}) {
					t.Errorf("image size %v, want %dx%d", got, c.w, c.h)
				}
			}
			if c.n == 2 && resp.Images[0] == resp.Images[1] {
				t.Error("the two images are identical")
			}
			if c.stability {
				if len(resp.Seeds) != 1 || len(resp.FinishReasons) != 1 || resp.FinishReasons[0] != nil {
					t.Errorf("stability fields: %s", out.Body)
				}
				if c.id == "stability.sd3-5-large-v1:0" && resp.Seeds[0] != 2130420379 {
					t.Errorf("seed %d, want the one asked for", resp.Seeds[0])
				}
			} else if resp.Error != nil {
				t.Errorf("error %q", *resp.Error)
			}
			inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
			u := inv.Usage
			if inv.OutputModality != "IMAGE" || inv.Status != 200 || u.OutputImages != c.n || u.ImageWidth != c.w || u.ImageHeight != c.h ||
				u.ImageQuality != c.quality || u.OutputTokens != 0 {
				t.Errorf("invocation: modality %q status %d usage %+v", inv.OutputModality, inv.Status, u)
			}
			if !bytes.Equal(inv.Output.Data, out.Body) {
				t.Error("recorded output differs from the answer")
			}
			if got := metric(t, srv, imageMetricID, map[string]string{"model_id": c.id}) - before; got != float64(c.n) {
				t.Errorf("%s grew by %v, want %d", imageMetricID, got, c.n)
			}
			// Same body, same seed: the same bytes.
			again, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.id), Body: []byte(c.body)})
			if err != nil || !bytes.Equal(again.Body, out.Body) {
				t.Errorf("a repeated call gave other images (%v)", err)
			}
		})
	}
}

func TestImageEditTasks(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	src := b64(serverPNG(t, 640, 480))
	invoke := func(t *testing.T, id, body string) image.Image {
		t.Helper()
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(id), Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		var resp struct{ Images []string }
		if err := json.Unmarshal(out.Body, &resp); err != nil || len(resp.Images) != 1 {
			t.Fatalf("%s: %v", out.Body, err)
		}
		if n := rec.byRequestID(t, requestID(t, out.ResultMetadata)).Usage.OutputImages; n != 1 {
			t.Errorf("OutputImages = %d", n)
		}
		return decodeImage(t, resp.Images[0], "png")
	}
	t.Run("background removal", func(t *testing.T) {
		img := invoke(t, novaCanvasID, `{"taskType":"BACKGROUND_REMOVAL","backgroundRemovalParams":{"image":"`+src+`"}}`)
		if img.Bounds().Dx() != 640 || img.Bounds().Dy() != 480 {
			t.Fatalf("size %v", img.Bounds())
		}
		if _, _, _, a := img.At(10, 10).RGBA(); a != 0 {
			t.Errorf("background alpha %d, want 0", a)
		}
		if r, _, _, a := img.At(320, 240).RGBA(); r>>8 != 200 || a != 0xffff {
			t.Errorf("subject lost: r=%d a=%d", r>>8, a)
		}
	})
	t.Run("inpainting with a mask prompt", func(t *testing.T) {
		img := invoke(t, titanImageID, `{"taskType":"INPAINTING","inPaintingParams":{"text":"a cat","maskPrompt":"the square","image":"`+src+`"},"imageGenerationConfig":{"numberOfImages":1,"seed":3}}`)
		// Outside the centre half the input is kept exactly.
		if r, g, b, _ := img.At(5, 5).RGBA(); r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
			t.Errorf("corner changed: %d %d %d", r>>8, g>>8, b>>8)
		}
	})
	t.Run("variation", func(t *testing.T) {
		img := invoke(t, novaCanvasID, `{"taskType":"IMAGE_VARIATION","imageVariationParams":{"images":["`+src+`"],"similarityStrength":0.9,"text":"a red square"},"imageGenerationConfig":{"width":512,"height":512}}`)
		if img.Bounds().Dx() != 512 {
			t.Errorf("size %v", img.Bounds())
		}
	})
	t.Run("sd3.5 image-to-image", func(t *testing.T) {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("stability.sd3-5-large-v1:0"),
			Body: []byte(`{"prompt":"a red square","mode":"image-to-image","image":"` + src + `","strength":0.6}`)})
		if err != nil {
			t.Fatal(err)
		}
		var resp struct{ Images []string }
		_ = json.Unmarshal(out.Body, &resp)
		if got := decodeImage(t, resp.Images[0], "png").Bounds().Size(); got != (image.Point{640, 480}) {
			t.Errorf("size %v, want the input's", got)
		}
	})
}

func TestImageModelErrors(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	wide := b64(serverPNG(t, 10_000, 320))
	for _, c := range []struct{ name, id, body, msg string }{
		{"unknown task type", novaCanvasID, `{"taskType":"IMAGE_CONDITIONING","textToImageParams":{"text":"x"}}`,
			"Malformed input request: #/taskType: IMAGE_CONDITIONING is not a valid enum value, please reformat your input and try again."},
		{"10,000 pixels wide", novaCanvasID, `{"taskType":"IMAGE_VARIATION","imageVariationParams":{"images":["` + wide + `"]}}`,
			"The image in #/imageVariationParams/images/0 is 10000x320 pixels. Each side of an input image must be between 320 and 4096 pixels."},
		{"10,000 pixels wide (sd3.5)", "stability.sd3-5-large-v1:0", `{"prompt":"x","mode":"image-to-image","strength":0.5,"image":"` + wide + `"}`,
			"The image in #/image is 10000x320 pixels. Each side of an input image must be between 64 and 8192 pixels."},
		{"size", novaCanvasID, `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":2048,"height":2048}}`,
			"The image size 2048x2048 is not supported: the image must have fewer than 4194304 pixels (4194304 requested)."},
		{"titan size", titanImageID, `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"x"},"imageGenerationConfig":{"width":1280,"height":720}}`,
			"The image size 1280x720 is not supported. Supported sizes (width x height) are 1024x1024"},
		{"blocked prompt", novaCanvasID, `{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a BLOCKED_PROMPT scene"}}`,
			"This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."},
		{"webp from the simulator", "stability.stable-image-core-v1:1", `{"prompt":"x","output_format":"webp"}`,
			"The simulator cannot encode webp images. Request png or jpeg."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.id), Body: []byte(c.body)})
			apiError(t, err, "ValidationException", 400, c.msg)
			if inv := rec.byRequestID(t, errRequestID(t, err)); inv.Status != 400 || inv.Usage.OutputImages != 0 {
				t.Errorf("recorded status %d images %d", inv.Status, inv.Usage.OutputImages)
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		_, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(novaCanvasID), Body: []byte(novaCanvasBody)})
		apiErrorExact(t, err, "ValidationException", 400, "The model is unsupported for streaming.")
	})
	t.Run("converse", func(t *testing.T) {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("stability.stable-image-core-v1:1"),
			Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "a fox"}}}}})
		apiErrorExact(t, err, "ValidationException", 400, "This action doesn't support the model that you provided. Try again with a supported text or chat model.")
	})
	t.Run("output moderation", func(t *testing.T) {
		before := metric(t, srv, imageMetricID, map[string]string{"model_id": novaCanvasID})
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID),
			Body: []byte(`{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"BLOCKED_OUTPUT"},"imageGenerationConfig":{"numberOfImages":3,"width":512,"height":512}}`)})
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Images []string
			Error  string
		}
		_ = json.Unmarshal(out.Body, &resp)
		if len(resp.Images) != 2 || resp.Error != "Some of the generated images have been blocked by our content filters." {
			t.Errorf("%d images, error %q", len(resp.Images), resp.Error)
		}
		if n := rec.byRequestID(t, requestID(t, out.ResultMetadata)).Usage.OutputImages; n != 2 {
			t.Errorf("OutputImages = %d, want 2", n)
		}
		if got := metric(t, srv, imageMetricID, map[string]string{"model_id": novaCanvasID}) - before; got != 2 {
			t.Errorf("%s grew by %v, want 2", imageMetricID, got)
		}
		// Stability: a filtered prompt is a 200 with its finish reason.
		out, err = client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("stability.stable-image-ultra-v1:1"),
			Body: []byte(`{"prompt":"BLOCKED_PROMPT","seed":4}`)})
		if err != nil || string(out.Body) != `{"seeds":[4],"finish_reasons":["Filter reason: prompt"],"images":[]}` {
			t.Errorf("stability filtered: %s, %v", out.Body, err)
		}
	})
}

// imageLoggingCalls puts a logging configuration with image delivery on,
// makes a Nova Canvas call, turns image delivery off and makes another; it
// returns both request IDs and the first answer.
func imageLoggingCalls(t *testing.T, srv *server.Server, cfg *bedrocktypes.LoggingConfig) (onID, offID string, onBody []byte) {
	t.Helper()
	ctx := context.Background()
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	put := func(images bool) {
		t.Helper()
		cfg.TextDataDeliveryEnabled, cfg.ImageDataDeliveryEnabled = aws.Bool(true), aws.Bool(images)
		if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: cfg}); err != nil {
			t.Fatal(err)
		}
	}
	call := func() (string, []byte) {
		t.Helper()
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID), Body: []byte(novaCanvasBody)})
		if err != nil {
			t.Fatal(err)
		}
		return requestID(t, out.ResultMetadata), out.Body
	}
	put(true)
	onID, onBody = call()
	put(false)
	offID, _ = call()
	return onID, offID, onBody
}

// TestImageInvocationLogging checks the S3 records of image calls with a
// real MinIO: with imageDataDeliveryEnabled the generated images (binary
// data, however small) go under the hour's data/ prefix and the record
// has output.outputBodyS3Path, never an inline body; with the toggle off
// no image body is logged at all.
func TestImageInvocationLogging(t *testing.T) {
	const bucket = "image-logs"
	m, srv := startWithMinIO(t, bucket)
	store := s3Store(t, m)
	onID, offID, onBody := imageLoggingCalls(t, srv, &bedrocktypes.LoggingConfig{
		S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)}})

	lo := waitForRecords(t, store, bucket, []string{onID, offID}, 30*time.Second)
	on := lo.records[onID][0]
	if on.Output.OutputBodyJSON != nil || !strings.HasSuffix(on.Output.OutputBodyS3Path, "/data/"+onID+"_output.json.gz") ||
		!strings.HasPrefix(on.Output.OutputBodyS3Path, "s3://"+bucket+"/"+logPrefix+"/AWSLogs/") {
		t.Fatalf("image output with the toggle on: %+v", on.Output)
	}
	data, ok := lo.data[strings.TrimPrefix(on.Output.OutputBodyS3Path, "s3://"+bucket+"/")]
	if !ok {
		t.Fatalf("no data object for %s (data: %d objects)", on.Output.OutputBodyS3Path, len(lo.data))
	}
	if !bytes.Equal(compactJSON(t, data), compactJSON(t, onBody)) {
		t.Error("the data/ object is not the answer")
	}
	if on.Operation != "InvokeModel" || on.ModelID != novaCanvasID || on.Input.InputBodyJSON == nil || on.Output.OutputContentType != "application/json" {
		t.Errorf("record: %+v", on)
	}
	off := lo.records[offID][0]
	if off.Output.OutputBodyJSON != nil || off.Output.OutputBodyS3Path != "" || off.Output.OutputContentType != "" {
		t.Errorf("image output with the toggle off: %+v", off.Output)
	}
	for k := range lo.data {
		if strings.Contains(k, offID) {
			t.Errorf("data object %s for a call with image delivery off", k)
		}
	}
}

// TestImageInvocationLoggingCloudWatch checks the CloudWatch events of
// image calls: no event carries an image body; with image delivery on the
// event points at the image in the large-data S3 location (here the local
// object store), with it off the output is left out.
func TestImageInvocationLoggingCloudWatch(t *testing.T) {
	fake := cwlogsfake.New(t)
	fake.SetEnv(t)
	srv, _ := startServer(t, nil)
	const group = "/modelwatch/images"
	onID, offID, onBody := imageLoggingCalls(t, srv, &bedrocktypes.LoggingConfig{CloudWatchConfig: &bedrocktypes.CloudWatchConfig{
		LogGroupName: aws.String(group), RoleArn: aws.String("arn:aws:iam::000000000000:role/bedrock-logging"),
		LargeDataDeliveryS3Config: &bedrocktypes.S3Config{BucketName: aws.String("large-data"), KeyPrefix: aws.String(logPrefix)}}})

	deadline := time.Now().Add(20 * time.Second)
	seen := map[string]invocationlog.Record{}
	for len(seen) < 2 && time.Now().Before(deadline) {
		for _, e := range fake.Events(group, invocationlog.LogStream) {
			var r invocationlog.Record
			if json.Unmarshal([]byte(e.Message), &r) == nil && (r.RequestID == onID || r.RequestID == offID) {
				seen[r.RequestID] = r
				if strings.Contains(e.Message, `"images"`) {
					t.Errorf("CloudWatch event carries an image body: %.300s", e.Message)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	on, ok := seen[onID]
	if !ok || on.Output.OutputBodyJSON != nil || !strings.HasPrefix(on.Output.OutputBodyS3Path, "s3://large-data/"+logPrefix+"/AWSLogs/") {
		t.Fatalf("CloudWatch record of the image call: %+v", on.Output)
	}
	local := objectstore.NewDir(srv.Config().DataDir + "/s3")
	gz, err := local.Get(context.Background(), "large-data", strings.TrimPrefix(on.Output.OutputBodyS3Path, "s3://large-data/"))
	if err != nil {
		t.Fatalf("offloaded image body: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(compactJSON(t, plain), compactJSON(t, onBody)) {
		t.Error("the offloaded object is not the answer")
	}
	if off, ok := seen[offID]; !ok || off.Output.OutputBodyS3Path != "" || off.Output.OutputBodyJSON != nil {
		t.Errorf("CloudWatch record with image delivery off: %+v", off.Output)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Fatalf("PutLogEvents protocol violations: %v", v)
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImagePassThrough serves Nova Canvas through a provider of type
// bedrock (another modelwatch as the upstream): the body and the images
// pass through untouched, and the front records the images, their size and
// quality as the upstream's answer carries them.
func TestImagePassThrough(t *testing.T) {
	back, _ := startServer(t, nil)
	upstreamCredentials(t)
	front, frontRec := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "aws", Type: "bedrock", Settings: map[string]any{"baseURL": back.URL()}})
		for i := range c.Models {
			if c.Models[i].ID == novaCanvasID {
				c.Models[i].Provider = "aws"
			}
		}
	})
	ctx := context.Background()
	direct, err := runtimeClient(back.URL(), "AKIDEXAMPLE", "secret").InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID), Body: []byte(novaCanvasBody)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runtimeClient(front.URL(), "AKIDEXAMPLE", "secret").InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(novaCanvasID), Body: []byte(novaCanvasBody)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Body, direct.Body) {
		t.Error("the passed-through answer differs from the upstream's")
	}
	inv := frontRec.byRequestID(t, requestID(t, out.ResultMetadata))
	if u := inv.Usage; inv.Provider != "aws" || u.OutputImages != 2 || u.ImageWidth != 1280 || u.ImageHeight != 720 || u.ImageQuality != "standard" {
		t.Errorf("front record: provider %q usage %+v", inv.Provider, inv.Usage)
	}
}
