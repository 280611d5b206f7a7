// @aws-sdk/client-bedrock-runtime calling issue 16's Cohere Command R / R+
// and AI21 Jamba 1.5 models with the native bodies of AWS's documentation,
// through InvokeModel, InvokeModelWithResponseStream and Converse. The
// simulator's replies are deterministic for a conversation, so each native
// answer must say exactly what Converse says for the same conversation, and
// every count must equal the invocation record's.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { BedrockRuntimeClient, ConverseCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime";
import { env, credentials, record } from "../lib/suite.mjs";
import { invokeJSON, invokeStreamJSON, checkStreamMetrics } from "../lib/native.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const invoke = (modelId, body) => invokeJSON(client, modelId, body);
const invokeStream = (modelId, body) => invokeStreamJSON(client, modelId, body);

async function converse(input) {
  const out = await client.send(new ConverseCommand(input));
  const text = out.output.message.content.filter((b) => typeof b.text === "string").map((b) => b.text).join("");
  return { text, usage: out.usage, stopReason: out.stopReason };
}

const preamble = "You are a helpful assistant.";
const question = "What is an interesting new role in AI if I don't have an ML background?";

for (const model of ["cohere.command-r-v1:0", "cohere.command-r-plus-v1:0"]) {
  test(`${model}: v1 chat body, stream and Converse agree`, async () => {
    const body = {
      message: question,
      chat_history: [
        { role: "USER", message: "Who discovered gravity?" },
        { role: "CHATBOT", message: "The man who is widely credited with discovering gravity is Sir Isaac Newton" },
      ],
      preamble,
      max_tokens: 300,
    };
    const conv = await converse({
      modelId: model,
      system: [{ text: preamble }],
      messages: [
        { role: "user", content: [{ text: "Who discovered gravity?" }] },
        { role: "assistant", content: [{ text: "The man who is widely credited with discovering gravity is Sir Isaac Newton" }] },
        { role: "user", content: [{ text: question }] },
      ],
      inferenceConfig: { maxTokens: 300 },
    });

    const out = await invoke(model, body);
    assert.equal(out.body.text, conv.text);
    assert.equal(out.body.response_id, out.requestId);
    assert.match(out.body.generation_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(out.body.finish_reason, "COMPLETE");
    assert.deepEqual(out.body.chat_history.map((t) => t.role), ["USER", "CHATBOT", "USER", "CHATBOT"]);
    assert.equal(out.body.chat_history.at(-1).message, conv.text);
    assert.deepEqual(out.body.meta.billed_units, { input_tokens: conv.usage.inputTokens, output_tokens: conv.usage.outputTokens });
    const rec = await record(out.requestId);
    assert.equal(rec.input.inputTokenCount, conv.usage.inputTokens);
    assert.equal(rec.output.outputTokenCount, conv.usage.outputTokens);

    const stream = await invokeStream(model, body);
    assert.equal(stream.chunks[0].event_type, "stream-start");
    assert.equal(stream.chunks[0].generation_id.length, 36);
    const texts = stream.chunks.filter((c) => c.event_type === "text-generation");
    assert.equal(texts.map((c) => c.text).join(""), conv.text);
    const end = stream.chunks.at(-1);
    assert.equal(end.is_finished, true);
    assert.equal(end.event_type, "stream-end");
    assert.equal(end.finish_reason, "COMPLETE");
    assert.equal(end.response.text, conv.text);
    assert.equal(end.response.generation_id, stream.chunks[0].generation_id);
    await checkStreamMetrics(stream, conv.usage);
  });
}

test("Command R+: the AWS page's top_song tool, called and answered", async () => {
  const model = "cohere.command-r-plus-v1:0";
  const tools = [{
    name: "top_song",
    description: "Get the most popular song played on a radio station.",
    parameter_definitions: { sign: { description: "The call sign for the radio station for which you want the most popular song.", type: "str", required: true } },
  }];
  const first = await invoke(model, { message: "What is the most popular song on WZPZ?", tools });
  assert.equal(first.body.tool_calls.length, 1);
  const call = first.body.tool_calls[0];
  assert.equal(call.name, "top_song");
  assert.equal(typeof call.parameters.sign, "string");
  const second = await invoke(model, {
    message: "",
    tools,
    chat_history: first.body.chat_history,
    tool_results: [{ call, outputs: [{ song: "Elemental Hotel", artist: "8 Storey Hike" }] }],
  });
  assert.ok(second.body.text.length > 0);
  assert.equal(second.body.tool_calls, undefined);
  assert.equal(second.body.finish_reason, "COMPLETE");
});

for (const model of ["ai21.jamba-1-5-mini-v1:0", "ai21.jamba-1-5-large-v1:0"]) {
  test(`${model}: messages body, stream and Converse agree`, async () => {
    const system = "You are a helpful chatbot with a background in earth sciences and a charming French accent.";
    const q = "What are the main causes of earthquakes?";
    const body = { messages: [{ role: "system", content: system }, { role: "user", content: q }], max_tokens: 300, temperature: 0.7, top_p: 0.8 };
    const conv = await converse({ modelId: model, system: [{ text: system }], messages: [{ role: "user", content: [{ text: q }] }], inferenceConfig: { maxTokens: 300 } });

    const out = await invoke(model, body);
    assert.equal(out.body.choices.length, 1);
    assert.equal(out.body.choices[0].message.role, "assistant");
    assert.equal(out.body.choices[0].message.content, conv.text);
    assert.equal(out.body.choices[0].finish_reason, "stop");
    assert.equal(out.body.model, model.includes("mini") ? "jamba-1.5-mini" : "jamba-1.5-large");
    assert.deepEqual(out.body.usage, {
      prompt_tokens: conv.usage.inputTokens,
      completion_tokens: conv.usage.outputTokens,
      total_tokens: conv.usage.inputTokens + conv.usage.outputTokens,
    });
    const rec = await record(out.requestId);
    assert.equal(rec.input.inputTokenCount, conv.usage.inputTokens);
    assert.equal(rec.output.outputTokenCount, conv.usage.outputTokens);

    const stream = await invokeStream(model, body);
    assert.equal(stream.chunks.map((c) => c.choices[0].delta.content ?? "").join(""), conv.text);
    assert.deepEqual(stream.chunks.map((c) => c.choices[0].finish_reason).filter((r) => r !== null), ["stop"]);
    assert.equal(stream.chunks.at(-1).usage.completion_tokens, conv.usage.outputTokens);
    await checkStreamMetrics(stream, conv.usage);

    await assert.rejects(
      invoke(model, { ...body, n: 2 }),
      (err) => err instanceof ValidationException && /^n is 2, but modelwatch generates one chat response per call/.test(err.message),
    );
  });
}

test("bad bodies get Bedrock's schema wording", async () => {
  await assert.rejects(
    invoke("cohere.command-r-v1:0", { message: "x", p: 1 }),
    (err) => err instanceof ValidationException &&
      err.message === "Malformed input request: #/p: 1 is not less or equal to 0.99, please reformat your input and try again.",
  );
  await assert.rejects(
    invoke("ai21.jamba-1-5-mini-v1:0", { messages: [{ role: "user", content: "x" }], temperature: 2.1 }),
    (err) => err instanceof ValidationException &&
      err.message === "Malformed input request: #/temperature: 2.1 is not less or equal to 2, please reformat your input and try again.",
  );
});
