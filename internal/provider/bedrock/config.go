package bedrock

import (
	"context"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// Config is the configuration of a provider of type bedrock: the keys of
// its entry under providers besides the ones every type has (name, type,
// retries, backoffMin, backoffMax). Credentials come from the standard AWS
// chain, never from the configuration.
type Config struct {
	// Region is the AWS region to call (default: the AWS configuration's
	// region, else the server's region).
	Region string `yaml:"region"`
	// BaseURL overrides the endpoint (default: AWS_ENDPOINT_URL_BEDROCK_RUNTIME
	// when set, else the region's bedrock-runtime endpoint).
	BaseURL string `yaml:"baseURL"`
}

// Env is what Provision takes from outside the configuration.
type Env struct {
	// Getenv looks up an environment variable (os.Getenv in the server);
	// nil means an empty environment.
	Getenv func(string) string
	// Region is the server's region, called when neither Config.Region nor
	// AWS_REGION or AWS_DEFAULT_REGION names one.
	Region string
}

// Validate checks the configuration without contacting anyone.
func (c Config) Validate() error {
	if c.BaseURL != "" {
		return provider.CheckBaseURL(c.BaseURL)
	}
	return nil
}

// Provision returns the provider named name. It loads the AWS
// configuration (region, credentials chain, endpoint overrides) but
// contacts nothing.
func (c Config) Provision(ctx context.Context, name string, env Env) (provider.Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	region := c.Region
	if region == "" && getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
		region = env.Region
	}
	p, err := New(ctx, Options{Name: name, Region: region, BaseURL: c.BaseURL})
	if err != nil {
		return nil, err
	}
	return p, nil
}
