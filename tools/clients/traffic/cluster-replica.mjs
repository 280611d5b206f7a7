// One replica of a cluster, called as an application would: the AWS SDK
// for JavaScript v3 (SigV4 with the principal's access key) and the
// openai SDK (the principal's API key), each with its default settings,
// only the endpoint, region and credentials given. The replica's own file
// holds no principals: both keys reach it through the shared
// configuration (cmd/modelwatch's TestClusterOfThreeReplicas). Prints one
// JSON line with the request IDs the two calls got.
//
// Environment: MW_ENDPOINT (the replica's base URL), MW_ACCESS_KEY_ID,
// MW_SECRET_ACCESS_KEY, MW_API_KEY, MW_MODEL.
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import OpenAI from "openai";

const { MW_ENDPOINT: endpoint, MW_ACCESS_KEY_ID: accessKeyId, MW_SECRET_ACCESS_KEY: secretAccessKey, MW_API_KEY: apiKey, MW_MODEL: model } = process.env;
if (!endpoint || !accessKeyId || !secretAccessKey || !apiKey || !model) {
  throw new Error("MW_ENDPOINT, MW_ACCESS_KEY_ID, MW_SECRET_ACCESS_KEY, MW_API_KEY and MW_MODEL must be set");
}

const bedrock = new BedrockRuntimeClient({ endpoint, region: "us-east-1", credentials: { accessKeyId, secretAccessKey } });
const converse = await bedrock.send(new ConverseCommand({ modelId: model, messages: [{ role: "user", content: [{ text: "Hello from JavaScript." }] }] }));

const openai = new OpenAI({ baseURL: `${endpoint}/v1`, apiKey });
const completion = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Hello from the openai SDK." }] }).withResponse();

console.log(JSON.stringify({
  converseRequestId: converse.$metadata.requestId,
  converseStop: converse.stopReason,
  chatRequestId: completion.response.headers.get("x-request-id") ?? completion.response.headers.get("x-amzn-requestid"),
  chatFinish: completion.data.choices[0].finish_reason,
}));
