// Multimodal embeddings through @aws-sdk/client-bedrock-runtime's
// InvokeModelCommand (its defaults: HTTP/2, SigV4) and the AI SDK's embed
// with @ai-sdk/amazon-bedrock (global fetch, SigV4): Titan Multimodal
// Embeddings G1 (amazon.titan-embed-image-v1) and Cohere Embed v3/v4
// (cohere.embed-english-v3, cohere.embed-v4:0), with bodies in the form of
// AWS's documentation examples and images made here as real PNG files.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { BedrockRuntimeClient, InvokeModelCommand, ValidationException } from "@aws-sdk/client-bedrock-runtime";
import { embed, embedMany } from "ai";
import { createAmazonBedrock } from "@ai-sdk/amazon-bedrock";
import { env, credentials, record } from "../lib/suite.mjs";
import { rgbPNG } from "../lib/png.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());
const bedrock = createAmazonBedrock({ baseURL: env.endpoint, region: env.region, accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey });

const titan = "amazon.titan-embed-image-v1";
const cohereV3 = "cohere.embed-english-v3";
const cohereV4 = "cohere.embed-v4:0";

// A sunset (a warm gradient with a sun) at two sizes, and unrelated blue
// and white stripes.
const sunset = (w, h) =>
  rgbPNG(w, h, (x, y) => {
    const fx = x / w, fy = y / h;
    if ((fx - 0.5) ** 2 + (fy - 0.6) ** 2 < 0.03) return [255, 230, 80];
    return [Math.round(240 - 80 * fy), Math.round(120 - 60 * fy), Math.round(60 + 90 * fy)];
  });
const stripes = (w, h) => rgbPNG(w, h, (x) => (Math.floor((x * 12) / w) % 2 ? [255, 255, 255] : [20, 40, 200]));

const b64 = (buf) => buf.toString("base64");
const dataURI = (buf) => `data:image/png;base64,${b64(buf)}`;
const cosine = (a, b) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
};

async function invoke(modelId, body) {
  const res = await client.send(new InvokeModelCommand({ modelId, body: JSON.stringify(body), contentType: "application/json", accept: "application/json" }));
  assert.equal(res.contentType, "application/json");
  return { out: JSON.parse(new TextDecoder().decode(res.body)), requestId: res.$metadata.requestId };
}

