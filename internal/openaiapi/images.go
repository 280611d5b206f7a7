package openaiapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// serveImages serves POST /v1/images/generations through the gateway's
// request loop.
//
// The OpenAI request is translated into the native body of the model's
// family (Nova Canvas's or Titan's TEXT_IMAGE task, Stability's prompt
// body) and decoded by that family's codec, so an image asked for here is
// checked exactly as the same model's InvokeModel checks it (Nova
// Canvas's sizes divisible by 16, Titan's size list, the prompt limits);
// the codec's ValidationException comes back in OpenAI's error shape with
// the OpenAI parameter at fault. A model of no image family (an image
// model served by an OpenAI-compatible upstream, such as gpt-image-1)
// gets the request as is, in the neutral form. Decisions, for the
// parameters Bedrock's models have no counterpart for:
//
//   - response_format url answers with data: URLs (data:image/png;base64,
//     ...): the gateway keeps no images to host, and a data: URL works
//     wherever a URL is shown or fetched by a browser. b64_json is the
//     default.
//   - quality: standard, low, medium and auto are Nova Canvas's and
//     Titan's standard quality, hd, high, xhigh and max their premium one
//     (priced apart). Stability's models have one quality and ignore it.
//   - size: auto (or none) is the model's default (1024x1024, Stability's
//     1:1). Stability makes images in fixed sizes per aspect ratio: a size
//     that is one of them, or has exactly one of its aspect ratios (such as
//     1536x1024 for 3:2), is accepted, and the image has the model's size
//     for that ratio, which the response's size field names.
//   - n: Nova Canvas and Titan make 1 to 5 images per call, Stability 1.
//   - style: dall-e-3's vivid and natural are accepted and ignored (no
//     Bedrock model has them); any other value is Nova Canvas's style
//     (PHOTOREALISM, ...), which other models refuse.
//   - output_format: Nova Canvas and Titan make PNG only, so jpeg and webp
//     are refused for them; Stability takes all three.
//   - background transparent is refused (no model here makes one from a
//     prompt); moderation and output_compression are accepted and ignored:
//     the model's own filter applies, and compression is the model's;
//     complexity likewise. safety_identifier (or user) is recorded as the
//     call's user metadata.
//   - seed (not an OpenAI parameter) is passed to the model.
//   - All images filtered out (a blocked prompt or output) is a 400 with
//     code content_policy_violation; some filtered out gives the others.
//   - No usage object is returned: these models bill per image, not per
//     token.
func (h *Handler) serveImages(w http.ResponseWriter, r *http.Request) {
	h.gw.Serve(w, r, &imagesDoor{h: h})
}

// imagesDoor is the images wire, for one call.
type imagesDoor struct {
	h   *Handler
	req *openai.ImageRequest
	// family is the image family of the model the body named ("" when
	// unknown or none).
	family string
}

