package simulator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

const (
	weatherSchema = `{
		"type": "object",
		"properties": {
			"location": {"type": "string", "description": "City name"},
			"unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
			"days": {"type": "integer", "minimum": 1, "maximum": 7}
		},
		"required": ["location", "unit"]
	}`
	searchSchema = `{
		"type": "object",
		"properties": {
			"query": {"type": "string", "minLength": 12},
			"limit": {"type": "integer", "minimum": 5, "maximum": 500},
			"safe": {"type": "boolean"},
			"score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
			"tags": {"type": "array", "items": {"type": "string"}},
			"filters": {"type": "object", "properties": {"lang": {"type": "string"}, "since": {"type": "string", "format": "date"}}}
		}
	}`
)

func weatherTools(choice *converse.ToolChoice) *converse.ToolConfig {
	return &converse.ToolConfig{
		Tools: []converse.Tool{
			{ToolSpec: &converse.ToolSpec{Name: "get_weather", Description: "Current weather for a city.",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(weatherSchema)}}},
			{CachePoint: &converse.CachePointBlock{Type: "default"}},
			{ToolSpec: &converse.ToolSpec{Name: "search_web", Description: "Search the web.",
				InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(searchSchema)}}},
		},
		ToolChoice: choice,
	}
}

var (
	choiceAuto = &converse.ToolChoice{Auto: &struct{}{}}
	choiceAny  = &converse.ToolChoice{Any: &struct{}{}}
)

func choiceTool(name string) *converse.ToolChoice {
	return &converse.ToolChoice{Tool: &converse.SpecificTool{Name: name}}
}

var toolUseIDPattern = regexp.MustCompile(`^tooluse_[A-Za-z0-9]{22}$`)

func TestToolUse(t *testing.T) {
	s := New(nil, Options{})
	tests := []struct {
		name     string
		text     string
		choice   *converse.ToolChoice
		wantTool string // "" for a text reply; "*" for any tool
	}{
		{"auto, mentioned", "What's the weather in Paris? Please use get_weather.", choiceAuto, "get_weather"},
		{"auto, mentioned in another case", "Call GET_WEATHER for Oslo", choiceAuto, "get_weather"},
		{"absent choice, mentioned", "search_web for recent news", nil, "search_web"},
		{"auto, first mention wins", "use search_web, then get_weather", choiceAuto, "search_web"},
		{"auto, fitting tool without its name", "What's the weather in Paris?", choiceAuto, "get_weather"},
		{"auto, description words", "Can you search for that on the web?", choiceAuto, "search_web"},
		{"absent choice, small talk", "Tell me a joke.", nil, ""},
		{"auto, greeting", "Hello! How are you doing today?", choiceAuto, ""},
		{"auto, thanks", "Thanks, that's all I needed.", choiceAuto, ""},
		{"any, mentioned", "maybe get_weather would help", choiceAny, "get_weather"},
		{"any, fitting", "is it sunny? what's the weather", choiceAny, "get_weather"},
		{"any, small talk still calls", "Tell me a joke.", choiceAny, "*"},
		{"named", "use get_weather please", choiceTool("search_web"), "search_web"},
		{"named, small talk still calls", "hi", choiceTool("get_weather"), "get_weather"},
		{"named, unknown tool", "use get_weather please", choiceTool("nope"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userReq(tt.text)
			req.ToolConfig = weatherTools(tt.choice)
			resp := mustConverse(t, s, req)
			content := resp.Output.Message.Content
			if tt.wantTool == "" {
				if resp.StopReason != converse.StopEndTurn || len(content) != 1 || content[0].Text == nil {
					t.Fatalf("want a text reply, got %q %+v", resp.StopReason, content)
				}
				if CountTokens(resp.Text()) != resp.Usage.OutputTokens {
					t.Errorf("CountTokens(text) = %d, outputTokens %d", CountTokens(resp.Text()), resp.Usage.OutputTokens)
				}
				return
			}
			if resp.StopReason != converse.StopToolUse {
				t.Fatalf("stop reason %q, want tool_use", resp.StopReason)
			}
			last := content[len(content)-1]
			if last.ToolUse == nil || len(content) > 2 || (len(content) == 2 && content[0].Text == nil) {
				t.Fatalf("want [text] toolUse, got %+v", content)
			}
			forced := tt.choice != nil && (tt.choice.Any != nil || tt.choice.Tool != nil)
			if forced && len(content) != 1 {
				t.Fatalf("a forced tool call came with text %q", resp.Text())
			}
			use := last.ToolUse
			if tt.wantTool != "*" && use.Name != tt.wantTool {
				t.Fatalf("called %q, want %q", use.Name, tt.wantTool)
			}
			if !toolUseIDPattern.MatchString(use.ToolUseID) {
				t.Errorf("tool use ID %q", use.ToolUseID)
			}
			checkToolInput(t, use.Name, use.Input)
			want := CountTokens(use.Name) + CountTokens(string(use.Input)) + CountTokens(resp.Text())
			if resp.Usage.OutputTokens != want {
				t.Errorf("outputTokens %d, want %d", resp.Usage.OutputTokens, want)
			}
			again := mustConverse(t, s, req)
			if again.Output.Message.Content[len(again.Output.Message.Content)-1].ToolUse.ToolUseID != use.ToolUseID {
				t.Error("tool use ID is not deterministic")
			}
		})
	}
}