test("Titan Multimodal: text, image and both, at each output length", async () => {
  const text = "A sunset over the sea";
  const { out: t, requestId } = await invoke(titan, { inputText: text });
  assert.equal(t.embedding.length, 1024);
  assert.equal(t.message, null);
  const rec = await record(requestId);
  assert.equal(t.inputTextTokenCount, rec.input.inputTokenCount);
  assert.ok(t.inputTextTokenCount > 0);

  for (const n of [256, 384, 1024]) {
    const cfg = { embeddingConfig: { outputEmbeddingLength: n } };
    const [orig, resized, other] = await Promise.all(
      [sunset(300, 200), sunset(150, 100), stripes(300, 200)].map((img) => invoke(titan, { inputImage: b64(img), ...cfg })),
    );
    assert.equal(orig.out.embedding.length, n);
    assert.equal(orig.out.inputTextTokenCount, 0);
    const near = cosine(orig.out.embedding, resized.out.embedding), far = cosine(orig.out.embedding, other.out.embedding);
    assert.ok(near > 0.95 && far < 0.4, `length ${n}: resized ${near}, unrelated ${far}`);
  }

  const both = { inputText: text, inputImage: b64(sunset(300, 200)), embeddingConfig: { outputEmbeddingLength: 384 } };
  const [a, b] = await Promise.all([invoke(titan, both), invoke(titan, both)]);
  assert.deepEqual(a.out.embedding, b.out.embedding);
  assert.equal(a.out.inputTextTokenCount, t.inputTextTokenCount);
  const norm = Math.sqrt(a.out.embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
});

test("Titan Multimodal: bad input is a ValidationException with Bedrock's text", async () => {
  await assert.rejects(invoke(titan, { inputText: "x", embeddingConfig: { outputEmbeddingLength: 512 } }), (err) => {
    assert.ok(err instanceof ValidationException);
    assert.equal(err.message, "Malformed input request: #/embeddingConfig/outputEmbeddingLength: 512 is not a valid enum value, please reformat your input and try again.");
    assert.equal(err.$metadata.httpStatusCode, 400);
    return true;
  });
  await assert.rejects(invoke(titan, { inputText: "word ".repeat(200) }), (err) => {
    assert.ok(err instanceof ValidationException);
    assert.match(err.message, /^400 Bad Request: Too many input tokens\. Max input tokens: 128, request input token count: \d+$/);
    return true;
  });
});

test("Cohere v3: floats by default, quantised types derived from the floats", async () => {
  const texts = ["Hello from Cohere!", "Bonjour de Cohere!"];
  const { out, requestId } = await invoke(cohereV3, { texts, input_type: "search_document" });
  assert.equal(out.response_type, "embeddings_floats");
  assert.equal(out.id, requestId);
  assert.deepEqual(out.texts, texts);
  assert.equal(out.embeddings.length, 2);
  assert.equal(out.embeddings[0].length, 1024);

  const typed = (await invoke(cohereV3, { texts: texts.slice(0, 1), input_type: "search_document", embedding_types: ["float", "int8", "uint8", "binary", "ubinary"] })).out;
  assert.equal(typed.response_type, "embeddings_by_type");
  const f = typed.embeddings.float[0];
  assert.deepEqual(f, out.embeddings[0]);
  const peak = Math.max(...f.map(Math.abs));
  assert.deepEqual(typed.embeddings.int8[0], f.map((x) => Math.round((x * 127) / peak) + 0));
  assert.deepEqual(typed.embeddings.uint8[0], typed.embeddings.int8[0].map((x) => x + 128));
  const ubinary = Array.from({ length: 128 }, (_, i) => f.slice(8 * i, 8 * i + 8).reduce((byte, x, j) => byte | (x > 0 ? 0x80 >> j : 0), 0));
  assert.deepEqual(typed.embeddings.ubinary[0], ubinary);
  assert.deepEqual(typed.embeddings.binary[0], ubinary.map((x) => x - 128));
});

test("Cohere v3 image and v4 interleaved inputs: vectors of the asked length, images echoed", async () => {
  const img = sunset(64, 48);
  const v3 = (await invoke(cohereV3, { images: [dataURI(img)], input_type: "image", embedding_types: ["float"] })).out;
  assert.equal(v3.embeddings.float[0].length, 1024);
  assert.deepEqual(v3.texts, []);
  assert.deepEqual(v3.images, [{ width: 64, height: 48, format: "png", bit_depth: 24 }]);

  const { out, requestId } = await invoke(cohereV4, {
    input_type: "search_document",
    output_dimension: 256,
    embedding_types: ["float", "int8"],
    inputs: [
      { content: [{ type: "text", text: "a sunset" }, { type: "image_url", image_url: dataURI(img) }] },
      { content: [{ type: "image_url", image_url: dataURI(sunset(128, 96)) }] },
      { content: [{ type: "image_url", image_url: dataURI(stripes(64, 48)) }] },
    ],
  });
  assert.equal(out.response_type, "embeddings_by_type");
  assert.equal(out.embeddings.float.length, 3);
  for (const v of out.embeddings.float) assert.equal(v.length, 256);
  assert.equal(out.embeddings.int8[0].length, 256);
  const near = cosine(out.embeddings.float[0], out.embeddings.float[1]), far = cosine(out.embeddings.float[0], out.embeddings.float[2]);
  assert.ok(near > far + 0.3, `text+sunset to resized sunset ${near}, to stripes ${far}`);
  const rec = await record(requestId);
  assert.equal(rec.input.inputTokenCount > 0, true);
});

test("Cohere: a wrong input_type is Bedrock's ValidationException", async () => {
  await assert.rejects(invoke(cohereV4, { texts: ["a"], input_type: "search" }), (err) => {
    assert.ok(err instanceof ValidationException);
    assert.equal(err.message, "Malformed input request: #/input_type: search is not a valid enum value, please reformat your input and try again.");
    return true;
  });
});

test("AI SDK embed and embedMany on Cohere v3, v4 and Titan Multimodal", async () => {
  const values = ["Invocation logs record every call.", "Metrics count tokens."];
  const many = await embedMany({ model: bedrock.embedding(cohereV4), values });
  assert.equal(many.embeddings.length, 2);
  assert.equal(many.embeddings[0].length, 1536);
  const direct = (await invoke(cohereV4, { texts: values, input_type: "search_query" })).out;
  assert.deepEqual(many.embeddings, direct.embeddings.float);
  assert.ok(many.usage.tokens > 0);

  const v3 = await embed({ model: bedrock.embedding(cohereV3), value: values[0] });
  assert.equal(v3.embedding.length, 1024);
  const small = await embed({ model: bedrock.embedding(cohereV4), value: values[0], providerOptions: { bedrock: { outputDimension: 512 } } });
  assert.equal(small.embedding.length, 512);

  const t = await embed({ model: bedrock.embedding(titan), value: values[1] });
  assert.equal(t.embedding.length, 1024);
  const viaSDK = (await invoke(titan, { inputText: values[1] })).out;
  assert.deepEqual(t.embedding, viaSDK.embedding);
  assert.equal(t.usage.tokens, viaSDK.inputTextTokenCount);
});
