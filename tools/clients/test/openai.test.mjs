// The official openai package (openai-node 6) against modelwatch's
// OpenAI-compatible API, with the client's defaults: global fetch
// (HTTP/1.1), Authorization: Bearer, its retries, and base64 embeddings
// (the client asks for encoding_format base64 unless told otherwise).
// Only baseURL and apiKey are set.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_OPENAI_BASE_URL, MW_API_KEY, MW_ENDPOINT (record look-ups),
//   MW_BEARER_PRINCIPAL_ARN, MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { env, models, record, requestIdOfCompletion, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const client = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });

const request = {
  model: models.haiku,
  messages: [
    { role: "system", content: "You are a concise assistant." },
    { role: "user", content: "What does an invocation log record?" },
  ],
};

const Weather = z.object({
  city: z.string(),
  temperatureC: z.number(),
  conditions: z.enum(["sunny", "cloudy", "rain", "snow"]),
});

test("chat.completions.create answers with usage equal to the invocation record", async () => {
  const c = await client.chat.completions.create(request);
  assert.equal(c.object, "chat.completion");
  assert.equal(c.choices[0].finish_reason, "stop");
  assert.ok(c.choices[0].message.content.length > 0);
  assert.equal(requestIdOfCompletion(c.id), c._request_id);
  const rec = await record(c._request_id);
  assert.equal(rec.operation, "ChatCompletions");
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(c.usage.prompt_tokens, rec.input.inputTokenCount);
  assert.equal(c.usage.completion_tokens, rec.output.outputTokenCount);
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
});

test("a stream with include_usage assembles the same text; its usage chunk equals the record", async () => {
  const plain = await client.chat.completions.create(request);
  const { data: stream, request_id } = await client.chat.completions
    .create({ ...request, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let text = "";
  let usage;
  let finish;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, "stop");
  const rec = await record(request_id);
  assert.equal(usage.prompt_tokens, rec.input.inputTokenCount);
  assert.equal(usage.completion_tokens, rec.output.outputTokenCount);
  assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
});

test("the chat.completions.stream helper's final completion equals the non-streamed one", async () => {
  const plain = await client.chat.completions.create(request);
  const final = await client.chat.completions.stream(request).finalChatCompletion();
  assert.equal(final.choices[0].message.content, plain.choices[0].message.content);
});

test("tools loop: tool_calls, tool messages, ends with a text answer", async () => {
  const tools = [{ type: "function", function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema } }];
  const messages = [{ role: "user", content: weatherPrompt }];
  let calls = 0;
  let final;
  for (let step = 0; step < 5; step++) {
    const c = await client.chat.completions.create({ model: models.haiku, messages, tools });
    const msg = c.choices[0].message;
    messages.push(msg);
    if (c.choices[0].finish_reason !== "tool_calls") {
      final = c;
      break;
    }
    assert.ok(msg.tool_calls?.length > 0, "finish_reason tool_calls without tool_calls");
    for (const call of msg.tool_calls) {
      calls++;
      assert.equal(call.type, "function");
      assert.equal(call.function.name, weatherTool.name);
      const args = JSON.parse(call.function.arguments);
      assert.equal(typeof args.city, "string", "arguments do not follow the schema");
      messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(weatherResult(args.city)) });
    }
  }
  assert.ok(calls >= 1, "the model never called the tool");
  assert.ok(final, "the loop did not end within 5 steps");
  assert.equal(final.choices[0].finish_reason, "stop");
  assert.ok(final.choices[0].message.content.length > 0);
  assert.ok(!final.choices[0].message.tool_calls?.length);
});

test("streamed tool calls assemble the non-streamed arguments", async () => {
  const req = {
    model: models.haiku,
    messages: [{ role: "user", content: weatherPrompt }],
    tools: [{ type: "function", function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema } }],
  };
  const plain = await client.chat.completions.create(req);
  assert.equal(plain.choices[0].finish_reason, "tool_calls");
  const final = await client.chat.completions.stream(req).finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, "tool_calls");
  const [a, b] = [plain.choices[0].message.tool_calls[0], final.choices[0].message.tool_calls[0]];
  assert.equal(b.function.name, a.function.name);
  assert.deepEqual(JSON.parse(b.function.arguments), JSON.parse(a.function.arguments));
});

test("response_format json_schema: the content validates against the schema", async () => {
  const c = await client.chat.completions.create({
    model: models.haiku,
    messages: [{ role: "user", content: "Describe the weather in Paris." }],
    response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema: z.toJSONSchema(Weather) } },
  });
  const parsed = Weather.safeParse(JSON.parse(c.choices[0].message.content));
  assert.ok(parsed.success, `content does not validate: ${parsed.error}`);
});

test("chat.completions.parse with zodResponseFormat returns a parsed object that validates", async () => {
  const c = await client.chat.completions.parse({
    model: models.haiku,
    messages: [{ role: "user", content: "Describe the weather in Paris." }],
    response_format: zodResponseFormat(Weather, "weather"),
  });
  const parsed = Weather.safeParse(c.choices[0].message.parsed);
  assert.ok(parsed.success, `parsed does not validate: ${parsed.error}`);
});

test("models.list lists the catalog", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(models.haiku));
  assert.ok(ids.includes(models.titanEmbed));
  const one = await client.models.retrieve(models.haiku);
  assert.equal(one.id, models.haiku);
  assert.equal(one.object, "model");
});

test("an invalid parameter is BadRequestError with OpenAI's error shape", async () => {
  await assert.rejects(client.chat.completions.create({ ...request, temperature: 1.5 }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, 400);
    assert.equal(err.type, "invalid_request_error");
    assert.equal(err.param, "temperature");
    assert.equal(typeof err.error.message, "string");
    assert.ok("code" in err.error, "error body has no code member");
    assert.ok(err.requestID, "no x-request-id on the error");
    return true;
  });
});

test("an unknown model is NotFoundError model_not_found", async () => {
  await assert.rejects(client.chat.completions.create({ ...request, model: "gpt-no-such-model" }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, 404);
    assert.equal(err.code, "model_not_found");
    return true;
  });
});

test("a wrong API key is AuthenticationError invalid_api_key", async () => {
  const bad = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: "sk-not-a-modelwatch-key-000000" });
  await assert.rejects(bad.chat.completions.create(request), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.status, 401);
    assert.equal(err.type, "authentication_error");
    assert.equal(err.code, "invalid_api_key");
    return true;
  });
});
