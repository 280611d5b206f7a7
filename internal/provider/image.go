package provider

import "context"

// Image-generation task types, as Nova Canvas and Titan Image Generator v2
// name them (taskType). Stability's text-to-image and image-to-image modes
// arrive as TaskTextImage and TaskImageVariation.
const (
	TaskTextImage         = "TEXT_IMAGE"
	TaskColorGuided       = "COLOR_GUIDED_GENERATION"
	TaskImageVariation    = "IMAGE_VARIATION"
	TaskInpainting        = "INPAINTING"
	TaskOutpainting       = "OUTPAINTING"
	TaskBackgroundRemoval = "BACKGROUND_REMOVAL"
)

// ImageRequest is a neutral image-generation request: what a native image
// body (Nova Canvas, Titan Image, Stability) or an OpenAI images request
// asks for, already validated by the front door's codec.
type ImageRequest struct {
	// Task is one of the Task constants.
	Task string
	// Prompt and NegativePrompt are the text; Style a Nova Canvas style.
	Prompt, NegativePrompt, Style string
	// Width and Height are the size of every output image in pixels.
	Width, Height int
	// Count is the number of images to generate (at least 1).
	Count int
	// Seed makes the output reproducible: the same request and seed give
	// the same images.
	Seed int64
	// Quality is "standard" or "premium" (Nova Canvas, Titan).
	Quality string
	// CFGScale is how strongly the image follows the prompt.
	CFGScale float64
	// Format is the output encoding: "png", "jpeg" or "webp".
	Format string
	// Images are the decoded input images of an edit or variation task
	// (the source image, the variation references, a condition image).
	Images [][]byte
	// Mask is a decoded mask image; MaskPrompt a mask described in words.
	Mask       []byte
	MaskPrompt string
	// Colors are #RRGGBB colours of a colour-guided generation.
	Colors []string
	// Strength is how closely the output follows the input image, in
	// [0, 1]: Nova Canvas's and Titan's similarityStrength or
	// controlStrength, and 1 - strength for Stability's image-to-image
	// (whose strength is how much the image may change).
	Strength float64
	// ControlMode is a conditioned TEXT_IMAGE's CANNY_EDGE or
	// SEGMENTATION; OutpaintingMode an OUTPAINTING's DEFAULT or PRECISE.
	ControlMode, OutpaintingMode string
}

// Moderation messages of Amazon's image models (Nova Canvas and Titan
// Image Generator), as Bedrock words them: the first two are
// ValidationExceptions for a blocked input, the last two the "error" of a
// 200 answer whose output was (partly) blocked.
const (
	BlockedPromptMessage   = "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."
	BlockedImageMessage    = "This request has been blocked by our content filters. Please adjust your input image to submit a new request."
	BlockedAllMessage      = "All of the generated images have been blocked by our content filters."
	BlockedSomeMessage     = "Some of the generated images have been blocked by our content filters."
	FilterReasonPrompt     = "Filter reason: prompt"
	FilterReasonOutput     = "Filter reason: output image"
	FilterReasonInputImage = "Filter reason: input image"
)

// ImageResponse is a neutral image-generation response.
type ImageResponse struct {
	// Images are the encoded output images, in the request's Format.
	Images [][]byte
	// Seeds are the seeds each image was generated with.
	Seeds []int64
	// FinishReasons holds one entry per image: "" for a finished image,
	// otherwise why it is missing (Stability's "Filter reason: ...").
	FinishReasons []string
	// Error is a moderation message returned with status 200 (Nova
	// Canvas's "Some of the generated images have been blocked ...").
	Error string
	// InputTokens counts the prompt's tokens where the model reports them.
	InputTokens int
}

// ImageGenerator is implemented by providers that can generate images.
type ImageGenerator interface {
	GenerateImages(ctx context.Context, call Call, req *ImageRequest) (*ImageResponse, error)
}
