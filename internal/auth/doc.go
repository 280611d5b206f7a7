// Package auth authenticates incoming requests the way the Amazon Bedrock
// runtime does, so that unmodified AWS SDKs (and the OpenAI SDK, through
// bearer API keys) can talk to modelwatch.
//
// Three methods are supported:
//
//   - AWS Signature Version 4, in the Authorization header or as a presigned
//     query string. Signatures are verified for real: the canonical request
//     is built from what arrived on the wire and the client's SignedHeaders
//     (so HTTP/2's :authority and a signed content-length: 0 are
//     reproduced), and checked in tests against aws-sdk-go-v2's signer and
//     the AWS SDK for JavaScript's signer.
//   - Bearer API keys ("Authorization: Bearer <key>"), as used by Bedrock API
//     keys and the OpenAI SDK. Only SHA-256 digests of keys are kept in
//     memory, and configs may hold the digest instead of the key.
//   - Anonymous mode, when no principals are configured: every request is
//     accepted, whatever credentials it carries.
//
// Authentication is split in two so that nothing large is read from an
// unauthenticated client: [Authenticator.Check] runs every check that needs
// no body (header syntax, access key, credential scope, clock skew, presign
// expiry) and [Pending.Verify] finishes with the body, whose SHA-256 is part
// of the signature.
//
// Every error returned to a caller is an *apierror.Error carrying the AWS
// exception name and AWS's wording. Error messages, String, GoString, Format
// and slog output never contain a secret access key or an API key.
package auth