// TestForcedToolNeverHasPreamble checks many conversations: a forced call
// never has text before it, an auto call sometimes does.
func TestForcedToolNeverHasPreamble(t *testing.T) {
	s := New(nil, Options{})
	preambles := 0
	for i := range 200 {
		for _, choice := range []*converse.ToolChoice{choiceAny, choiceTool("get_weather"), choiceAuto} {
			req := userReq(fmt.Sprintf("Question %d: what is the weather where I am?", i))
			req.ToolConfig = weatherTools(choice)
			resp := mustConverse(t, s, req)
			content := resp.Output.Message.Content
			if content[len(content)-1].ToolUse == nil {
				t.Fatalf("%d %+v: no tool call", i, choice)
			}
			if len(content) > 1 {
				if choice != choiceAuto {
					t.Fatalf("%d %+v: forced call with text %q", i, choice, resp.Text())
				}
				preambles++
			}
		}
	}
	if preambles == 0 {
		t.Error("auto calls never had a preamble")
	}
}

// toolLoop runs a client's tool loop against the simulator: it answers
// every tool call with a result and stops at the first text reply or after
// limit turns. It returns the tools called in order and the last reply.
func toolLoop(t *testing.T, s *Simulator, req *converse.Request, limit int) ([]string, *converse.Response) {
	t.Helper()
	var called []string
	for range limit {
		resp := mustConverse(t, s, req)
		if resp.StopReason != converse.StopToolUse {
			return called, resp
		}
		req.Messages = append(req.Messages, *resp.Output.Message)
		var results []converse.ContentBlock
		for _, b := range resp.Output.Message.Content {
			if b.ToolUse != nil {
				called = append(called, b.ToolUse.Name)
				results = append(results, converse.ContentBlock{ToolResult: &converse.ToolResultBlock{
					ToolUseID: b.ToolUse.ToolUseID,
					Content:   []converse.ToolResultContentBlock{{Text: ptr("result of " + b.ToolUse.Name)}},
				}})
			}
		}
		req.Messages = append(req.Messages, converse.Message{Role: converse.RoleUser, Content: results})
	}
	return called, nil
}

func TestAutoToolLoopEnds(t *testing.T) {
	s := New(nil, Options{})
	tests := []struct {
		question string
		want     []string
	}{
		{"What's the weather in Paris?", []string{"get_weather"}},
		{"Please use get_weather for Paris", []string{"get_weather"}},
		// A question that plainly needs two tools gets both, then text.
		{"Search the web for news, and what's the weather in Paris?", []string{"search_web", "get_weather"}},
		{"use search_web, then get_weather", []string{"search_web", "get_weather"}},
		{"Tell me a joke.", nil},
	}
	for _, tt := range tests {
		for _, choice := range []*converse.ToolChoice{nil, choiceAuto} {
			req := userReq(tt.question)
			req.ToolConfig = weatherTools(choice)
			called, last := toolLoop(t, s, req, 10)
			if last == nil {
				t.Fatalf("%q: the tool loop did not end: %v", tt.question, called)
			}
			if !slices.Equal(called, tt.want) {
				t.Errorf("%q: called %v, want %v", tt.question, called, tt.want)
			}
			if last.StopReason != converse.StopEndTurn || last.Text() == "" {
				t.Errorf("%q: the loop ended with %q %q", tt.question, last.StopReason, last.Text())
			}
		}
	}
	// A new question starts a new turn, in which the same tool is fine.
	req := userReq("What's the weather in Paris?")
	req.ToolConfig = weatherTools(choiceAuto)
	called, last := toolLoop(t, s, req, 10)
	req.Messages = append(req.Messages, *last.Output.Message, textMsg(converse.RoleUser, "And the weather in Oslo?"))
	again, _ := toolLoop(t, s, req, 10)
	if !slices.Equal(called, []string{"get_weather"}) || !slices.Equal(again, []string{"get_weather"}) {
		t.Errorf("two questions: called %v then %v", called, again)
	}
}

