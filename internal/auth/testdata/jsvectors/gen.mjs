// Generates SigV4 test vectors with the AWS SDK for JavaScript v3's own
// signing code, for the Go verifier's tests (internal/auth).
//
//	npm ci && node gen.mjs > ../sigv4_js_vectors.json
//
// Each request goes through the SDK's content-length and host-header
// middlewares (the latter with an "h2" handler, as NodeHttp2Handler reports,
// so it sets :authority instead of host) and then @smithy/signature-v4's
// sign or presign. The canonical request and string to sign are recorded as
// the signer built them, by wrapping its own methods, not recomputed here.
import { Sha256 } from "@aws-crypto/sha256-js";
import { hostHeaderMiddleware } from "@aws-sdk/middleware-host-header";
import {
  HttpRequest,
  buildQueryString,
  contentLengthMiddleware,
  extendedEncodeURIComponent,
} from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { readFileSync } from "node:fs";

// The same example credentials as internal/auth's tests.
const alice = { accessKeyId: "AKIDEXAMPLE000000001", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const bob = {
  accessKeyId: "AKIDEXAMPLE000000002",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+EXAMPLE=",
};
const signingDate = new Date("2024-01-01T00:10:00Z");
const region = "us-east-1";
const service = "bedrock";
const endpoint = "bedrock-runtime.us-east-1.amazonaws.com";

const invokeBody = JSON.stringify({
  anthropic_version: "bedrock-2023-05-31",
  max_tokens: 16,
  messages: [{ role: "user", content: "hi" }],
});
const converseBody = JSON.stringify({ messages: [{ role: "user", content: [{ text: "hi" }] }] });

// Headers the Bedrock runtime client adds to every request before signing.
const sdkHeaders = {
  "x-amz-user-agent": "aws-sdk-js/3.1162.0",
  "user-agent": "aws-sdk-js/3.1162.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#20.20.2 api/bedrock-runtime#3.1162.0 m/E,N",
  "amz-sdk-invocation-id": "0b6f5c3e-2a8e-4d7b-9a51-6a3f1e2c4d5b",
  "amz-sdk-request": "attempt=1; max=3",
};

const modelPath = (id, op) => `/model/${extendedEncodeURIComponent(id)}/${op}`;

const cases = [
  {
    name: "h2 InvokeModel, :authority without port, hashed payload",
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json", accept: "application/json" },
    body: invokeBody,
  },
  {
    name: "h2 InvokeModel, :authority with port, session token",
    creds: bob,
    hostname: "127.0.0.1",
    port: 8443,
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json", accept: "application/json" },
    body: invokeBody,
  },
  {
    name: "h2 InvokeModelWithResponseStream, UNSIGNED-PAYLOAD",
    method: "POST",
    path: modelPath("amazon.nova-lite-v1:0", "invoke-with-response-stream"),
    headers: {
      "content-type": "application/json",
      accept: "application/vnd.amazon.eventstream",
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    },
    body: invokeBody,
  },
  {
    name: "h2 Converse, inference profile ARN with %3A and %2F",
    hostname: "gw.example",
    port: 9443,
    method: "POST",
    path: modelPath(
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
      "converse",
    ),
    headers: { "content-type": "application/json" },
    body: converseBody,
  },
  {
    name: "h2 ListAsyncInvokes, query string, no body",
    method: "GET",
    path: "/async-invoke",
    query: {
      maxResults: "10",
      nextToken: "eyJhIjoiYiJ9+/== x~y",
      statusEquals: "InProgress",
      submitTimeAfter: "2024-01-01T00:00:00Z",
      sortOrder: "Descending",
    },
  },
  {
    name: "h2 GetAsyncInvoke, encoded ARN",
    method: "GET",
    path: `/async-invoke/${extendedEncodeURIComponent("arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123")}`,
  },
  {
    name: "h2 repeated query key, values sorted by the signer",
    method: "GET",
    path: "/async-invoke",
    query: { tag: ["zeta", "alpha", "Mid value"], a: "" },
  },
  {
    name: "h2 empty body with signed content-length: 0",
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json" },
    body: new Uint8Array(0),
  },
  {
    name: "h2 :authority and host both signed",
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json" },
    body: invokeBody,
    alsoHost: true,
  },
  {
    name: "h1 handler, host signed",
    protocol: "http/1.1",
    hostname: "gw.example",
    port: 8080,
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json" },
    body: invokeBody,
  },
  {
    name: "h2 header value with tab and repeated spaces",
    differsFromGo: true,
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json", "x-custom": "a\tb   c" },
    body: invokeBody,
  },
  {
    name: "h2 path with empty and dot segments, normalised by the signer",
    differsFromGo: true,
    method: "POST",
    path: "/prefix//model/anthropic.claude-3-haiku-20240307-v1%3A0/./invoke",
    headers: { "content-type": "application/json" },
    body: invokeBody,
  },
  {
    name: "h2 query key without a value, left out by the signer",
    differsFromGo: true,
    method: "GET",
    path: "/async-invoke",
    query: { flag: null, maxResults: "5" },
  },
  {
    name: "presigned h2 GET with query, :authority without port",
    presign: true,
    method: "GET",
    path: "/async-invoke",
    query: { maxResults: "10", statusEquals: "Completed" },
  },
  {
    name: "presigned h2 POST, :authority with port, session token, body hashed",
    presign: true,
    creds: bob,
    hostname: "127.0.0.1",
    port: 8443,
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json" },
    body: invokeBody,
  },
  {
    name: "presigned h2 POST, UNSIGNED-PAYLOAD hoisted to the query",
    presign: true,
    method: "POST",
    path: modelPath("anthropic.claude-3-haiku-20240307-v1:0", "invoke"),
    headers: { "content-type": "application/json", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    body: invokeBody,
  },
  {
    name: "presigned h2 POST, UNSIGNED-PAYLOAD kept as a header",
    presign: true,
    unhoistable: ["x-amz-content-sha256"],
    method: "POST",
    path: modelPath("amazon.nova-lite-v1:0", "invoke"),
    headers: { "content-type": "application/json", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    body: invokeBody,
  },
];

async function run(c) {
  const creds = c.creds ?? alice;
  let request = new HttpRequest({
    protocol: "https:",
    hostname: c.hostname ?? endpoint,
    port: c.port,
    method: c.method,
    path: c.path,
    query: c.query ?? {},
    headers: { ...sdkHeaders, ...(c.headers ?? {}) },
    body: c.body,
  });
  const bodyLength = (b) => (typeof b === "string" ? Buffer.byteLength(b) : b.byteLength);
  const handlerProtocol = c.protocol ?? "h2";
  const terminal = async (args) => args;
  const chain = contentLengthMiddleware(bodyLength)(
    hostHeaderMiddleware({ requestHandler: { metadata: { handlerProtocol } } })(terminal),
  );
  ({ request } = await chain({ request, input: {} }));
  if (c.alsoHost) {
    request.headers.host = request.headers[":authority"];
  }

  const signer = new SignatureV4({ credentials: creds, region, service, sha256: Sha256 });
  let canonicalRequest, stringToSign;
  const createCanonicalRequest = signer.createCanonicalRequest.bind(signer);
  signer.createCanonicalRequest = (...a) => (canonicalRequest = createCanonicalRequest(...a));
  const createStringToSign = signer.createStringToSign.bind(signer);
  signer.createStringToSign = async (...a) => (stringToSign = await createStringToSign(...a));

  const signed = c.presign
    ? await signer.presign(request, {
        signingDate,
        expiresIn: 300,
        unhoistableHeaders: c.unhoistable ? new Set(c.unhoistable) : undefined,
      })
    : await signer.sign(request, { signingDate });

  const host = signed.headers[":authority"] ?? signed.headers.host;
  const headers = Object.entries(signed.headers).filter(([k]) => k !== ":authority" && k !== "host");
  const body = c.body === undefined ? "" : typeof c.body === "string" ? c.body : Buffer.from(c.body).toString();
  return {
    name: c.name,
    form: c.presign ? "presigned" : "header",
    method: signed.method,
    host,
    path: signed.path,
    query: buildQueryString(signed.query),
    headers,
    body,
    // aws-sdk-go-v2 would canonicalise this request differently.
    differsFromGo: c.differsFromGo ?? false,
    canonicalRequest,
    stringToSign,
  };
}

const lock = JSON.parse(readFileSync(new URL("./package-lock.json", import.meta.url)));
const version = (name) => lock.packages[`node_modules/${name}`].version;
const vectors = [];
for (const c of cases) {
  vectors.push(await run(c));
}
console.log(
  JSON.stringify(
    {
      generatedBy: "internal/auth/testdata/jsvectors/gen.mjs",
      signer: {
        "@smithy/signature-v4": version("@smithy/signature-v4"),
        "@smithy/core": version("@smithy/core"),
        "@aws-sdk/middleware-host-header": version("@aws-sdk/middleware-host-header"),
        "@aws-sdk/core": version("@aws-sdk/core"),
        "@aws-crypto/sha256-js": version("@aws-crypto/sha256-js"),
      },
      signingDate: "20240101T001000Z",
      region,
      service,
      vectors,
    },
    null,
    2,
  ),
);
