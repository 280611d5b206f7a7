package invokebody

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Family names, as used in catalog configuration.
const (
	Anthropic  = "anthropic"
	TitanText  = "titan-text"
	TitanEmbed = "titan-embed"
	Nova       = "nova"
	Llama      = "llama"
	Mistral    = "mistral"
	OpenAI     = "openai"
	// MistralChat is the chat-completion body of Mistral Large 2 (24.07),
	// Mistral Large 3 and Pixtral Large; the older Mistral models take
	// Mistral's prompt body.
	MistralChat = "mistral-chat"
	// DeepSeek is DeepSeek-R1's and V3's prompt/choices body.
	DeepSeek = "deepseek"
	// Cohere is Cohere Command R and R+ (message, chat_history).
	Cohere = "cohere"
	// Jamba is AI21 Jamba 1.5 (messages, choices).
	Jamba = "jamba"
	// NovaCanvas and TitanImage are the image-generation task bodies of
	// Amazon Nova Canvas and Titan Image Generator v2 (taskType and its
	// params object, imageGenerationConfig).
	NovaCanvas = "nova-canvas"
	TitanImage = "titan-image"
	// Stability is Stability AI's image models (prompt, mode,
	// aspect_ratio, output_format).
	Stability = "stability"
	// TitanEmbedImage is Titan Multimodal Embeddings G1 (inputText,
	// inputImage).
	TitanEmbedImage = "titan-embed-image"
	// CohereEmbed is Cohere Embed v3 and v4 (texts, images, input_type).
	CohereEmbed = "cohere-embed"
	// NovaReel is Amazon Nova Reel's video body, served through
	// StartAsyncInvoke only.
	NovaReel = "nova-reel"
)

// ForModelID derives the family from a base Bedrock model ID (no
// cross-region prefix, no ARN); it returns "" for an unknown ID.
func ForModelID(id string) string {
	switch {
	case strings.HasPrefix(id, "anthropic."):
		return Anthropic
	case strings.HasPrefix(id, "amazon.titan-text"):
		return TitanText
	case strings.HasPrefix(id, "amazon.titan-embed-text"), strings.HasPrefix(id, "amazon.titan-embed-g1-text"):
		return TitanEmbed
	case strings.HasPrefix(id, "amazon.titan-embed-image"):
		return TitanEmbedImage
	case strings.HasPrefix(id, "amazon.titan-image-generator"):
		return TitanImage
	case strings.HasPrefix(id, "amazon.nova-canvas"):
		return NovaCanvas
	case strings.HasPrefix(id, "amazon.nova-reel"):
		return NovaReel
	case strings.HasPrefix(id, "amazon.nova"):
		// Sonic and the multimodal embeddings speak other formats.
		for _, other := range []string{"sonic", "embed"} {
			if strings.Contains(id, other) {
				return ""
			}
		}
		return Nova
	case strings.HasPrefix(id, "meta.llama"):
		return Llama
	case strings.HasPrefix(id, "mistral.mistral-large-2407"), strings.HasPrefix(id, "mistral.mistral-large-3"),
		strings.HasPrefix(id, "mistral.pixtral"):
		return MistralChat
	case strings.HasPrefix(id, "mistral."):
		return Mistral
	case strings.HasPrefix(id, "openai."), strings.HasPrefix(id, "qwen."):
		return OpenAI
	case strings.HasPrefix(id, "deepseek."):
		return DeepSeek
	case strings.HasPrefix(id, "cohere.embed"):
		return CohereEmbed
	case strings.HasPrefix(id, "cohere.command"):
		return Cohere
	case strings.HasPrefix(id, "ai21.jamba"):
		return Jamba
	case strings.HasPrefix(id, "stability."):
		return Stability
	}
	return ""
}

// Model carries what a codec needs to know about the model being served.
type Model struct {
	// ID is the base Bedrock model ID.
	ID string
	// MaxOutputTokens is the model's output limit (0: no limit known).
	MaxOutputTokens int
	// DefaultMaxTokens is the output budget when the request sets none
	// (0: the family's documented default).
	DefaultMaxTokens int
}

