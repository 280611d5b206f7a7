// Package converse holds the JSON wire types of Bedrock's Converse API.
//
// Converse is also modelwatch's provider-neutral chat format: every native
// InvokeModel body is translated to a converse.Request before it reaches a
// provider that cannot take the native body as is, and every provider answers
// with a converse.Response. Members modelwatch does not interpret are kept as
// raw JSON so that they survive a round trip.
//
// Types follow the Bedrock runtime service model (botocore
// bedrock-runtime/2023-09-30/service-2.json, aws-sdk-go-v2 service/bedrockruntime).
// Union shapes are structs whose members are pointers or raw JSON; exactly one
// member must be set, which Validate checks.
package converse
