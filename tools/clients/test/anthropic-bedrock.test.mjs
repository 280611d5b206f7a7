// @anthropic-ai/bedrock-sdk's AnthropicBedrock (with @anthropic-ai/sdk 1.x)
// against modelwatch's InvokeModel and InvokeModelWithResponseStream, with
// the client's defaults: global fetch (HTTP/1.1), SigV4 signing, and the
// anthropic-version the 1.x SDK sends (moved into the body as
// anthropic_version "2026-10-21"). Only baseURL, awsRegion and the AWS keys
// are set.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_SIGV4_PRINCIPAL_ARN, MW_TRANSPORT,
//   NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { AnthropicBedrock } from "@anthropic-ai/bedrock-sdk";
import { BadRequestError, PermissionDeniedError } from "@anthropic-ai/sdk";
import { env, models, record, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const client = new AnthropicBedrock({
  baseURL: env.endpoint,
  awsRegion: env.region,
  awsAccessKey: env.accessKeyId,
  awsSecretKey: env.secretAccessKey,
});

const request = {
  model: models.haiku,
  max_tokens: 300,
  system: "You are a concise assistant.",
  messages: [{ role: "user", content: "What does an invocation log record?" }],
};

const textOf = (msg) => msg.content.filter((b) => b.type === "text").map((b) => b.text).join("");

test("messages.create answers with usage equal to the invocation record", async () => {
  const { data: msg, response } = await client.messages.create(request).withResponse();
  assert.equal(msg.type, "message");
  assert.equal(msg.role, "assistant");
  assert.equal(msg.stop_reason, "end_turn");
  assert.ok(textOf(msg).length > 0);
  const rec = await record(response.headers.get("x-amzn-requestid"));
  assert.equal(rec.operation, "InvokeModel");
  assert.equal(rec.identity.arn, env.sigv4PrincipalARN);
  assert.equal(msg.usage.input_tokens, rec.input.inputTokenCount);
  assert.equal(msg.usage.output_tokens, rec.output.outputTokenCount);
});

test("messages.create with stream:true assembles the same text, with the record's usage", async () => {
  const plain = await client.messages.create(request);
  const { data: stream, response } = await client.messages.create({ ...request, stream: true }).withResponse();
  const types = [];
  let text = "";
  let inputTokens;
  let outputTokens;
  let stopReason;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === "message_start") inputTokens = ev.message.usage.input_tokens;
    if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    if (ev.type === "message_delta") {
      outputTokens = ev.usage.output_tokens;
      stopReason = ev.delta.stop_reason;
    }
  }
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.equal(text, textOf(plain));
  assert.equal(stopReason, plain.stop_reason);
  const rec = await record(response.headers.get("x-amzn-requestid"));
  assert.equal(rec.operation, "InvokeModelWithResponseStream");
  assert.equal(inputTokens, rec.input.inputTokenCount);
  assert.equal(outputTokens, rec.output.outputTokenCount);
  assert.equal(outputTokens, plain.usage.output_tokens);
});

test("the messages.stream helper's final message equals messages.create", async () => {
  const plain = await client.messages.create(request);
  const final = await client.messages.stream(request).finalMessage();
  assert.equal(textOf(final), textOf(plain));
  assert.deepEqual(
    { in: final.usage.input_tokens, out: final.usage.output_tokens },
    { in: plain.usage.input_tokens, out: plain.usage.output_tokens },
  );
});

