// The Vercel AI SDK (ai 6) with @ai-sdk/openai-compatible and @ai-sdk/openai
// against modelwatch's OpenAI-compatible API (/v1/chat/completions), with
// the providers' defaults: global fetch (HTTP/1.1), Authorization: Bearer.
// Set: baseURL and apiKey; for openai-compatible also a name (required) and,
// where a test says so, the provider's documented capability flags
// (includeUsage for stream usage, supportsStructuredOutputs for
// json_schema: without it the provider sends json_object with no schema).
// @ai-sdk/openai is used both through openai.chat() and through its default
// openai(id), which calls the Responses API (/v1/responses).
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_OPENAI_BASE_URL, MW_API_KEY, MW_ENDPOINT (record look-ups),
//   MW_BEARER_PRINCIPAL_ARN, MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateText, streamText, generateObject, tool, stepCountIs, APICallError } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";
import { env, models, record, requestIdOfCompletion, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const compatible = createOpenAICompatible({ name: "modelwatch", baseURL: env.openaiBaseURL, apiKey: env.apiKey });
const compatibleWithUsage = createOpenAICompatible({ name: "modelwatch", baseURL: env.openaiBaseURL, apiKey: env.apiKey, includeUsage: true });
const compatibleStructured = createOpenAICompatible({ name: "modelwatch", baseURL: env.openaiBaseURL, apiKey: env.apiKey, supportsStructuredOutputs: true });
const openai = createOpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });

const request = { system: "You are a concise assistant.", prompt: "What does an invocation log record?" };

const Weather = z.object({
  city: z.string(),
  temperatureC: z.number(),
  conditions: z.enum(["sunny", "cloudy", "rain", "snow"]),
});

function weatherTools(calls) {
  return {
    [weatherTool.name]: tool({
      description: weatherTool.description,
      inputSchema: z.object({ city: z.string().describe("City name") }),
      execute: async ({ city }) => {
        calls.push(city);
        return weatherResult(city);
      },
    }),
  };
}

const providers = [
  ["@ai-sdk/openai-compatible", (id) => compatible(id), (id) => compatibleWithUsage(id), (id) => compatibleStructured(id)],
  ["@ai-sdk/openai chat", (id) => openai.chat(id), (id) => openai.chat(id), (id) => openai.chat(id)],
];

for (const [label, chat, chatWithUsage, chatStructured] of providers) {
  test(`${label}: generateText answers with usage equal to the invocation record`, async () => {
    const r = await generateText({ model: chat(models.haiku), ...request });
    assert.ok(r.text.length > 0);
    assert.equal(r.finishReason, "stop");
    const id = requestIdOfCompletion(r.response.id);
    assert.equal(r.response.headers["x-request-id"], id);
    const rec = await record(id);
    assert.equal(rec.operation, "ChatCompletions");
    assert.equal(rec.identity.arn, env.bearerPrincipalARN);
    assert.equal(r.usage.inputTokens, rec.input.inputTokenCount);
    assert.equal(r.usage.outputTokens, rec.output.outputTokenCount);
    assert.equal(r.usage.totalTokens, rec.input.inputTokenCount + rec.output.outputTokenCount);
  });

  test(`${label}: streamText assembles the same text as generateText, usage equal to the record`, async () => {
    const plain = await generateText({ model: chat(models.haiku), ...request });
    const s = streamText({ model: chatWithUsage(models.haiku), ...request });
    let text = "";
    for await (const delta of s.textStream) text += delta;
    assert.equal(text, plain.text);
    assert.equal(await s.finishReason, "stop");
    const usage = await s.usage;
    const rec = await record((await s.response).headers["x-request-id"]);
    assert.equal(usage.inputTokens, rec.input.inputTokenCount);
    assert.equal(usage.outputTokens, rec.output.outputTokenCount);
  });

  test(`${label}: generateText with tools and stopWhen runs the tool and ends with a text answer`, async () => {
    const calls = [];
    const r = await generateText({ model: chat(models.haiku), prompt: weatherPrompt, tools: weatherTools(calls), stopWhen: stepCountIs(5) });
    assert.ok(calls.length >= 1, "the tool was never executed");
    assert.ok(r.steps.length >= 2, `only ${r.steps.length} step(s)`);
    assert.equal(r.steps[0].finishReason, "tool-calls");
    assert.equal(r.steps[0].toolCalls[0].toolName, weatherTool.name);
    assert.equal(r.finishReason, "stop");
    assert.ok(r.text.length > 0, "the loop did not end with text");
  });

  test(`${label}: generateObject with a zod schema (json_schema) returns an object that validates`, async () => {
    const r = await generateObject({ model: chatStructured(models.haiku), schema: Weather, prompt: "Describe the weather in Paris." });
    const parsed = Weather.safeParse(r.object);
    assert.ok(parsed.success, `object does not validate: ${parsed.error}`);
  });

  test(`${label}: a refused request is an APICallError with OpenAI's error body`, async () => {
    await assert.rejects(generateText({ model: chat(models.haiku), ...request, temperature: 1.5 }), (err) => {
      assert.ok(APICallError.isInstance(err), `got ${err.name}: ${err.message}`);
      assert.equal(err.statusCode, 400);
      const body = JSON.parse(err.responseBody);
      assert.equal(body.error.type, "invalid_request_error");
      assert.equal(body.error.param, "temperature");
      assert.equal(err.message, body.error.message);
      return true;
    });
  });
}

// @ai-sdk/openai's default provider: openai(id) is the Responses API.
test("@ai-sdk/openai default (Responses API): generateText answers with usage equal to the invocation record", async () => {
  const r = await generateText({ model: openai(models.haiku), ...request });
  assert.ok(r.text.length > 0);
  assert.equal(r.finishReason, "stop");
  const id = r.response.headers["x-request-id"];
  assert.equal(r.response.id, "resp_" + id.replaceAll("-", ""));
  const rec = await record(id);
  assert.equal(rec.operation, "Responses");
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(r.usage.inputTokens, rec.input.inputTokenCount);
  assert.equal(r.usage.outputTokens, rec.output.outputTokenCount);
});

test("@ai-sdk/openai default (Responses API): streamText assembles generateText's text and usage", async () => {
  const plain = await generateText({ model: openai(models.haiku), ...request });
  const s = streamText({ model: openai(models.haiku), ...request });
  let text = "";
  for await (const delta of s.textStream) text += delta;
  assert.equal(text, plain.text);
  assert.equal(await s.finishReason, "stop");
  const usage = await s.usage;
  assert.equal(usage.inputTokens, plain.usage.inputTokens);
  assert.equal(usage.outputTokens, plain.usage.outputTokens);
});

test("@ai-sdk/openai default (Responses API): tools with stopWhen run the tool and end with text", async () => {
  const calls = [];
  const r = await generateText({ model: openai(models.haiku), prompt: weatherPrompt, tools: weatherTools(calls), stopWhen: stepCountIs(5) });
  assert.ok(calls.length >= 1, "the tool was never executed");
  assert.equal(r.steps[0].finishReason, "tool-calls");
  assert.equal(r.finishReason, "stop");
  assert.ok(r.text.length > 0, "the loop did not end with text");
});

test("@ai-sdk/openai default (Responses API): generateObject returns an object that validates", async () => {
  const r = await generateObject({ model: openai(models.haiku), schema: Weather, prompt: "Describe the weather in Paris." });
  const parsed = Weather.safeParse(r.object);
  assert.ok(parsed.success, `object does not validate: ${parsed.error}`);
});
