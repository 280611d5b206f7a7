// Embeddings through three clients, each with its defaults:
//   - openai (embeddings.create: base64 on the wire unless told otherwise,
//     global fetch), on /v1/embeddings;
//   - the AI SDK's embed with @ai-sdk/amazon-bedrock (InvokeModel with a
//     Titan body, global fetch, SigV4);
//   - LangChain's BedrockEmbeddings (InvokeModel through
//     @aws-sdk/client-bedrock-runtime: HTTP/2, SigV4 with :authority; it has
//     no endpoint option, so it finds modelwatch through the standard
//     AWS_ENDPOINT_URL_BEDROCK_RUNTIME variable the driver exports).
// All on amazon.titan-embed-text-v2:0 (1024 dimensions by default).
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_OPENAI_BASE_URL, MW_REGION, MW_ACCESS_KEY_ID,
//   MW_SECRET_ACCESS_KEY, MW_API_KEY, AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
//   MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { embed, embedMany } from "ai";
import { createAmazonBedrock } from "@ai-sdk/amazon-bedrock";
import { BedrockEmbeddings } from "@langchain/aws";
import { env, credentials, models, record } from "../lib/suite.mjs";

const openai = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });
const bedrock = createAmazonBedrock({ baseURL: env.endpoint, region: env.region, accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey });
const langchain = new BedrockEmbeddings({ model: models.titanEmbed, region: env.region, credentials });

const text = "Invocation logs record every call to a model.";
const other = "Metrics count tokens per model.";

const float32 = (v) => v.map((x) => Math.fround(x));

test("openai embeddings.create (base64 by default) decodes to the float vector, usage equal to the record", async () => {
  const { data: res, request_id } = await openai.embeddings.create({ model: models.titanEmbed, input: text }).withResponse();
  assert.equal(res.object, "list");
  assert.equal(res.data.length, 1);
  assert.equal(res.data[0].embedding.length, 1024);
  const rec = await record(request_id);
  assert.equal(rec.operation, "Embeddings");
  assert.equal(res.usage.prompt_tokens, rec.input.inputTokenCount);
  assert.equal(res.usage.total_tokens, res.usage.prompt_tokens);
  const asFloat = await openai.embeddings.create({ model: models.titanEmbed, input: text, encoding_format: "float" });
  assert.deepEqual(res.data[0].embedding, float32(asFloat.data[0].embedding));
});

test("openai embeddings.create with an array input and dimensions answers each input in order", async () => {
  const both = await openai.embeddings.create({ model: models.titanEmbed, input: [text, other], dimensions: 256 });
  assert.deepEqual(both.data.map((d) => d.index), [0, 1]);
  for (const d of both.data) assert.equal(d.embedding.length, 256);
  const one = await openai.embeddings.create({ model: models.titanEmbed, input: other, dimensions: 256 });
  assert.deepEqual(both.data[1].embedding, one.data[0].embedding);
  assert.notDeepEqual(both.data[0].embedding, both.data[1].embedding);
});

test("AI SDK embed on Bedrock Titan v2 returns 1024 dimensions and the tokens the OpenAI API counts", async () => {
  const r = await embed({ model: bedrock.embedding(models.titanEmbed), value: text });
  assert.equal(r.embedding.length, 1024);
  const viaOpenAI = await openai.embeddings.create({ model: models.titanEmbed, input: text });
  assert.equal(r.usage.tokens, viaOpenAI.usage.prompt_tokens);
  const small = await embed({ model: bedrock.embedding(models.titanEmbed), value: text, providerOptions: { bedrock: { dimensions: 256 } } });
  assert.equal(small.embedding.length, 256);
});

test("AI SDK embedMany equals embed of each value", async () => {
  const many = await embedMany({ model: bedrock.embedding(models.titanEmbed), values: [text, other] });
  const [a, b] = await Promise.all([text, other].map((value) => embed({ model: bedrock.embedding(models.titanEmbed), value })));
  assert.deepEqual(many.embeddings, [a.embedding, b.embedding]);
});

test("LangChain BedrockEmbeddings returns the vectors the AI SDK gets for the same InvokeModel", async () => {
  const query = await langchain.embedQuery(text);
  assert.equal(query.length, 1024);
  const docs = await langchain.embedDocuments([text, other]);
  assert.equal(docs.length, 2);
  assert.deepEqual(docs[0], query);
  const viaAISDK = await embed({ model: bedrock.embedding(models.titanEmbed), value: other });
  assert.deepEqual(docs[1], viaAISDK.embedding);
});