// Describe implements gateway.Door.
func (d *imagesDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIOpenAI, Operation: invocation.ImageGenerations,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door: the OpenAI parameters are checked
// here; their translation for the model the body names waits until the
// gateway has resolved the model and authorized the caller for it
// (Request.Translate), so a caller learns nothing of a model it may not
// call, and an unknown model is the gateway's to report.
func (d *imagesDoor) Decode(_ *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := openai.DecodeImageRequest(body)
	if err != nil {
		return nil, err
	}
	d.req = req
	out := &gateway.Request{Model: req.Model, Metadata: requestMetadata(nil, req.Principal())}
	out.Translate = func() error {
		res, err := d.h.gw.Catalog().Resolve(req.Model)
		if err != nil {
			return err
		}
		ir, err := d.translate(res.Model)
		if err != nil {
			return err
		}
		out.Image = ir
		return nil
	}
	return out, nil
}

// imageQuality maps OpenAI's quality to Nova Canvas's and Titan's.
func imageQuality(q string) string {
	if q == "hd" || q == "high" || q == "xhigh" || q == "max" {
		return "premium"
	}
	return "standard"
}

// translate builds the neutral image request for m.
func (d *imagesDoor) translate(m *catalog.Model) (*provider.ImageRequest, error) {
	req := d.req
	if req.Background == "transparent" {
		return nil, openai.NewRequestError("background", "Invalid value for 'background': 'transparent' is not supported by model `%s`. Use 'auto' or 'opaque'.", m.ID)
	}
	family := m.Family
	if family == "" {
		family = invokebody.ForModelID(m.ID)
	}
	c, _ := invokebody.Lookup(family)
	codec, ok := c.(invokebody.ImageCodec)
	if !ok {
		return d.neutral(), nil
	}
	d.family = family
	var native any
	switch family {
	case invokebody.NovaCanvas, invokebody.TitanImage:
		if req.OutputFormat != "" && req.OutputFormat != "png" {
			return nil, openai.NewRequestError("output_format", "Invalid value for 'output_format': %q. Model `%s` makes PNG images only: use 'png'.", req.OutputFormat, m.ID)
		}
		params := map[string]any{"text": req.Prompt}
		if req.Style != "" && req.Style != "vivid" && req.Style != "natural" {
			params["style"] = req.Style
		}
		config := map[string]any{"numberOfImages": req.Images(), "quality": imageQuality(req.Quality)}
		if w, h, ok := req.Dimensions(); ok {
			config["width"], config["height"] = w, h
		}
		if req.Seed != nil {
			config["seed"] = *req.Seed
		}
		native = map[string]any{"taskType": provider.TaskTextImage, "textToImageParams": params, "imageGenerationConfig": config}
	case invokebody.Stability:
		if req.Images() != 1 {
			return nil, openai.NewRequestError("n", "Invalid 'n': %d. Model `%s` makes one image per request: 'n' must be 1.", req.Images(), m.ID)
		}
		if req.Style != "" && req.Style != "vivid" && req.Style != "natural" {
			return nil, openai.NewRequestError("style", "Invalid value for 'style': %q. Model `%s` has no styles.", req.Style, m.ID)
		}
		body := map[string]any{"prompt": req.Prompt}
		if w, h, ok := req.Dimensions(); ok {
			ratio, ok := stabilityRatio(w, h)
			if !ok {
				return nil, openai.NewRequestError("size", "Invalid value for 'size': %q. Model `%s` makes %s, or any size with one of their aspect ratios (%s), or 'auto'.",
					req.Size, m.ID, stabilitySizeList(), strings.Join(invokebody.StabilityRatios(), ", "))
			}
			body["aspect_ratio"] = ratio
		}
		if req.OutputFormat != "" {
			body["output_format"] = req.OutputFormat
		}
		if req.Seed != nil {
			body["seed"] = *req.Seed
		}
		native = body
	default:
		return d.neutral(), nil
	}
	raw, err := json.Marshal(native)
	if err != nil {
		return nil, err
	}
	call, err := codec.DecodeImage(raw, invokebody.Model{ID: m.ID})
	if err != nil {
		return nil, codecError(err, m.ID)
	}
	ir := call.Request
	return &ir, nil
}

// neutral is the request for a model of no Bedrock image family, as the
// caller gave it: an OpenAI-compatible upstream takes these parameters.
func (d *imagesDoor) neutral() *provider.ImageRequest {
	req := d.req
	ir := &provider.ImageRequest{Task: provider.TaskTextImage, Prompt: req.Prompt, Count: req.Images(),
		Quality: imageQuality(req.Quality), Format: req.OutputFormat, Width: 1024, Height: 1024}
	if ir.Format == "" {
		ir.Format = "png"
	}
	if w, h, ok := req.Dimensions(); ok {
		ir.Width, ir.Height = w, h
	}
	if req.Style == "vivid" || req.Style == "natural" {
		ir.Style = req.Style
	}
	if req.Seed != nil {
		ir.Seed = *req.Seed
	}
	return ir
}

// stabilityRatio returns the aspect ratio for a requested size: the one
// whose output is that size (the codec's table), else the one the size has
// exactly.
func stabilityRatio(w, h int) (string, bool) {
	ratios := invokebody.StabilityRatios()
	for _, r := range ratios {
		if sw, sh, _ := invokebody.StabilitySize(r); sw == w && sh == h {
			return r, true
		}
	}
	for _, r := range ratios {
		a, b, _ := strings.Cut(r, ":")
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		if w*y == h*x {
			return r, true
		}
	}
	return "", false
}

// stabilitySizeList names each aspect ratio's output size, for the error
// message of a size no ratio makes.
func stabilitySizeList() string {
	var sizes []string
	for _, r := range invokebody.StabilityRatios() {
		w, h, _ := invokebody.StabilitySize(r)
		sizes = append(sizes, fmt.Sprintf("%dx%d", w, h))
	}
	return strings.Join(sizes, ", ")
}

// codecParams maps the native body's fields, as the codec's messages name
// them, to the OpenAI parameters they came from.
var codecParams = []struct{ native, param string }{
	{"textToImageParams/text", "prompt"}, {"#/prompt", "prompt"}, {"width", "size"}, {"height", "size"},
	{"aspect_ratio", "size"}, {"numberOfImages", "n"}, {"seed", "seed"}, {"style", "style"},
	{"quality", "quality"}, {"output_format", "output_format"},
}

// codecError words a native body's ValidationException for the OpenAI
// caller: the same message, with the OpenAI parameter at fault.
func codecError(err error, model string) error {
	e := apierror.From(err)
	if e.Code != apierror.Validation {
		return err
	}
	param := ""
	for _, c := range codecParams {
		if strings.Contains(e.Message, c.native) {
			param = c.param
			break
		}
	}
	return &openai.RequestError{Param: param, Err: apierror.New(apierror.Validation, "Invalid request for model `%s`: %s", model, e.Message)}
}

// EncodeImage implements gateway.ImageEncoder. Images filtered out are
// left out of data; when none is left the call fails with OpenAI's
// content_policy_violation.
func (d *imagesDoor) EncodeImage(x *gateway.Exchange, resp *provider.ImageResponse) ([]byte, error) {
	ir := x.Request.Image
	if len(resp.Images) == 0 {
		msg := resp.Error
		if msg == "" {
			reason := ""
			if i := slices.IndexFunc(resp.FinishReasons, func(s string) bool { return s != "" }); i >= 0 {
				reason = " (" + resp.FinishReasons[i] + ")"
			}
			msg = "Your request was rejected by the model's content filter" + reason + ": no image was generated."
		}
		return nil, &openai.RequestError{Param: "prompt", Code: "content_policy_violation", Err: apierror.New(apierror.Validation, "%s", msg)}
	}
	format := ir.Format
	if format == "" {
		format = "png"
	}
	out := openai.ImageResponse{Created: x.Start.Unix(), Data: make([]openai.ImageData, len(resp.Images)),
		Size: fmt.Sprintf("%dx%d", ir.Width, ir.Height), OutputFormat: format}
	if ir.Quality != "" && d.family != invokebody.Stability {
		out.Quality = ir.Quality
	}
	url := d.req.ResponseFormat == openai.ResponseFormatURL
	for i, img := range resp.Images {
		b64 := base64.StdEncoding.EncodeToString(img)
		if url {
			out.Data[i].URL = "data:image/" + format + ";base64," + b64
		} else {
			out.Data[i].B64JSON = b64
		}
	}
	return json.Marshal(out)
}

// Encode implements gateway.Door; an image call has no chat answer.
func (d *imagesDoor) Encode(*gateway.Exchange, *converse.Response) ([]byte, error) {
	return nil, errors.New("openaiapi: image generation has no chat answer")
}

// Stream implements gateway.Door; image generation does not stream.
func (d *imagesDoor) Stream(*gateway.Exchange, http.Header) gateway.StreamEncoder { return nil }

// Error implements gateway.Door. A content-filter refusal gets OpenAI's
// content_policy_violation code.
func (d *imagesDoor) Error(err error, _ http.Header) (*apierror.Error, int, []byte) {
	var unknown *gateway.UnknownModelError
	var pe *gateway.PolicyError
	var re *openai.RequestError
	switch {
	case errors.As(err, &unknown):
		err = modelNotFound(unknown.Model)
	case errors.As(err, &pe):
		err = openai.NewRequestError("model", "The model `%s` does not generate images: use an image generation model (amazon.nova-canvas-v1:0, amazon.titan-image-generator-v2:0, stability.sd3-5-large-v1:0, ...).", pe.Model)
	case errors.As(err, &re):
	default:
		if e := apierror.From(err); e.Code == apierror.Validation && strings.Contains(e.Message, "blocked by our content filters") {
			err = &openai.RequestError{Param: "prompt", Code: "content_policy_violation", Err: e}
		} else {
			err = d.h.bodyError(err)
		}
	}
	return errorReply(err)
}

// SendsRetryAfter implements gateway.RetryAfterer: the API's clients read
// Retry-After on a 429.
func (d *imagesDoor) SendsRetryAfter() bool { return true }
