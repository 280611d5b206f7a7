// @aws-sdk/client-bedrock-runtime calling issue 16's Mistral chat models
// (Mistral Large 2 24.07, Pixtral Large with an image), DeepSeek-R1 (through
// its us. inference profile, with its inline reasoning) and Llama 4
// Maverick, with the bodies of AWS's documentation examples, through
// InvokeModel, InvokeModelWithResponseStream and Converse. The simulator's
// replies are deterministic for a conversation, so the native answers must
// say exactly what Converse says for the same conversation, and every count
// must equal the invocation record's.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { BedrockRuntimeClient, ConverseCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime";
import { env, credentials, record } from "../lib/suite.mjs";
import { invokeJSON, invokeStreamJSON, checkStreamMetrics } from "../lib/native.mjs";
import { greyPNG } from "../lib/png.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const invoke = (modelId, body) => invokeJSON(client, modelId, body);
const invokeStream = (modelId, body) => invokeStreamJSON(client, modelId, body);

/** Converse's answer: reasoning and text. */
async function converse(input) {
  const out = await client.send(new ConverseCommand(input));
  let reasoning = "";
  let text = "";
  for (const b of out.output.message.content) {
    if (b.reasoningContent) reasoning += b.reasoningContent.reasoningText.text;
    if (typeof b.text === "string") text += b.text;
  }
  return { reasoning, text, usage: out.usage, stopReason: out.stopReason };
}

const wzpz = "What is the most popular song on WZPZ?";

test("Mistral Large 2: chat body, stream and Converse agree", async () => {
  const model = "mistral.mistral-large-2407-v1:0";
  const body = { messages: [{ role: "user", content: wzpz }], max_tokens: 200, temperature: 0.5, top_p: 0.9 };
  const conv = await converse({ modelId: model, messages: [{ role: "user", content: [{ text: wzpz }] }], inferenceConfig: { maxTokens: 200 } });

  const out = await invoke(model, body);
  const choice = out.body.choices[0];
  assert.equal(choice.index, 0);
  assert.equal(choice.message.role, "assistant");
  assert.equal(choice.message.content, conv.text);
  assert.equal(choice.stop_reason, "stop");
  assert.equal(choice.finish_reason, "stop");
  const rec = await record(out.requestId);
  assert.equal(out.body.usage.prompt_tokens, rec.input.inputTokenCount);
  assert.equal(out.body.usage.completion_tokens, rec.output.outputTokenCount);
  assert.equal(out.body.usage.prompt_tokens, conv.usage.inputTokens);
  assert.equal(out.body.usage.completion_tokens, conv.usage.outputTokens);

  const stream = await invokeStream(model, body);
  assert.equal(stream.chunks.map((c) => c.choices[0].message.content).join(""), conv.text);
  assert.deepEqual(stream.chunks.map((c) => c.choices[0].stop_reason).filter((r) => r !== null), ["stop"]);
  await checkStreamMetrics(stream, { outputTokens: conv.usage.outputTokens });
});

test("Mistral Large 2: the AWS page's top_song tool is called", async () => {
  const body = {
    messages: [{ role: "user", content: wzpz }],
    tools: [{ type: "function", function: { name: "top_song", description: "Get the most popular song played on a radio station.",
      parameters: { type: "object", properties: { sign: { type: "string" } }, required: ["sign"] } } }],
    tool_choice: "any",
  };
  const out = await invoke("mistral.mistral-large-2407-v1:0", body);
  const choice = out.body.choices[0];
  assert.equal(choice.stop_reason, "tool_calls");
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "top_song");
  assert.equal(typeof JSON.parse(call.function.arguments).sign, "string");
});

test("Pixtral Large reads an inline image: same answer and counts as Converse's image block", async () => {
  const model = "mistral.pixtral-large-2502-v1:0";
  const png = greyPNG(1, 1, () => 0x80); // a real 1x1 grey PNG
  const q = "What is in this image?";
  const body = { messages: [{ role: "user", content: [{ type: "text", text: q }, { type: "image_url", image_url: `data:image/png;base64,${png.toString("base64")}` }] }], max_tokens: 300 };
  const conv = await converse({ modelId: model, messages: [{ role: "user", content: [{ text: q }, { image: { format: "png", source: { bytes: png } } }] }], inferenceConfig: { maxTokens: 300 } });
  const out = await invoke(model, body);
  assert.equal(out.body.choices[0].message.content, conv.text);
  assert.equal(out.body.usage.prompt_tokens, conv.usage.inputTokens);

  await assert.rejects(
    invoke("mistral.mistral-large-2407-v1:0", body),
    (err) => err instanceof ValidationException && /doesn't support the image content block/.test(err.message),
  );
});

test("DeepSeek-R1 through us.deepseek.r1-v1:0: reasoning inline before </think>", async () => {
  const model = "us.deepseek.r1-v1:0";
  const q = "Hi. In a short paragraph, explain what you can do.";
  const body = { prompt: `<｜begin▁of▁sentence｜><｜User｜>${q}<｜Assistant｜><think>\n`, max_tokens: 512, temperature: 0.5, top_p: 0.9 };
  const conv = await converse({ modelId: model, messages: [{ role: "user", content: [{ text: q }] }], inferenceConfig: { maxTokens: 512 } });
  assert.ok(conv.reasoning.length > 0, "R1 answered without reasoning");
  const want = `${conv.reasoning}\n</think>\n\n${conv.text}`;

  const out = await invoke(model, body);
  assert.deepEqual(out.body, { choices: [{ text: want, stop_reason: "stop" }] });
  const rec = await record(out.requestId);
  assert.equal(rec.output.outputTokenCount, conv.usage.outputTokens);
  assert.equal(rec.input.inputTokenCount, conv.usage.inputTokens);

  const stream = await invokeStream(model, body);
  assert.equal(stream.chunks.map((c) => c.choices[0].text).join(""), want);
  assert.equal(stream.chunks.at(-1).choices[0].stop_reason, "stop");
  await checkStreamMetrics(stream, { outputTokens: conv.usage.outputTokens });

  await assert.rejects(
    invoke(model, { prompt: q, max_tokens: 32769 }),
    (err) => err instanceof ValidationException &&
      err.message === "Malformed input request: #/max_tokens: 32769 is not less or equal to 32768, please reformat your input and try again.",
  );
});

test("Llama 4 Maverick: Llama 4 chat template, stream and Converse agree", async () => {
  const model = "meta.llama4-maverick-17b-instruct-v1:0";
  const q = "Describe the purpose of a 'hello world' program in one line.";
  const body = {
    prompt: `<|begin_of_text|><|header_start|>user<|header_end|>\n\n${q}<|eot|><|header_start|>assistant<|header_end|>\n\n`,
    max_gen_len: 512,
    temperature: 0.5,
  };
  const conv = await converse({ modelId: model, messages: [{ role: "user", content: [{ text: q }] }], inferenceConfig: { maxTokens: 512 } });
  const out = await invoke(model, body);
  assert.equal(out.body.generation, conv.text);
  assert.equal(out.body.prompt_token_count, conv.usage.inputTokens);
  assert.equal(out.body.generation_token_count, conv.usage.outputTokens);
  assert.equal(out.body.stop_reason, "stop");

  const stream = await invokeStream(model, body);
  assert.equal(stream.chunks.map((c) => c.generation).join(""), conv.text);
  await checkStreamMetrics(stream, { outputTokens: conv.usage.outputTokens });
});
