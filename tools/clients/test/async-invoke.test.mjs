// @aws-sdk/client-bedrock-runtime's asynchronous invocation commands
// against modelwatch: Nova Reel through StartAsyncInvoke, polled with
// GetAsyncInvoke until the simulator's video is written, listed with
// ListAsyncInvokes; idempotency tokens and Bedrock's errors.
//
// Environment: see lib/suite.mjs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  BedrockRuntimeClient,
  StartAsyncInvokeCommand,
  GetAsyncInvokeCommand,
  ListAsyncInvokesCommand,
  ValidationException,
  ConflictException,
} from "@aws-sdk/client-bedrock-runtime";
import { env, credentials, models, record } from "../lib/suite.mjs";

const client = new BedrockRuntimeClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const reel = "amazon.nova-reel-v1:1";

// The TEXT_VIDEO example of AWS's Nova Reel documentation.
const textVideo = (text, seed) => ({
  taskType: "TEXT_VIDEO",
  textToVideoParams: { text },
  videoGenerationConfig: { durationSeconds: 6, fps: 24, dimension: "1280x720", seed },
});

async function waitDone(invocationArn) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await client.send(new GetAsyncInvokeCommand({ invocationArn }));
    if (job.status !== "InProgress") return job;
    assert.ok(Date.now() < deadline, `${invocationArn} still InProgress after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("StartAsyncInvoke, then GetAsyncInvoke until Completed", async () => {
  const token = randomUUID();
  const input = {
    modelId: reel,
    modelInput: textVideo("a paper boat on a rainy street", 5),
    outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://js-videos/reel" } },
    clientRequestToken: token,
  };
  const started = await client.send(new StartAsyncInvokeCommand(input));
  const arnPattern = new RegExp(`^arn:aws:bedrock:${env.region}:${env.accountId}:async-invoke/[a-z0-9]{12}$`);
  assert.match(started.invocationArn, arnPattern);

  const job = await waitDone(started.invocationArn);
  assert.equal(job.status, "Completed");
  assert.equal(job.invocationArn, started.invocationArn);
  assert.equal(job.modelArn, `arn:aws:bedrock:${env.region}::foundation-model/${reel}`);
  assert.equal(job.clientRequestToken, token);
  assert.equal(job.failureMessage, undefined);
  assert.ok(job.submitTime instanceof Date && job.endTime instanceof Date);
  assert.ok(job.endTime >= job.submitTime);
  assert.equal(job.outputDataConfig.s3OutputDataConfig.s3Uri, "s3://js-videos/reel");

  // The same token and request: the same job.
  const again = await client.send(new StartAsyncInvokeCommand(input));
  assert.equal(again.invocationArn, started.invocationArn);
  // The same token, another request: ConflictException.
  await assert.rejects(
    client.send(new StartAsyncInvokeCommand({ ...input, modelInput: textVideo("a paper boat at sea", 5) })),
    (err) => err instanceof ConflictException && err.$metadata.httpStatusCode === 400,
  );

  // The job's invocation record: one, written when it ended, with the
  // video's location and length.
  const rec = await record(started.$metadata.requestId);
  assert.equal(rec.operation, "StartAsyncInvoke");
  assert.equal(rec.modelId, reel);

  const listed = await client.send(new ListAsyncInvokesCommand({ statusEquals: "Completed", sortOrder: "Descending" }));
  assert.ok(listed.asyncInvokeSummaries.some((s) => s.invocationArn === started.invocationArn));
});

test("Bedrock's ValidationException texts", async () => {
  await assert.rejects(
    client.send(new StartAsyncInvokeCommand({
      modelId: models.haiku,
      modelInput: textVideo("x", 1),
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://js-videos" } },
    })),
    (err) => err instanceof ValidationException && err.message === "This action doesn't support the model that you provided.",
  );
  await assert.rejects(
    client.send(new StartAsyncInvokeCommand({
      modelId: reel,
      modelInput: { taskType: "MULTI_SHOT_AUTOMATED", multiShotAutomatedParams: { text: "x" }, videoGenerationConfig: { durationSeconds: 15 } },
      outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://js-videos" } },
    })),
    (err) => err instanceof ValidationException &&
      err.message === "Malformed input request: #/videoGenerationConfig/durationSeconds must be an integer evenly divisible by 6 and within the range of 12 through 120. Provide a valid duration and try again.",
  );
  await assert.rejects(
    client.send(new ListAsyncInvokesCommand({ maxResults: 0 })),
    (err) => err instanceof ValidationException,
  );
});
