// Package catalog holds the configured models and resolves the model
// identifiers callers send — bare model IDs, URL-encoded IDs, foundation-model
// and inference-profile ARNs, cross-region inference profile IDs
// (us.anthropic..., global....) and configured aliases — to a catalog entry,
// with the errors Bedrock gives for identifiers it cannot resolve.
package catalog
