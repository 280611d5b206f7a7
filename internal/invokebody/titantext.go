package invokebody

import (
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Amazon Titan Text (express, lite, premier): a single inputText prompt.

var titanTextSchema = object(props{
	"inputText": str().length(1, 0).nonBlank(),
	"textGenerationConfig": object(props{
		"maxTokenCount": integer().atLeast(0).upToModelMax(),
		"temperature":   number().between(0, 1),
		"topP":          number().between(0, 1),
		// Titan stops only on pipes or on the start of a user turn.
		"stopSequences": array(str().matching(`^(\|+|User:)$`)),
	}),
}, "inputText")

// titanTextDefaultMax is Titan's documented maxTokenCount default.
const titanTextDefaultMax = 512

type titanTextRequest struct {
	InputText            string `json:"inputText"`
	TextGenerationConfig *struct {
		MaxTokenCount *int     `json:"maxTokenCount"`
		Temperature   *float64 `json:"temperature"`
		TopP          *float64 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	} `json:"textGenerationConfig"`
}

type titanTextCodec struct{}

// DecodeChat implements ChatCodec.
func (titanTextCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in titanTextRequest
	if err := decodeChecked(body, titanTextSchema, m, &in); err != nil {
		return nil, err
	}
	maxTokens := defaultMax(m, titanTextDefaultMax)
	cfg := &converse.InferenceConfig{MaxTokens: &maxTokens}
	if g := in.TextGenerationConfig; g != nil {
		// maxTokenCount 0 (allowed by the schema) leaves the default.
		if g.MaxTokenCount != nil && *g.MaxTokenCount > 0 {
			maxTokens = *g.MaxTokenCount
		}
		cfg.Temperature, cfg.TopP = g.Temperature, g.TopP
		if len(g.StopSequences) > 0 {
			cfg.StopSequences = g.StopSequences
		}
	}
	// The "User: ...\nBot:" convention is left to the model: splitting on it
	// would misread prompts that merely quote it.
	return &converse.Request{
		Messages:        []converse.Message{textMessage(converse.RoleUser, in.InputText)},
		InferenceConfig: cfg,
	}, nil
}

var titanTextStops = stopTable{
	converse.StopEndTurn:             "FINISH",
	converse.StopMaxTokens:           "LENGTH",
	converse.StopSequence:            "STOP_CRITERIA_MET",
	converse.StopContentFiltered:     "CONTENT_FILTERED",
	converse.StopGuardrailIntervened: "CONTENT_FILTERED",
	"":                               "FINISH",
}

type titanTextResponse struct {
	InputTextTokenCount int               `json:"inputTextTokenCount"`
	Results             []titanTextResult `json:"results"`
}

type titanTextResult struct {
	TokenCount       int    `json:"tokenCount"`
	OutputText       string `json:"outputText"`
	CompletionReason string `json:"completionReason"`
}

// EncodeChat implements ChatCodec.
func (titanTextCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	return marshal(titanTextResponse{
		InputTextTokenCount: resp.Usage.InputTokens,
		Results: []titanTextResult{{
			TokenCount:       resp.Usage.OutputTokens,
			OutputText:       resp.Text(),
			CompletionReason: titanTextStops.native(resp.StopReason),
		}},
	})
}

// Streaming: each chunk is {"outputText","index":0,"totalOutputTextTokenCount",
// "completionReason" (null until the last),"inputTextTokenCount"}, the last
// adding "amazon-bedrock-invocationMetrics". The chunk encoder is in titantext_stream.go.
