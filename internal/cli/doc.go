// Package cli implements the modelwatch command line: serve, version and
// config validate. Every flag can also be given as a MODELWATCH_*
// environment variable; flags win over the environment, which wins over the
// config file, which wins over the embedded defaults.
package cli
