package simulator

import "github.com/modelwatch/modelwatch/internal/provider"

// Config is the configuration of a provider of type simulator. It has no
// keys of its own: what the simulator does is set per model, by the
// ModelSettings under each catalog model's simulator key.
type Config struct{}

// Env is what Provision takes from outside the configuration.
type Env struct {
	// Models are the settings of the models routed to the provider, by
	// model ID. A model not listed gets the defaults.
	Models map[string]ModelSettings
}

// Validate reports nothing: there is nothing to check. The models'
// settings are checked with ModelSettings.Validate.
func (Config) Validate() error { return nil }

// Provision returns a Simulator serving env.Models. The simulator has no
// name of its own, so name is unused.
func (Config) Provision(name string, env Env) (provider.Provider, error) {
	return New(env.Models, Options{}), nil
}
