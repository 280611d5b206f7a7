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
		{"auto, no mention", "What's the weather in Paris?", choiceAuto, ""},
		{"absent choice, no mention", "Tell me a joke.", nil, ""},
		{"any, mentioned", "maybe get_weather would help", choiceAny, "get_weather"},
		{"any, no mention", "Tell me a joke.", choiceAny, "*"},
		{"named", "use get_weather please", choiceTool("search_web"), "search_web"},
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