// Meta carries response details that are not in the neutral response.
type Meta struct {
	// RequestID is the gateway's request ID; Anthropic message IDs derive
	// from it.
	RequestID string
	// ModelID is the base Bedrock model ID that served the call.
	ModelID string
}

// ChatCodec translates a chat family's native bodies.
type ChatCodec interface {
	// DecodeChat validates a native request body and translates it into a
	// neutral converse.Request. InferenceConfig is always set, with
	// MaxTokens = the request's value or the model's default; StopSequences,
	// Temperature and TopP are copied when given; parameters Converse has no
	// field for (top_k, etc.) go into AdditionalModelRequestFields as a JSON
	// object. Errors are *apierror.Error ValidationExceptions in Bedrock's
	// wording.
	DecodeChat(body []byte, m Model) (*converse.Request, error)
	// EncodeChat renders the neutral response in the family's native
	// response format. req is the request DecodeChat returned.
	EncodeChat(req *converse.Request, resp *converse.Response, meta Meta) ([]byte, error)
}

// StreamCodec is implemented by the codecs of chat families that can
// stream (InvokeModelWithResponseStream).
type StreamCodec interface {
	// NewStreamEncoder returns the encoder of one streamed response. req
	// is the request DecodeChat returned.
	NewStreamEncoder(req *converse.Request, meta Meta) StreamEncoder
}

// StreamEncoder turns the neutral Converse stream events of one response
// into the family's native stream chunks, as Bedrock's
// InvokeModelWithResponseStream sends them (each chunk is one JSON object,
// carried base64-encoded in a chunk event). It is used by one goroutine.
type StreamEncoder interface {
	// Encode returns the chunks the event produces, in order; possibly
	// none, when the family says nothing at that point or the encoder
	// holds the event back until it has what its chunk needs (Anthropic's
	// message_delta carries both the stop reason and the output tokens).
	// The metadata event is last and must produce at least one chunk: the
	// caller adds amazon-bedrock-invocationMetrics to the last chunk of
	// the stream.
	Encode(ev *converse.StreamEvent) ([][]byte, error)
}

// EmbedCall is a decoded native embedding request: the neutral request for
// the provider, and the native output options the response encoding needs.
type EmbedCall struct {
	Request provider.EmbedRequest
	// Float and Binary select the members of Titan V2's embeddingsByType.
	Float, Binary bool
}

// EmbedCodec translates an embedding family's native bodies.
type EmbedCodec interface {
	// DecodeEmbed validates a native request body and translates it into a
	// neutral embedding request plus the options of the native response.
	DecodeEmbed(body []byte, m Model) (*EmbedCall, error)
	// EncodeEmbed renders the neutral response in the family's native
	// response format.
	EncodeEmbed(call *EmbedCall, resp *provider.EmbedResponse, meta Meta) ([]byte, error)
}

// codecs implement exactly one of ChatCodec, EmbedCodec, ImageCodec and
// VideoCodec each, so callers can type-switch on the value Lookup returns.
var codecs = map[string]any{
	Anthropic:       anthropicCodec{},
	TitanText:       titanTextCodec{},
	TitanEmbed:      titanEmbedCodec{},
	Nova:            novaCodec{},
	Llama:           llamaCodec{},
	Mistral:         mistralCodec{},
	OpenAI:          openaiCodec{},
	TitanEmbedImage: titanEmbedImageCodec{},
	CohereEmbed:     cohereEmbedCodec{},
	NovaCanvas:      novaCanvasCodec{},
	TitanImage:      novaCanvasCodec{titan: true},
	Stability:       stabilityCodec{},
	Cohere:          cohereCodec{},
	Jamba:           jambaCodec{},
	MistralChat:     mistralChatCodec{},
	DeepSeek:        deepseekCodec{},
	NovaReel:        novaReelCodec{},
}

