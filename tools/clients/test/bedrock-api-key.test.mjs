// Bedrock API keys: every Bedrock client here authenticates with a bearer
// key the way AWS documents it, by the AWS_BEARER_TOKEN_BEDROCK variable
// (exported below, as a user's shell would; each test file runs in its own
// process). The clients send the key as Authorization: Bearer instead of
// signing: @aws-sdk/client-bedrock-runtime (HTTP/2), @ai-sdk/amazon-bedrock
// and @anthropic-ai/bedrock-sdk (fetch), LangChain's ChatBedrockConverse.
// Only endpoint/baseURL and region are set. Run in the TLS pass only: the
// AWS SDK sends bearer tokens over HTTPS only.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_API_KEY, MW_BEARER_PRINCIPAL_ARN,
//   MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { env, models, record } from "../lib/suite.mjs";

process.env.AWS_BEARER_TOKEN_BEDROCK = env.apiKey;
const { BedrockRuntimeClient, ConverseCommand } = await import("@aws-sdk/client-bedrock-runtime");
const { generateText } = await import("ai");
const { createAmazonBedrock } = await import("@ai-sdk/amazon-bedrock");
const { AnthropicBedrock } = await import("@anthropic-ai/bedrock-sdk");
const { ChatBedrockConverse } = await import("@langchain/aws");

const skip = env.tls ? false : "bearer keys are tested in the TLS pass (the AWS SDK sends them over HTTPS only)";
const question = [{ role: "user", content: [{ text: "What does an invocation log record?" }] }];

let client;
after(() => client?.destroy());

async function expectBearerRecord(requestId, usage) {
  const rec = await record(requestId);
  assert.equal(rec.identity.arn, env.bearerPrincipalARN, "the call was not authenticated with the API key");
  assert.equal(usage.input, rec.input.inputTokenCount);
  assert.equal(usage.output, rec.output.outputTokenCount);
}

test("BedrockRuntimeClient sends AWS_BEARER_TOKEN_BEDROCK as a bearer key", { skip }, async () => {
  client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region });
  const out = await client.send(new ConverseCommand({ modelId: models.haiku, messages: question }));
  await expectBearerRecord(out.$metadata.requestId, { input: out.usage.inputTokens, output: out.usage.outputTokens });
});

test("@ai-sdk/amazon-bedrock picks the bearer key up from the environment", { skip }, async () => {
  const bedrock = createAmazonBedrock({ baseURL: env.endpoint, region: env.region });
  const r = await generateText({ model: bedrock(models.haiku), prompt: "What does an invocation log record?" });
  await expectBearerRecord(r.response.headers["x-amzn-requestid"], { input: r.usage.inputTokens, output: r.usage.outputTokens });
});

test("AnthropicBedrock picks the bearer key up from the environment", { skip }, async () => {
  const anthropic = new AnthropicBedrock({ baseURL: env.endpoint, awsRegion: env.region });
  const { data: msg, response } = await anthropic.messages
    .create({ model: models.haiku, max_tokens: 200, messages: [{ role: "user", content: "What does an invocation log record?" }] })
    .withResponse();
  await expectBearerRecord(response.headers.get("x-amzn-requestid"), { input: msg.usage.input_tokens, output: msg.usage.output_tokens });
});

test("ChatBedrockConverse picks the bearer key up from the environment", { skip }, async () => {
  const chat = new ChatBedrockConverse({ model: models.haiku, region: env.region, endpointHost: new URL(env.endpoint).host });
  const msg = await chat.invoke("What does an invocation log record?");
  await expectBearerRecord(msg.response_metadata.$metadata.requestId, { input: msg.usage_metadata.input_tokens, output: msg.usage_metadata.output_tokens });
});
