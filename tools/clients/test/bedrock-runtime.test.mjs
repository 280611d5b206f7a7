// @aws-sdk/client-bedrock-runtime against modelwatch's Bedrock runtime API,
// with the client's defaults: its own request handler (NodeHttp2Handler
// since 3.798.0, so HTTP/2 — h2c prior knowledge on http://, ALPN h2 on
// https://), SigV4 signing (service bedrock, :authority signed), retries.
// Only endpoint, region and credentials are set.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCOUNT_ID, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_SIGV4_PRINCIPAL_ARN, MW_TRANSPORT,
//   NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  CountTokensCommand,
  AccessDeniedException,
  ValidationException,
  ResourceNotFoundException,
} from "@aws-sdk/client-bedrock-runtime";
import { z } from "zod";
import { env, credentials, models, record, weatherTool, weatherPrompt, weatherResult } from "../lib/suite.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const textOf = (message) => message.content.filter((b) => typeof b.text === "string").map((b) => b.text).join("");

const question = {
  system: [{ text: "You are a concise assistant." }],
  messages: [{ role: "user", content: [{ text: "What does an invocation log record?" }] }],
};

// anthropicBody is the native InvokeModel form of the same conversation.
const anthropicBody = {
  anthropic_version: "bedrock-2023-05-31",
  max_tokens: 300,
  system: "You are a concise assistant.",
  messages: [{ role: "user", content: "What does an invocation log record?" }],
};

async function converseStream(input) {
  const res = await client.send(new ConverseStreamCommand(input));
  const out = { requestId: res.$metadata.requestId, text: "", tools: new Map(), events: [] };
  for await (const ev of res.stream) {
    out.events.push(Object.keys(ev)[0]);
    if (ev.contentBlockStart?.start?.toolUse) {
      const { toolUseId, name } = ev.contentBlockStart.start.toolUse;
      out.tools.set(ev.contentBlockStart.contentBlockIndex, { toolUseId, name, input: "" });
    }
    if (typeof ev.contentBlockDelta?.delta?.text === "string") out.text += ev.contentBlockDelta.delta.text;
    if (ev.contentBlockDelta?.delta?.toolUse) out.tools.get(ev.contentBlockDelta.contentBlockIndex).input += ev.contentBlockDelta.delta.toolUse.input;
    if (ev.messageStop) out.stopReason = ev.messageStop.stopReason;
    if (ev.metadata) out.usage = ev.metadata.usage;
  }
  return out;
}

test("the client's default request handler speaks HTTP/2", () => {
  // What this file tests over: NodeHttp2Handler, the default since 3.798.0.
  assert.equal(client.config.requestHandler.metadata?.handlerProtocol, "h2");
});

test("Converse answers with usage equal to the invocation record", async () => {
  const out = await client.send(new ConverseCommand({ modelId: models.haiku, ...question }));
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.equal(out.stopReason, "end_turn");
  assert.ok(textOf(out.output.message).length > 0);
  const rec = await record(out.$metadata.requestId);
  assert.equal(rec.operation, "Converse");
  assert.equal(rec.identity.arn, env.sigv4PrincipalARN);
  assert.equal(out.usage.inputTokens, rec.input.inputTokenCount);
  assert.equal(out.usage.outputTokens, rec.output.outputTokenCount);
  assert.equal(out.usage.totalTokens, out.usage.inputTokens + out.usage.outputTokens);
});

test("ConverseStream assembles the same text as Converse, with the record's usage", async () => {
  const plain = await client.send(new ConverseCommand({ modelId: models.haiku, ...question }));
  const streamed = await converseStream({ modelId: models.haiku, ...question });
  assert.equal(streamed.text, textOf(plain.output.message));
  assert.equal(streamed.stopReason, plain.stopReason);
  assert.equal(streamed.events[0], "messageStart");
  assert.equal(streamed.events.at(-1), "metadata");
  assert.deepEqual(
    { in: streamed.usage.inputTokens, out: streamed.usage.outputTokens },
    { in: plain.usage.inputTokens, out: plain.usage.outputTokens },
  );
  const rec = await record(streamed.requestId);
  assert.equal(rec.operation, "ConverseStream");
  assert.equal(streamed.usage.inputTokens, rec.input.inputTokenCount);
  assert.equal(streamed.usage.outputTokens, rec.output.outputTokenCount);
});

test("InvokeModel returns Anthropic's native body with the record's usage", async () => {
  const out = await client.send(new InvokeModelCommand({
    modelId: models.haiku,
    contentType: "application/json",
    accept: "application/json",
    body: JSON.stringify(anthropicBody),
  }));
  const body = JSON.parse(new TextDecoder().decode(out.body));
  assert.equal(body.type, "message");
  assert.equal(body.role, "assistant");
  assert.ok(body.content[0].text.length > 0);
  const rec = await record(out.$metadata.requestId);
  assert.equal(rec.operation, "InvokeModel");
  assert.equal(body.usage.input_tokens, rec.input.inputTokenCount);
  assert.equal(body.usage.output_tokens, rec.output.outputTokenCount);
});

