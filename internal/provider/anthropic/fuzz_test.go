package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

// FuzzStream feeds arbitrary bytes to the Messages SSE parser: no panic,
// and either a Bedrock exception or a complete stream that assembles into
// valid JSON.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.http", "stream_tool_use.http", "stream_thinking.http", "stream_error.http", "stream_structured.http"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		f.Add(body)
	}
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\n"))
	tr := &providertest.BodyTransport{ContentType: "text/event-stream"}
	p, err := New(Options{BaseURL: "http://upstream.invalid", APIKey: "sk-ant-fuzz", Client: &http.Client{Transport: tr}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr.Body = body
		providertest.CheckStream(t, p)
	})
}

// FuzzOutputConfig translates arbitrary structured output requests (the
// schema string, the effort, native output_config fields): no panic; a
// refusal is a ValidationException; an accepted request has an
// output_config whose format schema, when there is one, is a JSON object.
func FuzzOutputConfig(f *testing.F) {
	f.Add(contactSchema, "low", "")
	f.Add(`{"type":"object"}`, "", `{"output_config":{"effort":"max"}}`)
	f.Add(`[1]`, "", "")
	f.Add(`{"type":`, "high", `{"output_config":null}`)
	f.Add("", "medium", `{"output_config":{"format":{"type":"json_schema","schema":{}}}}`)
	f.Fuzz(func(t *testing.T, schema, effort, extra string) {
		req := userRequest("Extract.", 64)
		req.OutputConfig = &converse.OutputConfig{Effort: effort, TextFormat: &converse.OutputFormat{
			Type: converse.OutputFormatJSONSchema, Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema}}}}
		if extra != "" {
			req.AdditionalModelRequestFields = json.RawMessage(extra)
		}
		enc, err := encodeRequest(req, "claude-x", false)
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.Validation {
				t.Fatalf("refusal %v is not a ValidationException", err)
			}
			return
		}
		var body struct {
			OutputConfig *struct {
				Format *struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"format"`
			} `json:"output_config"`
		}
		if err := json.Unmarshal(enc.body, &body); err != nil {
			t.Fatalf("body %s: %v", enc.body, err)
		}
		if extra == "" && schema != "" {
			if body.OutputConfig == nil || body.OutputConfig.Format == nil || !isObject(body.OutputConfig.Format.Schema) {
				t.Fatalf("schema %q was accepted but sent as %s", schema, enc.body)
			}
		}
	})
}
