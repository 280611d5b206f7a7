// Image generation through @aws-sdk/client-bedrock-runtime's
// InvokeModelCommand (its defaults: HTTP/2, SigV4) and the AI SDK's
// generateImage with @ai-sdk/amazon-bedrock's image model (global fetch,
// SigV4): Nova Canvas, Titan Image Generator v2 and the Stability models,
// with bodies in the form of AWS's documentation examples. The images are
// checked as files: the PNG's IHDR and the JPEG's SOF carry the size asked
// for.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY,
//   MW_API_KEY (record look-ups), MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { generateImage } from "ai";
import { createAmazonBedrock } from "@ai-sdk/amazon-bedrock";
import { env, credentials, record } from "../lib/suite.mjs";
import { greyPNG } from "../lib/png.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());
const bedrock = createAmazonBedrock({ baseURL: env.endpoint, region: env.region, accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey });

const canvas = "amazon.nova-canvas-v1:0";
const titan = "amazon.titan-image-generator-v2:0";
const sd35 = "stability.sd3-5-large-v1:0";
const core = "stability.stable-image-core-v1:1";
const ultra = "stability.stable-image-ultra-v1:1";

/** The size of a PNG or JPEG file, and its format. */
function imageSize(buf) {
  if (buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    assert.equal(buf.toString("ascii", 12, 16), "IHDR");
    return { format: "png", width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  assert.ok(buf[0] === 0xff && buf[1] === 0xd8, "neither PNG nor JPEG");
  for (let i = 2; i + 9 < buf.length; ) {
    assert.equal(buf[i], 0xff, "JPEG marker expected");
    const marker = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      return { format: "jpeg", height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  throw new Error("JPEG without a frame header");
}

async function invoke(modelId, body) {
  const out = await client.send(new InvokeModelCommand({ modelId, body: JSON.stringify(body), contentType: "application/json", accept: "application/json" }));
  return { json: JSON.parse(Buffer.from(out.body).toString("utf8")), requestId: out.$metadata.requestId };
}

const cases = [
  [canvas, { taskType: "TEXT_IMAGE", textToImageParams: { text: "A whimsical illustration of a fluffy domestic feline.", style: "FLAT_VECTOR_ILLUSTRATION" },
    imageGenerationConfig: { width: 1280, height: 720, quality: "premium", cfgScale: 6.5, seed: 42, numberOfImages: 2 } }, "png", 1280, 720, 2],
  [titan, { taskType: "TEXT_IMAGE", textToImageParams: { text: "A photograph of a cup of coffee from the side." },
    imageGenerationConfig: { numberOfImages: 1, height: 768, width: 1152, cfgScale: 8.0, seed: 0 } }, "png", 1152, 768, 1],
  [sd35, { prompt: "A car made out of vegetables.", mode: "text-to-image", aspect_ratio: "16:9", output_format: "jpeg", seed: 2130420379 }, "jpeg", 1344, 768, 1],
  [core, { prompt: "A car made out of vegetables.", aspect_ratio: "9:21" }, "png", 640, 1536, 1],
  [ultra, { prompt: "A car made out of vegetables.", output_format: "png", seed: 11 }, "png", 1024, 1024, 1],
];

for (const [modelId, body, format, width, height, n] of cases) {
  test(`InvokeModel ${modelId} returns ${n} ${format} image(s) of ${width}x${height}`, async () => {
    const { json, requestId } = await invoke(modelId, body);
    assert.equal(json.images.length, n);
    for (const b64 of json.images) {
      assert.deepEqual(imageSize(Buffer.from(b64, "base64")), { format, width, height });
    }
    if (modelId.startsWith("stability.")) {
      assert.deepEqual(json.finish_reasons, [null]);
      assert.equal(json.seeds.length, 1);
      if (body.seed) assert.equal(json.seeds[0], body.seed);
    }
    const rec = await record(requestId);
    assert.equal(rec.operation, "InvokeModel");
    assert.equal(rec.modelId, modelId);
    // The same body gives the same images.
    const again = await invoke(modelId, body);
    assert.deepEqual(again.json.images, json.images);
  });
}

test("background removal makes the background transparent", async () => {
  // A white picture with a dark square in the middle.
  const src = greyPNG(400, 320, (x, y) => (x > 150 && x < 250 && y > 110 && y < 210 ? 20 : 255));
  const { json } = await invoke(canvas, { taskType: "BACKGROUND_REMOVAL", backgroundRemovalParams: { image: src.toString("base64") } });
  const out = Buffer.from(json.images[0], "base64");
  assert.deepEqual(imageSize(out), { format: "png", width: 400, height: 320 });
  assert.equal(out[25], 6, "colour type RGBA: the output has an alpha channel");
});

test("the AI SDK's generateImage gets Nova Canvas images", async () => {
  const { images } = await generateImage({ model: bedrock.image(canvas), prompt: "A lighthouse at dusk", n: 2, size: "512x512", seed: 7 });
  assert.equal(images.length, 2);
  for (const img of images) assert.deepEqual(imageSize(Buffer.from(img.uint8Array)), { format: "png", width: 512, height: 512 });
  assert.notDeepEqual(Buffer.from(images[0].uint8Array), Buffer.from(images[1].uint8Array));
});

test("bad input gets Bedrock's ValidationException", async () => {
  const reject = (modelId, body, message) =>
    assert.rejects(invoke(modelId, body), (err) => {
      assert.ok(err instanceof ValidationException, `${err.name}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.message, message);
      return true;
    });
  await reject(canvas, { taskType: "IMAGE_CONDITIONING", textToImageParams: { text: "x" } },
    "Malformed input request: #/taskType: IMAGE_CONDITIONING is not a valid enum value, please reformat your input and try again.");
  const wide = greyPNG(10000, 320, () => 128).toString("base64");
  await reject(canvas, { taskType: "IMAGE_VARIATION", imageVariationParams: { images: [wide] } },
    "The image in #/imageVariationParams/images/0 is 10000x320 pixels. Each side of an input image must be between 320 and 4096 pixels.");
  await reject(canvas, { taskType: "TEXT_IMAGE", textToImageParams: { text: "x" }, imageGenerationConfig: { width: 1000, height: 1024 } },
    "The image size 1000x1024 is not supported: width and height must each be divisible by 16.");
  await assert.rejects(
    client.send(new InvokeModelWithResponseStreamCommand({ modelId: canvas, body: JSON.stringify(cases[0][1]), contentType: "application/json" })),
    (err) => err instanceof ValidationException && err.message === "The model is unsupported for streaming.",
  );
});
