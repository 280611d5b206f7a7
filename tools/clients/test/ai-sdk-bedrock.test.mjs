// The Vercel AI SDK (ai 6) with @ai-sdk/amazon-bedrock against modelwatch's
// Converse and ConverseStream, with the provider's defaults: global fetch
// (HTTP/1.1), aws4fetch SigV4 signing (service bedrock), the SDK's retries.
// Only baseURL, region and the AWS keys are set.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_SIGV4_PRINCIPAL_ARN, MW_TRANSPORT,
//   NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateText, streamText, generateObject, tool, stepCountIs, APICallError } from "ai";
import { createAmazonBedrock } from "@ai-sdk/amazon-bedrock";
import { z } from "zod";
import { env, models, record, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const bedrock = createAmazonBedrock({
  baseURL: env.endpoint,
  region: env.region,
  accessKeyId: env.accessKeyId,
  secretAccessKey: env.secretAccessKey,
});

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

test("generateText answers with usage equal to the invocation record", async () => {
  const r = await generateText({ model: bedrock(models.haiku), ...request });
  assert.ok(r.text.length > 0);
  assert.equal(r.finishReason, "stop");
  const rec = await record(r.response.headers["x-amzn-requestid"]);
  assert.equal(rec.operation, "Converse");
  assert.equal(rec.identity.arn, env.sigv4PrincipalARN);
  assert.equal(r.usage.inputTokens, rec.input.inputTokenCount);
  assert.equal(r.usage.outputTokens, rec.output.outputTokenCount);
  assert.equal(r.usage.totalTokens, rec.input.inputTokenCount + rec.output.outputTokenCount);
});

test("streamText assembles the same text as generateText, with the record's usage", async () => {
  const plain = await generateText({ model: bedrock(models.haiku), ...request });
  const s = streamText({ model: bedrock(models.haiku), ...request });
  let text = "";
  for await (const delta of s.textStream) text += delta;
  assert.equal(text, plain.text);
  assert.equal(await s.finishReason, "stop");
  const usage = await s.usage;
  const rec = await record((await s.response).headers["x-amzn-requestid"]);
  assert.equal(rec.operation, "ConverseStream");
  assert.equal(usage.inputTokens, rec.input.inputTokenCount);
  assert.equal(usage.outputTokens, rec.output.outputTokenCount);
});

for (const [label, model] of [["Claude", models.haiku], ["Nova", models.nova]]) {
  test(`generateText with tools and stopWhen runs the tool and ends with a text answer (${label})`, async () => {
    const calls = [];
    const r = await generateText({ model: bedrock(model), prompt: weatherPrompt, tools: weatherTools(calls), stopWhen: stepCountIs(5) });
    assert.ok(calls.length >= 1, "the tool was never executed");
    assert.ok(r.steps.length >= 2, `only ${r.steps.length} step(s)`);
    assert.equal(r.steps[0].finishReason, "tool-calls");
    assert.equal(r.steps[0].toolCalls[0].toolName, weatherTool.name);
    assert.equal(r.finishReason, "stop");
    assert.ok(r.text.length > 0, "the loop did not end with text");
    assert.equal(r.steps.at(-1).toolCalls.length, 0);
  });
}

// For the default catalog's models the provider asks for the object through
// a forced "json" tool (toolChoice any); output_config.format is reserved to
// newer Claude models.
for (const [label, model] of [["Claude", models.haiku], ["Nova", models.nova]]) {
  test(`generateObject with a zod schema returns an object that validates (${label})`, async () => {
    const r = await generateObject({ model: bedrock(model), schema: Weather, prompt: "Describe the weather in Paris." });
    const parsed = Weather.safeParse(r.object);
    assert.ok(parsed.success, `object does not validate: ${parsed.error}`);
    const rec = await record(r.response.headers["x-amzn-requestid"]);
    assert.equal(r.usage.outputTokens, rec.output.outputTokenCount);
  });
}

test("an unknown model is an APICallError with Bedrock's status and message", async () => {
  await assert.rejects(generateText({ model: bedrock("anthropic.claude-9"), ...request }), (err) => {
    assert.ok(APICallError.isInstance(err), `got ${err.name}: ${err.message}`);
    assert.equal(err.statusCode, 400);
    assert.equal(err.message, "The provided model identifier is invalid.");
    assert.equal(err.isRetryable, false);
    return true;
  });
});
