// Command modelwatch serves the Amazon Bedrock runtime API in front of any
// model, with Bedrock-style invocation logging, metrics and a dashboard.
// See README.md.
package main

import (
	"context"
	"os"

	"github.com/modelwatch/modelwatch/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
