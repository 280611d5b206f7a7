package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

// pngMagic stands for an image: the provider passes the bytes through.
var pngMagic = []byte("\x89PNG\r\n\x1a\n-image-")

func TestGenerateImagesWire(t *testing.T) {
	var got string
	answer := `{"created":1713833628,"data":[{"b64_json":"` + base64.StdEncoding.EncodeToString(pngMagic) + `"}],` +
		`"usage":{"input_tokens":12,"output_tokens":4160,"total_tokens":4172,"input_tokens_details":{"text_tokens":12,"image_tokens":0}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + " " + string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	p, err := New(Options{BaseURL: srv.URL + "/v1", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		upstream string
		req      provider.ImageRequest
		want     string
	}{
		{"gpt-image-1", provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "a fox", Width: 1024, Height: 1536, Count: 1, Quality: "premium", Format: "webp"},
			`{"model":"gpt-image-1","prompt":"a fox","n":1,"size":"1024x1536","quality":"high","output_format":"webp"}`},
		{"gpt-image-1", provider.ImageRequest{Prompt: "a fox", Width: 1024, Height: 1024, Count: 1, Quality: "standard"},
			`{"model":"gpt-image-1","prompt":"a fox","n":1,"size":"1024x1024","quality":"medium"}`},
		{"dall-e-3", provider.ImageRequest{Prompt: "a fox", Width: 1792, Height: 1024, Count: 1, Quality: "premium", Style: "natural", Format: "png"},
			`{"model":"dall-e-3","prompt":"a fox","n":1,"size":"1792x1024","quality":"hd","response_format":"b64_json","style":"natural"}`},
		{"dall-e-2", provider.ImageRequest{Prompt: "a fox", Width: 512, Height: 512, Count: 1, Quality: "premium"},
			`{"model":"dall-e-2","prompt":"a fox","n":1,"size":"512x512","response_format":"b64_json"}`},
	} {
		resp, err := p.GenerateImages(context.Background(), provider.Call{ModelID: "amazon.nova-canvas-v1:0", UpstreamModel: c.upstream}, &c.req)
		if err != nil {
			t.Fatal(err)
		}
		if want := "POST /v1/images/generations Bearer sk-test " + c.want; got != want {
			t.Errorf("upstream got\n%s\nwant\n%s", got, want)
		}
		if len(resp.Images) != 1 || !bytes.Equal(resp.Images[0], pngMagic) || resp.InputTokens != 12 {
			t.Errorf("response %+v", resp)
		}
	}
}

func TestGenerateImagesAnswers(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(pngMagic)
	for _, c := range []struct {
		name, body string
		status     int
		images     int
		err        string
	}{
		{"data: URL", `{"created":1,"data":[{"url":"data:image/png;base64,` + img + `"},{"b64_json":"` + img + `"}]}`, 200, 2, ""},
		{"http URL is not fetched", `{"created":1,"data":[{"url":"https://example.com/a.png"}]}`, 200, 0, "could not be read"},
		{"bad base64", `{"created":1,"data":[{"b64_json":"%%%"}]}`, 200, 0, "could not be read"},
		{"more images than asked", `{"created":1,"data":[{"b64_json":"` + img + `"},{"b64_json":"` + img + `"},{"b64_json":"` + img + `"}]}`, 200, 0, "could not be read"},
		{"no images", `{"created":1,"data":[]}`, 200, 0, "could not be read"},
		{"error in a 200 (a 502 upstream error)", `{"error":{"message":"billing hard limit reached","type":"invalid_request_error"}}`, 200, 0, "The model returned an error while processing the request."},
		{"moderation 400", `{"error":{"message":"Your request was rejected as a result of our safety system.","type":"image_generation_user_error","code":"moderation_blocked"}}`, 400, 0, "Your request was rejected as a result of our safety system."},
		{"not JSON", `<html>`, 200, 0, "could not be read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			p, _ := New(Options{BaseURL: srv.URL, APIKey: "sk-secret"})
			resp, err := p.GenerateImages(context.Background(), provider.Call{ModelID: "m", UpstreamModel: "gpt-image-1"},
				&provider.ImageRequest{Prompt: "x", Count: 2, Width: 1024, Height: 1024})
			if c.err == "" {
				if err != nil || len(resp.Images) != c.images {
					t.Fatalf("%v, %+v", err, resp)
				}
				return
			}
			var ae *apierror.Error
			if !errors.As(err, &ae) || !strings.Contains(ae.Message, c.err) {
				t.Fatalf("error %v, want an apierror containing %q", err, c.err)
			}
		})
	}
}

func TestGenerateImagesRefusesWhatTheAPICannotExpress(t *testing.T) {
	p, _ := New(Options{BaseURL: "http://upstream.invalid/v1", Name: "openai-up"})
	for _, c := range []struct {
		req  provider.ImageRequest
		want string
	}{
		{provider.ImageRequest{Task: provider.TaskInpainting, Prompt: "x", Count: 1}, "The task type INPAINTING is not supported by the model's provider (openai-up), which serves text-to-image generation only."},
		{provider.ImageRequest{Prompt: "x", Count: 1, Images: [][]byte{pngMagic}}, "An input image is not supported"},
		{provider.ImageRequest{Prompt: "x", Count: 1, NegativePrompt: "blur"}, "A negative prompt is not supported"},
		{provider.ImageRequest{Task: provider.TaskTextImage, Prompt: "x", Count: 1, Colors: []string{"#ff0000"}}, "Colour guidance is not supported"},
		{provider.ImageRequest{Prompt: " ", Count: 1}, "A text prompt is required."},
		{provider.ImageRequest{Prompt: "x"}, "At least one image must be requested."},
	} {
		_, err := p.GenerateImages(context.Background(), provider.Call{ModelID: "m"}, &c.req)
		var ae *apierror.Error
		if !errors.As(err, &ae) || ae.Code != apierror.Validation || !strings.Contains(ae.Message, c.want) {
			t.Errorf("%+v: error %v, want %q", c.req, err, c.want)
		}
	}
}

// FuzzImagesAnswer feeds arbitrary upstream bytes to the images answer
// reader: it must never panic, and either return as many images as the
// answer holds (at most those asked for), each non-empty, or a Bedrock
// exception.
func FuzzImagesAnswer(f *testing.F) {
	img := base64.StdEncoding.EncodeToString(pngMagic)
	for _, s := range []string{
		`{"created":1,"data":[{"b64_json":"` + img + `"}],"usage":{"input_tokens":3}}`,
		`{"created":1,"data":[{"url":"data:image/png;base64,` + img + `"}]}`,
		`{"error":{"message":"x"}}`, `{"data":null}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	tr := &providertest.BodyTransport{ContentType: "application/json"}
	p, err := New(Options{BaseURL: "http://upstream.invalid/v1", APIKey: "sk-fuzz", Client: &http.Client{Transport: tr}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr.Body = body
		resp, err := p.GenerateImages(context.Background(), provider.Call{ModelID: "m"}, &provider.ImageRequest{Prompt: "x", Count: 2})
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v is not a Bedrock exception", err, err)
			}
			return
		}
		if len(resp.Images) == 0 || len(resp.Images) > 2 {
			t.Fatalf("%d images", len(resp.Images))
		}
		for _, im := range resp.Images {
			if len(im) == 0 {
				t.Fatal("empty image")
			}
		}
		if !json.Valid(body) {
			t.Fatal("an invalid body was accepted")
		}
	})
}
