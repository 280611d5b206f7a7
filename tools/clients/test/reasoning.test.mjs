// Reasoning through the JavaScript clients: @aws-sdk/client-bedrock-runtime's
// Converse and ConverseStream on Claude Sonnet 4.5 with extended thinking
// (additionalModelRequestFields.thinking), the reasoning block sent back in
// the next turn (accepted unmodified, refused when tampered with), and
// @anthropic-ai/bedrock-sdk's messages.create with thinking. Only endpoint,
// region and credentials are set on each client.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { AnthropicBedrock } from "@anthropic-ai/bedrock-sdk";
import { env, credentials, record } from "../lib/suite.mjs";

const sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const question = { role: "user", content: [{ text: "How many prime numbers are below 20?" }] };
const thinking = { thinking: { type: "enabled", budget_tokens: 2048 } };

const input = (messages) => ({
  modelId: sonnet45,
  messages,
  inferenceConfig: { maxTokens: 4096 },
  additionalModelRequestFields: thinking,
});

// The simulator's token count of a text, as the server's record counts it:
// the reasoning and the answer add up to outputTokens.
function splitAnswer(message) {
  assert.equal(message.content.length, 2, JSON.stringify(message.content));
  const reasoning = message.content[0].reasoningContent?.reasoningText;
  assert.ok(reasoning, "the first block is reasoning");
  assert.equal(typeof message.content[1].text, "string");
  return { reasoning, answer: message.content[1].text };
}

test("Converse with thinking answers with a signed reasoning block, then the text", async () => {
  const res = await client.send(new ConverseCommand(input([question])));
  const { reasoning, answer } = splitAnswer(res.output.message);
  assert.ok(reasoning.text.length > 0);
  assert.ok(reasoning.signature.length > 0);
  assert.ok(answer.length > 0);
  // Reasoning is output: the same question without thinking costs less.
  const plain = await client.send(new ConverseCommand({ modelId: sonnet45, messages: [question], inferenceConfig: { maxTokens: 4096 } }));
  assert.equal(plain.output.message.content[0].text, answer);
  const reasoningTokens = res.usage.outputTokens - plain.usage.outputTokens;
  assert.ok(reasoningTokens >= 2048 / 16 && reasoningTokens <= 2048 / 8, `reasoning of ${reasoningTokens} tokens`);
  const rec = await record(res.$metadata.requestId);
  assert.equal(rec.output.outputTokenCount, res.usage.outputTokens);
});

test("ConverseStream sends reasoning text deltas, one signature delta, then the answer at index 1", async () => {
  const ref = await client.send(new ConverseCommand(input([question])));
  const { reasoning, answer } = splitAnswer(ref.output.message);
  const res = await client.send(new ConverseStreamCommand(input([question])));
  const order = [];
  let text = "";
  let signature = "";
  let body = "";
  let usage;
  const note = (s) => {
    if (order.at(-1) !== s) order.push(s);
  };
  for await (const ev of res.stream) {
    if (ev.contentBlockDelta) {
      const { delta, contentBlockIndex } = ev.contentBlockDelta;
      if (delta.reasoningContent?.text !== undefined) {
        text += delta.reasoningContent.text;
        note(`reasoning${contentBlockIndex}`);
      } else if (delta.reasoningContent?.signature !== undefined) {
        signature += delta.reasoningContent.signature;
        note(`signature${contentBlockIndex}`);
      } else if (delta.text !== undefined) {
        body += delta.text;
        note(`text${contentBlockIndex}`);
      }
    } else if (ev.contentBlockStop) {
      note(`stop${ev.contentBlockStop.contentBlockIndex}`);
    } else if (ev.metadata) {
      usage = ev.metadata.usage;
    }
  }
  assert.equal(order.join(" "), "reasoning0 signature0 stop0 text1 stop1");
  assert.equal(text, reasoning.text);
  assert.equal(signature, reasoning.signature);
  assert.equal(body, answer);
  assert.equal(usage.outputTokens, ref.usage.outputTokens);
});

test("the reasoning block goes back unmodified; a tampered one is Bedrock's ValidationException", async () => {
  const first = await client.send(new ConverseCommand(input([question])));
  const next = { role: "user", content: [{ text: "Name them." }] };
  const ok = await client.send(new ConverseCommand(input([question, first.output.message, next])));
  splitAnswer(ok.output.message);

  const tampered = structuredClone(first.output.message);
  tampered.content[0].reasoningContent.reasoningText.text += " Actually, nine.";
  await assert.rejects(client.send(new ConverseCommand(input([question, tampered, next]))), (err) => {
    assert.ok(err instanceof ValidationException, `got ${err.name}: ${err.message}`);
    assert.equal(err.message, "The model returned the following errors: messages.1.content.0: Invalid signature in thinking block");
    assert.equal(err.$metadata.httpStatusCode, 400);
    return true;
  });
});

test("@anthropic-ai/bedrock-sdk messages.create with thinking returns thinking then text", async () => {
  const anthropic = new AnthropicBedrock({
    baseURL: env.endpoint,
    awsRegion: env.region,
    awsAccessKey: env.accessKeyId,
    awsSecretKey: env.secretAccessKey,
  });
  const request = {
    model: sonnet45,
    max_tokens: 4096,
    thinking: { type: "enabled", budget_tokens: 2048 },
    messages: [{ role: "user", content: "How many prime numbers are below 20?" }],
  };
  const { data: msg, response } = await anthropic.messages.create(request).withResponse();
  assert.deepEqual(msg.content.map((b) => b.type), ["thinking", "text"]);
  assert.ok(msg.content[0].thinking.length > 0 && msg.content[0].signature.length > 0);
  const rec = await record(response.headers.get("x-amzn-requestid"));
  assert.equal(msg.usage.output_tokens, rec.output.outputTokenCount);

  // The SDK's own multi-turn form: the assistant's content back as is.
  const next = await anthropic.messages.create({
    ...request,
    messages: [...request.messages, { role: "assistant", content: msg.content }, { role: "user", content: "Name them." }],
  });
  assert.equal(next.content[0].type, "thinking");
});
