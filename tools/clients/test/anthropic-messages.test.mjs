// The official @anthropic-ai/sdk against modelwatch's Anthropic Messages
// API (POST /v1/messages, /v1/messages/count_tokens, GET /v1/models), with
// the client's defaults: global fetch (HTTP/1.1), x-api-key, its retries and
// the anthropic-version it sends. Only baseURL (modelwatch's address, no
// /v1, as Claude Code's ANTHROPIC_BASE_URL) and apiKey are set. Model names
// are Anthropic's own ("claude-3-5-haiku-20241022"), which modelwatch
// resolves to the catalog's Claude model.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_API_KEY, MW_BEARER_PRINCIPAL_ARN, MW_TRANSPORT,
//   NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import Anthropic, { AuthenticationError, BadRequestError, NotFoundError } from "@anthropic-ai/sdk";
import { env, models, record, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const client = new Anthropic({ baseURL: env.endpoint, apiKey: env.apiKey });

// Anthropic's name of the catalog's models.haiku35.
const model = "claude-3-5-haiku-20241022";

const request = {
  model,
  max_tokens: 300,
  system: "You are a concise assistant.",
  messages: [{ role: "user", content: "What does an invocation log record?" }],
  metadata: { user_id: "user-42" },
};

const textOf = (msg) => msg.content.filter((b) => b.type === "text").map((b) => b.text).join("");

test("messages.create answers in Anthropic's shape with usage equal to the invocation record", async () => {
  const { data: msg, response } = await client.messages.create(request).withResponse();
  assert.equal(msg.type, "message");
  assert.equal(msg.role, "assistant");
  assert.equal(msg.model, model, "the response echoes the name the caller used");
  assert.match(msg.id, /^msg_01[0-9A-Za-z]{22}$/);
  assert.equal(msg.stop_reason, "end_turn");
  assert.ok(textOf(msg).length > 0);
  const requestId = response.headers.get("request-id");
  assert.match(requestId, /^req_[0-9a-f]{32}$/);
  const rec = await record(requestId.slice(4).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5"));
  assert.equal(rec.operation, "Messages");
  assert.equal(rec.modelId, model);
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(msg.usage.input_tokens, rec.input.inputTokenCount);
  assert.equal(msg.usage.output_tokens, rec.output.outputTokenCount);
  assert.equal(rec.requestMetadata?.user, "user-42", "metadata.user_id is recorded as the end user");
});

test("a stream sends Anthropic's events in order and assembles messages.create's text and usage", async () => {
  const plain = await client.messages.create(request);
  const stream = await client.messages.create({ ...request, stream: true });
  const types = [];
  let text = "";
  let outputTokens;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    if (ev.type === "message_delta") outputTokens = ev.usage.output_tokens;
  }
  // The SDK drops ping events (the server sends one after message_start).
  assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"]);
  assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
  assert.equal(text, textOf(plain));
  assert.equal(outputTokens, plain.usage.output_tokens);
});

test("the messages.stream helper's final message equals messages.create's", async () => {
  const plain = await client.messages.create(request);
  const final = await client.messages.stream(request).finalMessage();
  assert.equal(textOf(final), textOf(plain));
  assert.deepEqual(final.usage.output_tokens, plain.usage.output_tokens);
  assert.equal(final.stop_reason, plain.stop_reason);
});

test("tools: the model calls the tool, and the conversation with its result finishes", async () => {
  const tools = [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema }];
  const messages = [{ role: "user", content: weatherPrompt }];
  const first = await client.messages.create({ model, max_tokens: 400, tools, messages });
  assert.equal(first.stop_reason, "tool_use");
  const use = first.content.find((b) => b.type === "tool_use");
  assert.equal(use.name, weatherTool.name);
  assert.equal(typeof use.input.city, "string");
  messages.push({ role: "assistant", content: first.content });
  messages.push({
    role: "user",
    content: [{ type: "tool_result", tool_use_id: use.id, content: JSON.stringify(weatherResult(use.input.city)) }],
  });
  const second = await client.messages.create({ model, max_tokens: 400, tools, messages });
  assert.equal(second.stop_reason, "end_turn");
  assert.ok(textOf(second).length > 0);
});

