// Package config loads modelwatch's configuration: the embedded defaults
// (listen address, data directory, region, the default model catalog served
// by the simulator), an optional YAML file on top of them, and the overrides
// the command line takes from flags and MODELWATCH_* environment variables.
//
// String values in the YAML file may reference environment variables as
// ${NAME}, so secrets need not be written into the file. A model entry whose
// id matches a built-in model overrides only the fields it sets; a new id
// adds a model.
//
// A provider entry's name, type and retry settings are the gateway's and
// the same for every type; its other keys are the type's own settings,
// which package providers decodes strictly into the Config of the type's
// package and validates, so config names no provider type.
package config
