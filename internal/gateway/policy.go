package gateway

import (
	"slices"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// Rule names the model policy a chat request broke.
type Rule int

// The model policy's rules, in the order they are checked.
const (
	// RuleChatModel: the model makes embeddings or images, not chat.
	RuleChatModel Rule = iota + 1
	// RuleStreaming: the model cannot stream.
	RuleStreaming
	// RuleMaxTokens: the output budget asked for exceeds the model's limit.
	RuleMaxTokens
	// RuleSystem: the model takes no system prompt.
	RuleSystem
	// RuleTools: the model cannot use tools.
	RuleTools
	// RuleImages: the model takes no image input.
	RuleImages
	// RuleEmbeddingModel: an embedding call to a model that does not
	// make embeddings.
	RuleEmbeddingModel
	// RuleImageModel: an image-generation call to a model that does not
	// generate images.
	RuleImageModel
)

// PolicyError is a chat request the model cannot serve. Its message is
// Bedrock's wording; front doors of other APIs word it in theirs from the
// Rule, Model, Limit and Value. It is a ValidationException.
type PolicyError struct {
	Rule Rule
	// Model is the catalog model ID.
	Model string
	// Limit and Value are the model's output limit and the budget asked
	// for (RuleMaxTokens only).
	Limit, Value int
	Err          *apierror.Error
}

func (e *PolicyError) Error() string { return e.Err.Error() }

// Unwrap returns the ValidationException.
func (e *PolicyError) Unwrap() error { return e.Err }

func violation(r Rule, m *catalog.Model, format string, args ...any) *PolicyError {
	return &PolicyError{Rule: r, Model: m.ID, Err: apierror.New(apierror.Validation, format, args...)}
}

// CheckChat is the model policy for a chat request, one place for every
// front door: the model must make chat, stream when asked to, take the
// output budget asked for, and support the system prompt, tools and
// images the request uses. A request with no output budget gets the
// model's (OutputBudget), so that providers always receive one. Errors are
// *PolicyError.
func CheckChat(m *catalog.Model, req *converse.Request, stream bool) error {
	if m.Embedding() || imageModel(m) {
		return violation(RuleChatModel, m, "This action doesn't support the model that you provided. Try again with a supported text or chat model.")
	}
	if stream && !m.Streaming {
		return violation(RuleStreaming, m, "The model is unsupported for streaming.")
	}
	if req.InferenceConfig == nil {
		req.InferenceConfig = &converse.InferenceConfig{}
	}
	ic := req.InferenceConfig
	if ic.MaxTokens == nil {
		n := m.OutputBudget()
		ic.MaxTokens = &n
	} else if m.MaxOutputTokens > 0 && *ic.MaxTokens > m.MaxOutputTokens {
		e := violation(RuleMaxTokens, m, "The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", m.MaxOutputTokens, m.MaxOutputTokens)
		e.Limit, e.Value = m.MaxOutputTokens, *ic.MaxTokens
		return e
	}
	if len(req.System) > 0 && !m.SystemPrompt {
		return violation(RuleSystem, m, "This model doesn't support system messages. Try again without a system message.")
	}
	usesTools := req.ToolConfig != nil
	usesImages := false
	for _, msg := range req.Messages {
		for _, b := range msg.Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
			usesImages = usesImages || b.Image != nil
		}
	}
	if usesTools && !m.Tools {
		return violation(RuleTools, m, "This model doesn't support tool use.")
	}
	if usesImages && !slices.Contains(m.InputModalities, "IMAGE") {
		return violation(RuleImages, m, "This model doesn't support the image content block that you provided. Try again with a supported content block.")
	}
	return nil
}

// CheckEmbed is the model policy for an embedding call: the model must make
// embeddings. Errors are *PolicyError.
func CheckEmbed(m *catalog.Model) error {
	if !m.Embedding() {
		return violation(RuleEmbeddingModel, m, "This action doesn't support the model that you provided. Try again with a supported embedding model.")
	}
	return nil
}

// CheckImage is the model policy for an image-generation call: the model
// must output images. Errors are *PolicyError.
func CheckImage(m *catalog.Model) error {
	if !imageModel(m) {
		return violation(RuleImageModel, m, "This action doesn't support the model that you provided. Try again with a supported image generation model.")
	}
	return nil
}

// imageModel reports whether the model outputs images and no text (Nova
// Canvas, Titan Image Generator, Stability): such a model serves neither
// chat nor Converse.
func imageModel(m *catalog.Model) bool {
	return slices.Contains(m.OutputModalities, "IMAGE") && !slices.Contains(m.OutputModalities, "TEXT")
}
