package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
)

// TestBedrockPassThrough chains two servers: the front one routes haiku to
// a provider of type bedrock whose endpoint is the back one (a real
// Bedrock wire implementation, served by the simulator). Native bodies
// pass through untouched, streams are relayed, and the front records who
// answered and the true usage.
func TestBedrockPassThrough(t *testing.T) {
	back, backRec := startServer(t, nil)
	upstreamCredentials(t)
	front, frontRec := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "aws", Type: "bedrock", Settings: map[string]any{"baseURL": back.URL()}})
		for i := range c.Models {
			if c.Models[i].ID == haiku {
				c.Models[i].Provider = "aws"
			}
		}
	})
	client := runtimeClient(front.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	body := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":120,"messages":[{"role":"user","content":"Pass me through."}]}`)

	t.Run("InvokeModel body passes through", func(t *testing.T) {
		out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: body, ContentType: aws.String("application/json")})
		if err != nil {
			t.Fatal(err)
		}
		inv := frontRec.byRequestID(t, requestID(t, out.ResultMetadata))
		if inv.Provider != "aws" || len(inv.Attempts) != 1 {
			t.Errorf("front record: provider %q attempts %+v", inv.Provider, inv.Attempts)
		}
		upstream := backRec.last(t)
		if !bytes.Equal(upstream.Input.Data, body) {
			t.Errorf("upstream received %s, want the caller's body byte for byte", upstream.Input.Data)
		}
		if !bytes.Equal(out.Body, upstream.Output.Data) {
			t.Errorf("caller received %s, upstream sent %s", out.Body, upstream.Output.Data)
		}
		in, _ := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
		if inv.Usage != upstream.Usage || in != upstream.Usage.InputTokens {
			t.Errorf("front usage %+v, header %d, upstream usage %+v", inv.Usage, in, upstream.Usage)
		}
	})

	t.Run("InvokeModelWithResponseStream relays the upstream's chunks", func(t *testing.T) {
		id, chunks, raw, err := invokeStream(t, client, haiku, string(body))
		if err != nil {
			t.Fatal(err)
		}
		inv := frontRec.byRequestID(t, id)
		upstream := backRec.last(t)
		var upChunks []json.RawMessage
		if err := json.Unmarshal(upstream.Output.Data, &upChunks); err != nil || len(upChunks) != len(raw) {
			t.Fatalf("upstream sent %d chunks, caller received %d", len(upChunks), len(raw))
		}
		for i := range raw {
			if !bytes.Equal(raw[i], upChunks[i]) {
				t.Errorf("chunk %d: caller %s, upstream %s", i, raw[i], upChunks[i])
			}
		}
		m := chunks[len(chunks)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)
		if inv.Usage.OutputTokens != int(m["outputTokenCount"].(float64)) || inv.Usage != upstream.Usage || inv.FirstByte.IsZero() {
			t.Errorf("front usage %+v, stream metrics %v, upstream %+v", inv.Usage, m, upstream.Usage)
		}
	})

	t.Run("ConverseStream through the Bedrock provider", func(t *testing.T) {
		s := converseStream(t, client, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Stream through.")}}}})
		if s.err != nil {
			t.Fatal(s.err)
		}
		inv := frontRec.byRequestID(t, s.requestID)
		if inv.Provider != "aws" || inv.Usage.OutputTokens != int(*s.usage.OutputTokens) || s.text == "" {
			t.Errorf("record %+v, stream usage %+v", inv, s.usage)
		}
	})

	t.Run("upstream errors keep their Bedrock names", func(t *testing.T) {
		_, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: []byte(`{"anthropic_version":"bedrock-2023-05-31"}`)})
		apiError(t, err, "ValidationException", 400, "Malformed input request")
	})
}
