package openai

import (
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
		want string // "" means valid
	}{
		{"empty (OpenAI, no key)", Config{}, ""},
		{"local server", Config{BaseURL: "http://127.0.0.1:11434/v1"}, ""},
		{"key variable", Config{APIKeyEnv: "OPENAI_API_KEY", Headers: map[string]string{"OpenAI-Organization": "org"}}, ""},
		{"key instead of its variable", Config{APIKeyEnv: "sk-proj-SECRET"}, "apiKeyEnv must be the name of an environment variable, such as OPENAI_API_KEY, not the key itself"},
		{"not http", Config{BaseURL: "ftp://example.com"}, `baseURL "ftp://example.com" must be an http or https URL`},
		{"credentials in the URL", Config{BaseURL: "https://user:pw@example.com/v1"}, "baseURL must not carry credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			providertest.CheckValidation(t, tt.c.Validate(), tt.want)
		})
	}
}

func TestConfigProvision(t *testing.T) {
	env := Env{Getenv: func(name string) string { return map[string]string{"MY_OPENAI_KEY": "sk-test"}[name] }}
	c := Config{BaseURL: "http://127.0.0.1:11434/v1/", APIKeyEnv: "MY_OPENAI_KEY", Headers: map[string]string{"OpenAI-Project": "p"}}
	got, err := c.Provision("ollama", env)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*Provider)
	if p.name != "ollama" || p.key != "sk-test" || p.base != "http://127.0.0.1:11434/v1" || p.headers.Get("OpenAI-Project") != "p" {
		t.Errorf("provisioned %+v", p)
	}

	// An unset variable, or no environment at all, means no key: local
	// servers need none.
	for _, env := range []Env{env, {}} {
		got, err := Config{APIKeyEnv: "UNSET_KEY"}.Provision("openai", env)
		if err != nil {
			t.Fatal(err)
		}
		if p := got.(*Provider); p.key != "" || p.base != DefaultBaseURL {
			t.Errorf("key %q base %q", p.key, p.base)
		}
	}

	if _, err := (Config{BaseURL: "nowhere"}).Provision("x", env); err == nil {
		t.Error("an invalid configuration was provisioned")
	}
}