test("InvokeModelWithResponseStream chunks assemble the InvokeModel text; the last carries the record's counts", async () => {
  const plain = await client.send(new InvokeModelCommand({ modelId: models.haiku, body: JSON.stringify(anthropicBody) }));
  const plainBody = JSON.parse(new TextDecoder().decode(plain.body));
  const res = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: models.haiku, body: JSON.stringify(anthropicBody) }));
  let text = "";
  const types = [];
  let metrics;
  for await (const ev of res.body) {
    assert.ok(ev.chunk, `unexpected event ${Object.keys(ev)}`);
    const chunk = JSON.parse(new TextDecoder().decode(ev.chunk.bytes));
    types.push(chunk.type);
    if (chunk.type === "content_block_delta") text += chunk.delta.text;
    if (chunk["amazon-bedrock-invocationMetrics"]) metrics = chunk["amazon-bedrock-invocationMetrics"];
  }
  assert.equal(text, plainBody.content[0].text);
  assert.equal(types[0], "message_start");
  assert.equal(types.at(-1), "message_stop");
  assert.ok(metrics, "no amazon-bedrock-invocationMetrics in the last chunk");
  const rec = await record(res.$metadata.requestId);
  assert.equal(metrics.inputTokenCount, rec.input.inputTokenCount);
  assert.equal(metrics.outputTokenCount, rec.output.outputTokenCount);
  assert.equal(metrics.inputTokenCount, plainBody.usage.input_tokens);
  assert.equal(metrics.outputTokenCount, plainBody.usage.output_tokens);
});

test("Converse toolConfig loop: tool use, tool result, ends with a text answer", async () => {
  const toolConfig = {
    tools: [{ toolSpec: { name: weatherTool.name, description: weatherTool.description, inputSchema: { json: weatherTool.schema } } }],
  };
  const messages = [{ role: "user", content: [{ text: weatherPrompt }] }];
  let calls = 0;
  let final;
  for (let step = 0; step < 5; step++) {
    const out = await client.send(new ConverseCommand({ modelId: models.haiku, messages, toolConfig }));
    messages.push(out.output.message);
    if (out.stopReason !== "tool_use") {
      final = out;
      break;
    }
    const results = [];
    for (const block of out.output.message.content) {
      if (!block.toolUse) continue;
      calls++;
      assert.equal(block.toolUse.name, weatherTool.name);
      assert.equal(typeof block.toolUse.input.city, "string", "tool input does not follow the schema");
      assert.match(block.toolUse.toolUseId, /^[a-zA-Z0-9_.:-]{1,64}$/);
      results.push({ toolResult: { toolUseId: block.toolUse.toolUseId, content: [{ json: weatherResult(block.toolUse.input.city) }], status: "success" } });
    }
    assert.ok(results.length > 0, "stopReason tool_use without a toolUse block");
    messages.push({ role: "user", content: results });
  }
  assert.ok(calls >= 1, "the model never used the tool");
  assert.ok(final, "the loop did not end within 5 steps");
  assert.equal(final.stopReason, "end_turn");
  assert.ok(textOf(final.output.message).length > 0);
  assert.ok(!final.output.message.content.some((b) => b.toolUse));
});

test("ConverseStream streams the same tool use as Converse", async () => {
  const input = {
    modelId: models.haiku,
    messages: [{ role: "user", content: [{ text: weatherPrompt }] }],
    toolConfig: { tools: [{ toolSpec: { name: weatherTool.name, description: weatherTool.description, inputSchema: { json: weatherTool.schema } } }] },
  };
  const plain = await client.send(new ConverseCommand(input));
  assert.equal(plain.stopReason, "tool_use");
  const plainTool = plain.output.message.content.find((b) => b.toolUse).toolUse;
  const streamed = await converseStream(input);
  assert.equal(streamed.stopReason, "tool_use");
  const [tool] = [...streamed.tools.values()];
  assert.equal(tool.name, plainTool.name);
  assert.deepEqual(JSON.parse(tool.input), plainTool.input);
});

test("Converse outputConfig json_schema: the text validates against the schema", async () => {
  const Weather = z.object({ city: z.string(), temperatureC: z.number(), conditions: z.enum(["sunny", "cloudy", "rain", "snow"]) }).strict();
  const out = await client.send(new ConverseCommand({
    modelId: models.haiku,
    messages: [{ role: "user", content: [{ text: "Describe the weather in Paris." }] }],
    outputConfig: {
      textFormat: {
        type: "json_schema",
        structure: { jsonSchema: { name: "weather", description: "A weather report", schema: JSON.stringify(z.toJSONSchema(Weather)) } },
      },
    },
  }));
  const parsed = Weather.safeParse(JSON.parse(textOf(out.output.message)));
  assert.ok(parsed.success, `output does not validate: ${parsed.error}`);
});

// cachedPrompt is a unique system prompt long enough for every model's
// cache minimum (Claude 3.5 Haiku's 2,048 tokens), so no earlier call has
// cached it.
function cachedPrompt() {
  const sentence = "Invocation records keep the caller, the model, the tokens, the latency and the outcome of every call. ";
  return [{ text: `Session ${randomUUID()}. ${sentence.repeat(250)}` }, { cachePoint: { type: "default" } }];
}

