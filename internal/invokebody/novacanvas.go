package invokebody

import (
	"bytes"
	"fmt"
	"image"
	"slices"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Amazon Nova Canvas and Titan Image Generator v2 share one envelope (Nova
// user guide, "Image generation request and response structure"; Bedrock
// user guide, "Amazon Titan Image Generator G1 models"): a taskType, the
// task's parameter object, and imageGenerationConfig (not for
// BACKGROUND_REMOVAL). The models differ in their limits:
//
//   - Nova Canvas: text 1–1024 characters; width and height 320–4096,
//     each divisible by 16, aspect ratio between 1:4 and 4:1, fewer than
//     4,194,304 pixels (2048×2048 is refused); cfgScale 1.1–10 (default
//     6.5); seed 0–858,993,459 (default 12); a style enum.
//   - Titan Image Generator v2: text 1–512 characters; a fixed list of
//     sizes (titanImageSizes); cfgScale 1.1–10 (default 8); seed
//     0–2,147,483,646 (default 42); no style.
//
// Both: numberOfImages 1–5 (default 1), quality standard (default) or
// premium, 1024×1024 by default. The everit schema check gives Bedrock's
// "Malformed input request" messages (an unknown taskType is
// "#/taskType: X is not a valid enum value"); the checks a schema cannot
// express (size rules, input images, masks) follow with messages of our
// own in Bedrock's style, since Bedrock documents none.
//
// Decisions where the documentation is silent: INPAINTING, OUTPAINTING and
// BACKGROUND_REMOVAL answer at the input image's size (width and height
// in imageGenerationConfig are ignored for them, as the models edit the
// image they are given); exactly one of maskImage and maskPrompt is
// required; a mask must have the input image's size and be black and
// white (black: the region to edit, white: the region to keep; JPEG masks
// get a tolerance of 16 levels). Input images (image, images[],
// conditionImage, referenceImage, maskImage) must be PNG or JPEG; Nova
// takes 320–4096 pixels a side and at most 4,194,304 pixels, Titan
// 256–1408 a side. A controlStrength or similarityStrength that is not
// given is 0.7.

// novaCanvasStyles are Nova Canvas's textToImageParams.style values.
var novaCanvasStyles = []string{"3D_ANIMATED_FAMILY_FILM", "DESIGN_SKETCH", "FLAT_VECTOR_ILLUSTRATION",
	"GRAPHIC_NOVEL_ILLUSTRATION", "MAXIMALISM", "MIDCENTURY_RETRO", "PHOTOREALISM", "SOFT_DIGITAL_PAINTING"}

// titanImageSizes are Titan Image Generator v2's width×height pairs
// (Bedrock user guide; the list is not machine-checked upstream).
var titanImageSizes = [][2]int{
	{1024, 1024}, {768, 768}, {512, 512}, {768, 1152}, {384, 576}, {1152, 768}, {576, 384},
	{768, 1280}, {384, 640}, {1280, 768}, {640, 384}, {896, 1152}, {448, 576}, {1152, 896}, {576, 448},
	{768, 1408}, {384, 704}, {1408, 768}, {704, 384}, {640, 1408}, {320, 704}, {1408, 640}, {704, 320},
	{1152, 640}, {1173, 640},
}

// Nova Canvas's output size rules.
const (
	novaMinSide   = 320
	novaMaxSide   = 4096
	novaSideStep  = 16
	novaMaxRatio  = 4
	novaMaxPixels = 4_194_304 // exclusive
)

// canvasModel is one model's limits and schema.
type canvasModel struct {
	titan      bool
	cfgDefault float64
	seed       int64
	input      genImageLimits
	schema     *schema
}

var (
	novaCanvasModel = canvasModel{cfgDefault: 6.5, seed: 12,
		input:  genImageLimits{minSide: novaMinSide, maxSide: novaMaxSide, maxPixels: novaMaxPixels},
		schema: canvasSchema(1024, 858_993_459, true)}
	titanImageModel = canvasModel{titan: true, cfgDefault: 8, seed: 42,
		input:  genImageLimits{minSide: 256, maxSide: 1408},
		schema: canvasSchema(512, 2_147_483_646, false)}
)

// canvasSchema is the body schema of a model with the given text limit,
// largest seed, and whether it takes a style.
func canvasSchema(textMax int, seedMax float64, style bool) *schema {
	text := func() *schema { return str().length(1, textMax) }
	img := func() *schema { return str().b64() }
	config := func() *schema {
		lo, hi := float64(novaMinSide), float64(novaMaxSide)
		if !style { // Titan: then checked against its size list
			lo, hi = 320, 1408
		}
		return object(props{
			"width": integer().between(lo, hi), "height": integer().between(lo, hi),
			"quality":        enum("standard", "premium"),
			"cfgScale":       number().between(1.1, 10),
			"seed":           integer().between(0, seedMax),
			"numberOfImages": integer().between(1, 5),
		})
	}
	tti := props{"text": text(), "negativeText": text(), "conditionImage": img(),
		"controlMode": enum("CANNY_EDGE", "SEGMENTATION"), "controlStrength": number().between(0, 1)}
	if style {
		tti["style"] = enum(novaCanvasStyles...)
	}
	task := func(params string, p *schema) *schema {
		return object(props{params: p, "imageGenerationConfig": config()}, params)
	}
	return union("taskType", map[string]*schema{
		provider.TaskTextImage: task("textToImageParams", object(tti, "text")),
		provider.TaskColorGuided: task("colorGuidedGenerationParams", object(props{
			"colors":         array(str().matching(`^#[0-9A-Fa-f]{6}$`)).count(1, 10),
			"referenceImage": img(), "text": text(), "negativeText": text(),
		}, "colors", "text")),
		provider.TaskImageVariation: task("imageVariationParams", object(props{
			"images": array(img()).count(1, 5), "text": text(), "negativeText": text(),
			"similarityStrength": number().between(0.2, 1),
		}, "images")),
		provider.TaskInpainting: task("inPaintingParams", object(props{
			"image": img(), "maskImage": img(), "maskPrompt": text(), "text": text(), "negativeText": text(),
		}, "image")),
		provider.TaskOutpainting: task("outPaintingParams", object(props{
			"image": img(), "maskImage": img(), "maskPrompt": text(), "text": text(), "negativeText": text(),
			"outPaintingMode": enum("DEFAULT", "PRECISE"),
		}, "image", "text")),
		provider.TaskBackgroundRemoval: object(props{
			"backgroundRemovalParams": object(props{"image": img()}, "image"),
		}, "backgroundRemovalParams"),
	})
}

// canvasParams is the union of the task parameter objects' fields.
type canvasParams struct {
	Text               string   `json:"text"`
	NegativeText       string   `json:"negativeText"`
	Style              string   `json:"style"`
	ConditionImage     string   `json:"conditionImage"`
	ControlMode        string   `json:"controlMode"`
	ControlStrength    *float64 `json:"controlStrength"`
	Colors             []string `json:"colors"`
	ReferenceImage     string   `json:"referenceImage"`
	Images             []string `json:"images"`
	SimilarityStrength *float64 `json:"similarityStrength"`
	Image              string   `json:"image"`
	MaskImage          string   `json:"maskImage"`
	MaskPrompt         string   `json:"maskPrompt"`
	OutPaintingMode    string   `json:"outPaintingMode"`
}

type canvasConfig struct {
	Width          *int     `json:"width"`
	Height         *int     `json:"height"`
	Quality        string   `json:"quality"`
	CfgScale       *float64 `json:"cfgScale"`
	Seed           *int64   `json:"seed"`
	NumberOfImages *int     `json:"numberOfImages"`
}

type canvasRequest struct {
	TaskType          string        `json:"taskType"`
	TextToImage       *canvasParams `json:"textToImageParams"`
	ColorGuided       *canvasParams `json:"colorGuidedGenerationParams"`
	Variation         *canvasParams `json:"imageVariationParams"`
	Inpainting        *canvasParams `json:"inPaintingParams"`
	Outpainting       *canvasParams `json:"outPaintingParams"`
	BackgroundRemoval *canvasParams `json:"backgroundRemovalParams"`
	GenerationConfig  *canvasConfig `json:"imageGenerationConfig"`
}

// params returns the task's parameter object (the schema requires it).
func (r *canvasRequest) params() (string, *canvasParams) {
	switch r.TaskType {
	case provider.TaskTextImage:
		return "textToImageParams", r.TextToImage
	case provider.TaskColorGuided:
		return "colorGuidedGenerationParams", r.ColorGuided
	case provider.TaskImageVariation:
		return "imageVariationParams", r.Variation
	case provider.TaskInpainting:
		return "inPaintingParams", r.Inpainting
	case provider.TaskOutpainting:
		return "outPaintingParams", r.Outpainting
	}
	return "backgroundRemovalParams", r.BackgroundRemoval
}

// novaCanvasCodec serves both Nova Canvas and, with titan set, Titan
// Image Generator v2 (families NovaCanvas and TitanImage).
type novaCanvasCodec struct{ titan bool }

func (c novaCanvasCodec) model() *canvasModel {
	if c.titan {
		return &titanImageModel
	}
	return &novaCanvasModel
}

// DecodeImage implements ImageCodec.
func (c novaCanvasCodec) DecodeImage(body []byte, m Model) (*ImageCall, error) {
	cm := c.model()
	var in canvasRequest
	if err := decodeChecked(body, cm.schema, m, &in); err != nil {
		return nil, err
	}
	name, p := in.params()
	req := provider.ImageRequest{Task: in.TaskType, Prompt: p.Text, NegativePrompt: p.NegativeText, Style: p.Style,
		Width: 1024, Height: 1024, Count: 1, Seed: cm.seed, Quality: "standard", CFGScale: cm.cfgDefault, Format: "png",
		Colors: p.Colors, MaskPrompt: p.MaskPrompt, ControlMode: p.ControlMode, OutpaintingMode: p.OutPaintingMode}
	if c := in.GenerationConfig; c != nil {
		if c.Width != nil {
			req.Width = *c.Width
		}
		if c.Height != nil {
			req.Height = *c.Height
		}
		if c.Quality != "" {
			req.Quality = c.Quality
		}
		if c.CfgScale != nil {
			req.CFGScale = *c.CfgScale
		}
		if c.Seed != nil {
			req.Seed = *c.Seed
		}
		if c.NumberOfImages != nil {
			req.Count = *c.NumberOfImages
		}
	}
	if err := cm.checkSize(req.Width, req.Height); err != nil {
		return nil, err
	}
	at := "#/" + name + "/"
	add := func(b64, field string) (*genInputImage, error) {
		img, err := decodeGenImage(b64, field, cm.input)
		if err != nil {
			return nil, err
		}
		req.Images = append(req.Images, img.data)
		return img, nil
	}
	switch in.TaskType {
	case provider.TaskTextImage:
		if p.ConditionImage != "" {
			if _, err := add(p.ConditionImage, at+"conditionImage"); err != nil {
				return nil, err
			}
			req.Strength = orDefault(p.ControlStrength, 0.7)
			if req.ControlMode == "" {
				req.ControlMode = "CANNY_EDGE"
			}
		} else if p.ControlMode != "" || p.ControlStrength != nil {
			return nil, genImageError("controlMode and controlStrength require a conditionImage.")
		}
	case provider.TaskColorGuided:
		if p.ReferenceImage != "" {
			if _, err := add(p.ReferenceImage, at+"referenceImage"); err != nil {
				return nil, err
			}
		}
	case provider.TaskImageVariation:
		for i, b := range p.Images {
			if _, err := add(b, fmt.Sprintf("%simages/%d", at, i)); err != nil {
				return nil, err
			}
		}
		req.Strength = orDefault(p.SimilarityStrength, 0.7)
	case provider.TaskInpainting, provider.TaskOutpainting, provider.TaskBackgroundRemoval:
		src, err := add(p.Image, at+"image")
		if err != nil {
			return nil, err
		}
		// The edit keeps the input image's size.
		req.Width, req.Height = src.width, src.height
		if in.TaskType == provider.TaskBackgroundRemoval {
			req.Count, req.CFGScale, req.Seed = 1, 0, 0
			break
		}
		if (p.MaskImage == "") == (p.MaskPrompt == "") {
			return nil, genImageError("Exactly one of maskImage and maskPrompt must be provided in %s.", name)
		}
		if p.MaskImage != "" {
			if req.Mask, err = checkMask(p.MaskImage, at+"maskImage", src, cm.input); err != nil {
				return nil, err
			}
		}
	}
	return &ImageCall{Request: req}, nil
}

// checkSize applies the model's output size rules.
func (cm *canvasModel) checkSize(w, h int) error {
	if cm.titan {
		if !slices.Contains(titanImageSizes, [2]int{w, h}) {
			return genImageError("The image size %dx%d is not supported. Supported sizes (width x height) are %s.", w, h, titanSizeList())
		}
		return nil
	}
	if w%novaSideStep != 0 || h%novaSideStep != 0 {
		return genImageError("The image size %dx%d is not supported: width and height must each be divisible by %d.", w, h, novaSideStep)
	}
	if max(w, h) > novaMaxRatio*min(w, h) {
		return genImageError("The image size %dx%d is not supported: the aspect ratio must be between 1:4 and 4:1.", w, h)
	}
	if w*h >= novaMaxPixels {
		return genImageError("The image size %dx%d is not supported: the image must have fewer than %d pixels (%d requested).", w, h, novaMaxPixels, w*h)
	}
	return nil
}

func titanSizeList() string {
	var b bytes.Buffer
	for i, s := range titanImageSizes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%dx%d", s[0], s[1])
	}
	return b.String()
}

// checkMask decodes a mask image and checks that it matches the source
// image's size and holds only black and white.
func checkMask(b64, field string, src *genInputImage, lim genImageLimits) ([]byte, error) {
	mask, err := decodeGenImage(b64, field, lim)
	if err != nil {
		return nil, err
	}
	if mask.width != src.width || mask.height != src.height {
		return nil, genImageError("The mask image in %s is %dx%d pixels; it must have the input image's size, %dx%d.",
			field, mask.width, mask.height, src.width, src.height)
	}
	img, _, err := image.Decode(bytes.NewReader(mask.data))
	if err != nil {
		return nil, genImageError("The image in %s could not be decoded. Supported image formats are PNG and JPEG.", field)
	}
	tol := uint32(0)
	if mask.format == "jpeg" {
		tol = 16 << 8
	}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			black := cr <= tol && cg <= tol && cb <= tol
			white := cr >= 0xffff-tol && cg >= 0xffff-tol && cb >= 0xffff-tol
			if !black && !white {
				return nil, genImageError("The mask image in %s must contain only black and white pixels (black: the region to edit, white: the region to keep).", field)
			}
		}
	}
	return mask.data, nil
}