// TestForcedToolAfterResults: any and a named tool keep calling after tool
// results, and no call repeats the previous one's tool and input.
func TestForcedToolAfterResults(t *testing.T) {
	s := New(nil, Options{})
	for _, choice := range []*converse.ToolChoice{choiceAny, choiceTool("get_weather"), choiceTool("search_web")} {
		req := userReq("Use get_weather for Paris")
		req.ToolConfig = weatherTools(choice)
		called, last := toolLoop(t, s, req, 6)
		if last != nil || len(called) != 6 {
			t.Fatalf("%+v: a forced choice answered in text after %v", choice, called)
		}
		if choice.Tool != nil {
			for _, c := range called {
				if c != choice.Tool.Name {
					t.Fatalf("%+v: called %v", choice, called)
				}
			}
		} else if called[0] != "get_weather" || called[1] != "search_web" {
			// Under any, the best tool first, then one not yet called.
			t.Errorf("any: called %v", called)
		}
		var prev *converse.ToolUseBlock
		for _, m := range req.Messages {
			if m.Role != converse.RoleAssistant {
				continue
			}
			use := m.Content[len(m.Content)-1].ToolUse
			if len(m.Content) != 1 || use == nil {
				t.Fatalf("%+v: forced turn %+v", choice, m.Content)
			}
			if prev != nil && prev.Name == use.Name && string(prev.Input) == string(use.Input) {
				t.Errorf("%+v: %s called twice in a row with %s", choice, use.Name, use.Input)
			}
			checkToolInput(t, use.Name, use.Input)
			prev = use
		}
	}
}

