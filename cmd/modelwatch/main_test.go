package main_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// TestServeOnDefaults builds the real binary, runs `modelwatch serve` on the
// embedded defaults (only the port and data directory differ, through the
// MODELWATCH_* environment), calls it with the unmodified SDK, and stops it
// with SIGTERM.
func TestServeOnDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "modelwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "MODELWATCH_LISTEN=127.0.0.1:0", "MODELWATCH_DATA_DIR="+dataDir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var url string
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	timeout := time.After(30 * time.Second)
	for url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before it was ready")
			}
			if m := urlRE.FindStringSubmatch(l); m != nil {
				url = m[1]
			}
		case <-timeout:
			t.Fatal("serve did not report its URL")
		}
	}
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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; log:\n%s", err, strings.Join(rest, "\n"))
	}
	if !strings.Contains(strings.Join(rest, "\n"), "modelwatch stopped") {
		t.Errorf("no clean stop in the log:\n%s", strings.Join(rest, "\n"))
	}
}
