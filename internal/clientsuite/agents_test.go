//go:build unix

package clientsuite_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/clientsuite"
	"github.com/modelwatch/modelwatch/internal/cmdtest"
)

// agentTimeout bounds one agent's run: each finishes in about two seconds.
const agentTimeout = 2 * time.Minute

// The catalog models the agents use, under the names each one sends:
// Anthropic's for Claude Code (its own default, claude-opus-5-5, is a model
// no catalog knows, so the test names Haiku 4.5 as a user would), the catalog
// ID for Codex. On Bedrock Claude Code runs with its defaults: it probes its
// preferred models newest first with one-token InvokeModel calls and talks
// to the newest one the catalog serves, through the us. profile (Opus 4.5,
// with extended thinking and the tool-search beta's deferred tools).
const (
	agentModelAnthropic      = "claude-haiku-4-5-20251001"
	agentModelBedrockDefault = "us.anthropic.claude-opus-4-5-20251101-v1:0"
	agentModelCatalog        = "anthropic.claude-haiku-4-5-20251001-v1:0"
)

// TestCodingAgentsFinishAOneLineTask runs Claude Code (through the
// Anthropic Messages API, and through Bedrock's InvokeModel) and Codex CLI
// (through the Responses API) against a fresh `modelwatch serve`, each
// unmodified from npm, with only what points it at modelwatch and keeps it
// off the network: the base URL, an API key, the model. Each must finish
// its task (exit 0, an answer), and the invocation records of its calls
// must add up to exactly the usage the agent itself reports.
func TestCodingAgentsFinishAOneLineTask(t *testing.T) {
	agents := clientsuite.Agents(t)
	bin := cmdtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), passTimeout)
	defer cancel()
	id := newIdentities(t)
	srv := startServer(ctx, t, bin, id, false, testPKI{})
	srv.enableLogging(ctx, t, id)

	t.Run("Claude Code on the Messages API", func(t *testing.T) {
		before := srv.records(ctx, t, id)
		out := runAgent(ctx, t, filepath.Join(agents, "claude"), []string{"-p", "Reply with the word hello", "--output-format", "stream-json", "--verbose"},
			"ANTHROPIC_BASE_URL="+srv.url,
			"ANTHROPIC_API_KEY="+id.apiKey,
			"ANTHROPIC_MODEL="+agentModelAnthropic,
			// Claude Code's telemetry and start-up checks would leave
			// this machine.
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
		recs := newRecords(before, srv.records(ctx, t, id))
		checkClaudeCode(t, srv, out, recs, "Messages", agentModelAnthropic)
	})

	t.Run("Claude Code on Bedrock", func(t *testing.T) {
		before := srv.records(ctx, t, id)
		out := runAgent(ctx, t, filepath.Join(agents, "claude"), []string{"-p", "Reply with the word hello", "--output-format", "stream-json", "--verbose"},
			"CLAUDE_CODE_USE_BEDROCK=1",
			"ANTHROPIC_BEDROCK_BASE_URL="+srv.url,
			"AWS_REGION="+region,
			// A Bedrock API key, sent as Authorization: Bearer.
			"AWS_BEARER_TOKEN_BEDROCK="+id.apiKey,
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
		recs := newRecords(before, srv.records(ctx, t, id))
		checkClaudeCode(t, srv, out, recs, "InvokeModelWithResponseStream", agentModelBedrockDefault)
	})

	t.Run("Codex CLI on the Responses API", func(t *testing.T) {
		home := t.TempDir()
		config := fmt.Sprintf(`model_provider = "modelwatch"
model = %q
# Codex's own online features, which would leave this machine.
web_search = "disabled"
check_for_update_on_startup = false
[analytics]
enabled = false
[otel]
exporter = "none"
[features]
plugins = false

[model_providers.modelwatch]
name = "modelwatch"
base_url = "%s/v1"
env_key = "MODELWATCH_API_KEY"
wire_api = "responses"
`, agentModelCatalog, srv.url)
		if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		before := srv.records(ctx, t, id)
		out := runAgent(ctx, t, filepath.Join(agents, "codex"), []string{"exec", "--json", "--skip-git-repo-check", "Reply with the word hello"},
			"CODEX_HOME="+home, "MODELWATCH_API_KEY="+id.apiKey)
		recs := newRecords(before, srv.records(ctx, t, id))
		checkCodex(t, out, recs)
	})
}

// runAgent runs an agent in a fresh home and work directory with stdin
// closed (as in a script), and returns its standard output. It fails the
// test unless the agent exits 0.
func runAgent(ctx context.Context, t *testing.T, command string, args []string, env ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	home, work := t.TempDir(), t.TempDir()
	cmd := exec.CommandContext(ctx, command, args...)
	cmd.Dir = work
	cmd.Env = append(clientsuite.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v after %s\nstdout:\n%s\nstderr:\n%s", filepath.Base(command), strings.Join(args, " "), err,
			time.Since(start).Round(time.Millisecond), tail(stdout.String(), 4000), tail(stderr.String(), 4000))
	}
	t.Logf("%s finished in %s", filepath.Base(command), time.Since(start).Round(time.Millisecond))
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// agentRecord is what the agents' tests read of an invocation record.
type agentRecord struct {
	RequestID string `json:"requestId"`
	Operation string `json:"operation"`
	ModelID   string `json:"modelId"`
	ErrorCode string `json:"errorCode"`
	Identity  struct {
		ARN string `json:"arn"`
	} `json:"identity"`
	Input struct {
		InputTokenCount           int `json:"inputTokenCount"`
		CacheReadInputTokenCount  int `json:"cacheReadInputTokenCount"`
		CacheWriteInputTokenCount int `json:"cacheWriteInputTokenCount"`
	} `json:"input"`
	Output struct {
		OutputBodyJSON   json.RawMessage `json:"outputBodyJson"`
		OutputBodyS3Path string          `json:"outputBodyS3Path"`
		OutputTokenCount int             `json:"outputTokenCount"`
	} `json:"output"`
}

// records returns the server's recent invocation records, newest first.
func (s *server) records(ctx context.Context, t *testing.T, id identities) []agentRecord {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/invocations?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+id.apiKey)
	res, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/invocations: %s: %s", res.Status, body)
	}
	var list struct {
		Logging     bool          `json:"logging"`
		Invocations []agentRecord `json:"invocations"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if !list.Logging {
		t.Fatal("invocation logging is off")
	}
	return list.Invocations
}

// newRecords returns the records of after that before does not hold,
// oldest first.
func newRecords(before, after []agentRecord) []agentRecord {
	seen := map[string]bool{}
	for _, r := range before {
		seen[r.RequestID] = true
	}
	var out []agentRecord
	for i := len(after) - 1; i >= 0; i-- {
		if !seen[after[i].RequestID] {
			out = append(out, after[i])
		}
	}
	return out
}

// checkClaudeCode reads Claude Code's stream-json output: its final result
// must be a success whose usage equals the sum of the records of its calls,
// and whose answer is the last call's recorded output.
func checkClaudeCode(t *testing.T, srv *server, out []byte, recs []agentRecord, operation, model string) {
	t.Helper()
	type usage struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	}
	var result struct {
		Type    string `json:"type"`
		IsError bool   `json:"is_error"`
		Result  string `json:"result"`
		NumTurn int    `json:"num_turns"`
		Usage   usage  `json:"usage"`
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Type == "result" {
			if err := json.Unmarshal(sc.Bytes(), &result); err != nil {
				t.Fatal(err)
			}
		}
	}
	if result.Type != "result" || result.IsError || result.Result == "" {
		t.Fatalf("Claude Code's result: %+v\noutput:\n%s", result, tail(string(out), 4000))
	}
	if len(recs) == 0 {
		t.Fatal("no invocation record of Claude Code's calls")
	}
	// On Bedrock, Claude Code first probes which models it may use with
	// one-token InvokeModel calls (ValidationException for the models the
	// catalog lacks); its conversation is the streamed calls.
	var probes []agentRecord
	var calls []agentRecord
	for _, r := range recs {
		if operation == "InvokeModelWithResponseStream" && r.Operation == "InvokeModel" {
			probes = append(probes, r)
			if r.ErrorCode != "" && r.ErrorCode != "ValidationException" {
				t.Errorf("probe %s of %s failed with %s", r.RequestID, r.ModelID, r.ErrorCode)
			}
			continue
		}
		calls = append(calls, r)
	}
	if len(calls) == 0 {
		t.Fatalf("no invocation record of Claude Code's %s calls", operation)
	}
	recs = calls
	var sum usage
	for _, r := range recs {
		if r.Operation != operation || r.ModelID != model || r.ErrorCode != "" || r.Identity.ARN != "arn:aws:iam::"+accountID+":user/js-bearer" {
			t.Errorf("record %s: operation %s, model %s, error %q, caller %s; want %s, %s, none, js-bearer", r.RequestID, r.Operation, r.ModelID, r.ErrorCode, r.Identity.ARN, operation, model)
		}
		sum.InputTokens += r.Input.InputTokenCount
		sum.CacheReadInputTokens += r.Input.CacheReadInputTokenCount
		sum.CacheCreationInputTokens += r.Input.CacheWriteInputTokenCount
		sum.OutputTokens += r.Output.OutputTokenCount
	}
	if sum != result.Usage {
		t.Errorf("Claude Code reports usage %+v; its %d records add up to %+v", result.Usage, len(recs), sum)
	}
	last := recs[len(recs)-1]
	output := last.Output.OutputBodyJSON
	if len(output) == 0 {
		// The dashboard's list of recent calls keeps bodies up to 256 KiB;
		// a long conversation with extended thinking is larger, and its
		// full record is in the delivered logs.
		output = srv.deliveredRecord(t, last.RequestID).Output.OutputBodyJSON
	}
	if text := recordedText(t, output); strings.TrimSpace(text) != strings.TrimSpace(result.Result) {
		t.Errorf("Claude Code answered %q; the last record's output says %q", result.Result, text)
	}
	t.Logf("Claude Code: %d calls (%s), %d model probes, usage %+v", len(recs), operation, len(probes), sum)
}

// recordedText is the text of a recorded Messages answer: a message, or
// (InvokeModelWithResponseStream) the list of its stream's chunks.
func recordedText(t *testing.T, body json.RawMessage) string {
	t.Helper()
	type block struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	var text strings.Builder
	var chunks []struct {
		Type  string `json:"type"`
		Delta block  `json:"delta"`
	}
	if json.Unmarshal(body, &chunks) == nil {
		for _, c := range chunks {
			if c.Type == "content_block_delta" && c.Delta.Type == "text_delta" {
				text.WriteString(c.Delta.Text)
			}
		}
		return text.String()
	}
	var msg struct {
		Content []block `json:"content"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("recorded output: %v: %s", err, body)
	}
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	return text.String()
}

