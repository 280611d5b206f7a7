package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// readmeQueryCommands returns the shell commands of README.md's code
// blocks that call the query API, continuation lines joined, comments
// left out.
func readmeQueryCommands(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	inBlock := false
	cur := ""
	for line := range strings.Lines(string(readme)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock && strings.HasPrefix(line, "```sh")
			continue
		case !inBlock || strings.HasPrefix(strings.TrimSpace(line), "#"):
			continue
		}
		if body, more := strings.CutSuffix(line, `\`); more {
			cur += body
			continue
		}
		cmd := cur + line
		cur = ""
		if strings.Contains(cmd, "/api/v1/") {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

// TestREADMEQueryExamplesRunAsWritten runs every query API example of
// README.md with bash and curl, as a reader pastes them (only the address
// is the test server's), after known calls: each answers success with
// data, and the two "calls per model" forms count the calls exactly.
func TestREADMEQueryExamplesRunAsWritten(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed and CI is set")
		}
		t.Skip("curl is not installed")
	}
	cmds := readmeQueryCommands(t)
	if len(cmds) < 6 {
		t.Fatalf("found %d query API examples in README.md, want the 6 of \"History and the query API\": %q", len(cmds), cmds)
	}
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	for i := range 5 {
		if _, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text(fmt.Sprintf("README question %d", i))}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A reader pastes one command at a time, each in a later second than
	// what came before it (the range example ends at `date +%s`, a whole
	// second: a test could otherwise run it within the second of the
	// previous query's sample, which its end would precede).
	nextSecond := func() {
		after := time.Now()
		for !time.Now().Truncate(time.Second).After(after) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, cmd := range cmds {
		nextSecond()
		cmd = strings.ReplaceAll(cmd, "http://127.0.0.1:4600", srv.URL())
		out, err := exec.Command(bash, "-c", cmd).Output()
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
			continue
		}
		var body struct {
			Status string          `json:"status"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out, &body); err != nil || body.Status != "success" {
			t.Errorf("%s\nanswered %s", cmd, out)
			continue
		}
		data := string(body.Data)
		if data == "[]" || strings.Contains(data, `"result":[]`) {
			t.Errorf("%s\nanswered no data: %s", cmd, out)
		}
		// The two "calls" examples count the 5 calls exactly.
		if (strings.Contains(cmd, "increase(bedrock_invocations_total[15d])") || strings.Contains(cmd, "query=sum(bedrock_invocations_total)")) &&
			!strings.HasSuffix(data, `,"5"]}]}`) {
			t.Errorf("%s\ndoes not count exactly the 5 calls: %s", cmd, out)
		}
	}
}
