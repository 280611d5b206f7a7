// Package gateway is modelwatch's core: for every runtime call it
// authenticates the caller, reads the body under its limits, resolves and
// authorizes the model, admits the call, applies the model policy, calls the
// provider under the model's timeout (retrying retryable failures per the
// provider's policy and then trying the model's fallbacks), measures the
// call, and hands one finished invocation.Invocation to the registered
// observers before the client has the answer's last byte.
//
// The gateway owns that request loop (Serve, serve.go). A front door
// only describes its wire as a Door: decode a request into the neutral form
// (a Converse request), encode an answer, encode a stream, write an error in
// its API's shape. Adding an API is a new Door in its own package and no
// change here:
//
//	func (h *Handler) serveMessages(w http.ResponseWriter, r *http.Request) {
//		h.gw.Serve(w, r, &messagesDoor{h: h})
//	}
//
// A Door that also implements Passer names the providers that speak its
// wire themselves (the Messages door and the Anthropic provider): the
// caller's body goes to them untranslated and their answer comes back as
// they sent it, still routed, retried, measured and recorded here.
//
// The model policy (policy.go) is one place for every door: an output
// budget for requests that set none (OutputBudget), the model's limit, and
// the capabilities a request needs (CheckChat). Doors word its PolicyError in
// their API's terms.
//
// Every model call of every door runs through Serve; a Call's steps are
// unexported, so a front door cannot drive the core. The hooks a door may
// implement beside Door say what its wire needs and nothing more:
// EmbedEncoder (an embedding operation), ImageEncoder (an image-generation
// operation, served by providers that implement provider.ImageGenerator,
// its usage the images returned), HeaderSetter (answer headers
// computed from the call, Bedrock's token counts), Passer (providers that
// take the wire untranslated) and, on a stream encoder, StreamOutput (a
// record other than the assembled answer). A Request may decode lazily
// (Translate), for a body that pass-through providers take as it is.
//
// route.go is the retry and fallback loop; a Stream records the time to
// first token, assembles the output and takes the usage from the final
// metadata event. Retries and fallbacks apply until a stream's first event
// has arrived; after that its bytes belong to the client.
package gateway
