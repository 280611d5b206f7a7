package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Bedrock serves DeepSeek-R1 and Nova Premier only through inference
// profiles: naming the model itself (ID or foundation-model ARN) in a call
// is refused in Bedrock's words, while its profiles answer and CountTokens
// and GetFoundationModel still take the model ID.
func TestProfileOnlyModels(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	question := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Hello")}}}
	for _, id := range []string{"deepseek.r1-v1:0", "amazon.nova-premier-v1:0"} {
		want := "Invocation of model ID " + id + " with on-demand throughput isn\u2019t supported. " +
			"Retry your request with the ID or ARN of an inference profile that contains this model."
		for _, name := range []string{id, "arn:aws:bedrock:us-east-1::foundation-model/" + id} {
			before := rec.count()
			_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(name), Messages: question})
			apiErrorExact(t, err, "ValidationException", 400, want)
			if rec.count() != before+1 {
				t.Errorf("%s: the refused call was not recorded", name)
			}
		}
		out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us." + id), Messages: question,
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(2000)}})
		if err != nil {
			t.Fatalf("us.%s: %v", id, err)
		}
		if out.Usage == nil || aws.ToInt32(out.Usage.OutputTokens) == 0 {
			t.Errorf("us.%s: no usage", id)
		}
		n, err := client.CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: aws.String(id),
			Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: question}}})
		if err != nil || aws.ToInt32(n.InputTokens) != aws.ToInt32(out.Usage.InputTokens) {
			t.Errorf("CountTokens(%s) = %v, %v; the profile's call billed %d input tokens", id, n, err, aws.ToInt32(out.Usage.InputTokens))
		}
	}
}
