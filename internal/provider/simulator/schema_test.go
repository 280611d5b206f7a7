package simulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles a schema with a real JSON Schema validator, with
// format assertions on (drafts treat formats as annotations by default).
func compileSchema(t testing.TB, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatalf("schema %s: %v", schema, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatalf("schema %s does not compile: %v", schema, err)
	}
	return sch
}

// checkValid validates a generated document against the compiled schema.
func checkValid(t testing.TB, sch *jsonschema.Schema, schema, out string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("schema %s: output %s is not JSON: %v", schema, out, err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("schema %s: output %s does not validate: %v", schema, out, err)
	}
}

// schemaCorpus holds schemas of the kinds structured output and forced
// tool calls use: what Zod, Pydantic and hand-written schemas produce.
var schemaCorpus = map[string]string{
	"required and types": `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
		"score":{"type":"number","minimum":0,"maximum":1},"active":{"type":"boolean"},"nothing":{"type":"null"}},
		"required":["name","age","score","active","nothing"],"additionalProperties":false}`,
	"enum and const": `{"type":"object","properties":{"unit":{"type":"string","enum":["celsius","fahrenheit"]},
		"version":{"const":2},"mixed":{"enum":[null,1,"a",{"k":[1,2]}]},"kind":{"type":"string","const":"report"}},
		"required":["unit","version","mixed","kind"]}`,
	"enum filtered by type": `{"type":"object","properties":{"n":{"type":"integer","enum":["x",1.5,3]}},"required":["n"]}`,
	"nested objects and arrays": `{"type":"object","properties":{"order":{"type":"object","properties":{
		"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}},
		"required":["sku","qty"],"additionalProperties":false},"minItems":2,"maxItems":4},
		"tags":{"type":"array","items":{"type":"string"},"maxItems":0}},"required":["items","tags"]}},"required":["order"]}`,
	"many items": `{"type":"array","items":{"type":"integer"},"minItems":12}`,
	"formats": `{"type":"object","properties":{"at":{"type":"string","format":"date-time"},"day":{"type":"string","format":"date"},
		"time":{"type":"string","format":"time"},"mail":{"type":"string","format":"email"},"link":{"type":"string","format":"uri"},
		"id":{"type":"string","format":"uuid"},"host":{"type":"string","format":"hostname"},"ip":{"type":"string","format":"ipv4"},
		"ip6":{"type":"string","format":"ipv6"},"dur":{"type":"string","format":"duration"},"ptr":{"type":"string","format":"json-pointer"},
		"re":{"type":"string","format":"regex"},"ref":{"type":"string","format":"uri-reference"}},
		"required":["at","day","time","mail","link","id","host","ip","ip6","dur","ptr","re","ref"]}`,
	"bounds": `{"type":"object","properties":{"a":{"type":"integer","minimum":100},"b":{"type":"integer","maximum":-50},
		"c":{"type":"integer","exclusiveMinimum":5,"exclusiveMaximum":7},"d":{"type":"number","minimum":0.1,"maximum":0.2},
		"e":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},"f":{"type":"integer","minimum":-3,"maximum":-3}},
		"required":["a","b","c","d","e","f"]}`,
	"multipleOf": `{"type":"object","properties":{"a":{"type":"integer","multipleOf":7,"minimum":30},"b":{"type":"number","multipleOf":0.25,"maximum":2},
		"c":{"type":"number","multipleOf":0.1,"exclusiveMinimum":0.3,"maximum":0.5},"d":{"type":"integer","multipleOf":2.5},
		"e":{"allOf":[{"type":"integer","multipleOf":4},{"multipleOf":6}]}},"required":["a","b","c","d","e"]}`,
	"strings": `{"type":"object","properties":{"long":{"type":"string","minLength":40},"short":{"type":"string","maxLength":2},
		"exact":{"type":"string","minLength":5,"maxLength":5},"zip":{"type":"string","pattern":"^[0-9]{5}$"},
		"code":{"type":"string","pattern":"^[A-Z]{3}-\\d{2,4}$"},"color":{"type":"string","pattern":"^(red|green|blue)$"},
		"word":{"type":"string","pattern":"^[a-z]+$","minLength":12},"anywhere":{"type":"string","pattern":"ab+c"}},
		"required":["long","short","exact","zip","code","color","word","anywhere"]}`,
	"nullable": `{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"type":["null","integer"],"minimum":3},
		"c":{"anyOf":[{"type":"null"},{"type":"object","properties":{"x":{"type":"boolean"}},"required":["x"]}]},
		"d":{"type":["array","null"],"items":{"type":"string","format":"email"}}},"required":["a","b","c","d"]}`,
	"anyOf": `{"anyOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}},"required":["kind","r"]},
		{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number"}},"required":["kind","side"]}]}`,
	"oneOf overlapping": `{"type":"object","properties":{"v":{"oneOf":[{"type":"number"},{"type":"integer"}]},
		"w":{"oneOf":[{"type":"object"},{"type":"object","required":["a"]}]}},"required":["v","w"]}`,
	"oneOf discriminated": `{"type":"object","properties":{"pet":{"oneOf":[
		{"type":"object","properties":{"type":{"const":"cat"},"lives":{"type":"integer","minimum":1,"maximum":9}},"required":["type","lives"],"additionalProperties":false},
		{"type":"object","properties":{"type":{"const":"dog"},"breed":{"type":"string"}},"required":["type","breed"],"additionalProperties":false}]}},
		"required":["pet"]}`,
	"refs and defs": `{"$defs":{"addr":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","maxLength":3}},
		"required":["street","zip"],"additionalProperties":false},"name":{"type":"string","minLength":2}},
		"type":"object","properties":{"home":{"$ref":"#/$defs/addr"},"work":{"$ref":"#/$defs/addr"},"who":{"$ref":"#/$defs/name"}},
		"required":["home","who"]}`,
	"draft 7 definitions": `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"id":{"type":"integer","minimum":1}},
		"type":"object","properties":{"ids":{"type":"array","items":{"$ref":"#/definitions/id"},"minItems":2}},"required":["ids"]}`,
	"draft 4 exclusive booleans": `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object",
		"properties":{"n":{"type":"integer","minimum":0,"exclusiveMinimum":true,"maximum":2,"exclusiveMaximum":true}},"required":["n"]}`,
	"recursive tree": `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},
		"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value","children"]}},"$ref":"#/$defs/node"}`,
	"recursive nullable":          `{"type":"object","properties":{"name":{"type":"string"},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["name","next"]}`,
	"additionalProperties false":  `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
	"additionalProperties schema": `{"type":"object","additionalProperties":{"type":"integer","minimum":5},"minProperties":3}`,
	"patternProperties":           `{"type":"object","patternProperties":{"^x-[a-z]+$":{"type":"boolean"}},"additionalProperties":false,"minProperties":2}`,
	"maxProperties":               `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},"maxProperties":2}`,
	"dependentRequired": `{"type":"object","properties":{"card":{"type":"string"},"billing":{"type":"string"}},"required":["card"],
		"dependentRequired":{"card":["billing"]}}`,
	"allOf": `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},
		{"properties":{"b":{"type":"integer","minimum":10},"a":{"maxLength":3}},"required":["b"]}]}`,
	"tuples": `{"type":"object","properties":{"point":{"type":"array","prefixItems":[{"type":"number"},{"type":"number"},{"type":"string","enum":["m","km"]}],"items":false},
		"pair":{"type":"array","prefixItems":[{"type":"boolean"}],"items":{"type":"integer"},"minItems":3}},"required":["point","pair"]}`,
	"uniqueItems": `{"type":"object","properties":{"colors":{"type":"array","items":{"enum":["red","green","blue"]},"minItems":3,"uniqueItems":true},
		"flags":{"type":"array","items":{"type":"boolean"},"minItems":2,"uniqueItems":true},
		"nums":{"type":"array","items":{"type":"integer","minimum":1,"maximum":4},"minItems":4,"uniqueItems":true}},"required":["colors","flags","nums"]}`,
	"contains": `{"type":"array","items":{"type":"integer"},"contains":{"const":42},"minItems":2}`,
	"not":      `{"type":"object","properties":{"v":{"type":["string","integer"],"not":{"type":"string"}}},"required":["v"]}`,
	"if then else": `{"type":"object","properties":{"country":{"enum":["US","CA"]},"postal":{"type":"string"}},"required":["country","postal"],
		"if":{"properties":{"country":{"const":"US"}}},"then":{"properties":{"postal":{"pattern":"^[0-9]{5}$"}}},
		"else":{"properties":{"postal":{"pattern":"^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$"}}}}`,
	"top-level string": `{"type":"string","format":"email"}`,
	"top-level array":  `{"type":"array","items":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]},"minItems":1}`,
	"empty schema":     `{}`,
	"true schema":      `true`,
	"zod style": `{"type":"object","properties":{"title":{"type":"string"},"rating":{"type":"number","minimum":1,"maximum":5},
		"tags":{"type":"array","items":{"type":"string"}},"published":{"type":"string","format":"date"},
		"author":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string","format":"email"}},"required":["name","email"],"additionalProperties":false}},
		"required":["title","rating","tags","published","author"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}`,
	"pydantic style": `{"$defs":{"Status":{"enum":["open","closed"],"title":"Status","type":"string"}},"properties":{
		"id":{"title":"Id","type":"integer"},"status":{"$ref":"#/$defs/Status"},"note":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Note"}},
		"required":["id","status","note"],"title":"Ticket","type":"object"}`,
}

func TestStructuredOutputValidates(t *testing.T) {
	for name, schema := range schemaCorpus {
		t.Run(name, func(t *testing.T) {
			sch := compileSchema(t, schema)
			for seed := range uint64(40) {
				r := newPRNG(seed)
				checkValid(t, sch, schema, structuredOutput(schema, &r))
			}
		})
	}
}

// TestToolInputValidates: clients that implement structured output as a
// forced tool call (LangChain, the AI SDK) validate the tool input against
// the tool's inputSchema.
func TestToolInputValidates(t *testing.T) {
	for name, schema := range schemaCorpus {
		if !strings.Contains(schema, `"object"`) || strings.HasPrefix(name, "top-level") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			sch := compileSchema(t, schema)
			for seed := range uint64(40) {
				r := newPRNG(seed)
				out := toolInput([]byte(schema), &r)
				if len(out) == 0 || out[0] != '{' {
					t.Fatalf("input %s is not an object", out)
				}
				checkValid(t, sch, schema, string(out))
			}
		})
	}
}

// randomSchema writes a random schema that some value satisfies, built
// from the keywords the generator supports; defs collects $defs entries.
func randomSchema(r *rand.Rand, depth int, defs map[string]string) string {
	kinds := 16
	if depth >= 3 {
		kinds = 8 // scalars only
	}
	switch r.IntN(kinds) {
	case 0:
		s := `"type":"string"`
		if r.IntN(2) == 0 {
			lo := r.IntN(6)
			s += fmt.Sprintf(`,"minLength":%d,"maxLength":%d`, lo, lo+r.IntN(30))
		}
		return "{" + s + "}"
	case 1:
		formats := []string{"date-time", "date", "time", "email", "uri", "uuid", "hostname", "ipv4", "ipv6", "duration"}
		return fmt.Sprintf(`{"type":"string","format":%q}`, formats[r.IntN(len(formats))])
	case 2:
		patterns := []string{`^[a-z]{3,8}$`, `^\\d{5}$`, `^[A-Z][a-z]+$`, `^(red|green|blue)$`, `^[a-f0-9]{8}-[a-f0-9]{4}$`, `^\\+?[0-9]{7,12}$`, `ab+c`, `^[^@]+@x\\.org$`}
		return fmt.Sprintf(`{"type":"string","pattern":"%s"}`, patterns[r.IntN(len(patterns))])
	case 3:
		lo := r.IntN(200) - 100
		s := fmt.Sprintf(`"type":"integer","minimum":%d,"maximum":%d`, lo, lo+r.IntN(50))
		if r.IntN(3) == 0 {
			s = fmt.Sprintf(`"type":"integer","exclusiveMinimum":%d,"exclusiveMaximum":%d`, lo, lo+2+r.IntN(50))
		}
		if r.IntN(3) == 0 {
			s = fmt.Sprintf(`"type":"integer","multipleOf":%d`, 2+r.IntN(5))
		}
		return "{" + s + "}"
	case 4:
		steps := []string{"0.5", "0.25", "0.1", "3"}
		lo := float64(r.IntN(100)) / 10
		if r.IntN(2) == 0 {
			return fmt.Sprintf(`{"type":"number","multipleOf":%s,"minimum":%g}`, steps[r.IntN(len(steps))], lo)
		}
		return fmt.Sprintf(`{"type":"number","minimum":%g,"maximum":%g}`, lo, lo+float64(r.IntN(10))/10)
	case 5:
		return [...]string{`{"type":"boolean"}`, `{"type":"null"}`, `{"const":"fixed"}`, `{"const":[1,{"a":null}]}`, `{}`}[r.IntN(5)]
	case 6:
		return [...]string{`{"enum":["a","b","c"]}`, `{"type":"integer","enum":[1,2,3,"x"]}`, `{"enum":[true,null,0.5]}`}[r.IntN(3)]
	case 7:
		inner := randomSchema(r, 3, defs)
		types := []string{"string", "integer", "boolean", "number"}
		ty := types[r.IntN(len(types))]
		if r.IntN(2) == 0 {
			return fmt.Sprintf(`{"type":[%q,"null"]}`, ty)
		}
		return fmt.Sprintf(`{"anyOf":[%s,{"type":"null"}]}`, inner)
	case 8, 9, 10:
		n := r.IntN(5)
		var props, req []string
		for i := range n {
			k := fmt.Sprintf("p%d_%d", depth, i)
			props = append(props, fmt.Sprintf("%q:%s", k, randomSchema(r, depth+1, defs)))
			if r.IntN(2) == 0 {
				req = append(req, fmt.Sprintf("%q", k))
			}
		}
		s := `"type":"object","properties":{` + strings.Join(props, ",") + `}`
		if len(req) > 0 {
			s += `,"required":[` + strings.Join(req, ",") + `]`
		}
		switch r.IntN(4) {
		case 0:
			s += `,"additionalProperties":false`
		case 1:
			s += `,"additionalProperties":{"type":"integer"},"minProperties":` + fmt.Sprint(n+1)
		case 2:
			s += fmt.Sprintf(`,"minProperties":%d`, r.IntN(n+1))
		}
		return "{" + s + "}"
	case 11, 12:
		lo := r.IntN(4)
		s := `"type":"array","items":` + randomSchema(r, depth+1, defs) + fmt.Sprintf(`,"minItems":%d,"maxItems":%d`, lo, lo+r.IntN(3))
		switch r.IntN(4) {
		case 0:
			s = fmt.Sprintf(`"type":"array","items":{"type":"integer","minimum":0,"maximum":1000},"uniqueItems":true,"minItems":%d`, r.IntN(6))
		case 1:
			s = `"type":"array","prefixItems":[` + randomSchema(r, depth+1, defs) + "," + randomSchema(r, depth+1, defs) + `],"items":false`
		}
		return "{" + s + "}"
	case 13:
		// oneOf over distinct types, so that exactly one can match.
		types := []string{"string", "boolean", "null", "array", "object"}
		r.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
		k := 2 + r.IntN(3)
		alts := make([]string, k)
		for i := range alts {
			alts[i] = fmt.Sprintf(`{"type":%q}`, types[i])
		}
		return `{"oneOf":[` + strings.Join(alts, ",") + `]}`
	case 14:
		a, b := randomSchema(r, depth+1, defs), randomSchema(r, depth+1, defs)
		if r.IntN(2) == 0 {
			return `{"anyOf":[` + a + "," + b + `]}`
		}
		return `{"allOf":[{"type":"object","properties":{"x":` + a + `},"required":["x"]},{"properties":{"y":` + b + `},"required":["y"]}]}`
	default:
		name := fmt.Sprintf("d%d", len(defs))
		defs[name] = "" // reserved: a nested definition gets another name
		defs[name] = randomSchema(r, depth+1, defs)
		return fmt.Sprintf(`{"$ref":"#/$defs/%s"}`, name)
	}
}

// TestRandomSchemasValidate generates values for many random satisfiable
// schemas and validates them with the real validator.
func TestRandomSchemasValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 600 {
		defs := map[string]string{}
		body := randomSchema(r, 0, defs)
		var d []string
		for k, v := range defs {
			d = append(d, fmt.Sprintf("%q:%s", k, v))
		}
		schema := body
		if len(d) > 0 {
			schema = `{"$defs":{` + strings.Join(d, ",") + `},"allOf":[` + body + `]}`
		}
		sch := compileSchema(t, schema)
		p := newPRNG(uint64(i))
		checkValid(t, sch, schema, structuredOutput(schema, &p))
		if strings.HasPrefix(body, `{"type":"object"`) {
			p := newPRNG(uint64(i))
			checkValid(t, sch, schema, string(toolInput([]byte(schema), &p)))
		}
	}
}

// TestValidatorAgreesWithOracle: the package's own validator, which picks
// among alternatives, accepts what the real validator accepts for the
// corpus.
func TestValidatorAgreesWithOracle(t *testing.T) {
	for name, schema := range schemaCorpus {
		sch := compileSchema(t, schema)
		set, root, _ := newSchemaSet([]byte(schema))
		for _, doc := range []string{`null`, `1`, `1.5`, `"x"`, `true`, `[]`, `{}`, `{"a":"x"}`, `[1,1]`, `{"v":3,"w":{}}`} {
			inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(doc))
			v, _ := decodePlain([]byte(doc))
			oracle := sch.Validate(inst) == nil
			if ours := set.validate(root, v); ours != oracle && !strings.Contains(schema, "format") {
				t.Errorf("%s: %s: our validator says %v, the oracle %v", name, doc, ours, oracle)
			}
		}
	}
}

func TestStructuredOutputDeterministicAndOrdered(t *testing.T) {
	schema := `{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"},"mid":{"type":"boolean"}},"required":["zeta","alpha","mid"]}`
	r1, r2 := newPRNG(3), newPRNG(3)
	a, b := structuredOutput(schema, &r1), structuredOutput(schema, &r2)
	if a != b {
		t.Fatalf("same seed, different output: %s %s", a, b)
	}
	if !strings.HasPrefix(a, `{"zeta":`) || strings.Index(a, `"alpha"`) > strings.Index(a, `"mid"`) {
		t.Errorf("properties not in schema order: %s", a)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(a), &v); err != nil || len(v) != 3 {
		t.Errorf("output %s", a)
	}
}

// FuzzStructuredOutput feeds arbitrary schemas to the generator, which must
// never panic and always produce valid JSON (an object for tool input).
func FuzzStructuredOutput(f *testing.F) {
	for _, s := range schemaCorpus {
		f.Add(s, uint64(1))
	}
	f.Add(`{"type":"number","minimum":1e300,"exclusiveMaximum":-1e300,"multipleOf":1e-300}`, uint64(2))
	f.Add(`{"type":"string","pattern":"(?=x)\\b[^\\x00-\\x{10FFFF}]"}`, uint64(3))
	f.Add(`{"anyOf":[{"$ref":"#"},{"oneOf":[{"$ref":"#/anyOf/0"}]}]}`, uint64(4))
	f.Add(`{"items":{"$ref":"#"},"minItems":100000,"uniqueItems":true}`, uint64(5))
	f.Add(`{"properties":{"a":{"$ref":"#"}},"required":["a"],"minProperties":9999999}`, uint64(6))
	f.Add(`{"type":"integer","multipleOf":0.3333333333333333333333,"minimum":-9007199254740993}`, uint64(7))
	f.Add(`{"oneOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`, uint64(8))
	f.Add(`{"allOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`, uint64(10))
	f.Add(`{"type":"string","minLength":1,"pattern":"((((((()*)*)*)*)*)*)"}`, uint64(11))
	f.Add(`{"type":"array","items":{"type":"array","items":{"type":"array","minItems":1000,"items":{"type":"string","minLength":1000}},"minItems":1000},"minItems":1000}`, uint64(9))
	f.Fuzz(func(t *testing.T, schema string, seed uint64) {
		r := newPRNG(seed)
		out := structuredOutput(schema, &r)
		if !json.Valid([]byte(out)) {
			t.Fatalf("schema %s gave invalid JSON %s", schema, out)
		}
		if len(out) > 8<<20 {
			t.Fatalf("schema %s gave %d bytes", schema, len(out))
		}
		in := toolInput([]byte(schema), &r)
		var obj map[string]any
		if err := json.Unmarshal(in, &obj); err != nil {
			t.Fatalf("schema %s gave tool input %s: %v", schema, in, err)
		}
	})
}
