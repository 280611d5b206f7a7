package openai

import (
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Config is the configuration of a provider of type openai: the keys of
// its entry under providers besides the ones every type has (name, type,
// retries, backoffMin, backoffMax).
type Config struct {
	// BaseURL is the URL that /chat/completions is appended to (default
	// https://api.openai.com/v1; http://127.0.0.1:11434/v1 for Ollama).
	BaseURL string `yaml:"baseURL"`
	// APIKeyEnv names the environment variable that holds the API key.
	// Keys are never written in the configuration file itself, so the file
	// can be committed and shown. Optional: local servers need none.
	APIKeyEnv string `yaml:"apiKeyEnv"`
	// Headers are extra HTTP headers sent upstream with every request
	// (OpenAI-Organization, OpenAI-Project, ...). Not for secrets.
	Headers map[string]string `yaml:"headers"`
	// UnencryptedHTTP2 speaks HTTP/2 without TLS to an http:// baseURL
	// (prior knowledge), for servers that take it: calls and streams share
	// connections instead of holding one each.
	UnencryptedHTTP2 bool `yaml:"unencryptedHTTP2"`
}

// Env is what Provision takes from outside the configuration.
type Env struct {
	// Getenv looks up an environment variable (os.Getenv in the server);
	// nil means an empty environment.
	Getenv func(string) string
}

// Validate checks the configuration without contacting anyone.
func (c Config) Validate() error {
	if c.APIKeyEnv != "" {
		if err := provider.CheckAPIKeyEnv(c.APIKeyEnv, "OPENAI_API_KEY"); err != nil {
			return err
		}
	}
	if c.BaseURL != "" {
		return provider.CheckBaseURL(c.BaseURL)
	}
	return nil
}

// Provision returns the provider named name, reading its API key from the
// variable APIKeyEnv names (no key when it is unset). Nothing is contacted.
func (c Config) Provision(name string, env Env) (provider.Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var key string
	if c.APIKeyEnv != "" && env.Getenv != nil {
		key = env.Getenv(c.APIKeyEnv)
	}
	p, err := New(Options{Name: name, BaseURL: c.BaseURL, APIKey: key, Headers: c.Headers, UnencryptedHTTP2: c.UnencryptedHTTP2})
	if err != nil {
		return nil, err
	}
	return p, nil
}
