package converse

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func TestDecodeValid(t *testing.T) {
	body := `{"messages":[{"role":"user","content":[{"text":"hi"}]},{"role":"assistant","content":[{"text":"hello"}]},{"role":"user","content":[{"text":"how are you?"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]}],
	"system":[{"text":"be brief"}],"inferenceConfig":{"maxTokens":100,"temperature":0.5,"topP":0.9,"stopSequences":["END"]},
	"requestMetadata":{"team":"search"},"additionalModelRequestFields":{"top_k":5}}`
	req, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 3 || *req.Messages[2].Content[0].Text != "how are you?" {
		t.Fatalf("messages = %+v", req.Messages)
	}
	if got := string(req.Messages[2].Content[1].Image.Source.Bytes[:4]); got != "\x89PNG" {
		t.Errorf("image bytes not base64-decoded: %q", got)
	}
	if *req.InferenceConfig.MaxTokens != 100 || req.InferenceConfig.StopSequences[0] != "END" || req.RequestMetadata["team"] != "search" {
		t.Errorf("inference config or metadata lost: %+v %+v", req.InferenceConfig, req.RequestMetadata)
	}
}

func TestDecodeErrors(t *testing.T) {
	const user = `{"role":"user","content":[{"text":"hi"}]}`
	const assistant = `{"role":"assistant","content":[{"text":"yo"}]}`
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "The request body is empty"},
		{"not json", `{"messages":`, "Malformed request: the body is not valid JSON"},
		{"wrong type", `{"messages":"hello"}`, "Malformed request: the value at 'messages' has the wrong type (found a JSON string)."},
		{"no messages", `{}`, "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{"starts with assistant", `{"messages":[` + assistant + `]}`, "A conversation must start with a user message."},
		{"two users", `{"messages":[` + user + `,` + user + `]}`, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."},
		{"bad role", `{"messages":[{"role":"system","content":[{"text":"x"}]}]}`, "1 validation error detected: Value 'system' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"},
		{"empty content", `{"messages":[{"role":"user","content":[]}]}`, "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again."},
		{"blank text", `{"messages":[{"role":"user","content":[{"text":"  "}]}]}`, "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."},
		{"two members", `{"messages":[{"role":"user","content":[{"text":"a","image":{"format":"png","source":{"bytes":"AA=="}}}]}]}`, "has 2 members set, but it is a union"},
		{"no member", `{"messages":[{"role":"user","content":[{}]}]}`, "has no supported member set"},
		{"bad image format", `{"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"AA=="}}}]}]}`, "Value 'bmp' at 'messages.0.content.0.image.format' failed to satisfy constraint"},
		{"maxTokens 0", `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":0}}`, "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"temperature 2", `{"messages":[` + user + `],"inferenceConfig":{"temperature":2}}`, "Value '2' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"},
		{"topP negative", `{"messages":[` + user + `],"inferenceConfig":{"topP":-0.5}}`, "Value '-0.5' at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"empty stop sequence", `{"messages":[` + user + `],"inferenceConfig":{"stopSequences":[""]}}`, "at 'inferenceConfig.stopSequences.1.member'"},
		{"tool use without config", `{"messages":[` + user + `,{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]}]}`, "The toolConfig field must be defined when using toolUse and toolResult content blocks."},
		{"no tools", `{"messages":[` + user + `],"toolConfig":{"tools":[]}}`, "at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"bad tool name", `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"a b","inputSchema":{"json":{}}}}]}}`, "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"},
		{"duplicate tools", `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}},{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}]}}`, "duplicate tool names: f"},
		{"choice of unknown tool", `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}],"toolChoice":{"tool":{"name":"g"}}}}`, "The tool g named in toolConfig.toolChoice is not defined"},
		{"blank system", `{"messages":[` + user + `],"system":[{"text":""}]}`, "The text field in the SystemContentBlock object at system.0 is blank."},
		{"bad latency", `{"messages":[` + user + `],"performanceConfig":{"latency":"fast"}}`, "Member must satisfy enum value set: [standard, optimized]"},
		{"bad service tier", `{"messages":[` + user + `],"serviceTier":{"type":"gold"}}`, "1 validation error detected: Value 'gold' at 'serviceTier.type' failed to satisfy constraint: Member must satisfy enum value set: [priority, default, flex, reserved]"},
		{"fields not object", `{"messages":[` + user + `],"additionalModelRequestFields":[1]}`, "The additionalModelRequestFields field must be a JSON object."},
		{"output format type text", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"text","structure":{"jsonSchema":{"schema":"{}"}}}}}`,
			"1 validation error detected: Value 'text' at 'outputConfig.textFormat.type' failed to satisfy constraint: Member must satisfy enum value set: [json_schema]"},
		{"output format without type", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"structure":{"jsonSchema":{"schema":"{}"}}}}}`,
			"1 validation error detected: Value null at 'outputConfig.textFormat.type' failed to satisfy constraint: Member must not be null"},
		{"output format without structure", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"json_schema"}}}`,
			"The OutputFormatStructure object at outputConfig.textFormat.structure has no supported member set."},
		{"output schema missing", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"name":"x"}}}}}`,
			"1 validation error detected: Value null at 'outputConfig.textFormat.structure.jsonSchema.schema' failed to satisfy constraint: Member must not be null"},
		{"output schema an object, not a string", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":{"type":"object"}}}}}}`,
			"Malformed request: the value at 'outputConfig.textFormat.structure.jsonSchema.schema' has the wrong type (found a JSON object)."},
		{"output schema not JSON", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":"}}}}}`,
			"The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid. Provide a JSON object for the field and try again."},
		{"output schema an array", `{"messages":[` + user + `],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"[1]"}}}}}`,
			"The format of the value at outputConfig.textFormat.structure.jsonSchema.schema is invalid."},
		{"message cache point type", `{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"ephemeral"}}]}]}`,
			"1 validation error detected: Value 'ephemeral' at 'messages.1.member.content.2.member.cachePoint.type' failed to satisfy constraint: Member must satisfy enum value set: [default]"},
		{"message cache point without type", `{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{}}]}]}`,
			"Value null at 'messages.1.member.content.2.member.cachePoint.type' failed to satisfy constraint: Member must not be null"},
		{"system cache point ttl", `{"messages":[` + user + `],"system":[{"text":"s"},{"cachePoint":{"type":"default","ttl":"10m"}}]}`,
			"1 validation error detected: Value '10m' at 'system.2.member.cachePoint.ttl' failed to satisfy constraint: Member must satisfy enum value set: [5m, 1h]"},
		{"tool cache point ttl", `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}},{"cachePoint":{"type":"default","ttl":"1d"}}]}}`,
			"Value '1d' at 'toolConfig.tools.2.member.cachePoint.ttl' failed to satisfy constraint: Member must satisfy enum value set: [5m, 1h]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("err = %v, want a ValidationException", err)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message = %q\nwant it to contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestDecodeStructuredOutputAndCachePoints(t *testing.T) {
	body := `{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"default","ttl":"1h"}}]}],
	"system":[{"text":"s"},{"cachePoint":{"type":"default"}}],
	"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default","ttl":"5m"}}]},
	"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}","name":"answer","description":"d"}}},"effort":"high"}}`
	req, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.OutputConfig.Schema(); got != `{"type":"object","properties":{"a":{"type":"string"}}}` {
		t.Errorf("schema = %q", got)
	}
	if js := req.OutputConfig.TextFormat.Structure.JSONSchema; js.Name != "answer" || js.Description != "d" || req.OutputConfig.Effort != "high" {
		t.Errorf("output config = %+v, effort %q", js, req.OutputConfig.Effort)
	}
	if cp := req.Messages[0].Content[1].CachePoint; cp == nil || cp.TTL != CacheTTL1h {
		t.Errorf("message cache point = %+v", cp)
	}
	// An outputConfig with only an effort asks for no format.
	if _, err := Decode([]byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"outputConfig":{"effort":"low"}}`)); err != nil {
		t.Errorf("effort only: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`,
		`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":5,"stopSequences":["x"]}}`,
		`{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"a","content":[{"json":{"k":1}}]}}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}}}`,
		`{"system":[{"text":"s"},{"cachePoint":{"type":"default"}}],"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"AA=="}}}]}]}`,
		`{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"default","ttl":"1h"}}]}],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}","name":"n"}}},"effort":"low"}}`,
		`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"[]"}}}}}`,
		`[]`, `null`, `{"messages":null}`, `{"messages":[{"role":"user","content":[{"text":null}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Decode(body)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("error is not a ValidationException: %v", err)
			}
			return
		}
		if s := req.OutputConfig.Schema(); s != "" && (!json.Valid([]byte(s)) || !isJSONObject([]byte(s))) {
			t.Fatalf("accepted an output schema that is not a JSON object: %q", s)
		}
		for _, m := range req.Messages {
			for _, b := range m.Content {
				if cp := b.CachePoint; cp != nil && (cp.Type != "default" || (cp.TTL != "" && cp.TTL != CacheTTL5m && cp.TTL != CacheTTL1h)) {
					t.Fatalf("accepted the cache point %+v", cp)
				}
			}
		}
		if len(req.Messages) > 0 && req.Messages[0].Role != RoleUser {
			t.Fatalf("accepted a conversation starting with %q", req.Messages[0].Role)
		}
		for i := 1; i < len(req.Messages); i++ {
			if req.Messages[i].Role == req.Messages[i-1].Role {
				t.Fatal("accepted a conversation whose roles do not alternate")
			}
		}
	})
}
