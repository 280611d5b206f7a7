// Package gateway is modelwatch's core: for every runtime call it
// authenticates the caller, resolves the model, calls the provider under the
// model's timeout, measures the call, and hands one finished
// invocation.Invocation to the registered observers.
//
// API adapters (the Bedrock and OpenAI front doors) own their wire formats;
// they drive a Call through its steps and report the response they sent:
//
//	call := gw.Begin(r, invocation.APIBedrock, invocation.Converse, modelID)
//	err := call.Check(r)           // auth checks that need no body
//	err = call.Authenticate(body)  // signature over the body
//	model, err := call.Resolve()   // catalog
//	resp, err := call.Converse(ctx, req)
//	call.Finish(status, output, err)
//
// Finish is called exactly once, before the response's bytes are released to
// the client, and is where observers run.
package gateway
