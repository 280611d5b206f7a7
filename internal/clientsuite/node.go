package clientsuite

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Node finds node and the installed JavaScript clients of tools/clients
// (`npm ci --prefix tools/clients`), for any test that runs them: it
// returns node's path and the clients' directory, or skips the test saying
// what is missing, or fails it when the CI environment variable is set.
func Node(t testing.TB) (node, clients string) {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("clientsuite: cannot locate the module")
	}
	clients = filepath.Join(filepath.Dir(self), "..", "..", "tools", "clients")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not on PATH: install Node.js 20 or newer, then run `npm ci --prefix tools/clients`"
	default:
		if _, err := os.Stat(filepath.Join(clients, "node_modules", ".package-lock.json")); err != nil {
			missing = "the JavaScript clients are not installed: run `npm ci --prefix tools/clients` (.ci/run does)"
		}
	}
	if missing == "" {
		return node, clients
	}
	if os.Getenv("CI") != "" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return "", ""
}

// Agents finds the coding agents of tools/agents (`npm ci --prefix
// tools/agents`): it returns the directory holding their commands (claude,
// codex), or skips the test saying what is missing, or fails it when the
// CI environment variable is set.
func Agents(t testing.TB) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("clientsuite: cannot locate the module")
	}
	bin := filepath.Join(filepath.Dir(self), "..", "..", "tools", "agents", "node_modules", ".bin")
	for _, name := range []string{"claude", "codex"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			missing := "the coding agents are not installed: run `npm ci --prefix tools/agents` (.ci/run does)"
			if os.Getenv("CI") != "" {
				t.Fatal(missing)
			}
			t.Skip(missing)
		}
	}
	return bin
}

// Environ is this process's environment without what would change how the
// server or the clients behave: AWS settings and credentials, Anthropic and
// OpenAI keys, Claude Code's and Codex's settings, MODELWATCH_* overrides, Node options, the suite's own names.
func Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "AWS_"), strings.HasPrefix(name, "MODELWATCH_"), strings.HasPrefix(name, "MW_"),
			strings.HasPrefix(name, "ANTHROPIC_"), strings.HasPrefix(name, "OPENAI_"),
			strings.HasPrefix(name, "CLAUDE_"), strings.HasPrefix(name, "CODEX_"),
			name == "NODE_OPTIONS", name == "NODE_EXTRA_CA_CERTS":
			continue
		}
		out = append(out, kv)
	}
	return out
}
