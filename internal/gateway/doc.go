// Package gateway is modelwatch's core: for every runtime call it
// authenticates the caller, resolves the model, calls the provider under the
// model's timeout (retrying retryable failures per the provider's policy and
// then trying the model's fallbacks), measures the call, and hands one
// finished invocation.Invocation to the registered observers.
//
// API adapters (the Bedrock and OpenAI front doors) own their wire formats;
// they drive a Call through its steps and report the response they sent:
//
//	call := gw.Begin(r, invocation.APIBedrock, invocation.Converse, modelID)
//	err := call.Check(r)           // auth checks that need no body
//	err = call.Authenticate(body)  // signature over the body
//	model, err := call.Resolve()   // catalog
//	resp, err := call.Converse(ctx, req)  // or ConverseStream, Embed, Route
//	call.Finish(ctx, status, output, err)
//
// Finish is called exactly once, before the response's last bytes are
// released to the client, and is where observers run.
//
// A Stream (from ConverseStream) records the time to first token, assembles
// the output and takes the usage from the final metadata event. Retries and
// fallbacks apply until the first event of a stream has arrived; after that
// the stream's bytes belong to the client. Route is the retry and fallback
// loop itself, for front doors that choose per target how to call it (the
// Bedrock front door passes native bodies through to providers that take
// them).
package gateway
