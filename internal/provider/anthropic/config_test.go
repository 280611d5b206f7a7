package anthropic

import (
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
		want string // "" means valid
	}{
		{"key variable", Config{APIKeyEnv: "ANTHROPIC_API_KEY"}, ""},
		{"everything", Config{APIKeyEnv: "K", BaseURL: "https://proxy.example.com", Headers: map[string]string{"anthropic-beta": "x"}}, ""},
		{"no key variable", Config{}, "apiKeyEnv must name the environment variable holding the Anthropic API key"},
		{"key instead of its variable", Config{APIKeyEnv: "sk-ant-SECRET"}, "apiKeyEnv must be the name of an environment variable, such as ANTHROPIC_API_KEY, not the key itself"},
		{"not http", Config{APIKeyEnv: "K", BaseURL: "api.anthropic.com"}, `baseURL "api.anthropic.com" must be an http or https URL`},
		{"credentials in the URL", Config{APIKeyEnv: "K", BaseURL: "https://u:p@example.com"}, "baseURL must not carry credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			providertest.CheckValidation(t, tt.c.Validate(), tt.want)
		})
	}
}

func TestConfigProvision(t *testing.T) {
	env := Env{Getenv: func(name string) string { return map[string]string{"MY_ANTHROPIC_KEY": "sk-ant-test"}[name] }}
	got, err := Config{APIKeyEnv: "MY_ANTHROPIC_KEY", BaseURL: "http://127.0.0.1:9/", Headers: map[string]string{"anthropic-beta": "b"}}.Provision("claude", env)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*Provider)
	if p.name != "claude" || p.apiKey != "sk-ant-test" || p.endpoint != "http://127.0.0.1:9/v1/messages" || p.headers.Get("anthropic-beta") != "b" {
		t.Errorf("provisioned %+v", p)
	}

	// The key is required: an unset variable fails at once, naming it.
	for _, env := range []Env{env, {}} {
		_, err := Config{APIKeyEnv: "UNSET_KEY"}.Provision("claude", env)
		if err == nil || !strings.Contains(err.Error(), "the environment variable UNSET_KEY named by apiKeyEnv is not set") {
			t.Errorf("err = %v", err)
		}
	}
}
