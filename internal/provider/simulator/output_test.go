package simulator

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func withSchema(req *converse.Request, schema string) *converse.Request {
	req.OutputConfig = &converse.OutputConfig{TextFormat: &converse.OutputFormat{
		Type:      converse.OutputFormatJSONSchema,
		Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: schema, Name: "answer"}},
	}}
	return req
}

// collectStream runs a stream to its end and assembles it.
func collectStream(t *testing.T, s *Simulator, modelID string, req *converse.Request) (*converse.Response, []converse.StreamEvent) {
	t.Helper()
	st, err := s.ConverseStream(context.Background(), provider.Call{ModelID: modelID}, req)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := provider.Collect(st)
	if err != nil {
		t.Fatal(err)
	}
	var a converse.Assembler
	for i := range evs {
		a.Add(&evs[i])
	}
	return a.Response(), evs
}

func TestConverseStructuredOutput(t *testing.T) {
	schema := schemaCorpus["zod style"]
	sch := compileSchema(t, schema)
	sims := map[string]*Simulator{
		"generate": New(map[string]ModelSettings{"m": {TimePerOutputToken: 10 * time.Microsecond}}, Options{}),
		"echo":     New(map[string]ModelSettings{"m": {Reply: ReplyEcho}}, Options{}),
	}
	for mode, s := range sims {
		t.Run(mode, func(t *testing.T) {
			for _, q := range []string{"Review the book Dune.", "hi", "Write me a poem instead."} {
				req := withSchema(userReq(q), schema)
				resp := converseModel(t, s, "m", req)
				if resp.StopReason != converse.StopEndTurn || len(resp.Output.Message.Content) != 1 {
					t.Fatalf("%q: %q %+v", q, resp.StopReason, resp.Output.Message.Content)
				}
				checkValid(t, sch, schema, resp.Text())
				if resp.Usage.OutputTokens != CountTokens(resp.Text()) {
					t.Errorf("%q: outputTokens %d, CountTokens %d", q, resp.Usage.OutputTokens, CountTokens(resp.Text()))
				}
				if again := converseModel(t, s, "m", req); again.Text() != resp.Text() {
					t.Errorf("%q: not deterministic", q)
				}
				// Streaming sends the same JSON in pieces.
				got, evs := collectStream(t, s, "m", req)
				if got.Text() != resp.Text() || !reflect.DeepEqual(got.Usage, resp.Usage) {
					t.Errorf("%q: stream assembled %q %+v, Converse %q %+v", q, got.Text(), got.Usage, resp.Text(), resp.Usage)
				}
				deltas := 0
				for _, ev := range evs {
					if ev.ContentBlockDelta != nil {
						deltas++
					}
				}
				if mode == "generate" && deltas < 2 {
					t.Errorf("%q: the JSON came in %d deltas", q, deltas)
				}
			}
		})
	}
}

func TestStructuredOutputWithTools(t *testing.T) {
	s := New(nil, Options{})
	schema := `{"type":"object","properties":{"summary":{"type":"string"},"temperature":{"type":"number"}},"required":["summary","temperature"],"additionalProperties":false}`
	sch := compileSchema(t, schema)

	// Small talk gets JSON, not a tool call.
	req := withSchema(userReq("Hello there."), schema)
	req.ToolConfig = weatherTools(choiceAuto)
	checkValid(t, sch, schema, mustConverse(t, s, req).Text())

	// A question for a tool calls it; the answer to its result is JSON.
	req = withSchema(userReq("What's the weather in Paris?"), schema)
	req.ToolConfig = weatherTools(choiceAuto)
	called, last := toolLoop(t, s, req, 5)
	if len(called) != 1 || last == nil {
		t.Fatalf("called %v", called)
	}
	checkValid(t, sch, schema, last.Text())

	// A cut reply says so.
	req = withInference(withSchema(userReq("Hello there."), schema), 3)
	if resp := mustConverse(t, s, req); resp.StopReason != converse.StopMaxTokens || resp.Usage.OutputTokens != 3 {
		t.Errorf("cut structured output: %q %d", resp.StopReason, resp.Usage.OutputTokens)
	}
}

