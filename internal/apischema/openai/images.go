package openai

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Values of the images API's enumerated parameters.
const (
	ImageSizeAuto = "auto"
	// ResponseFormatB64 returns each image as base64 (b64_json);
	// ResponseFormatURL as a URL.
	ResponseFormatB64 = "b64_json"
	ResponseFormatURL = "url"
)

// ImageQualities are the quality values OpenAI's image models accept:
// dall-e-3's standard and hd, gpt-image's low, medium, high, xhigh, max
// and auto.
var ImageQualities = []string{"standard", "hd", "low", "medium", "high", "xhigh", "max", "auto"}

// ImageFormats are the output_format values.
var ImageFormats = []string{"png", "jpeg", "webp"}

// MaxImages is the most images one request may ask for (OpenAI's n limit).
const MaxImages = 10

// ImageRequest is the body of POST /v1/images/generations.
type ImageRequest struct {
	Model  string `json:"model"`
	Prompt string `json:"prompt"`
	// N is the number of images (1 to 10; default 1).
	N *int `json:"n,omitempty"`
	// Size is "WxH" in pixels, or "auto".
	Size    string `json:"size,omitempty"`
	Quality string `json:"quality,omitempty"`
	// ResponseFormat is b64_json or url.
	ResponseFormat string `json:"response_format,omitempty"`
	// OutputFormat is png, jpeg or webp; OutputCompression (0-100) its
	// compression for jpeg and webp.
	OutputFormat      string `json:"output_format,omitempty"`
	OutputCompression *int   `json:"output_compression,omitempty"`
	// Background is auto, opaque or transparent; Moderation auto or low.
	Background string `json:"background,omitempty"`
	Moderation string `json:"moderation,omitempty"`
	// Style is dall-e-3's vivid or natural, or a model's own style name.
	Style string `json:"style,omitempty"`
	User  string `json:"user,omitempty"`
	// SafetyIdentifier is the newer name of user.
	SafetyIdentifier string `json:"safety_identifier,omitempty"`
	// Complexity (low, medium, high) is a gpt-image hint; FrameCount and
	// FrameDurationMs ask for an animated GIF.
	Complexity      string `json:"complexity,omitempty"`
	FrameCount      *int   `json:"frame_count,omitempty"`
	FrameDurationMs *int   `json:"frame_duration_ms,omitempty"`
	// Seed makes the output reproducible (not an OpenAI parameter; the
	// Bedrock image models take one).
	Seed *int64 `json:"seed,omitempty"`
	// Stream and PartialImages ask for gpt-image-1's streamed partial
	// images.
	Stream        *bool `json:"stream,omitempty"`
	PartialImages *int  `json:"partial_images,omitempty"`
}

// imageRequestFields are the parameters DecodeImageRequest knows.
var imageRequestFields = []string{"model", "prompt", "n", "size", "quality", "response_format", "output_format",
	"output_compression", "background", "moderation", "style", "user", "seed", "stream", "partial_images",
	"safety_identifier", "complexity", "frame_count", "frame_duration_ms"}

// Principal returns the caller's end-user identifier: safety_identifier,
// else user.
func (r *ImageRequest) Principal() string {
	if r.SafetyIdentifier != "" {
		return r.SafetyIdentifier
	}
	return r.User
}

// Images returns the number of images asked for (1 when n is not given).
func (r *ImageRequest) Images() int {
	if r.N == nil {
		return 1
	}
	return *r.N
}

// Dimensions returns the requested size; ok is false for "auto" or no
// size (the model's default). DecodeImageRequest has checked the form.
func (r *ImageRequest) Dimensions() (w, h int, ok bool) {
	return ParseImageSize(r.Size)
}

// ParseImageSize reads "WxH" (positive integers); ok is false otherwise.
func ParseImageSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(s, "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return 0, 0, false
	}
	return w, h, true
}

