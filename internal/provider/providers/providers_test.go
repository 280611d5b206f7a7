package providers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/anthropic"
	"github.com/modelwatch/modelwatch/internal/provider/bedrock"
	"github.com/modelwatch/modelwatch/internal/provider/openai"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

func lookup(t *testing.T, name string) Type {
	t.Helper()
	typ, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func TestRegistry(t *testing.T) {
	if got, want := Names(), []string{"simulator", "openai", "anthropic", "bedrock"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for name, retries := range map[string]int{"simulator": 0, "openai": 2, "anthropic": 2, "bedrock": 2} {
		if got := lookup(t, name).DefaultRetries; got != retries {
			t.Errorf("%s: DefaultRetries = %d, want %d", name, got, retries)
		}
	}
	_, err := Lookup("openia")
	if want := `unknown type "openia" (known: simulator, openai, anthropic, bedrock)`; err == nil || err.Error() != want {
		t.Errorf("Lookup(openia) = %v, want %q", err, want)
	}
}

func TestDecode(t *testing.T) {
	s, err := lookup(t, "openai").Decode(map[string]any{"baseURL": "http://127.0.0.1:11434/v1", "apiKeyEnv": "K", "headers": map[string]any{"OpenAI-Project": "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.(openai.Config); c.BaseURL != "http://127.0.0.1:11434/v1" || c.APIKeyEnv != "K" || c.Headers["OpenAI-Project"] != "p" {
		t.Errorf("decoded %+v", c)
	}
	s, err = lookup(t, "bedrock").Decode(map[string]any{"region": "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.(bedrock.Config); c.Region != "us-west-2" {
		t.Errorf("decoded %+v", c)
	}
	s, err = lookup(t, "simulator").Decode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(simulator.Config); !ok {
		t.Errorf("decoded %T", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		keys map[string]any
		want string
	}{
		{"openai", map[string]any{"region": "us-east-1"}, "region is not a setting of type openai (its settings: baseURL, apiKeyEnv, headers, unencryptedHTTP2)"},
		{"bedrock", map[string]any{"apiKeyEnv": "K", "headers": map[string]any{}}, "apiKeyEnv, headers are not settings of type bedrock (its settings: region, baseURL)"},
		{"simulator", map[string]any{"baseURL": "http://x"}, "baseURL is not a setting of type simulator (it has none of its own)"},
		{"openai", map[string]any{"headers": 3}, "headers: cannot unmarshal !!int `3` into map[string]string"},
		{"anthropic", map[string]any{}, "apiKeyEnv must name the environment variable holding the Anthropic API key"},
		{"anthropic", map[string]any{"apiKeyEnv": "K", "baseURL": "ftp://x"}, `baseURL "ftp://x" must be an http or https URL`},
	} {
		_, err := lookup(t, tt.typ).Decode(tt.keys)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s %v: err = %v, want %q", tt.typ, tt.keys, err, tt.want)
		}
	}
}

func TestProvision(t *testing.T) {
	// Bedrock loads the AWS configuration: keep the machine's out of it.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	env := Env{
		Getenv:          func(name string) string { return map[string]string{"ANTHROPIC_KEY": "sk-ant-test"}[name] },
		Region:          "us-east-1",
		SimulatorModels: map[string]simulator.ModelSettings{"acme.m-v1": {}},
	}
	for typ, keys := range map[string]map[string]any{
		"simulator": nil,
		"openai":    {"baseURL": "http://127.0.0.1:11434/v1"},
		"anthropic": {"apiKeyEnv": "ANTHROPIC_KEY"},
		"bedrock":   {"region": "us-west-2", "baseURL": "http://127.0.0.1:9"},
	} {
		p, err := lookup(t, typ).Provision(t.Context(), "p-"+typ, keys, env)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		var ok bool
		switch typ {
		case "simulator":
			_, ok = p.(*simulator.Simulator)
		case "openai":
			_, ok = p.(*openai.Provider)
		case "anthropic":
			_, ok = p.(*anthropic.Provider)
		case "bedrock":
			_, ok = p.(*bedrock.Provider)
		}
		if !ok {
			t.Errorf("%s: provisioned a %T", typ, p)
		}
	}

	_, err := lookup(t, "anthropic").Provision(t.Context(), "claude", map[string]any{"apiKeyEnv": "UNSET"}, env)
	if err == nil || !strings.Contains(err.Error(), "UNSET named by apiKeyEnv is not set") {
		t.Errorf("err = %v", err)
	}
	_, err = lookup(t, "openai").Provision(t.Context(), "oa", map[string]any{"region": "x"}, env)
	if err == nil || !strings.Contains(err.Error(), "region is not a setting of type openai") {
		t.Errorf("err = %v", err)
	}
}
