// Package providers is the one place provider types are registered.
//
// A provider type lives in its own package (provider/openai,
// provider/anthropic, ...), which owns its settings: a Config struct with
// the type's own configuration keys as YAML tags, a Validate method that
// checks them, and a Provision method that builds the provider from them
// and from what the server passes in (environment lookups, the server's
// region, the simulator's per-model settings), reading no globals.
//
// This package maps each type's name, the value of a provider's type key
// in the configuration, to that package: how to decode the provider's
// remaining keys strictly into the Config, how many retries the type gets
// by default, and how to provision it. Package config validates through
// it and the server builds through it, so neither names a provider type.
//
// To add a provider type, write its package with Config, Validate and
// Provision, and add one register line to the list in providers.go.
package providers