for (const [label, modelId] of [["Claude 3.5 Haiku", models.haiku35], ["Nova Lite", models.nova]]) {
  test(`prompt caching: the second call reads exactly what the first wrote (${label})`, async () => {
    const input = { modelId, system: cachedPrompt(), messages: [{ role: "user", content: [{ text: "Summarise the rules." }] }] };
    const first = await client.send(new ConverseCommand(input));
    const second = await client.send(new ConverseCommand(input));
    assert.ok(first.usage.cacheWriteInputTokens > 0, `first call wrote no cache: ${JSON.stringify(first.usage)}`);
    assert.equal(first.usage.cacheReadInputTokens ?? 0, 0);
    assert.equal(second.usage.cacheReadInputTokens, first.usage.cacheWriteInputTokens);
    assert.equal(second.usage.cacheWriteInputTokens ?? 0, 0);
    assert.equal(second.usage.inputTokens, first.usage.inputTokens);
    const [r1, r2] = [await record(first.$metadata.requestId), await record(second.$metadata.requestId)];
    assert.equal(r1.input.cacheWriteInputTokenCount, first.usage.cacheWriteInputTokens);
    assert.equal(r2.input.cacheReadInputTokenCount, second.usage.cacheReadInputTokens);
  });
}

test("a cachePoint on a model without prompt caching is the SDK's AccessDeniedException", async () => {
  const input = { modelId: models.haiku, system: cachedPrompt(), messages: [{ role: "user", content: [{ text: "Summarise the rules." }] }] };
  await assert.rejects(client.send(new ConverseCommand(input)), (err) => {
    assert.ok(err instanceof AccessDeniedException, `got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 403);
    assert.equal(err.message, "You invoked an unsupported model, or your request did not allow prompt caching. See the documentation for more information.");
    return true;
  });
});

test("CountTokens (converse form) equals Converse's inputTokens for the same messages", async () => {
  const counted = await client.send(new CountTokensCommand({ modelId: models.haiku, input: { converse: question } }));
  const conversed = await client.send(new ConverseCommand({ modelId: models.haiku, ...question }));
  assert.equal(counted.inputTokens, conversed.usage.inputTokens);
});

test("CountTokens (invokeModel form) equals the input tokens of InvokeModel and Converse for the same messages", async () => {
  const body = new TextEncoder().encode(JSON.stringify(anthropicBody));
  const counted = await client.send(new CountTokensCommand({ modelId: models.haiku, input: { invokeModel: { body } } }));
  const invoked = JSON.parse(new TextDecoder().decode((await client.send(new InvokeModelCommand({ modelId: models.haiku, body }))).body));
  const conversed = await client.send(new ConverseCommand({ modelId: models.haiku, ...question }));
  assert.equal(counted.inputTokens, invoked.usage.input_tokens);
  assert.equal(counted.inputTokens, conversed.usage.inputTokens);
});

test("a cross-region inference profile ID is served and recorded under the ID as passed", async () => {
  const out = await client.send(new ConverseCommand({ modelId: models.haikuProfile, ...question }));
  const rec = await record(out.$metadata.requestId);
  assert.equal(rec.modelId, models.haikuProfile);
  assert.equal(out.usage.outputTokens, rec.output.outputTokenCount);
});

test("an unknown model is the SDK's ValidationException with Bedrock's message", async () => {
  await assert.rejects(client.send(new ConverseCommand({ modelId: "anthropic.claude-9", ...question })), (err) => {
    assert.ok(err instanceof ValidationException, `got ${err.name}: ${err.message}`);
    assert.equal(err.message, "The provided model identifier is invalid.");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.$fault, "client");
    return true;
  });
});

test("a provisioned model that is not configured is the SDK's ResourceNotFoundException", async () => {
  const arn = `arn:aws:bedrock:${env.region}:${env.accountId}:provisioned-model/abcdefghijkl`;
  await assert.rejects(client.send(new ConverseCommand({ modelId: arn, ...question })), (err) => {
    assert.ok(err instanceof ResourceNotFoundException, `got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 404);
    assert.match(err.message, /abcdefghijkl/);
    return true;
  });
});

test("a wrong secret is InvalidSignatureException, an unknown key UnrecognizedClientException", async () => {
  const cases = [
    { creds: { accessKeyId: env.accessKeyId, secretAccessKey: "not-the-secret" }, name: "InvalidSignatureException" },
    { creds: { accessKeyId: "AKIAUNKNOWNKEY000001", secretAccessKey: "whatever" }, name: "UnrecognizedClientException" },
  ];
  for (const c of cases) {
    const bad = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials: c.creds });
    try {
      await assert.rejects(bad.send(new ConverseCommand({ modelId: models.haiku, ...question })), (err) => {
        assert.equal(err.name, c.name, `${err.name}: ${err.message}`);
        assert.equal(err.$metadata.httpStatusCode, 403);
        assert.equal(err.$fault, "client");
        assert.ok(err.message.length > 0);
        return true;
      });
    } finally {
      bad.destroy();
    }
  }
});
