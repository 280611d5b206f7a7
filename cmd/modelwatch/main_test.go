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
	cmd, url, lines := startServe(t, bin, "MODELWATCH_LISTEN=127.0.0.1:0", "MODELWATCH_DATA_DIR="+dataDir)
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
	for _, l := range lines.rest() {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; log:\n%s", err, strings.Join(rest, "\n"))
	}
	if !strings.Contains(strings.Join(rest, "\n"), "modelwatch stopped") {
		t.Errorf("no clean stop in the log:\n%s", strings.Join(rest, "\n"))
	}
}

// buildBinary builds cmd/modelwatch once per test run.
func buildBinary(t *testing.T) string { return cmdtest.Binary(t) }

// serveLog collects a running server's log lines.
type serveLog struct {
	lines chan string
	// startup holds the lines logged until the server was ready.
	startup []string
}

// rest waits for the process to close its stderr and returns the remaining lines.
func (l serveLog) rest() []string {
	var out []string
	for line := range l.lines {
		out = append(out, line)
	}
	return out
}

// startServe runs `modelwatch serve` with env added to the environment and
// waits for it to report its URL. The process is killed at cleanup.
func startServe(t *testing.T, bin string, env ...string) (*exec.Cmd, string, serveLog) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 10000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // a test that stopped reading must not block the server
			}
		}
		close(lines)
	}()
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	timeout := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before it was ready:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if m := urlRE.FindStringSubmatch(l); m != nil {
				return cmd, m[1], serveLog{lines: lines, startup: seen}
			}
		case <-timeout:
			t.Fatalf("serve did not report its URL:\n%s", strings.Join(seen, "\n"))
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}