test("tools, streamed: input_json_delta pieces assemble the tool's input", async () => {
  const tools = [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema }];
  const final = await client.messages
    .stream({ model, max_tokens: 400, tools, messages: [{ role: "user", content: weatherPrompt }] })
    .finalMessage();
  assert.equal(final.stop_reason, "tool_use");
  const use = final.content.find((b) => b.type === "tool_use");
  assert.equal(use.name, weatherTool.name);
  assert.equal(typeof use.input.city, "string");
});

test("extended thinking: a turn with thinking, redacted_thinking, a system array and cache_control is served", async () => {
  // A model that thinks (Claude Haiku 4.5); its signed thinking block goes
  // back unchanged in the next turn, as Anthropic requires.
  const thinker = "claude-haiku-4-5-20251001";
  const system = [{ type: "text", text: "You are a concise assistant.", cache_control: { type: "ephemeral" } }];
  const question = { role: "user", content: "What does an invocation log record?" };
  const first = await client.messages.create({ model: thinker, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, system, messages: [question] });
  const thinking = first.content.find((b) => b.type === "thinking");
  assert.ok(thinking && thinking.thinking.length > 0 && thinking.signature.length > 0, JSON.stringify(first.content));
  assert.equal(first.content[0].type, "thinking", "thinking comes before the answer");
  const msg = await client.messages.create({
    model: thinker,
    max_tokens: 2048,
    thinking: { type: "enabled", budget_tokens: 1024 },
    system,
    stop_sequences: ["END OF ANSWER"],
    messages: [
      question,
      { role: "assistant", content: [thinking, { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" }, { type: "text", text: textOf(first) }] },
      { role: "user", content: [{ type: "text", text: "And how fast?", cache_control: { type: "ephemeral", ttl: "1h" } }] },
    ],
  });
  assert.equal(msg.type, "message");
  assert.ok(textOf(msg).length > 0);
  assert.ok(["end_turn", "stop_sequence"].includes(msg.stop_reason), msg.stop_reason);
  // A thinking block changed on the way back is refused, as Anthropic does.
  const forged = { ...thinking, thinking: thinking.thinking + " (edited)" };
  await assert.rejects(
    client.messages.create({ model: thinker, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, system,
      messages: [question, { role: "assistant", content: [forged, { type: "text", text: textOf(first) }] }, { role: "user", content: "And how fast?" }] }),
    (err) => err.status === 400 && /Invalid signature in thinking block/.test(err.message),
  );
});

test("count_tokens counts what messages.create is billed for", async () => {
  const { model: m, system, messages } = request;
  const counted = await client.messages.countTokens({ model: m, system, messages });
  const msg = await client.messages.create(request);
  assert.equal(counted.input_tokens, msg.usage.input_tokens);
});

test("Authorization: Bearer (authToken, as Claude Code's ANTHROPIC_AUTH_TOKEN sends it) is the same key", async () => {
  const bearer = new Anthropic({ baseURL: env.endpoint, apiKey: null, authToken: env.apiKey });
  const { data: msg, response } = await bearer.messages.create(request).withResponse();
  assert.equal(msg.type, "message");
  const rec = await record(response.headers.get("request-id").slice(4).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5"));
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
});

test("models.list and models.retrieve name the catalog's Claude models Anthropic's way", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), `${model} in ${ids.join(", ")}`);
  const info = await client.models.retrieve(model);
  assert.equal(info.type, "model");
  assert.equal(info.id, model);
  assert.equal(info.display_name, "Claude 3.5 Haiku");
});

test("errors come in Anthropic's shape as the SDK's typed errors", async () => {
  await assert.rejects(client.messages.create({ ...request, max_tokens: 0 }), (err) => {
    assert.ok(err instanceof BadRequestError, err.constructor.name);
    assert.equal(err.status, 400);
    assert.equal(err.error.type, "error");
    assert.equal(err.error.error.type, "invalid_request_error");
    assert.match(err.requestID, /^req_/);
    return true;
  });
  await assert.rejects(client.messages.create({ ...request, model: "claude-no-such-model" }), (err) => {
    assert.ok(err instanceof NotFoundError, err.constructor.name);
    assert.equal(err.error.error.type, "not_found_error");
    assert.equal(err.error.error.message, "model: claude-no-such-model");
    return true;
  });
  const stranger = new Anthropic({ baseURL: env.endpoint, apiKey: "sk-ant-not-a-key", maxRetries: 0 });
  await assert.rejects(stranger.messages.create(request), (err) => {
    assert.ok(err instanceof AuthenticationError, err.constructor.name);
    assert.equal(err.error.error.type, "authentication_error");
    return true;
  });
});
