package config

import (
	"strings"
	"testing"
	"time"
)

// The flat keys of a provider entry load as they always have: the ones
// every type has into Provider, the type's own into Settings.
func TestProvidersLoadWithTheirOwnKeys(t *testing.T) {
	c, err := Load(writeFile(t, `
providers:
  - name: simulator
    retries: 1
  - name: ollama
    type: openai
    baseURL: http://127.0.0.1:11434/v1
    headers: {OpenAI-Project: p}
  - name: anthropic
    type: anthropic
    apiKeyEnv: ANTHROPIC_API_KEY
    headers: {anthropic-beta: prompt-caching-2024-07-31}
  - name: aws
    type: bedrock
    region: us-west-2
    retries: 3
    backoffMin: 100ms
    backoffMax: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Provider{}
	for i := range c.Providers {
		byName[c.Providers[i].Name] = &c.Providers[i]
	}
	if p := byName["simulator"]; p.Type != "simulator" || p.RetryCount() != 1 || len(p.Settings) != 0 {
		t.Errorf("overriding one key of the built-in simulator: %+v", p)
	}
	if p := byName["ollama"]; p.Settings["baseURL"] != "http://127.0.0.1:11434/v1" || p.RetryCount() != 2 || p.BackoffMin != 200*time.Millisecond || p.BackoffMax != 5*time.Second {
		t.Errorf("ollama: %+v", p)
	}
	if p := byName["aws"]; p.Settings["region"] != "us-west-2" || p.RetryCount() != 3 || p.BackoffMin != 100*time.Millisecond || p.BackoffMax != time.Second {
		t.Errorf("aws: %+v", p)
	}
	if got := (&Provider{Type: "simulator"}).RetryCount(); got != 0 {
		t.Errorf("simulator default retries = %d", got)
	}
}

func TestProviderErrors(t *testing.T) {
	for _, tt := range []struct{ name, providers, want string }{
		{"unknown type", "{name: oa, type: openia}", `providers[oa]: unknown type "openia" (known: simulator, openai, anthropic, bedrock)`},
		{"key of another type", "{name: ollama, type: openai, region: us-east-1}", "providers[ollama]: region is not a setting of type openai (its settings: baseURL, apiKeyEnv, headers, unencryptedHTTP2)"},
		{"misspelt key", "{name: aws, type: bedrock, regoin: us-east-1}", "providers[aws]: regoin is not a setting of type bedrock"},
		{"anthropic without key", "{name: claude, type: anthropic}", "providers[claude]: apiKeyEnv must name the environment variable holding the Anthropic API key"},
		{"bad base URL", "{name: oa, type: openai, baseURL: 'api.openai.com'}", `providers[oa]: baseURL "api.openai.com" must be an http or https URL`},
		{"bad retries", "{name: oa, type: openai, retries: 11}", "providers[oa]: retries must be between 0 and 10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, "providers:\n  - "+tt.providers+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
