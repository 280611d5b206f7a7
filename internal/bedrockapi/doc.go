// Package bedrockapi is the Amazon Bedrock front door: the runtime API
// (InvokeModel, InvokeModelWithResponseStream, Converse, ConverseStream with
// event-stream framing by the SDK's codec) and the
// control-plane operations SDK users call against the same endpoint
// (ListFoundationModels, GetFoundationModel), with Bedrock's paths, headers,
// validation and restJson1 error shapes, so that an unmodified AWS SDK with an
// endpoint override works against modelwatch.
//
// The wire format is described in ../shared/spec/bedrock-runtime.md and, where
// it is silent, by the botocore and aws-sdk-go-v2 service models.
package bedrockapi