func orDefault(v *float64, def float64) float64 {
	if v != nil {
		return *v
	}
	return def
}

// canvasResponse is Nova Canvas's and Titan's answer. Nova sends "error"
// only when output moderation removed images; Titan always sends it (null
// when nothing was blocked).
type canvasResponse struct {
	Images []string `json:"images"`
	Error  *string  `json:"error,omitempty"`
}

type titanImageResponse struct {
	Images []string `json:"images"`
	Error  *string  `json:"error"`
}

// EncodeImage implements ImageCodec.
func (c novaCanvasCodec) EncodeImage(call *ImageCall, resp *provider.ImageResponse, meta Meta) ([]byte, error) {
	if len(resp.Images) == 0 {
		// A blocked input is a ValidationException for these models,
		// not a 200 with an error.
		for _, r := range resp.FinishReasons {
			switch r {
			case provider.FilterReasonPrompt:
				return nil, apierror.New(apierror.Validation, "%s", provider.BlockedPromptMessage)
			case provider.FilterReasonInputImage:
				return nil, apierror.New(apierror.Validation, "%s", provider.BlockedImageMessage)
			}
		}
	}
	imgs := encodeGenImages(resp.Images)
	var errMsg *string
	if resp.Error != "" {
		errMsg = &resp.Error
	}
	if c.titan {
		return marshal(titanImageResponse{Images: imgs, Error: errMsg})
	}
	return marshal(canvasResponse{Images: imgs, Error: errMsg})
}
