// Package clientsuite runs the real JavaScript clients modelwatch must serve
// unmodified — @aws-sdk/client-bedrock-runtime and @aws-sdk/client-bedrock,
// @anthropic-ai/bedrock-sdk, the AI SDK (ai with @ai-sdk/amazon-bedrock,
// @ai-sdk/openai and @ai-sdk/openai-compatible), LangChain (@langchain/aws,
// @langchain/openai) and openai — against the real binary, each with its
// default transport and settings.
//
// The package holds its test driver and, for other tests that run the
// clients (the dashboard's first-call test), Node and Environ: where node
// and the installed clients are, and a clean environment for them.
// TestJavaScriptClients builds
// cmd/modelwatch (internal/cmdtest), writes a configuration with three
// principals (js-sigv4 with an access key, js-bearer with an API key, and
// js-governed, held by an IAM policy to Claude 3 Haiku and by a quota of
// three requests a minute, for governance.test.mjs), and
// starts `modelwatch serve` twice on a free 127.0.0.1 port: once over plain
// HTTP and once over TLS, with a certificate for 127.0.0.1 and localhost
// signed by a CA the test generates. It turns invocation logging on (so the
// JavaScript tests can read each call's record from /api/invocations),
// then runs `node --test` on tools/clients/test/*.test.mjs with the
// endpoint and credentials in MW_* environment variables (documented at the
// top of each file and in tools/clients/lib/suite.mjs), and with
// NODE_EXTRA_CA_CERTS naming the CA in the TLS pass — how a Node user
// trusts a private CA. Node's output streams into the test log; a non-zero
// exit fails the test. The server is stopped by PID afterwards.
//
// The clients are pinned in tools/clients/package.json and
// package-lock.json and installed with `npm ci --prefix tools/clients`.
// Without node or tools/clients/node_modules the test skips, saying so; with
// the CI environment variable set it fails instead.
package clientsuite
