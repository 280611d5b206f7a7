// Package bedrock is the provider that passes model calls through to
// Amazon Bedrock's runtime API (bedrock-runtime), signed with SigV4.
//
// It implements provider.Provider (Converse, ConverseStream, Embed),
// provider.NativeInvoker (InvokeModel, InvokeModelWithResponseStream) and
// provider.TokenCounter (Bedrock's own CountTokens).
//
// Decisions:
//
//   - Raw HTTP, not the generated bedrockruntime client. The gateway's
//     converse.Request and converse.Response already are Bedrock's
//     Converse JSON and native InvokeModel bodies must reach Bedrock
//     byte for byte, so the provider marshals and sends them itself. The
//     SDK still does the parts that must match AWS exactly: SigV4 signing
//     (aws/signer/v4, service name "bedrock", the payload's SHA-256),
//     event stream framing and CRCs (aws/protocol/eventstream), the
//     credential chain and endpoint settings (config.LoadDefaultConfig),
//     and the escaping of the model ID path label (smithy-go's
//     httpbinding.EscapePath, as the SDK's serializer uses: ':' is %3A,
//     '/' is %2F, so ARNs and inference profile IDs work).
//   - Structured output and prompt caching pass through untouched:
//     outputConfig (textFormat with its JSON Schema string, effort) and
//     cachePoint blocks (type default, ttl 5m or 1h) in system, messages
//     and tools go upstream as the SDK would send them, and the answer's
//     cacheReadInputTokens, cacheWriteInputTokens and cacheDetails (the
//     writes per TTL), in a Converse response or a stream's metadata
//     event, come back as Bedrock sent them.
//   - Credentials are retrieved per request through an
//     aws.CredentialsCache, so expiring credentials (SSO, roles, instance
//     metadata) are refreshed without a restart and not fetched per call.
//   - Errors keep Bedrock's own exception names: the caller speaks
//     Bedrock, so an upstream ThrottlingException, ValidationException or
//     ModelErrorException (with originalStatusCode and resourceName)
//     reaches it as such, with the upstream message. Unknown error types
//     fall back to provider.UpstreamError's status mapping. A refusal of
//     the gateway's own credentials (AccessDenied, UnrecognizedClient,
//     InvalidSignature, expired tokens) is not the caller's fault: it
//     becomes ModelErrorException asking the operator to check the
//     provider's AWS credentials, and the upstream text (which can name
//     the gateway's IAM principal) stays in the server-side cause.
//   - Streams are read frame by frame as they arrive; exceptions in the
//     stream (:message-type exception, :exception-type throttlingException
//     and so on) become the matching exception, modelStreamErrorException
//     keeping originalStatusCode and originalMessage. ConverseStream and
//     InvokeModelWithResponseStream wait for the first event before they
//     return, so an upstream that fails at once fails before the gateway
//     has committed to a response and can still retry or fall back. A
//     Converse stream that ends without its metadata event was cut short
//     and is reported as ModelStreamErrorException rather than passed off
//     as complete. Frame lengths are checked before decoding so a corrupt
//     prelude cannot make the decoder buffer gigabytes.
//   - Embed speaks the embedding models' native bodies: Titan Text
//     Embeddings take one text per call (the calls run in parallel, at
//     most eight at a time, and the token counts are summed), Cohere
//     Embed takes batches of up to 96 texts. Models that cannot normalise
//     or resize upstream are normalised here, or refused with a
//     ValidationException for dimensions they cannot produce.
//   - The HTTP client has connect and TLS timeouts but no overall
//     timeout: a long generation is bounded by the caller's context,
//     whose cancellation aborts the upstream request.
package bedrock
