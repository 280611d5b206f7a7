package invokebody

import (
	"encoding/json"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Amazon Nova understanding models: the native body is Converse-shaped
// (camelCase content blocks, toolConfig as in Converse) with its own
// inferenceConfig names, so blocks decode straight into the Converse types
// and Converse's own checks are the model's checks.

var novaSchema = func() *schema {
	source := func() *schema {
		return object(props{"bytes": str().length(1, 0).b64(), "s3Location": openObject()})
	}
	image := func() *schema {
		return object(props{"format": enum("png", "jpeg", "gif", "webp"), "source": source()}, "format", "source")
	}
	video := func() *schema {
		return object(props{
			"format": enum("mkv", "mov", "mp4", "webm", "three_gp", "flv", "mpeg", "mpg", "wmv"),
			"source": source(),
		}, "format", "source")
	}
	document := func() *schema {
		return object(props{
			"format":    enum("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"),
			"name":      str().length(1, 0),
			"source":    object(props{"bytes": str().length(1, 0).b64(), "text": str(), "content": anything(), "s3Location": openObject()}),
			"context":   str(),
			"citations": openObject(),
		}, "name", "source")
	}
	id := str().length(1, 0)
	cache := object(props{"type": enum("default"), "ttl": str()}, "type")
	block := object(props{
		"text":     str(),
		"image":    image(),
		"video":    video(),
		"document": document(),
		"toolUse":  object(props{"toolUseId": id, "name": id, "input": openObject(), "type": str()}, "toolUseId", "name", "input"),
		"toolResult": object(props{
			"toolUseId": id,
			"content": array(object(props{
				"json": anything(), "text": str(), "image": image(), "document": document(), "video": video(), "searchResult": openObject(),
			})),
			"status": enum("success", "error"),
			"type":   str(),
		}, "toolUseId", "content"),
		"cachePoint": cache,
		"reasoningContent": object(props{
			"reasoningText":   object(props{"text": str(), "signature": str()}, "text"),
			"redactedContent": str().b64(),
		}),
		"guardContent": openObject(),
	})
	tokens := integer().atLeast(1).upToModelMax()
	unit := number().between(0, 1)
	return object(props{
		"schemaVersion": enum("messages-v1"),
		"messages": array(object(props{
			"role":    enum("user", "assistant"),
			"content": array(block),
		}, "role", "content")),
		"system": array(object(props{"text": str(), "cachePoint": cache, "guardContent": openObject()})),
		"inferenceConfig": object(props{
			"max_new_tokens": tokens,
			"maxTokens":      tokens,
			"temperature":    unit,
			"topP":           unit,
			"top_p":          unit,
			"topK":           integer().atLeast(0),
			"top_k":          integer().atLeast(0),
			"stopSequences":  array(str()),
		}),
		"toolConfig": object(props{
			"tools": array(object(props{
				"toolSpec": object(props{
					"name":        str(),
					"description": str(),
					"inputSchema": object(props{"json": openObject()}, "json"),
					"strict":      boolean(),
				}, "name", "inputSchema"),
				"cachePoint": cache,
				"systemTool": openObject(),
			})),
			"toolChoice": object(props{"auto": openObject(), "any": openObject(), "tool": object(props{"name": str()}, "name")}),
		}, "tools"),
		"reasoningConfig": openObject(),
	}, "messages")
}()

// novaDefaultMax is used when neither the request nor the catalog sets one:
// Nova's documented maximum, which is also its default.
const novaDefaultMax = 5000

type novaRequest struct {
	Messages        []converse.Message            `json:"messages"`
	System          []converse.SystemContentBlock `json:"system"`
	InferenceConfig *struct {
		MaxNewTokens  *int            `json:"max_new_tokens"`
		MaxTokens     *int            `json:"maxTokens"`
		Temperature   *float64        `json:"temperature"`
		TopP          *float64        `json:"topP"`
		TopPSnake     *float64        `json:"top_p"`
		TopK          json.RawMessage `json:"topK"`
		TopKSnake     json.RawMessage `json:"top_k"`
		StopSequences []string        `json:"stopSequences"`
	} `json:"inferenceConfig"`
	ToolConfig      *converse.ToolConfig `json:"toolConfig"`
	ReasoningConfig json.RawMessage      `json:"reasoningConfig"`
}

type novaCodec struct{}

// DecodeChat implements ChatCodec.
func (novaCodec) DecodeChat(body []byte, m Model) (*converse.Request, error) {
	var in novaRequest
	if err := decodeChecked(body, novaSchema, m, &in); err != nil {
		return nil, err
	}
	maxTokens := defaultMax(m, novaDefaultMax)
	req := &converse.Request{
		Messages:        in.Messages,
		System:          in.System,
		ToolConfig:      in.ToolConfig,
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens},
	}
	var extra fields
	if c := in.InferenceConfig; c != nil {
		// Nova documents max_new_tokens; maxTokens is the Converse spelling it also takes.
		if c.MaxNewTokens != nil {
			maxTokens = *c.MaxNewTokens
		} else if c.MaxTokens != nil {
			maxTokens = *c.MaxTokens
		}
		req.InferenceConfig.Temperature = c.Temperature
		req.InferenceConfig.TopP = c.TopP
		if c.TopP == nil {
			req.InferenceConfig.TopP = c.TopPSnake
		}
		if len(c.StopSequences) > 0 {
			req.InferenceConfig.StopSequences = c.StopSequences
		}
		// Converse takes Nova's topK as additionalModelRequestFields.inferenceConfig.topK.
		topK := c.TopK
		if topK == nil {
			topK = c.TopKSnake
		}
		if topK != nil {
			extra.add("inferenceConfig", json.RawMessage(`{"topK":`+string(topK)+`}`))
		}
	}
	extra.add("reasoningConfig", in.ReasoningConfig)
	req.AdditionalModelRequestFields = extra.raw()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

var novaStops = stopTable{
	converse.StopEndTurn:             "end_turn",
	converse.StopMaxTokens:           "max_tokens",
	converse.StopSequence:            "stop_sequence",
	converse.StopToolUse:             "tool_use",
	converse.StopContentFiltered:     "content_filtered",
	converse.StopGuardrailIntervened: "guardrail_intervened",
	"":                               "end_turn",
}

type novaResponse struct {
	Output struct {
		Message novaMessage `json:"message"`
	} `json:"output"`
	StopReason string    `json:"stopReason"`
	Usage      novaUsage `json:"usage"`
}

type novaMessage struct {
	Content []converse.ContentBlock `json:"content"`
	Role    string                  `json:"role"`
}

type novaUsage struct {
	InputTokens               int `json:"inputTokens"`
	OutputTokens              int `json:"outputTokens"`
	TotalTokens               int `json:"totalTokens"`
	CacheReadInputTokenCount  int `json:"cacheReadInputTokenCount"`
	CacheWriteInputTokenCount int `json:"cacheWriteInputTokenCount"`
}

// EncodeChat implements ChatCodec.
func (novaCodec) EncodeChat(_ *converse.Request, resp *converse.Response, _ Meta) ([]byte, error) {
	var out novaResponse
	out.Output.Message = novaMessage{Content: []converse.ContentBlock{}, Role: converse.RoleAssistant}
	if msg := resp.Output.Message; msg != nil {
		for _, b := range msg.Content {
			if b.ToolUse != nil && len(b.ToolUse.Input) == 0 {
				tu := *b.ToolUse
				tu.Input = json.RawMessage("{}")
				b.ToolUse = &tu
			}
			out.Output.Message.Content = append(out.Output.Message.Content, b)
		}
	}
	out.StopReason = novaStops.native(resp.StopReason)
	u := resp.Usage
	out.Usage = novaUsage{
		InputTokens:               u.InputTokens,
		OutputTokens:              u.OutputTokens,
		TotalTokens:               u.InputTokens + u.OutputTokens,
		CacheReadInputTokenCount:  u.CacheReadInputTokens,
		CacheWriteInputTokenCount: u.CacheWriteInputTokens,
	}
	return marshal(out)
}

// Streaming: each chunk is one Converse-stream event wrapped in its name:
// {"messageStart":{"role":"assistant"}}, {"contentBlockDelta":{"delta":{"text":...},
// "contentBlockIndex":0}}, {"contentBlockStop":...}, {"messageStop":{"stopReason":...}},
// {"metadata":{"usage":...}}, the last adding "amazon-bedrock-invocationMetrics".
// The chunk encoder is in nova_stream.go.
