// Pass-through to an OpenAI-compatible upstream (README.md, "The
// OpenAI-compatible API"): a model served by a provider of type openai gets
// the caller's chat completions body untranslated, with only the model
// name, a default output budget, max_completion_tokens → max_tokens (the
// fake upstream is not api.openai.com, so it counts as a server that takes
// only max_tokens) and a stream's stream_options.include_usage edited in
// place; the upstream's answer and stream come back byte for byte, the
// usage chunk left out when the caller did not ask for it.
//
// The upstream is a fake on 127.0.0.1 run by the Go driver
// (internal/clientsuite/upstream_test.go) that answers with OpenAI's
// recorded answers (internal/provider/openai/testdata, whose README names
// their sources): openai_chat.json, openai_chat_stream.sse, and
// openai_tool_stream.sse for a stream offering tools. It answers only the
// provider's key, which the gateway reads from the environment; the
// callers use their modelwatch key. The clients are the openai package,
// the AI SDK's @ai-sdk/openai through openai.chat() (its default openai(id)
// is the Responses API, a different door) and LangChain's ChatOpenAI, each
// with its defaults: only baseURL and apiKey set. The oracles are the
// recorded files themselves, the body the fake upstream last received (its
// own GET endpoint) and the gateway's invocation record.
//
// Environment (set by internal/clientsuite; see lib/suite.mjs), besides the
// suite's:
//   MW_PASSTHROUGH_MODEL              the catalog ID of the pass-through model
//   MW_PASSTHROUGH_PROVIDER           the name of its provider (type openai)
//   MW_PASSTHROUGH_UPSTREAM_MODEL     the upstream's name for it (also an alias)
//   MW_PASSTHROUGH_DEFAULT_MAX_TOKENS the model's default output budget
//   MW_FAKE_UPSTREAM_URL              the fake upstream (GET /_fake/last-request)
//   MW_FAKE_UPSTREAM_TESTDATA         the directory of the recorded answers it replays
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { generateText, streamText } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { env, record } from "../lib/suite.mjs";

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this suite through the Go driver (go test ./internal/clientsuite/)`);
  return v;
}

const catalogId = required("MW_PASSTHROUGH_MODEL");
const provider = required("MW_PASSTHROUGH_PROVIDER");
const upstreamModel = required("MW_PASSTHROUGH_UPSTREAM_MODEL");
const defaultMaxTokens = Number(required("MW_PASSTHROUGH_DEFAULT_MAX_TOKENS"));
const upstreamURL = required("MW_FAKE_UPSTREAM_URL");
const testdata = required("MW_FAKE_UPSTREAM_TESTDATA");

// The recorded answers, as the fake upstream sends them.
const answerBytes = readFileSync(join(testdata, "openai_chat.json"), "utf8");
const answer = JSON.parse(answerBytes);
const streamBytes = readFileSync(join(testdata, "openai_chat_stream.sse"), "utf8");
const toolStreamBytes = readFileSync(join(testdata, "openai_tool_stream.sse"), "utf8");

/** An .sse file's events, each "data: ...\n\n". */
const events = (sse) => sse.split(/(?<=\n\n)/).filter((e) => e.trim() !== "");
/** Its chunks, parsed ([DONE] left out). */
const chunks = (sse) =>
  events(sse)
    .map((e) => e.replace(/^data: /, "").trim())
    .filter((d) => d !== "[DONE]")
    .map((d) => JSON.parse(d));
const streamChunks = chunks(streamBytes);
const usageChunk = streamChunks.at(-1);
const toolChunks = chunks(toolStreamBytes);
/** The text a stream's content deltas assemble. */
const textOf = (cs) => cs.map((c) => c.choices[0]?.delta?.content ?? "").join("");
const streamText_ = textOf(streamChunks);

// The recordings are what these tests assume.
assert.equal(answer.choices[0].message.content, "Hello! How can I assist you today?");
assert.equal(streamText_, "Let's take a journey to the beautiful island of Santorini.");
assert.deepEqual(usageChunk.choices, []);
assert.equal(usageChunk.usage.prompt_tokens, 24);
assert.equal(usageChunk.usage.completion_tokens, 12);

const client = new OpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });

/** What the fake upstream has been sent: the number of chat calls and the last body, as received. */
async function upstream() {
  const res = await fetch(`${upstreamURL}/_fake/last-request`);
  const body = await res.text();
  const count = Number(res.headers.get("x-upstream-requests"));
  if (count === 0) return { count, body: undefined };
  assert.equal(res.status, 200, body);
  return { count, body };
}

/**
 * Runs one client call and returns its result with the body the upstream
 * received for it: the call must have reached the upstream exactly once.
 */
async function oneUpstreamCall(call) {
  const before = (await upstream()).count;
  const result = await call();
  const after = await upstream();
  assert.equal(after.count, before + 1, "the call did not reach the upstream exactly once");
  return { result, sent: after.body };
}

/** The caller's JSON text with its model member renamed to the upstream's name in place. */
function renamed(json, from = catalogId) {
  const member = `"model":${JSON.stringify(from)}`;
  assert.ok(json.includes(member), `${json} has no ${member}`);
  return json.replace(member, `"model":${JSON.stringify(upstreamModel)}`);
}

/** The JSON text with raw members appended at its end, as the gateway adds them. */
function appended(json, ...members) {
  assert.ok(json.endsWith("}"));
  return json.slice(0, -1) + members.map((m) => "," + m).join("") + "}";
}

const budget = `"max_tokens":${defaultMaxTokens}`;
const includeUsage = `"stream_options":{"include_usage":true}`;

const messages = [
  { role: "system", content: "You are a concise assistant." },
  { role: "user", content: "Hello" },
];

// --- the openai package ------------------------------------------------------

test("openai: a plain call returns the upstream's completion as it sent it; the upstream got the caller's body, extra member and all", async () => {
  // A member the gateway knows nothing of, sent the SDK's documented way
  // for undocumented parameters (in the params; it sends them as they are).
  const probe = { run: randomUUID(), nested: [1, 2.5, "three", null, { deep: true }] };
  const request = { model: catalogId, messages, mw_suite_probe: probe };
  const { result, sent } = await oneUpstreamCall(() => client.chat.completions.create(request).withResponse());
  const { data: c, request_id } = result;

  // The upstream's answer, every member: its id, created, model (the
  // snapshot the upstream says it used), service_tier, usage with both
  // details objects, refusal and annotations; nothing added (this
  // recording has no system_fingerprint, and none appears).
  assert.deepEqual(c, answer);
  assert.equal(c.id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
  assert.equal(c.model, "gpt-4.1-2025-04-14");
  assert.equal(c.service_tier, "default");
  assert.ok(!("system_fingerprint" in c));
  assert.deepEqual(c.usage, {
    prompt_tokens: 19,
    completion_tokens: 10,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  });
  assert.equal(c.choices[0].message.content, "Hello! How can I assist you today?");

  // The caller's bytes (the SDK sends JSON.stringify of the params), the
  // catalog ID renamed in place and the default budget added.
  assert.equal(sent, appended(renamed(JSON.stringify(request)), budget));
  assert.deepEqual(JSON.parse(sent).mw_suite_probe, probe);

  // Recorded with the upstream's usage, as served by the upstream.
  assert.ok(request_id, "no x-request-id");
  const rec = await record(request_id);
  assert.equal(rec.operation, "ChatCompletions");
  assert.equal(rec.modelId, catalogId);
  assert.equal(rec.identity.arn, env.bearerPrincipalARN);
  assert.equal(rec.input.inputTokenCount, 19);
  assert.equal(rec.output.outputTokenCount, 10);
  assert.equal(rec.upstream?.provider, provider);
  assert.equal(rec.upstream?.model, upstreamModel);
});

test("openai: the raw answer is the upstream's bytes; a body that needs no edit reaches the upstream byte for byte", async () => {
  // Called by the upstream's own name (an alias), with a budget: nothing
  // to change.
  const request = { model: upstreamModel, messages, max_tokens: 50, temperature: 0.2, mw_suite_probe: randomUUID() };
  const { result: res, sent } = await oneUpstreamCall(() => client.chat.completions.create(request).asResponse());
  assert.equal(res.status, 200);
  assert.equal(await res.text(), answerBytes);
  assert.equal(sent, JSON.stringify(request));
});

test("openai: max_completion_tokens is renamed max_tokens for a server that takes only that", async () => {
  const request = { model: upstreamModel, messages, max_completion_tokens: 64, mw_suite_probe: randomUUID() };
  const { result: c, sent } = await oneUpstreamCall(() => client.chat.completions.create(request));
  assert.deepEqual(c, answer);
  const { max_completion_tokens, ...rest } = request;
  assert.equal(sent, JSON.stringify({ ...rest, max_tokens: max_completion_tokens }));
});

test("openai: a stream without include_usage is the upstream's chunks without the usage chunk; the upstream was asked for it", async () => {
  const request = { model: catalogId, messages, stream: true };
  const { result, sent } = await oneUpstreamCall(async () => {
    const { data: stream, request_id } = await client.chat.completions.create(request).withResponse();
    const got = [];
    for await (const chunk of stream) got.push(chunk);
    return { got, request_id };
  });
  const { got, request_id } = result;
  // Every chunk as the upstream sent it (id, created, model,
  // system_fingerprint, "usage":null, refusal, logprobs), in order, but
  // the usage chunk the caller did not ask for.
  assert.deepEqual(got, streamChunks.slice(0, -1));
  assert.equal(textOf(got), "Let's take a journey to the beautiful island of Santorini.");
  assert.ok(got.every((c) => c.usage == null && c.choices.length === 1), "the caller got a usage chunk it did not ask for");
  assert.ok(got.every((c) => c.id === "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF" && c.system_fingerprint === "fp_157b3831f5"));
  assert.equal(got.at(-1).choices[0].finish_reason, "stop");

  // The upstream was asked for the usage chunk all the same (the record
  // needs it), besides the rename and the budget.
  assert.equal(sent, appended(renamed(JSON.stringify(request)), budget, includeUsage));
  assert.equal(JSON.parse(sent).stream_options.include_usage, true);

  const rec = await record(request_id);
  assert.equal(rec.input.inputTokenCount, 24);
  assert.equal(rec.output.outputTokenCount, 12);
});

test("openai: the raw stream without include_usage is the upstream's bytes without the usage event", async () => {
  const request = { model: upstreamModel, messages, stream: true, max_tokens: 50 };
  const { result: res, sent } = await oneUpstreamCall(() => client.chat.completions.create(request).asResponse());
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/event-stream/);
  const want = events(streamBytes)
    .filter((e) => !e.includes(`"choices":[]`))
    .join("");
  assert.equal(await res.text(), want);
  assert.equal(sent, appended(JSON.stringify(request), includeUsage));
});

test("openai: a stream with include_usage ends with the upstream's usage chunk, usage exact", async () => {
  const request = { model: catalogId, messages, stream: true, stream_options: { include_usage: true }, max_tokens: 100 };
  const { result: got, sent } = await oneUpstreamCall(async () => {
    const got = [];
    for await (const chunk of await client.chat.completions.create(request)) got.push(chunk);
    return got;
  });
  assert.deepEqual(got, streamChunks);
  const usage = got.at(-1).usage;
  assert.deepEqual(usage, {
    prompt_tokens: 24,
    completion_tokens: 12,
    total_tokens: 36,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  });
  assert.deepEqual(got.at(-1).choices, []);
  // Only the model renamed: the caller asked for the usage and set a budget.
  assert.equal(sent, renamed(JSON.stringify(request)));
});

test("openai: the stream helper assembles the upstream's streamed tool call; usage with cached tokens exact", async () => {
  const tools = [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather for a location.",
        parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
      },
    },
  ];
  const request = {
    model: catalogId,
    messages: [{ role: "user", content: "What's the weather like in Santorini?" }],
    tools,
    stream_options: { include_usage: true },
  };
  const { result: final, sent } = await oneUpstreamCall(() => client.chat.completions.stream(request).finalChatCompletion());
  assert.equal(final.id, "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF");
  assert.equal(final.model, "gpt-4o-2024-05-13");
  assert.equal(final.system_fingerprint, "fp_157b3831f5");
  assert.equal(final.choices[0].finish_reason, "tool_calls");
  assert.equal(final.choices[0].message.content, textOf(toolChunks));
  assert.equal(final.choices[0].message.content, "Now, let's check the weather in Santorini.");
  assert.deepEqual(
    final.choices[0].message.tool_calls.map(({ id, type, function: f }) => ({ id, type, name: f.name, arguments: f.arguments })),
    [{ id: "call_FXoAjBUMcVv1k40fficJ9cSs", type: "function", name: "get_weather", arguments: `{"location":"Santorini, Greece"}` }],
  );
  assert.deepEqual(final.usage, toolChunks.at(-1).usage);
  assert.equal(final.usage.prompt_tokens, 85);
  assert.equal(final.usage.completion_tokens, 29);
  assert.equal(final.usage.prompt_tokens_details.cached_tokens, 64);
  // The helper adds stream: true to the params; the tools went as sent.
  const body = JSON.parse(sent);
  assert.equal(body.model, upstreamModel);
  assert.equal(body.stream, true);
  assert.deepEqual(body.tools, tools);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.equal(body.max_tokens, defaultMaxTokens);
});

// --- the AI SDK, @ai-sdk/openai in chat-completions mode ---------------------

const aiOpenAI = createOpenAI({ baseURL: env.openaiBaseURL, apiKey: env.apiKey });
const aiRequest = { system: "You are a concise assistant.", prompt: "Hello" };

/**
 * The usage as the AI SDK keeps it in usage.raw: its schema's members of
 * the upstream's usage object (it drops the audio counts).
 */
function sdkReadUsage(u) {
  const { reasoning_tokens, accepted_prediction_tokens, rejected_prediction_tokens } = u.completion_tokens_details;
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens,
    prompt_tokens_details: { cached_tokens: u.prompt_tokens_details.cached_tokens },
    completion_tokens_details: { reasoning_tokens, accepted_prediction_tokens, rejected_prediction_tokens },
  };
}

test("@ai-sdk/openai chat: generateText has the upstream's text, id, model and exact usage", async () => {
  const { result: r, sent } = await oneUpstreamCall(() => generateText({ model: aiOpenAI.chat(catalogId), ...aiRequest }));
  assert.equal(r.text, "Hello! How can I assist you today?");
  assert.equal(r.finishReason, "stop");
  assert.equal(r.response.id, answer.id);
  assert.equal(r.response.modelId, "gpt-4.1-2025-04-14");
  assert.equal(r.response.timestamp.getTime(), answer.created * 1000);
  assert.equal(r.usage.inputTokens, 19);
  assert.equal(r.usage.outputTokens, 10);
  assert.equal(r.usage.totalTokens, 29);
  assert.deepEqual(r.usage.inputTokenDetails, { noCacheTokens: 19, cacheReadTokens: 0, cacheWriteTokens: undefined });
  assert.deepEqual(r.usage.outputTokenDetails, { textTokens: 10, reasoningTokens: 0 });
  assert.deepEqual(r.usage.raw, sdkReadUsage(answer.usage));
  // The answer as the upstream sent it, every member.
  assert.deepEqual(r.response.body, answer);
  // The body the AI SDK sent (it exposes it; it posts JSON.stringify of
  // it), the model renamed in place and the default budget added.
  assert.equal(sent, appended(renamed(JSON.stringify(r.request.body)), budget));
  const rec = await record(r.response.headers["x-request-id"]);
  assert.equal(rec.input.inputTokenCount, 19);
  assert.equal(rec.output.outputTokenCount, 10);
});

test("@ai-sdk/openai chat: streamText assembles the upstream's text; usage exact", async () => {
  const { result, sent } = await oneUpstreamCall(async () => {
    const s = streamText({ model: aiOpenAI.chat(catalogId), ...aiRequest });
    let text = "";
    for await (const delta of s.textStream) text += delta;
    return { text, s };
  });
  const { text, s } = result;
  assert.equal(text, "Let's take a journey to the beautiful island of Santorini.");
  assert.equal(await s.finishReason, "stop");
  const usage = await s.usage;
  assert.equal(usage.inputTokens, 24);
  assert.equal(usage.outputTokens, 12);
  assert.equal(usage.totalTokens, 36);
  assert.deepEqual(usage.inputTokenDetails, { noCacheTokens: 24, cacheReadTokens: 0, cacheWriteTokens: undefined });
  assert.deepEqual(usage.outputTokenDetails, { textTokens: 12, reasoningTokens: 0 });
  assert.deepEqual(usage.raw, sdkReadUsage(usageChunk.usage));
  const response = await s.response;
  assert.equal(response.id, "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF");
  assert.equal(response.modelId, "gpt-4o-2024-05-13");
  // The AI SDK asks for the usage itself: only the rename and the budget.
  const request = await s.request;
  assert.equal(sent, appended(renamed(JSON.stringify(request.body)), budget));
  assert.deepEqual(JSON.parse(sent).stream_options, { include_usage: true });
  const rec = await record(response.headers["x-request-id"]);
  assert.equal(rec.input.inputTokenCount, 24);
  assert.equal(rec.output.outputTokenCount, 12);
});

// --- LangChain's ChatOpenAI ---------------------------------------------------

const chat = () => new ChatOpenAI({ model: catalogId, apiKey: env.apiKey, configuration: { baseURL: env.openaiBaseURL } });
const lcMessages = [new SystemMessage("You are a concise assistant."), new HumanMessage("Hello")];

test("LangChain ChatOpenAI.invoke: the upstream's content, id and exact usage_metadata", async () => {
  const { result: msg, sent } = await oneUpstreamCall(() => chat().invoke(lcMessages));
  assert.equal(msg.content, "Hello! How can I assist you today?");
  assert.equal(msg.id, answer.id);
  assert.equal(msg.response_metadata.finish_reason, "stop");
  assert.equal(msg.response_metadata.model_name, "gpt-4.1-2025-04-14");
  assert.deepEqual(msg.usage_metadata, {
    input_tokens: 19,
    output_tokens: 10,
    total_tokens: 29,
    input_token_details: { audio: 0, cache_read: 0 },
    output_token_details: { audio: 0, reasoning: 0 },
  });
  // LangChain's body: its messages, the model renamed, the budget last.
  const body = JSON.parse(sent);
  assert.equal(body.model, upstreamModel);
  assert.deepEqual(body.messages, messages);
  assert.equal(Object.keys(body).at(-1), "max_tokens");
  assert.equal(body.max_tokens, defaultMaxTokens);
});

test("LangChain ChatOpenAI.stream: the upstream's text and exact usage_metadata", async () => {
  const { result: acc, sent } = await oneUpstreamCall(async () => {
    let acc;
    for await (const chunk of await chat().stream(lcMessages)) acc = acc ? acc.concat(chunk) : chunk;
    return acc;
  });
  assert.equal(acc.text, "Let's take a journey to the beautiful island of Santorini.");
  assert.equal(acc.id, "chatcmpl-A3Tguz3LSXTHBTY2NAPBCSyfBltxF");
  assert.deepEqual(acc.usage_metadata, {
    input_tokens: 24,
    output_tokens: 12,
    total_tokens: 36,
    input_token_details: { audio: 0, cache_read: 0 },
    output_token_details: { audio: 0, reasoning: 0 },
  });
  const body = JSON.parse(sent);
  assert.equal(body.model, upstreamModel);
  assert.deepEqual(body.messages, messages);
  assert.deepEqual(body.stream_options, { include_usage: true });
});
