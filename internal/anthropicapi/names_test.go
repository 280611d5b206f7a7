package anthropicapi

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/catalog"
)

func TestAnthropicNamesResolveToTheCatalogsClaudeModels(t *testing.T) {
	models := []*catalog.Model{
		{ID: "anthropic.claude-3-5-haiku-20241022-v1:0", Provider: "p"},
		{ID: "anthropic.claude-3-5-sonnet-20240620-v1:0", Provider: "p"},
		{ID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Provider: "p"},
		{ID: "amazon.nova-lite-v1:0", Provider: "p", Aliases: []string{"nova"}},
	}
	cat, err := catalog.New("us-east-1", "000000000000", models)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, want string
		ok         bool
	}{
		{"claude-3-5-haiku-20241022", "anthropic.claude-3-5-haiku-20241022-v1:0", true},
		{"claude-3-5-sonnet", "anthropic.claude-3-5-sonnet-20241022-v2:0", true}, // undated: the newest
		{"claude-3-5-sonnet-20240620", "anthropic.claude-3-5-sonnet-20240620-v1:0", true},
		{"claude-3-5-haiku-20241022[1m]", "anthropic.claude-3-5-haiku-20241022-v1:0", true}, // Claude Code's 1M marker
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0", true},
		{"us.anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0", true},
		{"nova", "nova", true},
		{"claude-3-5", "", false}, // a prefix of a name is not a name
		{"claude-opus-5-5", "", false},
		{"gpt-5", "", false},
	} {
		got, ok := newModelNames(cat).resolve(cat, tt.name)
		if !ok {
			got = ""
		}
		if got != tt.want || ok != tt.ok {
			t.Errorf("resolve(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
