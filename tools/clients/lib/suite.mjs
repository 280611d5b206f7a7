// Shared settings of the client suite: where modelwatch is and who the tests
// are, read from the environment the Go driver (internal/clientsuite) sets,
// plus the one oracle every test may use besides a client's own answer: the
// server's invocation record of a call (GET /api/invocations/{requestId}).
//
// Kept outside test/ so that `node --test test/` does not run it as a test.
//
// Environment (all set by internal/clientsuite; none has a default):
//   MW_ENDPOINT            modelwatch's base URL, http://127.0.0.1:PORT or https://127.0.0.1:PORT
//   MW_OPENAI_BASE_URL     the OpenAI-compatible API, MW_ENDPOINT + "/v1"
//   MW_REGION              the serving region (SigV4 scope), us-east-1
//   MW_ACCOUNT_ID          the serving account, 000000000000
//   MW_ACCESS_KEY_ID       access key of the SigV4 principal (js-sigv4)
//   MW_SECRET_ACCESS_KEY   its secret
//   MW_SIGV4_PRINCIPAL_ARN the SigV4 principal's ARN, as records name it
//   MW_API_KEY             bearer key of the bearer principal (js-bearer), which may read every record
//   MW_BEARER_PRINCIPAL_ARN the bearer principal's ARN
//   MW_GOVERNED_KEY_ID     access key of js-governed (secret MW_SECRET_ACCESS_KEY), held by an
//                          IAM policy to Claude 3 Haiku and by a 3-requests-a-minute quota
//   MW_TRANSPORT           "http" or "tls"
//   NODE_EXTRA_CA_CERTS    with tls: the test CA, the way a Node user trusts a private CA
//   AWS_ENDPOINT_URL_BEDROCK_RUNTIME  = MW_ENDPOINT, the standard AWS variable, for the
//                          clients that take no endpoint of their own (LangChain's)
//   AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE (files that do not exist) and
//   AWS_EC2_METADATA_DISABLED=true, so nothing of the machine's AWS setup is used;
//   every other AWS_*, ANTHROPIC_*, OPENAI_* variable and NODE_OPTIONS are removed.
import assert from "node:assert/strict";

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run this suite through the Go driver (go test ./internal/clientsuite/)`);
  }
  return v;
}

/** The suite's settings, read once. */
export const env = Object.freeze({
  endpoint: required("MW_ENDPOINT"),
  openaiBaseURL: required("MW_OPENAI_BASE_URL"),
  region: required("MW_REGION"),
  accountId: required("MW_ACCOUNT_ID"),
  accessKeyId: required("MW_ACCESS_KEY_ID"),
  secretAccessKey: required("MW_SECRET_ACCESS_KEY"),
  sigv4PrincipalARN: required("MW_SIGV4_PRINCIPAL_ARN"),
  apiKey: required("MW_API_KEY"),
  bearerPrincipalARN: required("MW_BEARER_PRINCIPAL_ARN"),
  tls: required("MW_TRANSPORT") === "tls",
});

/**
 * AWS credentials of the SigV4 principal, in the AWS SDK's shape. Not frozen:
 * the AWS SDK marks the identity object it is given ($source), and a frozen
 * one makes every call fail with a TypeError.
 */
export const credentials = { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey };

/** Models of the default catalog the suite calls. */
export const models = Object.freeze({
  haiku: "anthropic.claude-3-haiku-20240307-v1:0",
  haikuProfile: "us.anthropic.claude-3-haiku-20240307-v1:0",
  // Claude 3.5 Haiku and Nova support prompt caching on Bedrock; Claude 3 Haiku does not.
  haiku35: "anthropic.claude-3-5-haiku-20241022-v1:0",
  nova: "amazon.nova-lite-v1:0",
  titanEmbed: "amazon.titan-embed-text-v2:0",
});

/**
 * The server's invocation record of one call, by the request ID the client
 * was given (x-amzn-RequestId, x-request-id, or requestIdOfCompletion). The
 * record is handed to the observers before the response's last byte, so it
 * is there when the client has its answer. Needs invocation logging on (the
 * driver turns it on) and js-bearer's modelwatch:ListAllInvocations grant.
 */
export async function record(requestId) {
  assert.ok(requestId, "the client exposed no request ID");
  const res = await fetch(`${env.endpoint}/api/invocations/${encodeURIComponent(requestId)}`, {
    headers: { Authorization: `Bearer ${env.apiKey}` },
  });
  const body = await res.text();
  assert.equal(res.status, 200, `GET /api/invocations/${requestId}: ${body}`);
  return JSON.parse(body);
}

/**
 * The request ID inside an OpenAI-API completion ID: modelwatch's completion
 * IDs are "chatcmpl-" plus the request ID without its dashes
 * (internal/openaiapi), for clients that expose the completion ID but not
 * the x-request-id header.
 */
export function requestIdOfCompletion(id) {
  const m = /^chatcmpl-([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/.exec(id ?? "");
  assert.ok(m, `completion id ${id} is not chatcmpl-<request ID without dashes>`);
  return m.slice(1).join("-");
}

/** The weather tool every tools test offers, as a JSON Schema. */
export const weatherTool = Object.freeze({
  name: "get_weather",
  description: "Current weather for a city.",
  schema: {
    type: "object",
    properties: { city: { type: "string", description: "City name" } },
    required: ["city"],
    additionalProperties: false,
  },
});

/** The prompt that makes the simulator call the weather tool: it names it. */
export const weatherPrompt = "Use get_weather to find the current weather in Paris, then tell me what to wear.";

/** The tool's deterministic result. */
export function weatherResult(city) {
  return { city, temperatureC: 18, conditions: "light rain" };
}
