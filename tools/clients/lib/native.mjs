// What the tests of native model bodies share (cohere-jamba,
// mistral-deepseek-llama4): InvokeModel and InvokeModelWithResponseStream
// through @aws-sdk/client-bedrock-runtime with a JSON body, the answer
// parsed as JSON, and the check of a stream's closing invocation metrics
// against the server's record of the call.
//
// Kept outside test/ so that `node --test test/` does not run it as a test.
import assert from "node:assert/strict";
import { InvokeModelCommand, InvokeModelWithResponseStreamCommand } from "@aws-sdk/client-bedrock-runtime";
import { record } from "./suite.mjs";

const decoder = new TextDecoder();

/**
 * invokeJSON sends body to modelId with client's InvokeModelCommand, as
 * application/json both ways, and returns the call's request ID and the
 * parsed answer.
 */
export async function invokeJSON(client, modelId, body) {
  const res = await client.send(new InvokeModelCommand({ modelId, body: JSON.stringify(body), contentType: "application/json", accept: "application/json" }));
  return { requestId: res.$metadata.requestId, body: JSON.parse(decoder.decode(res.body)) };
}

/**
 * invokeStreamJSON sends body to modelId with client's
 * InvokeModelWithResponseStreamCommand and returns the call's request ID and
 * every chunk's payload, parsed. It fails on any event other than a chunk.
 */
export async function invokeStreamJSON(client, modelId, body) {
  const res = await client.send(new InvokeModelWithResponseStreamCommand({ modelId, body: JSON.stringify(body) }));
  const chunks = [];
  for await (const ev of res.body) {
    assert.ok(ev.chunk, `unexpected event ${Object.keys(ev)}`);
    chunks.push(JSON.parse(decoder.decode(ev.chunk.bytes)));
  }
  return { requestId: res.$metadata.requestId, chunks };
}

/**
 * checkStreamMetrics checks that a stream from invokeStreamJSON carries
 * amazon-bedrock-invocationMetrics in its last chunk only, with the token
 * counts of the call's record, and that those counts are want.outputTokens
 * and, when given, want.inputTokens (Converse's usage has this shape).
 */
export async function checkStreamMetrics(stream, want) {
  const metrics = stream.chunks.at(-1)["amazon-bedrock-invocationMetrics"];
  assert.ok(metrics, "no amazon-bedrock-invocationMetrics in the last chunk");
  for (const c of stream.chunks.slice(0, -1)) assert.equal(c["amazon-bedrock-invocationMetrics"], undefined);
  const rec = await record(stream.requestId);
  assert.equal(rec.operation, "InvokeModelWithResponseStream");
  assert.equal(metrics.inputTokenCount, rec.input.inputTokenCount);
  assert.equal(metrics.outputTokenCount, rec.output.outputTokenCount);
  if (want.inputTokens !== undefined) assert.equal(metrics.inputTokenCount, want.inputTokens);
  assert.equal(metrics.outputTokenCount, want.outputTokens);
}