// checkCodex reads Codex's JSONL events: the turn must complete with usage
// equal to the sum of its records, and its last message must be the last
// call's recorded output text.
func checkCodex(t *testing.T, out []byte, recs []agentRecord) {
	t.Helper()
	var (
		usage struct {
			InputTokens       int `json:"input_tokens"`
			CachedInputTokens int `json:"cached_input_tokens"`
			OutputTokens      int `json:"output_tokens"`
		}
		completed bool
		message   string
	)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
			Item struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"item"`
			Usage json.RawMessage `json:"usage"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch {
		case ev.Type == "turn.completed":
			completed = true
			if err := json.Unmarshal(ev.Usage, &usage); err != nil {
				t.Fatal(err)
			}
		case ev.Type == "turn.failed":
			t.Fatalf("Codex's turn failed: %s", sc.Bytes())
		case ev.Type == "item.completed" && ev.Item.Type == "agent_message":
			message = ev.Item.Text
		}
	}
	if !completed || message == "" {
		t.Fatalf("Codex did not complete its turn with a message:\n%s", tail(string(out), 4000))
	}
	if len(recs) == 0 {
		t.Fatal("no invocation record of Codex's calls")
	}
	var in, cached, outTokens int
	for _, r := range recs {
		if r.Operation != "Responses" || r.ModelID != agentModelCatalog || r.ErrorCode != "" {
			t.Errorf("record %s: operation %s, model %s, error %q; want Responses, %s, none", r.RequestID, r.Operation, r.ModelID, r.ErrorCode, agentModelCatalog)
		}
		// The Responses API's input_tokens include the cached ones.
		in += r.Input.InputTokenCount + r.Input.CacheReadInputTokenCount + r.Input.CacheWriteInputTokenCount
		cached += r.Input.CacheReadInputTokenCount
		outTokens += r.Output.OutputTokenCount
	}
	if in != usage.InputTokens || cached != usage.CachedInputTokens || outTokens != usage.OutputTokens {
		t.Errorf("Codex reports input %d (cached %d), output %d; its %d records add up to input %d (cached %d), output %d",
			usage.InputTokens, usage.CachedInputTokens, usage.OutputTokens, len(recs), in, cached, outTokens)
	}
	var last struct {
		Output []struct {
			Type    string `json:"type"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
	}
	if err := json.Unmarshal(recs[len(recs)-1].Output.OutputBodyJSON, &last); err != nil {
		t.Fatalf("last record's output: %v", err)
	}
	var text strings.Builder
	for _, item := range last.Output {
		for _, c := range item.Content {
			if c.Type == "output_text" {
				text.WriteString(c.Text)
			}
		}
	}
	if strings.TrimSpace(text.String()) != strings.TrimSpace(message) {
		t.Errorf("Codex answered %q; the last record's output says %q", message, text.String())
	}
	t.Logf("Codex: %d calls, input %d (cached %d), output %d", len(recs), in, cached, outTokens)
}

// deliveredRecord waits (up to 30 s: logs are delivered every 5 s) for the
// record of the request ID in the invocation logs delivered to the local
// bucket (<dataDir>/s3/<bucket>/, store auto without S3 credentials).
func (s *server) deliveredRecord(t *testing.T, requestID string) agentRecord {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found *agentRecord
		bucket := filepath.Join(s.dataDir, "s3", logBucket)
		_ = filepath.WalkDir(bucket, func(path string, d os.DirEntry, err error) error {
			// Batches only: not the large bodies under data/.
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") || strings.Contains(strings.TrimPrefix(path, bucket), "/data/") || found != nil {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return nil
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				if !bytes.Contains(sc.Bytes(), []byte(requestID)) {
					continue
				}
				var r agentRecord
				if json.Unmarshal(sc.Bytes(), &r) == nil && r.RequestID == requestID {
					found = &r
					return nil
				}
			}
			return nil
		})
		if found != nil {
			if p := found.Output.OutputBodyS3Path; p != "" {
				// Over 100 KB: the body is its own object under data/.
				found.Output.OutputBodyJSON = s.readBody(t, p)
			}
			return *found
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record of %s was not delivered to %s within 30s", requestID, filepath.Join(s.dataDir, "s3", logBucket))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// readBody reads a body logging wrote to its own object (s3://bucket/key,
// gzipped JSON) in the local bucket directory.
func (s *server) readBody(t *testing.T, s3Path string) json.RawMessage {
	t.Helper()
	bucketKey, ok := strings.CutPrefix(s3Path, "s3://")
	if !ok {
		t.Fatalf("body path %q is not an s3:// URI", s3Path)
	}
	f, err := os.Open(filepath.Join(s.dataDir, "s3", filepath.FromSlash(bucketKey)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
