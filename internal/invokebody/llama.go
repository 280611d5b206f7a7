package invokebody

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/gif"  // Llama and Pixtral take GIF,
	_ "image/jpeg" // JPEG
	_ "image/png"  // and PNG images (and WebP, read by Converse's check)
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Meta Llama (2, 3.x, 4): a raw prompt, usually in the model's chat
// template, and for the vision models (Llama 3.2 11B/90B, Llama 4) base64
// images.
//
// Sources: the Bedrock user guide, "Meta Llama models" (prompt,
// max_gen_len, temperature, top_p, images; generation, prompt_token_count,
// generation_token_count, stop_reason); Meta's Llama 3 and Llama 4 prompt
// formats; langchain-aws's Llama 4 template (spec digest
// model-families-2026.md §3).
//
// Decisions:
//
//   - The template is chosen by model ID: meta.llama4-* prompts are read
//     in Llama 4's template (<|header_start|>role<|header_end|> ... <|eot|>,
//     tool results under role ipython ending with <|eom|>), the others in
//     Llama 3's (<|start_header_id|>role<|end_header_id|> ... <|eot_id|>).
//     A prompt that does not follow the model's template is one user
//     message, as the model reads it as plain text.
//   - images: each entry must be standard base64 of a PNG, JPEG, GIF or
//     WebP image (told by its bytes, as the model's processor does). The
//     images become Converse image blocks in front of the text of the last
//     user turn (the turn the images illustrate, where Meta's template
//     puts its <|image|> tokens). They meet Converse's image limits, the
//     only ones Bedrock documents for these models (at most 20, each at
//     most 3.75 MB and 8,000 pixels a side, with a readable header);
//     anything else is refused in the schema wording at the image's JSON
//     path (nativeImage). Whether the model takes images at all is the
//     catalog's inputModalities, checked by the gateway like any image
//     block: Llama 3.2 11B/90B and Llama 4 take them, the text models
//     refuse them.

var llamaSchema = object(props{
	"prompt":      str().length(1, 0).nonBlank(),
	"max_gen_len": integer().atLeast(1).upToModelMax(),
	"temperature": number().between(0, 1),
	"top_p":       number().between(0, 1),
	"images":      array(str().length(1, 0).b64()).count(0, converse.MaxImagesPerRequest),
}, "prompt")

// llamaDefaultMax is Llama's documented max_gen_len default.
const llamaDefaultMax = 512

