// What the LangChain tests (ChatBedrockConverse and ChatOpenAI) share: the
// weather tool and schema, and the tool loop a LangChain user writes.
import assert from "node:assert/strict";
import { HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { weatherTool, weatherPrompt, weatherResult } from "./suite.mjs";

export const Weather = z.object({
  city: z.string(),
  temperatureC: z.number(),
  conditions: z.enum(["sunny", "cloudy", "rain", "snow"]),
});

export const getWeather = tool(async ({ city }) => JSON.stringify(weatherResult(city)), {
  name: weatherTool.name,
  description: weatherTool.description,
  schema: z.object({ city: z.string().describe("City name") }),
});

// toolLoop runs llm.bindTools([getWeather]) as a user's agent loop does:
// answer each tool call with a ToolMessage until the model answers in text.
// It checks the model called the tool, with schema-valid arguments, and that
// the loop ended with text within 5 steps.
export async function toolLoop(llm) {
  const bound = llm.bindTools([getWeather]);
  const history = [new HumanMessage(weatherPrompt)];
  let calls = 0;
  let ai = await bound.invoke(history);
  for (let step = 0; ai.tool_calls?.length && step < 5; step++) {
    history.push(ai);
    for (const call of ai.tool_calls) {
      calls++;
      assert.equal(call.name, weatherTool.name);
      assert.equal(typeof call.args.city, "string", "tool args do not follow the schema");
      history.push(await getWeather.invoke(call)); // a ToolMessage answering call.id
    }
    ai = await bound.invoke(history);
  }
  assert.ok(calls >= 1, "the model never called the tool");
  assert.equal(ai.tool_calls?.length ?? 0, 0, "the loop did not end within 5 steps");
  assert.ok(ai.text.length > 0, "the loop did not end with text");
}
