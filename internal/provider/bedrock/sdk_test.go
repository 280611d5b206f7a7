package bedrock

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// The tests in this file hold the provider and the fixtures against the
// AWS SDK's own bedrockruntime client: the client must send what the
// provider sends (paths, signatures), and must read every fixture as it
// reads Bedrock, which shows the fixtures are Bedrock's wire format and
// not merely what this package expects.

func sdkClient(url string) *bedrockruntime.Client {
	return bedrockruntime.NewFromConfig(aws.Config{
		Region:       testRegion,
		Credentials:  testCredentials(),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}

func sdkMessages() []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "What is the capital of France?"}}}}
}

func TestPathEscapingMatchesSDK(t *testing.T) {
	models := []string{
		"anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
		"arn:aws:bedrock:us-west-2:123456789012:provisioned-model/abc123 (test)+x",
	}
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}`))
	}))
	defer srv.Close()
	client := sdkClient(srv.URL)
	p := newTestProvider(t, srv.URL)
	for _, m := range models {
		mu.Lock()
		got = nil
		mu.Unlock()
		if _, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(m), Messages: sdkMessages()}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Converse(t.Context(), provider.Call{UpstreamModel: m}, chatRequest()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 2 || got[0] != got[1] {
			t.Errorf("%s: SDK path vs provider path: %q", m, got)
		}
		mu.Unlock()
	}
}

func TestFixturesReadBySDK(t *testing.T) {
	t.Run("converse", func(t *testing.T) {
		ex := loadExchange(t, "converse")
		rs := newReplay(t, ex)
		out, err := sdkClient(rs.srv.URL).Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(ex.Model), Messages: sdkMessages()})
		if err != nil {
			t.Fatal(err)
		}
		msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
		if !ok || out.StopReason != types.StopReasonEndTurn || aws.ToInt32(out.Usage.TotalTokens) != 24 {
			t.Fatalf("SDK read %+v", out)
		}
		if text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText); !ok || text.Value != "The capital of France is Paris." {
			t.Errorf("SDK read content %+v", msg.Value.Content)
		}
	})

	t.Run("converse stream", func(t *testing.T) {
		ex := loadExchange(t, "converse_stream")
		rs := newReplay(t, ex)
		out, err := sdkClient(rs.srv.URL).ConverseStream(t.Context(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(ex.Model), Messages: sdkMessages()})
		if err != nil {
			t.Fatal(err)
		}
		stream := out.GetStream()
		defer stream.Close()
		var n int
		var last types.ConverseStreamOutput
		for ev := range stream.Events() {
			if _, unknown := ev.(*types.UnknownUnionMember); unknown {
				t.Errorf("SDK does not know event %d", n)
			}
			n++
			last = ev
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		md, ok := last.(*types.ConverseStreamOutputMemberMetadata)
		if n != len(ex.Response.Frames) || !ok || aws.ToInt32(md.Value.Usage.OutputTokens) != 58 {
			t.Errorf("SDK read %d events ending with %T", n, last)
		}
	})

	t.Run("converse stream model error", func(t *testing.T) {
		ex := loadExchange(t, "converse_stream_model_error")
		rs := newReplay(t, ex)
		out, err := sdkClient(rs.srv.URL).ConverseStream(t.Context(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(ex.Model), Messages: sdkMessages()})
		if err != nil {
			t.Fatal(err)
		}
		stream := out.GetStream()
		defer stream.Close()
		for range stream.Events() {
		}
		var mse *types.ModelStreamErrorException
		if !errors.As(stream.Err(), &mse) || aws.ToInt32(mse.OriginalStatusCode) != 400 {
			t.Errorf("SDK stream error = %v", stream.Err())
		}
	})

	t.Run("invoke", func(t *testing.T) {
		ex := loadExchange(t, "invoke_anthropic")
		rs := newReplay(t, ex)
		out, err := sdkClient(rs.srv.URL).InvokeModel(t.Context(), &bedrockruntime.InvokeModelInput{
			ModelId: aws.String(ex.Model), Body: []byte(ex.Request.Body),
			ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
			Trace: types.TraceEnabled, PerformanceConfigLatency: types.PerformanceConfigLatencyStandard,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Body, compact(t, ex.Response.Body)) {
			t.Errorf("SDK read body %s", out.Body)
		}
	})

	t.Run("invoke stream", func(t *testing.T) {
		ex := loadExchange(t, "invoke_stream_anthropic")
		rs := newReplay(t, ex)
		out, err := sdkClient(rs.srv.URL).InvokeModelWithResponseStream(t.Context(), &bedrockruntime.InvokeModelWithResponseStreamInput{
			ModelId: aws.String(ex.Model), Body: []byte(ex.Request.Body),
			ContentType: aws.String("application/json"), Accept: aws.String("*/*"),
		})
		if err != nil {
			t.Fatal(err)
		}
		stream := out.GetStream()
		defer stream.Close()
		var chunks [][]byte
		for ev := range stream.Events() {
			if c, ok := ev.(*types.ResponseStreamMemberChunk); ok {
				chunks = append(chunks, c.Value.Bytes)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(chunks) != len(ex.Response.Frames) || !bytes.Equal(chunks[0], compact(t, ex.Response.Frames[0].Chunk)) {
			t.Errorf("SDK read %d chunks", len(chunks))
		}
	})

	t.Run("throttling", func(t *testing.T) {
		ex := loadExchange(t, "throttling")
		rs := newReplay(t, ex)
		_, err := sdkClient(rs.srv.URL).Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(ex.Model), Messages: sdkMessages()})
		var te *types.ThrottlingException
		if !errors.As(err, &te) || te.ErrorMessage() != "Too many requests, please wait before trying again." {
			t.Errorf("SDK error = %v", err)
		}
	})
}
