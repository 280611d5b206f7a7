package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/cmdtest"
)

// TestServeOnDefaults builds the real binary, runs `modelwatch serve` on the
// embedded defaults (only the port and data directory differ, through the
// MODELWATCH_* environment), calls it with the unmodified SDK, and stops it
// with SIGTERM.
func TestServeOnDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := cmdtest.Serve(t, bin, nil, "MODELWATCH_LISTEN=127.0.0.1:0", "MODELWATCH_DATA_DIR="+dataDir)
	url := srv.URL
	if _, err := os.Stat(dataDir); err != nil {
		t.Errorf("data dir not created: %v", err)
	}

	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	ctx := context.Background()
	inv, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String("amazon.titan-text-express-v1"),
		Body:    []byte(`{"inputText":"Hello","textGenerationConfig":{"maxTokenCount":20}}`),
	})
	if err != nil || !strings.Contains(string(inv.Body), `"results"`) {
		t.Fatalf("InvokeModel: %v %s", err, inv.Body)
	}
	conv, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId:  aws.String("us.anthropic.claude-3-haiku-20240307-v1:0"),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}},
	})
	if err != nil || *conv.Usage.OutputTokens == 0 {
		t.Fatalf("Converse: %v", err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; log:\n%s", err, srv.Log())
	}
	if !strings.Contains(srv.Log(), "modelwatch stopped") {
		t.Errorf("no clean stop in the log:\n%s", srv.Log())
	}
}

// buildBinary builds cmd/modelwatch once per test run.
func buildBinary(t *testing.T) string { return cmdtest.Binary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}