// TestForcedToolAsStructuredOutput is how LangChain's withStructuredOutput
// and the AI SDK's generateObject work: one tool, forced, whose input is
// the object.
func TestForcedToolAsStructuredOutput(t *testing.T) {
	s := New(nil, Options{})
	for _, name := range []string{"zod style", "pydantic style", "oneOf discriminated", "nested objects and arrays", "refs and defs"} {
		schema := schemaCorpus[name]
		sch := compileSchema(t, schema)
		req := userReq("Extract the data from: Bob, 42, bob@example.com")
		req.ToolConfig = &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "extract", Description: "Return the structured answer.",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(schema)}}}},
			ToolChoice: choiceTool("extract"),
		}
		resp := mustConverse(t, s, req)
		content := resp.Output.Message.Content
		if resp.StopReason != converse.StopToolUse || len(content) != 1 || content[0].ToolUse == nil {
			t.Fatalf("%s: %q %+v", name, resp.StopReason, content)
		}
		checkValid(t, sch, schema, string(content[0].ToolUse.Input))
	}
}

func TestTierEcho(t *testing.T) {
	s := New(map[string]ModelSettings{"m": {TimeToFirstToken: 100 * time.Millisecond, TimePerOutputToken: 10 * time.Millisecond}}, Options{})
	base := s.plan(provider.Call{ModelID: "m"}, userReq("hi"))
	tests := []struct {
		name  string
		perf  *converse.PerformanceConfig
		tier  *converse.ServiceTier
		scale float64
	}{
		{"none", nil, nil, 1},
		{"standard", &converse.PerformanceConfig{Latency: "standard"}, nil, 1},
		{"optimized", &converse.PerformanceConfig{Latency: "optimized"}, nil, scaleOptimized},
		{"priority", nil, &converse.ServiceTier{Type: "priority"}, scalePriority},
		{"default tier", nil, &converse.ServiceTier{Type: "default"}, 1},
		{"flex", nil, &converse.ServiceTier{Type: "flex"}, scaleFlex},
		{"reserved", nil, &converse.ServiceTier{Type: "reserved"}, 1},
		{"optimized priority", &converse.PerformanceConfig{Latency: "optimized"}, &converse.ServiceTier{Type: "priority"}, scaleOptimized * scalePriority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userReq("hi")
			req.PerformanceConfig, req.ServiceTier = tt.perf, tt.tier
			p := s.plan(provider.Call{ModelID: "m"}, req)
			if want := time.Duration(float64(base.timeToFirstToken) * tt.scale); p.timeToFirstToken != want {
				t.Errorf("time to first token %v, want %v", p.timeToFirstToken, want)
			}
			if want := time.Duration(float64(base.timePerOutputToken) * tt.scale); p.timePerOutputToken != want {
				t.Errorf("time per output token %v, want %v", p.timePerOutputToken, want)
			}
			resp := p.response()
			if !reflect.DeepEqual(resp.PerformanceConfig, tt.perf) || !reflect.DeepEqual(resp.ServiceTier, tt.tier) {
				t.Errorf("response echoes %+v %+v, want %+v %+v", resp.PerformanceConfig, resp.ServiceTier, tt.perf, tt.tier)
			}
			if p.performance != nil && p.performance == req.PerformanceConfig || p.tier != nil && p.tier == req.ServiceTier {
				t.Error("the echo shares the request's struct")
			}
			fast := New(nil, Options{})
			_, evs := collectStream(t, fast, "m", req)
			md := evs[len(evs)-1].Metadata
			if !reflect.DeepEqual(md.PerformanceConfig, tt.perf) || !reflect.DeepEqual(md.ServiceTier, tt.tier) {
				t.Errorf("stream metadata echoes %+v %+v", md.PerformanceConfig, md.ServiceTier)
			}
		})
	}
}

// TestHostileSchemasStayBounded: schemas built to make the generator's work
// explode (a schema merging itself several times over, nested repetitions
// of empty matches in a pattern) are answered, with valid JSON, instead of
// pinning a core. Before the fix each of these ran for minutes.
func TestHostileSchemasStayBounded(t *testing.T) {
	s := New(nil, Options{})
	for name, schema := range map[string]string{
		"self-reference merged three times": `{"allOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`,
		"self-reference in nested allOf":    `{"type":"object","allOf":[{"allOf":[{"$ref":"#"},{"$ref":"#"}]},{"$ref":"#"},{"$ref":"#"}],"properties":{"a":{"$ref":"#"}}}`,
		"nested empty repetitions":          `{"type":"string","minLength":1,"pattern":"(((((((((()*)*)*)*)*)*)*)*)*)"}`,
		"empty repetitions in an object":    `{"type":"object","required":["p"],"properties":{"p":{"type":"string","pattern":"^((((()*)*)*)*)+x$"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp := converseModel(t, s, "m", withSchema(userReq("Answer."), schema))
			if !json.Valid([]byte(resp.Text())) {
				t.Errorf("reply %q is not JSON", resp.Text())
			}
		})
	}
}