// DecodeImageRequest parses and checks an images request body: the
// parameters every model shares. A parameter OpenAI does not define is
// refused with OpenAI's "Unrecognized request argument" wording, as is a
// value outside a parameter's enum.
func DecodeImageRequest(body []byte) (*ImageRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "The request body is empty: send a JSON object with 'model' and 'prompt'.")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, jsonError(err)
	}
	for _, k := range sortedFieldNames(fields) {
		if !slices.Contains(imageRequestFields, k) {
			return nil, invalid(k, "Unrecognized request argument supplied: %s", truncate(k, 64))
		}
	}
	var req ImageRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, jsonError(err)
	}
	switch {
	case req.Model == "":
		return nil, invalid("model", "You must provide a model parameter.")
	case req.Prompt == "" && fields["prompt"] == nil:
		return nil, invalid("prompt", "Missing required parameter: 'prompt'.")
	case strings.TrimSpace(req.Prompt) == "":
		return nil, invalid("prompt", "Invalid 'prompt': empty string. Expected a non-empty prompt.")
	case req.N != nil && (*req.N < 1 || *req.N > MaxImages):
		return nil, invalid("n", "Invalid 'n': %d. It must be between 1 and %d.", *req.N, MaxImages)
	case req.Stream != nil && *req.Stream, req.PartialImages != nil && *req.PartialImages > 0:
		return nil, invalid("stream", "Streaming image generation is not supported: send 'stream': false (or leave it out) and read the whole answer.")
	}
	if req.Size != "" && req.Size != ImageSizeAuto {
		if _, _, ok := ParseImageSize(req.Size); !ok {
			return nil, invalid("size", "Invalid value for 'size': %q. It must be 'auto' or WIDTHxHEIGHT in pixels, such as '1024x1024'.", truncate(req.Size, 64))
		}
	}
	if err := oneOf("quality", req.Quality, ImageQualities); err != nil {
		return nil, err
	}
	if err := oneOf("response_format", req.ResponseFormat, []string{ResponseFormatURL, ResponseFormatB64}); err != nil {
		return nil, err
	}
	if err := oneOf("output_format", req.OutputFormat, ImageFormats); err != nil {
		return nil, err
	}
	if err := oneOf("background", req.Background, []string{"auto", "opaque", "transparent"}); err != nil {
		return nil, err
	}
	if err := oneOf("moderation", req.Moderation, []string{"auto", "low"}); err != nil {
		return nil, err
	}
	if err := oneOf("complexity", req.Complexity, []string{"low", "medium", "high"}); err != nil {
		return nil, err
	}
	if req.FrameCount != nil && *req.FrameCount > 1 {
		return nil, invalid("frame_count", "Animated images are not supported: leave 'frame_count' out or set it to 1.")
	}
	if c := req.OutputCompression; c != nil && (*c < 0 || *c > 100) {
		return nil, invalid("output_compression", "Invalid 'output_compression': %d. It must be between 0 and 100.", *c)
	}
	if req.Seed != nil && *req.Seed < 0 {
		return nil, invalid("seed", "Invalid 'seed': %d. It must not be negative.", *req.Seed)
	}
	return &req, nil
}

// oneOf checks an optional enumerated parameter.
func oneOf(param, v string, allowed []string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = "'" + a + "'"
	}
	return invalid(param, "Invalid value: %q. Supported values are: %s.", truncate(v, 64), strings.Join(quoted, ", "))
}

func sortedFieldNames(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ImageResponse is the body of an images response.
type ImageResponse struct {
	Created int64       `json:"created"`
	Data    []ImageData `json:"data"`
	// Size, Quality, OutputFormat and Background describe the images, as
	// gpt-image-1's answers do.
	Size         string      `json:"size,omitempty"`
	Quality      string      `json:"quality,omitempty"`
	OutputFormat string      `json:"output_format,omitempty"`
	Background   string      `json:"background,omitempty"`
	Usage        *ImageUsage `json:"usage,omitempty"`
}

// ImageData is one generated image: base64 (b64_json) or a URL.
type ImageData struct {
	B64JSON       string `json:"b64_json,omitempty"`
	URL           string `json:"url,omitempty"`
	RevisedPrompt string `json:"revised_prompt,omitempty"`
}

// ImageUsage is gpt-image-1's token accounting.
type ImageUsage struct {
	InputTokens        int                `json:"input_tokens"`
	OutputTokens       int                `json:"output_tokens"`
	TotalTokens        int                `json:"total_tokens"`
	InputTokensDetails *ImageTokenDetails `json:"input_tokens_details,omitempty"`
}

// ImageTokenDetails splits an image call's input tokens.
type ImageTokenDetails struct {
	TextTokens  int `json:"text_tokens"`
	ImageTokens int `json:"image_tokens"`
}
