// @aws-sdk/client-bedrock (the control plane) against modelwatch, with the
// client's defaults (NodeHttpHandler, HTTP/1.1; SigV4, service bedrock).
// Only endpoint, region and credentials are set.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs):
//   MW_ENDPOINT, MW_REGION, MW_ACCOUNT_ID, MW_ACCESS_KEY_ID,
//   MW_SECRET_ACCESS_KEY, MW_TRANSPORT, NODE_EXTRA_CA_CERTS (tls).
// The driver has turned invocation logging on with an S3 destination in
// bucket "client-suite" before this runs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  BedrockClient,
  ListFoundationModelsCommand,
  GetFoundationModelCommand,
  ListInferenceProfilesCommand,
  GetInferenceProfileCommand,
  GetModelInvocationLoggingConfigurationCommand,
  ResourceNotFoundException,
  paginateListInferenceProfiles,
} from "@aws-sdk/client-bedrock";
import { env, credentials, models } from "../lib/suite.mjs";

const client = new BedrockClient({ endpoint: env.endpoint, region: env.region, credentials });
after(() => client.destroy());

const foundationARN = (id) => `arn:aws:bedrock:${env.region}::foundation-model/${id}`;
const profileARN = (id) => `arn:aws:bedrock:${env.region}:${env.accountId}:inference-profile/${id}`;

test("the client's default request handler speaks HTTP/1.1", () => {
  assert.equal(client.config.requestHandler.metadata?.handlerProtocol, "http/1.1");
});

test("ListFoundationModels lists the catalog with foundation-model ARNs and filters by modality", async () => {
  const all = await client.send(new ListFoundationModelsCommand({}));
  const haiku = all.modelSummaries.find((m) => m.modelId === models.haiku);
  assert.ok(haiku, "claude-3-haiku is not listed");
  assert.equal(haiku.modelArn, foundationARN(models.haiku));
  assert.equal(haiku.providerName, "Anthropic");
  assert.deepEqual(haiku.outputModalities, ["TEXT"]);
  for (const m of all.modelSummaries) assert.equal(m.modelArn, foundationARN(m.modelId));
  // The filter returns exactly the catalog's embedding models, in catalog order.
  const embed = await client.send(new ListFoundationModelsCommand({ byOutputModality: "EMBEDDING" }));
  const embedding = all.modelSummaries.filter((m) => m.outputModalities.includes("EMBEDDING")).map((m) => m.modelId);
  assert.deepEqual(embed.modelSummaries.map((m) => m.modelId), embedding);
  assert.ok(embedding.includes(models.titanEmbed) && embedding.includes("amazon.titan-embed-image-v1") && embedding.includes("cohere.embed-v4:0"), embedding.join(", "));
  assert.ok(embedding.length < all.modelSummaries.length);
});

test("GetFoundationModel returns the model's details", async () => {
  const out = await client.send(new GetFoundationModelCommand({ modelIdentifier: models.haiku }));
  assert.equal(out.modelDetails.modelId, models.haiku);
  assert.equal(out.modelDetails.modelArn, foundationARN(models.haiku));
  assert.equal(out.modelDetails.responseStreamingSupported, true);
});

test("ListInferenceProfiles lists the system-defined cross-region profiles of catalog models", async () => {
  const catalog = new Set((await client.send(new ListFoundationModelsCommand({}))).modelSummaries.map((m) => m.modelArn));
  const out = await client.send(new ListInferenceProfilesCommand({}));
  const profiles = out.inferenceProfileSummaries;
  assert.ok(Array.isArray(profiles) && profiles.length > 0, "no inference profiles");
  assert.equal(new Set(profiles.map((p) => p.inferenceProfileId)).size, profiles.length, "duplicate profile IDs");
  for (const p of profiles) {
    assert.equal(p.status, "ACTIVE");
    assert.equal(p.type, "SYSTEM_DEFINED");
    assert.ok(p.inferenceProfileName, `${p.inferenceProfileId} has no name`);
    assert.equal(p.inferenceProfileArn, profileARN(p.inferenceProfileId));
    assert.ok(p.models.length >= 1 && p.models.length <= 5);
    for (const m of p.models) assert.ok(catalog.has(m.modelArn), `${p.inferenceProfileId} routes to ${m.modelArn}, not a catalog model`);
  }
  const haiku = profiles.find((p) => p.inferenceProfileId === models.haikuProfile);
  assert.ok(haiku, `${models.haikuProfile} is not listed`);
  assert.deepEqual(haiku.models.map((m) => m.modelArn), [foundationARN(models.haiku)]);
  // No application profiles are configured; the filter is the SDK's typeEquals (query "type").
  const apps = await client.send(new ListInferenceProfilesCommand({ typeEquals: "APPLICATION" }));
  assert.deepEqual(apps.inferenceProfileSummaries ?? [], []);
  const system = await client.send(new ListInferenceProfilesCommand({ typeEquals: "SYSTEM_DEFINED" }));
  assert.deepEqual(system.inferenceProfileSummaries.map((p) => p.inferenceProfileId), profiles.map((p) => p.inferenceProfileId));
});

test("the SDK's ListInferenceProfiles paginator walks nextToken to the same list", async () => {
  const whole = (await client.send(new ListInferenceProfilesCommand({}))).inferenceProfileSummaries.map((p) => p.inferenceProfileId);
  const paged = [];
  let pages = 0;
  for await (const page of paginateListInferenceProfiles({ client, pageSize: 3 }, {})) {
    pages++;
    assert.ok(page.inferenceProfileSummaries.length <= 3);
    paged.push(...page.inferenceProfileSummaries.map((p) => p.inferenceProfileId));
  }
  assert.deepEqual(paged, whole);
  assert.equal(pages, Math.ceil(whole.length / 3));
});

test("GetInferenceProfile by ID and by ARN returns the listed profile; an unknown one is ResourceNotFoundException", async () => {
  const listed = (await client.send(new ListInferenceProfilesCommand({}))).inferenceProfileSummaries.find((p) => p.inferenceProfileId === models.haikuProfile);
  for (const identifier of [models.haikuProfile, profileARN(models.haikuProfile)]) {
    const got = await client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: identifier }));
    assert.equal(got.inferenceProfileId, listed.inferenceProfileId);
    assert.equal(got.inferenceProfileArn, listed.inferenceProfileArn);
    assert.equal(got.inferenceProfileName, listed.inferenceProfileName);
    assert.deepEqual(got.models, listed.models);
    assert.equal(got.type, "SYSTEM_DEFINED");
  }
  await assert.rejects(client.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: "us.acme.no-such-model-v1:0" })), (err) => {
    assert.ok(err instanceof ResourceNotFoundException, `got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 404);
    return true;
  });
});

test("GetModelInvocationLoggingConfiguration returns the configuration the driver put", async () => {
  const out = await client.send(new GetModelInvocationLoggingConfigurationCommand({}));
  assert.equal(out.loggingConfig.s3Config.bucketName, "client-suite");
  assert.equal(out.loggingConfig.textDataDeliveryEnabled, true);
});
