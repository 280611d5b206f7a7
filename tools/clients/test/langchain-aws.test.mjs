// LangChain's ChatBedrockConverse (@langchain/aws 1.x on @langchain/core 1.x)
// against modelwatch's Converse and ConverseStream. It builds its own
// @aws-sdk/client-bedrock-runtime client with the SDK's defaults
// (NodeHttp2Handler: HTTP/2, SigV4 with :authority). Set: model, region,
// credentials, and the endpoint the two ways LangChain users give one:
// over TLS its endpointHost option (which always means https://), over
// plain HTTP the standard AWS_ENDPOINT_URL_BEDROCK_RUNTIME variable, which
// the driver exports (endpointHost cannot say http://).
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_SIGV4_PRINCIPAL_ARN, MW_TRANSPORT,
//   AWS_ENDPOINT_URL_BEDROCK_RUNTIME (= MW_ENDPOINT), NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatBedrockConverse } from "@langchain/aws";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { env, credentials, models, record } from "../lib/suite.mjs";
import { Weather, toolLoop } from "../lib/langchain.mjs";

assert.equal(process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME, env.endpoint, "the driver must export AWS_ENDPOINT_URL_BEDROCK_RUNTIME");

function chat(model) {
  return new ChatBedrockConverse({
    model,
    region: env.region,
    credentials,
    ...(env.tls ? { endpointHost: new URL(env.endpoint).host } : {}),
  });
}

const messages = [new SystemMessage("You are a concise assistant."), new HumanMessage("What does an invocation log record?")];



test("ChatBedrockConverse.invoke answers with usage_metadata equal to the invocation record", async () => {
  const msg = await chat(models.haiku).invoke(messages);
  assert.ok(msg.text.length > 0);
  assert.equal(msg.response_metadata.stopReason, "end_turn");
  const rec = await record(msg.response_metadata.$metadata.requestId);
  assert.equal(rec.operation, "Converse");
  assert.equal(rec.identity.arn, env.sigv4PrincipalARN);
  assert.equal(msg.usage_metadata.input_tokens, rec.input.inputTokenCount);
  assert.equal(msg.usage_metadata.output_tokens, rec.output.outputTokenCount);
  assert.equal(msg.usage_metadata.total_tokens, rec.input.inputTokenCount + rec.output.outputTokenCount);
});

test("ChatBedrockConverse.stream assembles the same text and usage as invoke", async () => {
  const model = chat(models.haiku);
  const plain = await model.invoke(messages);
  let acc;
  for await (const chunk of await model.stream(messages)) acc = acc ? acc.concat(chunk) : chunk;
  assert.equal(acc.text, plain.text);
  assert.equal(acc.usage_metadata.input_tokens, plain.usage_metadata.input_tokens);
  assert.equal(acc.usage_metadata.output_tokens, plain.usage_metadata.output_tokens);
});

test("ChatBedrockConverse.bindTools with tool messages: the loop runs the tool and ends with a text answer", async () => {
  await toolLoop(chat(models.haiku));
});

test("withStructuredOutput on ChatBedrockConverse returns an object that validates", async () => {
  const out = await chat(models.haiku).withStructuredOutput(Weather, { name: "weather" }).invoke("Describe the weather in Paris.");
  const parsed = Weather.safeParse(out);
  assert.ok(parsed.success, `result does not validate: ${parsed.error}`);
});