type llamaRequest struct {
	Prompt      string   `json:"prompt"`
	MaxGenLen   *int     `json:"max_gen_len"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	Images      []string `json:"images"`
}

type llamaCodec struct{}

// DecodeChat implements ChatCodec.
func (llamaCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in llamaRequest
	if err := decodeChecked(body, llamaSchema, m, &in); err != nil {
		return nil, err
	}
	images, err := llamaImages(in.Images)
	if err != nil {
		return nil, err
	}
	maxTokens := requestMax(m, llamaDefaultMax, in.MaxGenLen)
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{
		MaxTokens: &maxTokens, Temperature: in.Temperature, TopP: in.TopP,
	}}
	var ok bool
	if req.System, req.Messages, ok = fromTurns(llamaTemplateFor(m.ID).parse(in.Prompt)); !ok {
		req.System, req.Messages = nil, []converse.Message{textMessage(converse.RoleUser, in.Prompt)}
	}
	if len(images) > 0 {
		for i := len(req.Messages) - 1; i >= 0; i-- {
			if msg := &req.Messages[i]; msg.Role == converse.RoleUser {
				msg.Content = append(images, msg.Content...)
				break
			}
		}
	}
	return req, nil
}

// llamaImages decodes the images member into Converse image blocks.
func llamaImages(images []string) ([]converse.ContentBlock, error) {
	var blocks []converse.ContentBlock
	for i, s := range images {
		img, err := nativeImage(strings.NewReplacer("\r", "", "\n", "").Replace(s), "#/images/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, converse.ContentBlock{Image: img})
	}
	return blocks, nil
}

// nativeImage decodes a base64 image of a native body (Llama's images,
// Mistral chat's data URLs) into a Converse image block, checking it as
// Converse checks image blocks: a PNG, JPEG, GIF or WebP image (told by its
// bytes, whatever a data URL claims) of at most 3.75 MB and 8,000 pixels a
// side. Only the header is read. Refusals are in the schema wording, at the
// JSON path at.
func nativeImage(b64, at string) (*converse.ImageBlock, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) == 0 {
		return nil, malformed(at + ": the image data is not valid base64")
	}
	if len(raw) > converse.MaxImageBytes {
		return nil, malformed(fmt.Sprintf("%s: the image is %d bytes, an image can be at most 3.75 MB (%d bytes)", at, len(raw), converse.MaxImageBytes))
	}
	var format string
	w, h := 0, 0
	if cfg, f, err := image.DecodeConfig(bytes.NewReader(raw)); err == nil && (f == "png" || f == "jpeg" || f == "gif") {
		format, w, h = f, cfg.Width, cfg.Height
	} else if len(raw) >= 12 && string(raw[:4]) == "RIFF" && string(raw[8:12]) == "WEBP" {
		// The standard library reads no WebP; Converse's check reads its
		// header.
		format = "webp"
	}
	if format == "" {
		return nil, malformed(at + ": image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image")
	}
	if w > converse.MaxImageSide || h > converse.MaxImageSide {
		return nil, malformed(fmt.Sprintf("%s: the image is %dx%d pixels, image width and height can be at most %d pixels", at, w, h, converse.MaxImageSide))
	}
	img := &converse.ImageBlock{Format: format, Source: converse.ImageSource{Bytes: raw}}
	if format == "webp" {
		one := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{{Image: img}}}}}
		if err := converse.ValidateImages(one); err != nil {
			return nil, malformed(fmt.Sprintf("%s: not a readable WEBP image of at most %d pixels a side", at, converse.MaxImageSide))
		}
	}
	return img, nil
}

// Llama 3 chat template tokens.
const (
	llamaBegin       = "<|begin_of_text|>"
	llamaStartHeader = "<|start_header_id|>"
	llamaEndHeader   = "<|end_header_id|>"
	llamaEndOfTurn   = "<|eot_id|>"
	// llamaEndOfMessage ends a turn after which the model expects a tool's
	// output (Llama 3.1's <|eom_id|>).
	llamaEndOfMessage = "<|eom_id|>"
)

// Llama 4 chat template tokens.
const (
	llama4StartHeader  = "<|header_start|>"
	llama4EndHeader    = "<|header_end|>"
	llama4EndOfTurn    = "<|eot|>"
	llama4EndOfMessage = "<|eom|>"
)

// llamaTemplate is the set of tokens of one Llama chat template.
type llamaTemplate struct {
	startHeader, endHeader string
	// ends close a turn; the first found after the header ends it.
	ends []string
}

var (
	llama3Template = llamaTemplate{llamaStartHeader, llamaEndHeader, []string{llamaEndOfTurn, llamaEndOfMessage}}
	llama4Template = llamaTemplate{llama4StartHeader, llama4EndHeader, []string{llama4EndOfTurn, llama4EndOfMessage}}
)

// llamaTemplateFor returns the chat template of a model: Llama 4's for
// meta.llama4-*, Llama 3's for the others.
func llamaTemplateFor(id string) llamaTemplate {
	if strings.HasPrefix(id, "meta.llama4") {
		return llama4Template
	}
	return llama3Template
}

// parse splits a chat-template prompt into turns; it returns nil when the
// prompt does not follow the template. The trailing empty assistant header
// (the generation prompt) becomes an empty turn, which fromTurns drops.
func (tpl llamaTemplate) parse(prompt string) []turn {
	s := strings.TrimPrefix(trimLeftSpace(prompt), llamaBegin)
	var turns []turn
	for s = trimLeftSpace(s); s != ""; s = trimLeftSpace(s) {
		rest, ok := strings.CutPrefix(s, tpl.startHeader)
		if !ok {
			return nil
		}
		role, rest, ok := strings.Cut(rest, tpl.endHeader)
		if !ok {
			return nil
		}
		switch role = strings.TrimSpace(role); role {
		case "system", converse.RoleUser, converse.RoleAssistant:
		case "ipython", "tool": // tool output is the user's side of the conversation
			role = converse.RoleUser
		default:
			return nil
		}
		end := -1
		for _, e := range tpl.ends {
			if i := strings.Index(rest, e); i >= 0 && (end < 0 || i < end) {
				end = i
			}
		}
		text, after := rest, ""
		if end >= 0 {
			text = rest[:end]
			after = rest[end:]
			for _, e := range tpl.ends {
				if strings.HasPrefix(after, e) {
					after = after[len(e):]
					break
				}
			}
		}
		turns = append(turns, turn{role, strings.TrimSpace(text)})
		s = after
	}
	return turns
}

var llamaStops = stopTable{
	converse.StopMaxTokens: "length",
	"":                     "stop",
}

type llamaResponse struct {
	Generation           string `json:"generation"`
	PromptTokenCount     int    `json:"prompt_token_count"`
	GenerationTokenCount int    `json:"generation_token_count"`
	StopReason           string `json:"stop_reason"`
}

// EncodeChat implements ChatCodec.
func (llamaCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	return marshal(llamaResponse{
		Generation:           resp.Text(),
		PromptTokenCount:     resp.Usage.InputTokens,
		GenerationTokenCount: resp.Usage.OutputTokens,
		StopReason:           llamaStops.native(resp.StopReason),
	})
}

// Streaming: each chunk has the response's keys, with "generation" the new
// text, stop_reason null until the last chunk, which adds
// "amazon-bedrock-invocationMetrics". The chunk encoder is in llama_stream.go.
