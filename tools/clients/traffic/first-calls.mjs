// A new user's first calls, as internal/server's
// TestDashboardTellsTheTruthFromTheFirstCall makes them: the AWS SDK for
// JavaScript v3 and the openai SDK, each with its default settings (the
// AWS SDK's HTTP/2 transport and standard retryer, openai's fetch), only
// the endpoint, region and credentials given. Run it with node; it prints
// one JSON line: the tokens the answers reported and the attempts the AWS
// SDK made at the throttled call, the numbers the dashboard must show.
//
//   node first-calls.mjs first|second
//
// Environment: MW_ENDPOINT (modelwatch's base URL, anonymous on loopback),
// MW_THROTTLED_MODEL (a model configured to always throttle).
// "first" is the mix of the first run; "second" the two calls after the
// restart.
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import OpenAI from "openai";

const endpoint = process.env.MW_ENDPOINT;
const throttledModel = process.env.MW_THROTTLED_MODEL;
if (!endpoint || !throttledModel) throw new Error("MW_ENDPOINT and MW_THROTTLED_MODEL must be set (see internal/server/firstcall_test.go)");

const novaLite = "amazon.nova-lite-v1:0";
const haiku = "anthropic.claude-3-haiku-20240307-v1:0";
const bedrock = new BedrockRuntimeClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
const openai = new OpenAI({ baseURL: `${endpoint}/v1`, apiKey: "unused-on-loopback" });

const totals = { inputTokens: 0, outputTokens: 0, throttleAttempts: 0 };
const user = (text) => [{ role: "user", content: [{ text }] }];

async function converse(modelId, text) {
  const out = await bedrock.send(new ConverseCommand({ modelId, messages: user(text) }));
  totals.inputTokens += out.usage.inputTokens;
  totals.outputTokens += out.usage.outputTokens;
}

/** expectError sends a call that must fail with the named exception. */
async function expectError(name, modelId, messages) {
  try {
    await bedrock.send(new ConverseCommand({ modelId, messages }));
  } catch (e) {
    if (e.name !== name) throw e;
    return e;
  }
  throw new Error(`a call of ${modelId} succeeded; want ${name}`);
}

if (process.argv[2] === "second") {
  for (let i = 0; i < 2; i++) await converse(novaLite, `After the restart, question ${i}`);
} else {
  for (let i = 0; i < 23; i++) await converse(novaLite, `What does modelwatch record, question ${i}?`);
  for (let i = 0; i < 7; i++) {
    const c = await openai.chat.completions.create({ model: haiku, messages: [{ role: "user", content: `Summarise invocation logging in one line, take ${i}.` }] });
    totals.inputTokens += c.usage.prompt_tokens;
    totals.outputTokens += c.usage.completion_tokens;
  }
  // A conversation that does not start with a user message: a client error.
  for (let i = 0; i < 3; i++) {
    await expectError("ValidationException", novaLite, [{ role: "assistant", content: [{ text: "I speak first." }] }]);
  }
  // The SDK's standard retryer tries a throttled call again; it says how often.
  const throttle = await expectError("ThrottlingException", throttledModel, user("Am I throttled?"));
  totals.throttleAttempts = throttle.$metadata.attempts;
  // A streamed chat completion, with its usage in the last chunk.
  const stream = await openai.chat.completions.create({
    model: novaLite, stream: true, stream_options: { include_usage: true },
    messages: [{ role: "user", content: "Stream me a short answer." }],
  });
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) {
      totals.inputTokens += chunk.usage.prompt_tokens;
      totals.outputTokens += chunk.usage.completion_tokens;
    }
  }
  if (chunks < 2) throw new Error(`the stream had ${chunks} chunks`);
}
bedrock.destroy();
console.log(JSON.stringify(totals));
