// The official openai package (openai-node 6) against modelwatch's
// Responses API (POST /v1/responses), with the client's defaults: global
// fetch (HTTP/1.1), Authorization: Bearer, its retries. Only baseURL and
// apiKey are set. modelwatch keeps no responses: every call sends the whole
// conversation (store false), as Codex CLI does.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_OPENAI_BASE_URL, MW_API_KEY, MW_ENDPOINT (record look-ups),
//   MW_BEARER_PRINCIPAL_ARN, MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI, { BadRequestError, NotFoundError } from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";
import { env, models, record, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const client = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });

const request = {
  model: models.haiku,
  instructions: "You are a concise assistant.",
  input: "What does an invocation log record?",
  store: false,
  metadata: { team: "platform" },
};

test("responses.create answers with output_text and usage equal to the invocation record", async () => {
  const { data: resp, request_id } = await client.responses.create(request).withResponse();
  assert.equal(resp.object, "response");
  assert.equal(resp.status, "completed");
  assert.equal(resp.model, models.haiku);
  assert.equal(resp.id, "resp_" + request_id.replaceAll("-", ""));
  assert.ok(resp.output_text.length > 0);
  assert.deepEqual(resp.metadata, { team: "platform" });
  const rec = await record(request_id);
  assert.equal(rec.operation, "Responses");
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(resp.usage.input_tokens, rec.input.inputTokenCount);
  assert.equal(resp.usage.output_tokens, rec.output.outputTokenCount);
  assert.equal(resp.usage.total_tokens, resp.usage.input_tokens + resp.usage.output_tokens);
  assert.equal(rec.requestMetadata?.team, "platform");
});

test("a stream sends the Responses events in order and completes with responses.create's text and usage", async () => {
  const plain = await client.responses.create(request);
  const stream = await client.responses.create({ ...request, stream: true });
  const types = [];
  let text = "";
  let completed;
  let last = -1;
  for await (const ev of stream) {
    types.push(ev.type);
    assert.equal(ev.sequence_number, last + 1, "sequence numbers count up from 0");
    last = ev.sequence_number;
    if (ev.type === "response.output_text.delta") text += ev.delta;
    if (ev.type === "response.completed") completed = ev.response;
  }
  assert.deepEqual(types.slice(0, 5), [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
  ]);
  assert.deepEqual(types.slice(-4), [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
  ]);
  assert.equal(text, plain.output_text);
  assert.equal(completed.output_text ?? completed.output[0].content[0].text, plain.output_text);
  assert.deepEqual(completed.usage, plain.usage);
});

test("the responses.stream helper's final response equals responses.create's", async () => {
  const plain = await client.responses.create(request);
  const final = await client.responses.stream(request).finalResponse();
  assert.equal(final.output_text, plain.output_text);
  assert.deepEqual(final.usage, plain.usage);
});

test("function tools: a function_call, then its function_call_output finishes the turn", async () => {
  const tools = [{ type: "function", name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema, strict: true }];
  const input = [{ role: "user", content: weatherPrompt }];
  const first = await client.responses.create({ model: models.haiku, tools, input, store: false });
  const call = first.output.find((i) => i.type === "function_call");
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.name, weatherTool.name);
  const args = JSON.parse(call.arguments);
  assert.equal(typeof args.city, "string");
  input.push(...first.output);
  input.push({ type: "function_call_output", call_id: call.call_id, output: JSON.stringify(weatherResult(args.city)) });
  const second = await client.responses.create({ model: models.haiku, tools, input, store: false });
  assert.equal(second.status, "completed");
  assert.ok(second.output_text.length > 0);
});

test("function tools, streamed: argument deltas assemble the call's arguments", async () => {
  const tools = [{ type: "function", name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema, strict: true }];
  const stream = await client.responses.create({ model: models.haiku, tools, input: weatherPrompt, stream: true, store: false });
  let args = "";
  let done;
  for await (const ev of stream) {
    if (ev.type === "response.function_call_arguments.delta") args += ev.delta;
    if (ev.type === "response.function_call_arguments.done") done = ev;
  }
  assert.ok(done, "no function_call_arguments.done");
  assert.equal(args, done.arguments);
  assert.equal(typeof JSON.parse(args).city, "string");
});

test("structured output: responses.parse with a zod text format returns the parsed object", async () => {
  const Weather = z.object({ city: z.string(), temperatureC: z.number(), conditions: z.enum(["sunny", "cloudy", "rain", "snow"]) });
  const resp = await client.responses.parse({
    model: models.nova,
    input: "Describe the weather in Paris as JSON.",
    text: { format: zodTextFormat(Weather, "weather") },
    store: false,
  });
  assert.equal(resp.status, "completed");
  const parsed = resp.output_parsed;
  assert.equal(typeof parsed.city, "string");
  assert.equal(typeof parsed.temperatureC, "number");
  assert.ok(["sunny", "cloudy", "rain", "snow"].includes(parsed.conditions));
});

test("errors come in OpenAI's shape as the SDK's typed errors", async () => {
  await assert.rejects(client.responses.create({ ...request, previous_response_id: "resp_123" }), (err) => {
    assert.ok(err instanceof BadRequestError, err.constructor.name);
    assert.equal(err.param, "previous_response_id");
    assert.match(err.message, /does not store responses/);
    return true;
  });
  await assert.rejects(client.responses.create({ ...request, model: "no-such-model" }), (err) => {
    assert.ok(err instanceof NotFoundError, err.constructor.name);
    assert.equal(err.code, "model_not_found");
    return true;
  });
  await assert.rejects(client.responses.create({ model: models.haiku }), (err) => {
    assert.ok(err instanceof BadRequestError, err.constructor.name);
    return true;
  });
});
