// Command bedrock-sdk calls modelwatch with the unmodified AWS SDK for Go v2:
// the only modelwatch-specific line is the endpoint override.
//
//	go run ./cmd/modelwatch serve &
//	go run ./examples/bedrock-sdk
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		// On loopback with no principals configured, any credentials work;
		// with principals, use a configured access key pair.
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")),
	)
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:4600")
	})

	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
		System:  []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are terse."}},
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "What does modelwatch record?"}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(200)},
	})
	if err != nil {
		log.Fatal(err)
	}
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	fmt.Println(msg.Content[0].(*types.ContentBlockMemberText).Value)
	fmt.Printf("stop=%s input=%d output=%d tokens\n", out.StopReason, *out.Usage.InputTokens, *out.Usage.OutputTokens)
}