func TestToolScore(t *testing.T) {
	tools := []converse.Tool{
		{ToolSpec: &converse.ToolSpec{Name: "get_stock_price", Description: "Latest share price of a listed company.",
			InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"ticker":{"type":"string"}},"required":["ticker"]}`)}}},
		{ToolSpec: &converse.ToolSpec{Name: "sendEmail", Description: "Send an email message to a recipient.",
			InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"to":{"type":"string","format":"email"},"subject":{"type":"string"}},"required":["to","subject"]}`)}}},
		{ToolSpec: &converse.ToolSpec{Name: "book_flight", Description: "Reserve seats on a flight.",
			InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"origin":{"type":"string"},"destination":{"type":"string"},"departure_date":{"type":"string","format":"date"}}}`)}}},
	}
	s := New(nil, Options{})
	tests := []struct {
		question, want string
	}{
		{"What are the stock prices of ACME today?", "get_stock_price"},
		{"Please email Bob about the launch.", "sendEmail"},
		{"I'd like to book flights to Lisbon.", "book_flight"},
		{"My destination is Lisbon, departure in May.", "book_flight"}, // parameter names
		{"Which ticker symbol does ACME trade under?", ""},             // one parameter word is not enough
		{"What a lovely day.", ""},
		{"How do I get better at chess?", ""}, // "get" is no evidence
	}
	for _, tt := range tests {
		req := userReq(tt.question)
		req.ToolConfig = &converse.ToolConfig{Tools: tools}
		resp := mustConverse(t, s, req)
		got := ""
		if c := resp.Output.Message.Content; c[len(c)-1].ToolUse != nil {
			got = c[len(c)-1].ToolUse.Name
		}
		if got != tt.want {
			t.Errorf("%q: called %q, want %q", tt.question, got, tt.want)
		}
	}
}

// checkToolInput validates generated input against the test schemas.
func checkToolInput(t *testing.T, tool string, input json.RawMessage) {
	t.Helper()
	var in map[string]any
	if err := json.Unmarshal(input, &in); err != nil {
		t.Fatalf("input %s is not a JSON object: %v", input, err)
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	switch tool {
	case "get_weather":
		if !slices.Equal(keys, []string{"location", "unit"}) {
			t.Fatalf("keys %v, want the required location and unit", keys)
		}
		if loc, ok := in["location"].(string); !ok || loc == "" {
			t.Errorf("location %v", in["location"])
		}
		if in["unit"] != "celsius" {
			t.Errorf("unit %v, want the first enum value", in["unit"])
		}
	case "search_web":
		if !slices.Equal(keys, []string{"filters", "limit", "query", "safe", "score", "tags"}) {
			t.Fatalf("keys %v, want all properties (none are required)", keys)
		}
		if q, ok := in["query"].(string); !ok || len(q) < 12 {
			t.Errorf("query %v shorter than minLength", in["query"])
		}
		if l, ok := in["limit"].(float64); !ok || l != float64(int(l)) || l < 5 || l > 500 {
			t.Errorf("limit %v", in["limit"])
		}
		if _, ok := in["safe"].(bool); !ok {
			t.Errorf("safe %v", in["safe"])
		}
		if sc, ok := in["score"].(float64); !ok || sc <= 0 || sc > 1 {
			t.Errorf("score %v", in["score"])
		}
		if tags, ok := in["tags"].([]any); !ok || len(tags) != 1 {
			t.Errorf("tags %v", in["tags"])
		} else if _, ok := tags[0].(string); !ok {
			t.Errorf("tag %v", tags[0])
		}
		f, ok := in["filters"].(map[string]any)
		if !ok {
			t.Fatalf("filters %v", in["filters"])
		}
		if _, ok := f["lang"].(string); !ok {
			t.Errorf("filters.lang %v", f["lang"])
		}
		if d, ok := f["since"].(string); !ok || !regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(d) {
			t.Errorf("filters.since %v", f["since"])
		}
	default:
		t.Fatalf("unexpected tool %q", tool)
	}
}

func TestToolUseAfterToolResult(t *testing.T) {
	s := New(nil, Options{})
	for _, choice := range []*converse.ToolChoice{nil, choiceAuto, choiceAny, choiceTool("get_weather")} {
		req := userReq("Use get_weather for Paris")
		req.ToolConfig = weatherTools(choice)
		first := mustConverse(t, s, req)
		req.Messages = append(req.Messages, *first.Output.Message, converse.Message{Role: converse.RoleUser,
			Content: []converse.ContentBlock{{ToolResult: &converse.ToolResultBlock{
				ToolUseID: first.Output.Message.Content[len(first.Output.Message.Content)-1].ToolUse.ToolUseID,
				Content:   []converse.ToolResultContentBlock{{Text: ptr("21 degrees and sunny")}},
			}}}})
		resp := mustConverse(t, s, req)
		if choice == choiceAny || choice != nil && choice.Tool != nil {
			// A forced choice calls again (any: the tool not yet called).
			want := "search_web"
			if choice.Tool != nil {
				want = "get_weather"
			}
			if resp.StopReason != converse.StopToolUse || len(resp.Output.Message.Content) != 1 ||
				resp.Output.Message.Content[0].ToolUse.Name != want {
				t.Errorf("%+v: after a tool result got %q %+v", choice, resp.StopReason, resp.Output.Message.Content)
			}
			continue
		}
		if resp.StopReason != converse.StopEndTurn || resp.Output.Message.Content[0].Text == nil {
			t.Errorf("%+v: after a tool result got %q %+v", choice, resp.StopReason, resp.Output.Message.Content)
		}
		if !strings.Contains(resp.Text(), "get_weather") {
			t.Errorf("%+v: reply does not mention the tool: %q", choice, resp.Text())
		}
	}
}

func TestToolUseCutByMaxTokens(t *testing.T) {
	s := New(nil, Options{})
	req := userReq("use get_weather")
	req.ToolConfig = weatherTools(choiceAny)
	full := mustConverse(t, s, req)
	budget := full.Usage.OutputTokens - 1
	resp := mustConverse(t, s, withInference(req, budget))
	if resp.StopReason != converse.StopMaxTokens || resp.Usage.OutputTokens != budget {
		t.Fatalf("got %q with %d tokens, want max_tokens with %d", resp.StopReason, resp.Usage.OutputTokens, budget)
	}
	for _, b := range resp.Output.Message.Content {
		if b.ToolUse != nil {
			t.Fatal("an incomplete tool use was returned")
		}
	}
}

func TestToolInputSchemas(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		check  func(v map[string]any) bool
	}{
		{"empty schema", `{}`, func(v map[string]any) bool { return len(v) == 0 }},
		{"invalid schema", `{"type":`, func(v map[string]any) bool { return len(v) == 0 }},
		{"not an object", `{"type":"string"}`, func(v map[string]any) bool { return len(v) == 0 }},
		{"required without properties", `{"type":"object","required":["a","a","b"]}`, func(v map[string]any) bool {
			_, a := v["a"].(string)
			_, b := v["b"].(string)
			return a && b && len(v) == 2
		}},
		{"const and enum", `{"properties":{"c":{"const":{"x":1}},"e":{"enum":[3,"x"]}}}`, func(v map[string]any) bool {
			c, _ := v["c"].(map[string]any)
			return c["x"] == 1.0 && v["e"] == 3.0
		}},
		{"nullable type list", `{"properties":{"n":{"type":["null","integer"]}}}`, func(v map[string]any) bool {
			n, ok := v["n"].(float64)
			return ok && n >= 1 && n <= 10
		}},
		{"anyOf picks non-null", `{"properties":{"a":{"anyOf":[{"type":"null"},{"type":"boolean"}]}}}`, func(v map[string]any) bool {
			_, ok := v["a"].(bool)
			return ok
		}},
		{"$ref", `{"$defs":{"addr":{"type":"object","properties":{"zip":{"type":"string","maxLength":3}},"required":["zip"]}},
			"properties":{"home":{"$ref":"#/$defs/addr"}}}`, func(v map[string]any) bool {
			h, _ := v["home"].(map[string]any)
			zip, ok := h["zip"].(string)
			return ok && len(zip) <= 3
		}},
		{"recursive $ref stays finite", `{"properties":{"node":{"$ref":"#"}}}`, func(v map[string]any) bool { return v["node"] != nil }},
		{"arrays", `{"properties":{"xs":{"type":"array","items":{"type":"integer","minimum":-3,"maximum":-1},"minItems":3},
			"none":{"type":"array","maxItems":0},"tuple":{"type":"array","items":[{"type":"boolean"}]}}}`, func(v map[string]any) bool {
			xs, _ := v["xs"].([]any)
			none, _ := v["none"].([]any)
			tuple, _ := v["tuple"].([]any)
			if len(xs) != 3 || none == nil || len(none) != 0 || len(tuple) != 1 {
				return false
			}
			for _, x := range xs {
				if f, ok := x.(float64); !ok || f < -3 || f > -1 {
					return false
				}
			}
			_, ok := tuple[0].(bool)
			return ok
		}},
		{"formats", `{"properties":{"t":{"type":"string","format":"date-time"},"m":{"type":"string","format":"email"},
			"u":{"type":"string","format":"uri"},"id":{"type":"string","format":"uuid"}}}`, func(v map[string]any) bool {
			t, _ := v["t"].(string)
			m, _ := v["m"].(string)
			u, _ := v["u"].(string)
			id, _ := v["id"].(string)
			return regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(t) && strings.HasSuffix(m, "@example.com") &&
				strings.HasPrefix(u, "https://") && regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id)
		}},
		{"number bounds", `{"properties":{"f":{"type":"number","minimum":0.1,"maximum":0.9},"x":{"type":"integer","exclusiveMinimum":100},
			"d4":{"type":"integer","minimum":0,"exclusiveMinimum":true}}}`, func(v map[string]any) bool {
			f, _ := v["f"].(float64)
			x, _ := v["x"].(float64)
			d4, _ := v["d4"].(float64)
			return f >= 0.1 && f <= 0.9 && x > 100 && x <= 110 && d4 >= 1
		}},
		{"odd property names", `{"properties":{"quote\"d":{"type":"string"},"ctl\u0001":{"type":"boolean"}}}`, func(v map[string]any) bool {
			_, a := v["quote\"d"].(string)
			_, b := v["ctl\u0001"].(bool)
			return a && b
		}},
		{"boolean sub-schema", `{"properties":{"any":true}}`, func(v map[string]any) bool {
			_, ok := v["any"].(string)
			return ok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newPRNG(1)
			out := toolInput([]byte(tt.schema), &r)
			var v map[string]any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("%s: not a JSON object: %v", out, err)
			}
			if !tt.check(v) {
				t.Errorf("input %s does not fit the schema", out)
			}
		})
	}
}

// TestToolInputBounded guards against schemas that would expand
// exponentially.
func TestToolInputBounded(t *testing.T) {
	props := make([]string, 20)
	for i := range props {
		props[i] = fmt.Sprintf(`"p%d":{"$ref":"#"}`, i)
	}
	schema := `{"type":"object","properties":{` + strings.Join(props, ",") + `}}`
	r := newPRNG(1)
	out := toolInput([]byte(schema), &r)
	if len(out) > 64<<10 {
		t.Fatalf("input of %d bytes", len(out))
	}
	if !json.Valid(out) {
		t.Fatalf("invalid JSON %s", out)
	}
}
