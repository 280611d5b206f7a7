package anthropic

import (
	"errors"
	"fmt"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Config is the configuration of a provider of type anthropic: the keys of
// its entry under providers besides the ones every type has (name, type,
// retries, backoffMin, backoffMax).
type Config struct {
	// BaseURL is the URL that /v1/messages is appended to (default
	// https://api.anthropic.com).
	BaseURL string `yaml:"baseURL"`
	// APIKeyEnv names the environment variable that holds the API key.
	// Required. Keys are never written in the configuration file itself,
	// so the file can be committed and shown.
	APIKeyEnv string `yaml:"apiKeyEnv"`
	// Headers are extra HTTP headers sent upstream with every request
	// (anthropic-beta, ...). Not for secrets.
	Headers map[string]string `yaml:"headers"`
}

// Env is what Provision takes from outside the configuration.
type Env struct {
	// Getenv looks up an environment variable (os.Getenv in the server);
	// nil means an empty environment.
	Getenv func(string) string
}

// Validate checks the configuration without reading the environment.
func (c Config) Validate() error {
	if c.APIKeyEnv == "" {
		return errors.New("apiKeyEnv must name the environment variable holding the Anthropic API key")
	}
	if err := provider.CheckAPIKeyEnv(c.APIKeyEnv, "ANTHROPIC_API_KEY"); err != nil {
		return err
	}
	if c.BaseURL != "" {
		return provider.CheckBaseURL(c.BaseURL)
	}
	return nil
}

// Provision returns the provider named name, with the API key read from
// the variable APIKeyEnv names, which must be set. Nothing is contacted.
func (c Config) Provision(name string, env Env) (provider.Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var key string
	if env.Getenv != nil {
		key = env.Getenv(c.APIKeyEnv)
	}
	if key == "" {
		return nil, fmt.Errorf("the environment variable %s named by apiKeyEnv is not set; it must hold the Anthropic API key", c.APIKeyEnv)
	}
	p, err := New(Options{Name: name, BaseURL: c.BaseURL, APIKey: key, Headers: c.Headers})
	if err != nil {
		return nil, err
	}
	return p, nil
}
