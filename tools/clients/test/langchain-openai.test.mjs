// LangChain's ChatOpenAI (@langchain/openai 1.5 on @langchain/core 1.x, over
// the openai 6 client) against modelwatch's OpenAI-compatible API, with the
// defaults: Chat Completions, global fetch (HTTP/1.1), Authorization:
// Bearer, stream usage on. Set: model, apiKey and configuration.baseURL.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_OPENAI_BASE_URL, MW_API_KEY, MW_ENDPOINT (record look-ups),
//   MW_BEARER_PRINCIPAL_ARN, MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatOpenAI } from "@langchain/openai";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { env, models, record, requestIdOfCompletion } from "../lib/suite.mjs";
import { Weather, toolLoop } from "../lib/langchain.mjs";

const chat = () => new ChatOpenAI({ model: models.haiku, apiKey: env.apiKey, configuration: { baseURL: env.openaiBaseURL } });

const messages = [new SystemMessage("You are a concise assistant."), new HumanMessage("What does an invocation log record?")];



test("ChatOpenAI.invoke answers with usage_metadata equal to the invocation record", async () => {
  const msg = await chat().invoke(messages);
  assert.ok(msg.text.length > 0);
  assert.equal(msg.response_metadata.finish_reason, "stop");
  const rec = await record(requestIdOfCompletion(msg.id));
  assert.equal(rec.operation, "ChatCompletions");
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(msg.usage_metadata.input_tokens, rec.input.inputTokenCount);
  assert.equal(msg.usage_metadata.output_tokens, rec.output.outputTokenCount);
  assert.equal(msg.usage_metadata.total_tokens, rec.input.inputTokenCount + rec.output.outputTokenCount);
});

test("ChatOpenAI.stream assembles the same text as invoke; its usage equals the record", async () => {
  const model = chat();
  const plain = await model.invoke(messages);
  let acc;
  for await (const chunk of await model.stream(messages)) acc = acc ? acc.concat(chunk) : chunk;
  assert.equal(acc.text, plain.text);
  const rec = await record(requestIdOfCompletion(acc.id));
  assert.equal(acc.usage_metadata.input_tokens, rec.input.inputTokenCount);
  assert.equal(acc.usage_metadata.output_tokens, rec.output.outputTokenCount);
});

test("ChatOpenAI.bindTools with tool messages: the loop runs the tool and ends with a text answer", async () => {
  await toolLoop(chat());
});

test("withStructuredOutput on ChatOpenAI (json_schema) returns an object that validates", async () => {
  const out = await chat().withStructuredOutput(Weather, { name: "weather" }).invoke("Describe the weather in Paris.");
  const parsed = Weather.safeParse(out);
  assert.ok(parsed.success, `result does not validate: ${parsed.error}`);
});