test("messages.create tools loop: tool_use, tool_result, ends with a text answer", async () => {
  const tools = [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema }];
  const messages = [{ role: "user", content: weatherPrompt }];
  let calls = 0;
  let final;
  for (let step = 0; step < 5; step++) {
    const msg = await client.messages.create({ model: models.haiku, max_tokens: 400, tools, messages });
    messages.push({ role: "assistant", content: msg.content });
    if (msg.stop_reason !== "tool_use") {
      final = msg;
      break;
    }
    const results = [];
    for (const block of msg.content) {
      if (block.type !== "tool_use") continue;
      calls++;
      assert.equal(block.name, weatherTool.name);
      assert.equal(typeof block.input.city, "string", "tool input does not follow the schema");
      results.push({ type: "tool_result", tool_use_id: block.id, content: JSON.stringify(weatherResult(block.input.city)) });
    }
    assert.ok(results.length > 0, "stop_reason tool_use without a tool_use block");
    messages.push({ role: "user", content: results });
  }
  assert.ok(calls >= 1, "the model never used the tool");
  assert.ok(final, "the loop did not end within 5 steps");
  assert.equal(final.stop_reason, "end_turn");
  assert.ok(textOf(final).length > 0);
  assert.ok(!final.content.some((b) => b.type === "tool_use"));
});

test("tool use streams as input_json_delta that assembles the non-streamed input", async () => {
  const req = {
    model: models.haiku,
    max_tokens: 400,
    tools: [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema }],
    messages: [{ role: "user", content: weatherPrompt }],
  };
  const plain = await client.messages.create(req);
  const plainTool = plain.content.find((b) => b.type === "tool_use");
  assert.ok(plainTool, "no tool_use in the non-streamed answer");
  const final = await client.messages.stream(req).finalMessage();
  const tool = final.content.find((b) => b.type === "tool_use");
  assert.ok(tool, "no tool_use in the streamed answer");
  assert.equal(final.stop_reason, "tool_use");
  assert.equal(tool.name, plainTool.name);
  assert.deepEqual(tool.input, plainTool.input);
});

test("cache_control: the second call reads exactly what the first created", async () => {
  // A unique system prompt past Claude 3.5 Haiku's 2,048-token minimum, so
  // no earlier call has cached it.
  const sentence = "Invocation records keep the caller, the model, the tokens, the latency and the outcome of every call. ";
  const req = {
    model: models.haiku35,
    max_tokens: 200,
    system: [{ type: "text", text: `Session ${randomUUID()}. ${sentence.repeat(250)}`, cache_control: { type: "ephemeral" } }],
    messages: [{ role: "user", content: "Summarise the rules." }],
  };
  const { data: first, response: r1 } = await client.messages.create(req).withResponse();
  const { data: second, response: r2 } = await client.messages.create(req).withResponse();
  assert.ok(first.usage.cache_creation_input_tokens > 0, `first call created no cache: ${JSON.stringify(first.usage)}`);
  assert.equal(first.usage.cache_read_input_tokens ?? 0, 0);
  assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
  assert.equal(second.usage.cache_creation_input_tokens ?? 0, 0);
  assert.equal(second.usage.input_tokens, first.usage.input_tokens);
  const rec1 = await record(r1.headers.get("x-amzn-requestid"));
  const rec2 = await record(r2.headers.get("x-amzn-requestid"));
  assert.equal(rec1.input.cacheWriteInputTokenCount, first.usage.cache_creation_input_tokens);
  assert.equal(rec2.input.cacheReadInputTokenCount, second.usage.cache_read_input_tokens);
});

test("an unknown model is a BadRequestError carrying Bedrock's message", async () => {
  await assert.rejects(client.messages.create({ ...request, model: "anthropic.claude-9" }), (err) => {
    assert.ok(err instanceof BadRequestError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, 400);
    assert.equal(err.error.message, "The provided model identifier is invalid.");
    assert.equal(err.headers.get("x-amzn-errortype")?.split(":")[0], "ValidationException");
    return true;
  });
});

test("a wrong secret is a PermissionDeniedError (403 InvalidSignatureException)", async () => {
  const bad = new AnthropicBedrock({ baseURL: env.endpoint, awsRegion: env.region, awsAccessKey: env.accessKeyId, awsSecretKey: "not-the-secret" });
  await assert.rejects(bad.messages.create(request), (err) => {
    assert.ok(err instanceof PermissionDeniedError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, 403);
    assert.equal(err.headers.get("x-amzn-errortype")?.split(":")[0], "InvalidSignatureException");
    return true;
  });
});
