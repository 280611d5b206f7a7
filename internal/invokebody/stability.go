package invokebody

import (
	"hash/fnv"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Stability AI's image models on Bedrock (Bedrock user guide, "Stable
// Diffusion 3.5 Large", "Stable Image Core", "Stable Image Ultra"): a
// prompt (1–10,000 characters), negative_prompt (up to 10,000),
// aspect_ratio (text-to-image only; default 1:1), seed (0–4,294,967,294;
// 0 or absent asks for a random one), output_format (png, the default,
// jpeg or webp); Stable Diffusion 3.5 Large also takes mode
// (text-to-image, the default, or image-to-image with image and
// strength). One image per call. The answer is {"seeds": [...],
// "finish_reasons": [null | "Filter reason: ..."], "images": [...]}.
//
// Decisions: a seed that is absent or 0 becomes one derived from the
// prompt (so that the same request gives the same image and the seed
// reported in "seeds" reproduces it); aspect_ratio maps to the sizes
// below (about one megapixel, each side a multiple of 64, as Stability's
// own API returns them); image-to-image answers at the input image's size,
// and its input image must be PNG or JPEG, 64–8192 pixels a side, at most
// 9,437,184 pixels, with an aspect ratio between 1:2.5 and 2.5:1
// (Stability's documented input limits). webp is accepted here, as
// Bedrock accepts it; whether it can be produced is the provider's
// affair (the simulator refuses it: Go has no webp encoder).

// stabilitySizes are the output sizes of the aspect ratios.
var stabilitySizes = map[string][2]int{
	"1:1": {1024, 1024}, "16:9": {1344, 768}, "9:16": {768, 1344}, "21:9": {1536, 640}, "9:21": {640, 1536},
	"3:2": {1216, 832}, "2:3": {832, 1216}, "5:4": {1088, 896}, "4:5": {896, 1088},
}

// stabilityAspectRatios lists them in Bedrock's documented order.
var stabilityAspectRatios = []string{"16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"}

// StabilityRatios lists Stability's aspect_ratio values in Bedrock's
// documented order.
func StabilityRatios() []string { return slices.Clone(stabilityAspectRatios) }

// StabilitySize is the output size Stability's text-to-image makes for an
// aspect_ratio value (ok false for an unknown one).
func StabilitySize(ratio string) (width, height int, ok bool) {
	s, ok := stabilitySizes[ratio]
	return s[0], s[1], ok
}

const stabilitySeedMax = 4_294_967_294

var stabilityInput = genImageLimits{minSide: 64, maxSide: 8192, maxPixels: 9_437_184, maxRatio: 2.5}

func stabilityProps(sd35 bool) props {
	p := props{
		"prompt":          str().length(1, 10_000),
		"negative_prompt": str().length(0, 10_000),
		"aspect_ratio":    enum(stabilityAspectRatios...),
		"seed":            integer().between(0, stabilitySeedMax),
		"output_format":   enum("png", "jpeg", "webp"),
	}
	if sd35 {
		p["mode"] = enum("text-to-image", "image-to-image")
		p["image"] = str().b64()
		p["strength"] = number().between(0, 1)
	}
	return p
}

var (
	stabilitySD35Schema = object(stabilityProps(true), "prompt")
	stabilityCoreSchema = object(stabilityProps(false), "prompt")
)

// stabilitySD35 reports whether the model is Stable Diffusion 3.5 (the one
// with image-to-image). Any other Stability model gets the Core/Ultra body.
func stabilitySD35(id string) bool { return strings.Contains(id, "sd3") }

type stabilityRequest struct {
	Prompt         string   `json:"prompt"`
	NegativePrompt string   `json:"negative_prompt"`
	AspectRatio    string   `json:"aspect_ratio"`
	Seed           int64    `json:"seed"`
	OutputFormat   string   `json:"output_format"`
	Mode           string   `json:"mode"`
	Image          string   `json:"image"`
	Strength       *float64 `json:"strength"`
}

type stabilityCodec struct{}

// DecodeImage implements ImageCodec.
func (stabilityCodec) DecodeImage(body []byte, m Model) (*ImageCall, error) {
	s := stabilityCoreSchema
	if stabilitySD35(m.ID) {
		s = stabilitySD35Schema
	}
	var in stabilityRequest
	if err := decodeChecked(body, s, m, &in); err != nil {
		return nil, err
	}
	req := provider.ImageRequest{Task: provider.TaskTextImage, Prompt: in.Prompt, NegativePrompt: in.NegativePrompt,
		Count: 1, Seed: in.Seed, Format: "png"}
	if in.OutputFormat != "" {
		req.Format = in.OutputFormat
	}
	if req.Seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(in.Prompt))
		req.Seed = int64(h.Sum64()%stabilitySeedMax) + 1
	}
	if in.Mode == "image-to-image" {
		switch {
		case in.Image == "":
			return nil, genImageError("image is required when mode is image-to-image.")
		case in.Strength == nil:
			return nil, genImageError("strength is required when mode is image-to-image.")
		case in.AspectRatio != "":
			return nil, genImageError("aspect_ratio is not supported when mode is image-to-image: the output has the input image's aspect ratio.")
		}
		src, err := decodeGenImage(in.Image, "#/image", stabilityInput)
		if err != nil {
			return nil, err
		}
		req.Task, req.Images, req.Strength = provider.TaskImageVariation, [][]byte{src.data}, 1-*in.Strength
		req.Width, req.Height = src.width, src.height
		return &ImageCall{Request: req}, nil
	}
	if in.Image != "" || in.Strength != nil {
		return nil, genImageError("image and strength are only supported when mode is image-to-image.")
	}
	size := stabilitySizes["1:1"]
	if in.AspectRatio != "" {
		size = stabilitySizes[in.AspectRatio]
	}
	req.Width, req.Height = size[0], size[1]
	return &ImageCall{Request: req}, nil
}

// stabilityResponse is the native answer; a finish reason is null for an
// image that was generated.
type stabilityResponse struct {
	Seeds         []int64   `json:"seeds"`
	FinishReasons []*string `json:"finish_reasons"`
	Images        []string  `json:"images"`
}

// EncodeImage implements ImageCodec. A filtered image has its reason in
// finish_reasons and no entry in images.
func (stabilityCodec) EncodeImage(call *ImageCall, resp *provider.ImageResponse, meta Meta) ([]byte, error) {
	out := stabilityResponse{Seeds: resp.Seeds, Images: encodeGenImages(resp.Images)}
	if out.Seeds == nil {
		out.Seeds = []int64{call.Request.Seed}
	}
	n := max(len(resp.FinishReasons), len(resp.Images))
	out.FinishReasons = make([]*string, n)
	for i := range n {
		if i < len(resp.FinishReasons) && resp.FinishReasons[i] != "" {
			out.FinishReasons[i] = &resp.FinishReasons[i]
		}
	}
	return marshal(out)
}