// Lookup returns the codec of a family: a value implementing one of
// ChatCodec, EmbedCodec and ImageCodec.
func Lookup(name string) (any, bool) {
	c, ok := codecs[name]
	return c, ok
}

// Names lists the known families (those with a codec), sorted.
func Names() []string {
	names := make([]string, 0, len(codecs))
	for n := range codecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// stopTable maps neutral stop reasons to a family's native ones; the zero key
// "" holds the value for reasons the table does not list.
type stopTable map[string]string

func (t stopTable) native(reason string) string {
	if s, ok := t[reason]; ok {
		return s
	}
	return t[""]
}

// defaultMax is the output budget of a request that sets none: the model's
// configured default, else the family's documented one, within the model's
// limit.
func defaultMax(m Model, familyDefault int) int {
	if m.DefaultMaxTokens > 0 {
		return m.DefaultMaxTokens
	}
	if m.MaxOutputTokens > 0 && m.MaxOutputTokens < familyDefault {
		return m.MaxOutputTokens
	}
	return familyDefault
}

// requestMax is the request's output budget: the one it sets, else
// defaultMax.
func requestMax(m Model, familyDefault int, set *int) int {
	if set != nil {
		return *set
	}
	return defaultMax(m, familyDefault)
}

// promptInference is the inference config of a Mistral or DeepSeek body:
// max_tokens (else the default), temperature, top_p, and the stop strings
// less the empty ones.
func promptInference(m Model, familyDefault int, maxTokens *int, temperature, topP *float64, stop []string) *converse.InferenceConfig {
	n := requestMax(m, familyDefault, maxTokens)
	return &converse.InferenceConfig{MaxTokens: &n, Temperature: temperature, TopP: topP, StopSequences: nonEmpty(stop)}
}

// nonEmpty drops the empty stop strings: one can never match, and Converse
// does not accept one.
func nonEmpty(stops []string) []string {
	var out []string
	for _, s := range stops {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// marshal encodes without HTML escaping, as Bedrock's own encoder does, so
// that "<" in generated text is not turned into \u003c.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// fields builds a small JSON object with keys in the order added, for
// AdditionalModelRequestFields.
type fields struct{ buf []byte }

func (f *fields) add(key string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	if f.buf == nil {
		f.buf = append(f.buf, '{')
	} else {
		f.buf = append(f.buf, ',')
	}
	f.buf = append(f.buf, '"')
	f.buf = append(f.buf, key...)
	f.buf = append(f.buf, '"', ':')
	f.buf = append(f.buf, raw...)
}

func (f *fields) raw() json.RawMessage {
	if f.buf == nil {
		return nil
	}
	return append(f.buf, '}')
}

// textMessage is a one-block user or assistant message.
func textMessage(role, text string) converse.Message {
	return converse.Message{Role: role, Content: []converse.ContentBlock{converse.TextBlock(text)}}
}

// turn is one speaker's text in a prompt template.
type turn struct{ role, text string }

// fromTurns turns a parsed prompt template into a Converse system prompt and
// conversation: blank turns are dropped and consecutive turns of one role
// merged. ok is false when no valid conversation (starting with a user turn)
// results, and the caller then treats the prompt as a single user message.
func fromTurns(turns []turn) (system []converse.SystemContentBlock, msgs []converse.Message, ok bool) {
	for _, t := range turns {
		if strings.TrimSpace(t.text) == "" {
			continue
		}
		if t.role == "system" {
			system = append(system, converse.SystemContentBlock{Text: &t.text})
			continue
		}
		if n := len(msgs); n > 0 && msgs[n-1].Role == t.role {
			msgs[n-1].Content = append(msgs[n-1].Content, converse.TextBlock(t.text))
			continue
		}
		msgs = append(msgs, textMessage(t.role, t.text))
	}
	if len(msgs) == 0 || msgs[0].Role != converse.RoleUser {
		return nil, nil, false
	}
	return system, msgs, true
}

// trimLeftSpace drops leading whitespace.
func trimLeftSpace(s string) string { return strings.TrimLeft(s, " \t\r\n") }
