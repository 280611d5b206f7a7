// The OpenAI images API (POST /v1/images/generations) through the openai
// client (client.images.generate, global fetch, bearer key), on the
// catalog's Bedrock image models: Nova Canvas, Titan Image Generator v2
// and Stability. Each image is decoded from base64 and its PNG header read
// for its size.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_OPENAI_BASE_URL, MW_API_KEY, MW_ENDPOINT.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { env, record } from "../lib/suite.mjs";

const openai = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey, maxRetries: 0 });

const canvas = "amazon.nova-canvas-v1:0";
const titan = "amazon.titan-image-generator-v2:0";
const core = "stability.stable-image-core-v1:1";

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The width and height of a base64 PNG, from its IHDR chunk. */
function pngSize(b64) {
  const buf = Buffer.from(b64, "base64");
  assert.ok(buf.subarray(0, 8).equals(pngSignature), "not a PNG");
  assert.equal(buf.toString("latin1", 12, 16), "IHDR");
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test("images.generate on Nova Canvas: two 1280x720 PNGs, recorded as one image call", async () => {
  const { data: res, request_id } = await openai.images
    .generate({ model: canvas, prompt: "a red bicycle by a canal", n: 2, size: "1280x720", quality: "hd", response_format: "b64_json" })
    .withResponse();
  assert.equal(res.data.length, 2);
  for (const d of res.data) assert.deepEqual(pngSize(d.b64_json), { width: 1280, height: 720 });
  assert.notEqual(res.data[0].b64_json, res.data[1].b64_json);
  assert.equal(res.size, "1280x720");
  assert.equal(res.output_format, "png");
  assert.equal(res.quality, "premium");
  assert.ok(Math.abs(res.created - Date.now() / 1000) < 300);
  const rec = await record(request_id);
  assert.equal(rec.operation, "ImageGenerations");
  assert.equal(rec.modelId, canvas);
});

test("images.generate with size auto gives the model's default 1024x1024", async () => {
  const res = await openai.images.generate({ model: titan, prompt: "a cup of coffee", size: "auto" });
  assert.equal(res.data.length, 1);
  assert.deepEqual(pngSize(res.data[0].b64_json), { width: 1024, height: 1024 });
});

test("images.generate on Stable Image Core maps 1536x1024 to its 3:2 size", async () => {
  const res = await openai.images.generate({ model: core, prompt: "a car made of vegetables", size: "1536x1024" });
  assert.deepEqual(pngSize(res.data[0].b64_json), { width: 1216, height: 832 });
  assert.equal(res.size, "1216x832");
});

test("response_format url answers a data: URL of the PNG", async () => {
  const res = await openai.images.generate({ model: canvas, prompt: "a fox", size: "512x512", response_format: "url" });
  const url = res.data[0].url;
  assert.ok(url.startsWith("data:image/png;base64,"), url.slice(0, 40));
  assert.deepEqual(pngSize(url.slice("data:image/png;base64,".length)), { width: 512, height: 512 });
  assert.equal(res.data[0].b64_json, undefined);
});

test("bad parameters are BadRequestErrors naming the parameter", async () => {
  await assert.rejects(openai.images.generate({ model: canvas, prompt: "x", n: 6 }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.param, "n");
    assert.match(err.message, /numberOfImages: 6 is not less or equal to 5/);
    return true;
  });
  await assert.rejects(openai.images.generate({ model: core, prompt: "x", size: "1792x1024" }), (err) => {
    assert.equal(err.param, "size");
    return true;
  });
  await assert.rejects(openai.images.generate({ model: "anthropic.claude-3-haiku-20240307-v1:0", prompt: "x" }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.param, "model");
    assert.match(err.message, /does not generate images/);
    return true;
  });
  await assert.rejects(openai.images.generate({ model: "dall-e-9", prompt: "x" }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.equal(err.code, "model_not_found");
    return true;
  });
});

test("a prompt the content filter blocks is content_policy_violation", async () => {
  await assert.rejects(openai.images.generate({ model: canvas, prompt: "a BLOCKED_PROMPT scene" }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.code, "content_policy_violation");
    assert.equal(err.message, "400 This request has been blocked by our content filters. Please adjust your text prompt to submit a new request.");
    return true;
  });
});
