package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// GenerateImages implements provider.ImageGenerator with the upstream's
// POST /images/generations, so an image model of the catalog (a Nova
// Canvas-format InvokeModel, or the OpenAI images door) can be served by
// an OpenAI-compatible image model such as gpt-image-1 or dall-e-3.
//
// What the images API cannot express is refused with a
// ValidationException rather than dropped: edit and variation tasks (they
// are multipart calls to other endpoints), input images, negative
// prompts, colours. The seed is not sent (the API has none). Quality maps
// to the upstream model's words: dall-e-3's standard and hd, dall-e-2's
// none, and otherwise gpt-image's medium (standard) and high (premium).
// dall-e models are asked for b64_json (their default is a URL); gpt-image
// models always answer base64 and refuse response_format. An answer that
// carries an image as an http URL instead of base64 is an error: the
// gateway does not fetch images from the network. data: URLs are read.
func (p *Provider) GenerateImages(ctx context.Context, call provider.Call, req *provider.ImageRequest) (*provider.ImageResponse, error) {
	if req == nil || req.Count < 1 {
		return nil, apierror.New(apierror.Validation, "At least one image must be requested.")
	}
	if err := p.imageSupported(req); err != nil {
		return nil, err
	}
	upstream := model(call)
	n := req.Count
	body := wire.ImageRequest{Model: upstream, Prompt: req.Prompt, N: &n}
	if req.Width > 0 && req.Height > 0 {
		body.Size = fmt.Sprintf("%dx%d", req.Width, req.Height)
	}
	dalle := strings.HasPrefix(upstream, "dall-e")
	premium := req.Quality == "premium"
	switch {
	case upstream == "dall-e-2":
	case dalle:
		body.Quality = map[bool]string{false: "standard", true: "hd"}[premium]
	default:
		body.Quality = map[bool]string{false: "medium", true: "high"}[premium]
	}
	if dalle {
		body.ResponseFormat = wire.ResponseFormatB64
		if req.Style == "vivid" || req.Style == "natural" {
			body.Style = req.Style
		}
	} else if req.Format != "" {
		body.OutputFormat = req.Format
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the images request: %w", p.name, err)
	}
	resp, err := p.post(ctx, call, "/images/generations", raw, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readSized(resp.Body, resp.ContentLength, maxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, call, err)
	}
	var out wire.ImageResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, p.badResponse(call, "the images response could not be parsed", err)
	}
	if len(out.Data) == 0 {
		// Some servers answer 200 with an error body.
		if ue, ok := wire.ParseUpstreamError(data); ok {
			status := ue.StatusCode()
			if status == 0 {
				status = http.StatusBadGateway
			}
			return nil, provider.UpstreamError(p.name, upstream, status, p.redact(ue.Message))
		}
	}
	if len(out.Data) == 0 || len(out.Data) > req.Count {
		return nil, p.badResponse(call, "wrong number of images", fmt.Errorf("%d images for %d asked", len(out.Data), req.Count))
	}
	res := &provider.ImageResponse{Images: make([][]byte, len(out.Data))}
	for i, d := range out.Data {
		img, err := imageBytes(d)
		if err != nil {
			return nil, p.badResponse(call, fmt.Sprintf("image %d", i), err)
		}
		res.Images[i] = img
	}
	if out.Usage != nil {
		res.InputTokens = out.Usage.InputTokens
	}
	return res, nil
}

// imageSupported refuses what the images generation API cannot express.
func (p *Provider) imageSupported(req *provider.ImageRequest) error {
	refuse := func(what string) error {
		return apierror.New(apierror.Validation, "%s is not supported by the model's provider (%s), which serves text-to-image generation only.", what, p.name)
	}
	switch {
	case req.Task != "" && req.Task != provider.TaskTextImage:
		return refuse("The task type " + req.Task)
	case len(req.Images) > 0 || len(req.Mask) > 0 || req.MaskPrompt != "":
		return refuse("An input image")
	case req.NegativePrompt != "":
		return refuse("A negative prompt")
	case len(req.Colors) > 0:
		return refuse("Colour guidance")
	case strings.TrimSpace(req.Prompt) == "":
		return apierror.New(apierror.Validation, "A text prompt is required.")
	}
	return nil
}

// imageBytes decodes one answer image: b64_json, or a data: URL.
func imageBytes(d wire.ImageData) ([]byte, error) {
	s := d.B64JSON
	if s == "" {
		rest, ok := strings.CutPrefix(d.URL, "data:")
		if !ok {
			return nil, fmt.Errorf("no b64_json and no data: URL (a URL is not fetched)")
		}
		_, payload, ok := strings.Cut(rest, ";base64,")
		if !ok {
			return nil, fmt.Errorf("the data: URL is not base64")
		}
		s = payload
	}
	img, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	if len(img) == 0 {
		return nil, fmt.Errorf("empty image")
	}
	return img, nil
}
