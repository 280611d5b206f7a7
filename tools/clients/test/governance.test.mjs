// Governance as a JavaScript user meets it: @aws-sdk/client-bedrock-runtime
// with its defaults (standard retries included) as js-governed, a principal
// whose IAM policy allows only Claude 3 Haiku and whose quota is three
// requests per minute (internal/clientsuite writes both).
//
// Environment: see lib/suite.mjs; MW_GOVERNED_KEY_ID is js-governed's access
// key, whose secret is MW_SECRET_ACCESS_KEY.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  AccessDeniedException,
  ThrottlingException,
} from "@aws-sdk/client-bedrock-runtime";
import { env, models } from "../lib/suite.mjs";

const governedKeyId = process.env.MW_GOVERNED_KEY_ID;
const client = new BedrockRuntimeClient({
  endpoint: env.endpoint,
  region: env.region,
  credentials: { accessKeyId: governedKeyId, secretAccessKey: env.secretAccessKey },
});
after(() => client.destroy());

const converse = (modelId) =>
  client.send(new ConverseCommand({
    modelId,
    messages: [{ role: "user", content: [{ text: "hi" }] }],
    inferenceConfig: { maxTokens: 16 },
  }));

const arn = `arn:aws:iam::${env.accountId}:user/js-governed`;

test("the policy's model answers; another model is refused with AWS's AccessDenied text", async () => {
  const ok = await converse(models.haiku);
  assert.equal(ok.$metadata.httpStatusCode, 200);
  await assert.rejects(converse(models.nova), (err) => {
    assert.ok(err instanceof AccessDeniedException, `${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 403);
    assert.equal(err.message,
      `User: ${arn} is not authorized to perform: bedrock:InvokeModel on resource: ` +
      `arn:aws:bedrock:${env.region}::foundation-model/${models.nova} because no identity-based policy allows the bedrock:InvokeModel action`);
    return true;
  });
});

test("the fourth call in a minute is throttled as Bedrock throttles, after the SDK's own retries", async () => {
  // The first test's Haiku call was the first of three; the refused one
  // never reached the quota.
  await converse(models.haiku);
  await converse(models.haiku);
  await assert.rejects(converse(models.haiku), (err) => {
    assert.ok(err instanceof ThrottlingException, `${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 429);
    assert.equal(err.message, "Too many requests, please wait before trying again.");
    // The SDK's standard retry strategy tried three times in all.
    assert.equal(err.$metadata.attempts, 3);
    return true;
  });
});
