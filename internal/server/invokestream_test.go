package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// invokeStream runs an InvokeModelWithResponseStream call to its end and
// returns the decoded chunks and the error that ended the stream.
func invokeStream(t *testing.T, client *bedrockruntime.Client, model, body string) (id string, chunks []map[string]any, raw []json.RawMessage, err error) {
	t.Helper()
	out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(model), Body: []byte(body), ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
	if err != nil {
		return "", nil, nil, err
	}
	id = requestID(t, out.ResultMetadata)
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		c, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			t.Fatalf("unexpected event %T", ev)
		}
		var m map[string]any
		if err := json.Unmarshal(c.Value.Bytes, &m); err != nil {
			t.Fatalf("chunk %q is not JSON: %v", c.Value.Bytes, err)
		}
		chunks = append(chunks, m)
		raw = append(raw, c.Value.Bytes)
	}
	return id, chunks, raw, st.Err()
}

func TestInvokeModelWithResponseStreamEveryFamily(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	bodies := map[string]string{
		haiku:                              `{"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"system":"Be brief.","messages":[{"role":"user","content":"Name three colours."}]}`,
		"amazon.titan-text-express-v1":     `{"inputText":"Write a haiku about logs.","textGenerationConfig":{"maxTokenCount":100,"temperature":0.2}}`,
		"amazon.nova-lite-v1:0":            `{"schemaVersion":"messages-v1","system":[{"text":"Be brief."}],"messages":[{"role":"user","content":[{"text":"Hello there"}]}],"inferenceConfig":{"maxTokens":100}}`,
		"meta.llama3-8b-instruct-v1:0":     "{\"prompt\":\"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\nWhat is Go?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n\",\"max_gen_len\":128}",
		"mistral.mistral-7b-instruct-v0:2": `{"prompt":"<s>[INST] Explain channels in one sentence. [/INST]","max_tokens":100}`,
	}
	for model, body := range bodies {
		t.Run(model, func(t *testing.T) {
			// The same body through InvokeModel gives the reference counts.
			ref, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: []byte(body), ContentType: aws.String("application/json")})
			if err != nil {
				t.Fatal(err)
			}
			wantIn, _ := strconv.Atoi(rawHeader(t, ref.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
			wantOut, _ := strconv.Atoi(rawHeader(t, ref.ResultMetadata, "X-Amzn-Bedrock-Output-Token-Count"))

			id, chunks, raw, err := invokeStream(t, client, model, body)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) == 0 {
				t.Fatalf("%d chunks", len(chunks))
			}
			for _, c := range chunks[:len(chunks)-1] {
				if _, ok := c["amazon-bedrock-invocationMetrics"]; ok {
					t.Errorf("invocation metrics on a chunk that is not the last: %v", c)
				}
			}
			m, ok := chunks[len(chunks)-1]["amazon-bedrock-invocationMetrics"].(map[string]any)
			if !ok {
				t.Fatalf("last chunk lacks amazon-bedrock-invocationMetrics: %v", chunks[len(chunks)-1])
			}
			if int(m["inputTokenCount"].(float64)) != wantIn || int(m["outputTokenCount"].(float64)) != wantOut {
				t.Errorf("stream metrics %v, InvokeModel headers in=%d out=%d", m, wantIn, wantOut)
			}
			for _, k := range []string{"invocationLatency", "firstByteLatency"} {
				if _, ok := m[k].(float64); !ok {
					t.Errorf("metrics lack %s: %v", k, m)
				}
			}
			inv := rec.byRequestID(t, id)
			if inv.Operation != invocation.InvokeModelWithResponseStream || inv.Usage.InputTokens != wantIn || inv.Usage.OutputTokens != wantOut || !inv.Streamed {
				t.Errorf("invocation %+v", inv)
			}
			// The record's output is the JSON array of the decoded chunks.
			var logged []json.RawMessage
			if err := json.Unmarshal(inv.Output.Data, &logged); err != nil || len(logged) != len(raw) {
				t.Fatalf("output %s is not the array of %d chunks: %v", inv.Output.Data, len(raw), err)
			}
			for i := range raw {
				if string(logged[i]) != string(raw[i]) {
					t.Errorf("logged chunk %d %s, sent %s", i, logged[i], raw[i])
				}
			}
		})
	}

	t.Run("embedding model", func(t *testing.T) {
		_, _, _, err := invokeStream(t, client, "amazon.titan-embed-text-v2:0", `{"inputText":"vector me"}`)
		apiError(t, err, "ValidationException", 400, "streaming")
	})
	t.Run("fails midway", func(t *testing.T) {
		_, chunks, _, err := invokeStream(t, client, modelStreamFail, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"messages":[{"role":"user","content":"Hi"}]}`)
		var mse *types.ModelStreamErrorException
		if !errors.As(err, &mse) || len(chunks) == 0 {
			t.Fatalf("err %v after %d chunks, want ModelStreamErrorException after some", err, len(chunks))
		}
	})
}
