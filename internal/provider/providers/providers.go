package providers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/anthropic"
	"github.com/modelwatch/modelwatch/internal/provider/bedrock"
	"github.com/modelwatch/modelwatch/internal/provider/openai"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// Simulator is the name of the simulator's type. Its behaviour is set per
// model, by the simulator settings of the catalog models routed to it.
const Simulator = "simulator"

// OpenAI is the name of the type of OpenAI-compatible servers, whose
// models the configuration gives OpenAI's defaults (their InvokeModel
// body family, system messages and tools accepted).
const OpenAI = "openai"

// types are the registered provider types, in the order messages list
// them.
var types = []Type{
	register(Simulator, 0, func(_ context.Context, c simulator.Config, name string, env Env) (provider.Provider, error) {
		return c.Provision(name, simulator.Env{Models: env.SimulatorModels})
	}),
	// Any server speaking OpenAI's chat completions and embeddings API:
	// OpenAI, vLLM, Ollama, LM Studio, llama.cpp, ...
	register(OpenAI, 2, func(_ context.Context, c openai.Config, name string, env Env) (provider.Provider, error) {
		return c.Provision(name, openai.Env{Getenv: env.Getenv})
	}),
	// Anthropic's Messages API.
	register("anthropic", 2, func(_ context.Context, c anthropic.Config, name string, env Env) (provider.Provider, error) {
		return c.Provision(name, anthropic.Env{Getenv: env.Getenv})
	}),
	// Amazon Bedrock itself, called with SigV4 and the standard AWS
	// credential chain.
	register("bedrock", 2, func(ctx context.Context, c bedrock.Config, name string, env Env) (provider.Provider, error) {
		return c.Provision(ctx, name, bedrock.Env{Getenv: env.Getenv, Region: env.Region})
	}),
}

// Env is what building a provider takes from the server rather than from
// the provider's own configuration. Each type uses the part it needs.
type Env struct {
	// Getenv looks up an environment variable, where API keys are read
	// from (os.Getenv in the server); nil means an empty environment.
	Getenv func(string) string
	// Region is the server's region, the default of a bedrock provider.
	Region string
	// SimulatorModels are the simulator settings of the catalog models
	// routed to the provider being built, by model ID.
	SimulatorModels map[string]simulator.ModelSettings
}

// Settings is a provider type's own configuration: the Config of its
// package.
type Settings interface {
	// Validate checks the settings without contacting anyone or reading
	// the environment.
	Validate() error
}

// Type is one registered provider type.
type Type struct {
	// Name is the type's name: the value of a provider's type key.
	Name string
	// DefaultRetries is how many times a retryable failure is retried on
	// a provider of this type that does not set retries.
	DefaultRetries int

	keys      []string // the Config's YAML keys
	decode    func(keys map[string]any) (Settings, error)
	provision func(ctx context.Context, s Settings, name string, env Env) (provider.Provider, error)
}

// register describes the type named name whose settings are a C, built by
// provision.
func register[C Settings](name string, retries int, provision func(ctx context.Context, c C, name string, env Env) (provider.Provider, error)) Type {
	return Type{
		Name:           name,
		DefaultRetries: retries,
		keys:           yamlKeys(reflect.TypeFor[C]()),
		decode: func(keys map[string]any) (Settings, error) {
			var c C
			if err := decodeKeys(keys, &c); err != nil {
				return nil, err
			}
			return c, nil
		},
		provision: func(ctx context.Context, s Settings, name string, env Env) (provider.Provider, error) {
			return provision(ctx, s.(C), name, env)
		},
	}
}

// Names returns the names of the registered types.
func Names() []string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	return names
}

// Lookup returns the type named name, or an error listing the known ones.
func Lookup(name string) (Type, error) {
	for _, t := range types {
		if t.Name == name {
			return t, nil
		}
	}
	return Type{}, fmt.Errorf("unknown type %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Decode decodes a provider's own keys (those of its configuration entry
// besides the ones every type has) into the type's Config and validates
// it. A key the type does not have is an error naming it.
func (t Type) Decode(keys map[string]any) (Settings, error) {
	var unknown []string
	for k := range keys {
		if !slices.Contains(t.keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		what := "is not a setting"
		if len(unknown) > 1 {
			what = "are not settings"
		}
		has := "it has none of its own"
		if len(t.keys) > 0 {
			has = "its settings: " + strings.Join(t.keys, ", ")
		}
		return nil, fmt.Errorf("%s %s of type %s (%s)", strings.Join(unknown, ", "), what, t.Name, has)
	}
	s, err := t.decode(keys)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Provision decodes and validates a provider's own keys and builds the
// provider named name.
func (t Type) Provision(ctx context.Context, name string, keys map[string]any, env Env) (provider.Provider, error) {
	s, err := t.Decode(keys)
	if err != nil {
		return nil, err
	}
	return t.provision(ctx, s, name, env)
}

// decodeKeys decodes keys into the struct v points to, one key at a time
// so that an error names its key (and no line of a document the user never
// wrote).
func decodeKeys(keys map[string]any, v any) error {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		data, err := yaml.Marshal(map[string]any{k: keys[k]})
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			return fmt.Errorf("%s: %s", k, withoutLines(err))
		}
	}
	return nil
}

var linePrefix = regexp.MustCompile(`line \d+: `)

// withoutLines returns err's message without the YAML decoder's line
// numbers.
func withoutLines(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = linePrefix.ReplaceAllString(m, "")
		}
		return strings.Join(msgs, "; ")
	}
	return linePrefix.ReplaceAllString(err.Error(), "")
}

// yamlKeys returns the YAML keys of a flat struct type's fields.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, name)
	}
	return keys
}
