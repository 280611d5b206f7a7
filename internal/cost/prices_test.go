package cost

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

func fp(v float64) *float64 { return &v }

// specTable is spec section 4: USD per token (nil: no price published).
var specTable = []struct {
	id                                 string
	input, output, cacheRead, cacheWrt *float64
}{
	{"anthropic.claude-3-haiku-20240307-v1:0", fp(2.5e-07), fp(1.25e-06), fp(2.5e-08), nil},
	{"anthropic.claude-3-5-sonnet-20240620-v1:0", fp(3e-06), fp(1.5e-05), nil, nil},
	{"anthropic.claude-3-5-sonnet-20241022-v2:0", fp(3e-06), fp(1.5e-05), fp(3e-07), fp(3.75e-06)},
	{"anthropic.claude-3-5-haiku-20241022-v1:0", fp(8e-07), fp(4e-06), nil, nil},
	{"amazon.nova-micro-v1:0", fp(3.5e-08), fp(1.4e-07), nil, nil},
	{"amazon.nova-lite-v1:0", fp(6e-08), fp(2.4e-07), nil, nil},
	{"amazon.nova-pro-v1:0", fp(8e-07), fp(3.2e-06), nil, nil},
	{"amazon.titan-text-express-v1", fp(1.3e-06), fp(1.7e-06), nil, nil},
	{"amazon.titan-text-premier-v1:0", fp(5e-07), fp(1.5e-06), nil, nil},
	{"amazon.titan-embed-text-v2:0", fp(2e-08), fp(0), nil, nil}, // embedding: output is free
	{"meta.llama3-8b-instruct-v1:0", fp(3e-07), fp(6e-07), nil, nil},
	{"meta.llama3-1-70b-instruct-v1:0", fp(9.9e-07), fp(9.9e-07), nil, nil},
	{"mistral.mistral-7b-instruct-v0:2", fp(1.5e-07), fp(2e-07), nil, nil},
}

// claude45Table is shared spec model-families-2026.md section 1 for the
// Claude 4.5 models, which bill one-hour cache writes: USD per token.
var claude45Table = []struct {
	id                                                 string
	input, output, cacheWrite, cacheWrite1h, cacheRead float64
}{
	{"anthropic.claude-haiku-4-5-20251001-v1:0", 1e-06, 5e-06, 1.25e-06, 2e-06, 1e-07},
	{"anthropic.claude-sonnet-4-5-20250929-v1:0", 3e-06, 1.5e-05, 3.75e-06, 6e-06, 3e-07},
	{"anthropic.claude-opus-4-5-20251101-v1:0", 5e-06, 2.5e-05, 6.25e-06, 1e-05, 5e-07},
}

func eqPrice(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(v *float64) string {
	if v == nil {
		return "none"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// The default catalog's coverage is checked in package config (which
// imports this package): TestDefaultCatalogIsPriced.
// priceCheck is one price of an entry against its spec value.
type priceCheck struct {
	kind      string
	got, want *float64
}

// checkPrices reports each price of cs that is not, exactly, the spec's.
func checkPrices(t *testing.T, id string, cs []priceCheck) {
	t.Helper()
	for _, c := range cs {
		if !eqPrice(c.got, c.want) {
			t.Errorf("%s %s = %s, spec %s", id, c.kind, show(c.got), show(c.want))
		}
	}
}

func embedded(t *testing.T) *PriceList {
	t.Helper()
	p, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lookup is p's entry for id, reported missing when p has none.
func lookup(t *testing.T, p *PriceList, id string) (Entry, bool) {
	t.Helper()
	e, ok := p.Lookup(id)
	if !ok {
		t.Errorf("%s missing", id)
	}
	return e, ok
}

func TestEmbeddedMatchesSpec(t *testing.T) {
	p := embedded(t)
	if p.Version() == "" || strings.Contains(p.Version(), "+") {
		t.Errorf("version %q", p.Version())
	}
	// Issue 16's models are checked by TestIssue16PricesMatchSpec.
	if want := len(specTable) + len(claude45Table) + issue16Entries(); len(p.Entries()) != want {
		t.Errorf("%d entries, spec tables have %d", len(p.Entries()), want)
	}
	// Exact float equality: normalisation must give the float64 nearest to
	// the published per-token decimal.
	for _, want := range specTable {
		e, ok := lookup(t, p, want.id)
		if !ok {
			continue
		}
		checkPrices(t, want.id, []priceCheck{
			{"input", e.Input, want.input}, {"output", e.Output, want.output},
			{"cacheRead", e.CacheRead, want.cacheRead}, {"cacheWrite", e.CacheWrite, want.cacheWrt},
			{"cacheWrite1h", e.CacheWrite1h, nil}, {"image", e.Image, nil},
		})
	}
	for _, want := range claude45Table {
		e, ok := lookup(t, p, want.id)
		if !ok {
			continue
		}
		checkPrices(t, want.id, []priceCheck{
			{"input", e.Input, fp(want.input)}, {"output", e.Output, fp(want.output)}, {"cacheWrite", e.CacheWrite, fp(want.cacheWrite)},
			{"cacheWrite1h", e.CacheWrite1h, fp(want.cacheWrite1h)}, {"cacheRead", e.CacheRead, fp(want.cacheRead)},
		})
		// Anthropic's rule: one hour costs 2x the input, five minutes 1.25x.
		if math.Abs(*e.CacheWrite1h-2**e.Input) > 1e-18 || math.Abs(*e.CacheWrite-1.25**e.Input) > 1e-18 {
			t.Errorf("%s cache writes %v / %v for input %v", want.id, *e.CacheWrite, *e.CacheWrite1h, *e.Input)
		}
	}
	e, _ := p.Lookup("meta.llama3-1-70b-instruct-v1:0")
	if !strings.Contains(e.Notes, "disagree") || !strings.Contains(e.Notes, "0.72") {
		t.Errorf("llama3-1-70b notes do not record the disagreement: %q", e.Notes)
	}
}

func TestNormalisation(t *testing.T) {
	tests := []struct {
		v    float64
		per  Unit
		want float64
	}{
		{0.035, Per1M, 3.5e-08},
		{0.00025, Per1K, 2.5e-07},
		{0.000025, Per1K, 2.5e-08},
		{0.99, Per1M, 9.9e-07},
		// Naive float division gives 8.000000000000001e-07,
		// 3.2000000000000003e-06 and 2.0000000000000002e-07 for these.
		{0.8, Per1M, 8e-07},
		{3.2, Per1M, 3.2e-06},
		{0.2, Per1M, 2e-07},
		{0.06, Per1M, 6e-08},
		{0.3, Per1M, 3e-07},
		{0.3, "1m", 3e-07},
		{1.25e-06, PerToken, 1.25e-06},
		{0, Per1M, 0},
	}
	for _, tt := range tests {
		if got := perToken(tt.v, tt.per.tokens()); got != tt.want {
			t.Errorf("%v per %s = %v, want %v", tt.v, tt.per, got, tt.want)
		}
	}
}

func TestCost(t *testing.T) {
	list, err := Load(Prices{
		"us.anthropic.claude-3-haiku-20240307-v1:0": {Per: Per1M, Input: fp(0.3), Output: fp(1.5)},
		"image.model-v1": {Image: fp(0.04)},
	})
	if err != nil {
		t.Fatal(err)
	}
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	tests := []struct {
		name           string
		model, profile string
		u              invocation.Usage
		want           float64
		priced         bool
	}{
		{"input and output", haiku, "", invocation.Usage{InputTokens: 1000, OutputTokens: 200}, 1000*2.5e-07 + 200*1.25e-06, true},
		{"cache read priced", haiku, "", invocation.Usage{InputTokens: 10, CacheReadInputTokens: 1000}, 10*2.5e-07 + 1000*2.5e-08, true},
		{"cache write unknown", haiku, "", invocation.Usage{InputTokens: 10, CacheWriteInputTokens: 1000}, 0, false},
		{"profile price wins", haiku, "us." + haiku, invocation.Usage{InputTokens: 1000, OutputTokens: 200}, 1000*3e-07 + 200*1.5e-06, true},
		{"profile without entry uses base", haiku, "eu." + haiku, invocation.Usage{InputTokens: 1000}, 1000 * 2.5e-07, true},
		{"sonnet v2 cache", "anthropic.claude-3-5-sonnet-20241022-v2:0", "", invocation.Usage{InputTokens: 100, OutputTokens: 10, CacheReadInputTokens: 1000, CacheWriteInputTokens: 500},
			100*3e-06 + 10*1.5e-05 + 1000*3e-07 + 500*3.75e-06, true},
		{"embedding output free", "amazon.titan-embed-text-v2:0", "", invocation.Usage{InputTokens: 5000}, 5000 * 2e-08, true},
		{"zero usage is $0 when priced", haiku, "", invocation.Usage{}, 0, true},
		{"negative counts ignored", haiku, "", invocation.Usage{InputTokens: -5, OutputTokens: 1}, 1.25e-06, true},
		{"images", "image.model-v1", "", invocation.Usage{OutputImages: 3}, 3 * 0.04, true},
		{"tokens on an image-only entry", "image.model-v1", "", invocation.Usage{InputTokens: 10, OutputImages: 1}, 0, false},
		{"images on a text model", haiku, "", invocation.Usage{OutputImages: 1}, 0, false},
		{"unknown model", "acme.unknown-v1", "", invocation.Usage{InputTokens: 1}, 0, false},
		{"empty model", "", "", invocation.Usage{InputTokens: 1}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, priced := list.Cost(tt.model, tt.profile, tt.u)
			if priced != tt.priced || math.Abs(got-tt.want) > 1e-18 {
				t.Errorf("Cost = %v, %v; want %v, %v", got, priced, tt.want, tt.priced)
			}
		})
	}
	var nilList *PriceList
	if d, ok := nilList.Cost(haiku, "", invocation.Usage{InputTokens: 1}); ok || d != 0 {
		t.Errorf("nil list: %v %v", d, ok)
	}
}

func TestOverridePrecedence(t *testing.T) {
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	base, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	list, err := base.With(Prices{
		haiku:                     {Per: Per1M, Output: fp(1), CacheWrite: fp(0.3), Source: "contract 17", Date: "2026-11-01"},
		"eu.amazon.nova-pro-v1:0": {Per: PerToken, Input: fp(9e-07), Output: fp(3.6e-06)},
		"acme.new-model-v1":       {Per: Per1K, Input: fp(0.001), Output: fp(0.002), Notes: "internal"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Version() + "+config"; list.Version() != want {
		t.Errorf("version %q, want %q", list.Version(), want)
	}
	e, _ := list.Lookup(haiku)
	if !eqPrice(e.Input, fp(2.5e-07)) || !eqPrice(e.Output, fp(1e-06)) || !eqPrice(e.CacheRead, fp(2.5e-08)) || !eqPrice(e.CacheWrite, fp(3e-07)) {
		t.Errorf("merged haiku: input %s output %s cacheRead %s cacheWrite %s",
			show(e.Input), show(e.Output), show(e.CacheRead), show(e.CacheWrite))
	}
	if !e.Overridden || e.Source != "contract 17" || e.Date != "2026-11-01" {
		t.Errorf("haiku provenance: %+v", e)
	}
	if orig, _ := base.Lookup(haiku); !eqPrice(orig.Output, fp(1.25e-06)) || orig.Overridden {
		t.Errorf("override changed the base list: %+v", orig)
	}
	n, ok := list.Lookup("acme.new-model-v1")
	if !ok || !eqPrice(n.Input, fp(1e-06)) || n.Source != "configuration" || n.Notes != "internal" {
		t.Errorf("new model: %+v, %v", n, ok)
	}
	got, _ := list.Cost("amazon.nova-pro-v1:0", "eu.amazon.nova-pro-v1:0", invocation.Usage{InputTokens: 1000, OutputTokens: 1000})
	if want := 1000*9e-07 + 1000*3.6e-06; math.Abs(got-want) > 1e-18 {
		t.Errorf("profile cost %v, want %v", got, want)
	}
	if entries := list.Entries(); len(entries) != len(base.Entries())+2 {
		t.Errorf("%d entries", len(entries))
	}
	same, err := base.With(nil)
	if err != nil || same.Version() != base.Version() {
		t.Errorf("empty overrides: %v %v", same.Version(), err)
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Prices
		want []string // substrings of the error; nil for valid
	}{
		{"valid", Prices{"m": {Per: Per1M, Input: fp(1), Output: fp(0)}}, nil},
		{"image only needs no unit", Prices{"m": {Image: fp(0.04)}}, nil},
		{"negative", Prices{"m": {Per: Per1M, Input: fp(-1)}}, []string{"prices: m: input: -1 is negative"}},
		{"negative image", Prices{"m": {Image: fp(-0.5)}}, []string{"image: -0.5 is negative"}},
		{"NaN", Prices{"m": {Per: Per1M, Output: fp(math.NaN())}}, []string{"output: NaN is not a number"}},
		{"Inf", Prices{"m": {Per: Per1M, CacheRead: fp(math.Inf(1))}}, []string{"cache_read: +Inf is not a number"}},
		{"unknown unit", Prices{"m": {Per: "1G", Input: fp(1)}}, []string{`unknown unit per: "1G"`}},
		{"missing unit", Prices{"m": {Input: fp(1)}}, []string{"per is required"}},
		{"bad date", Prices{"m": {Per: Per1M, Input: fp(1), Date: "23/11/2026"}}, []string{`date "23/11/2026" is not YYYY-MM-DD`}},
		{"bad id", Prices{"a b": {Per: Per1M, Input: fp(1)}}, []string{`invalid model ID "a b"`}},
		{"all errors reported", Prices{"a": {Per: Per1M, Input: fp(-1)}, "b": {Per: "x", Output: fp(1)}},
			[]string{"prices: a: input", "prices: b: unknown unit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := Load(tt.p); err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, lerr := Load(tt.p); lerr == nil {
				t.Error("Load accepted invalid overrides")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `{`, "prices: unexpected EOF"},
		{"unknown field", `{"version":"1","currency":"USD","models":{},"extra":1}`, `unknown field "extra"`},
		{"currency", `{"version":"1","currency":"EUR","models":{"m":{"per":"1M","input":1,"source":"s","date":"2026-01-01"}}}`, `currency "EUR" is not supported`},
		{"no version", `{"currency":"USD","models":{"m":{"per":"1M","input":1,"source":"s","date":"2026-01-01"}}}`, "version is required"},
		{"no models", `{"version":"1","currency":"USD"}`, "no models"},
		{"no source or date", `{"version":"1","currency":"USD","models":{"m":{"per":"1M","input":1}}}`, "m: source is required\nprices: m: date is required"},
		{"no price", `{"version":"1","currency":"USD","models":{"m":{"source":"s","date":"2026-01-01"}}}`, "m: no price given"},
		{"string price", `{"version":"1","currency":"USD","models":{"m":{"per":"1M","input":"1"}}}`, "cannot unmarshal string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestYAMLOverrides decodes the example of the Prices doc comment the way
// config decodes its file (unknown fields rejected).
func TestYAMLOverrides(t *testing.T) {
	const doc = `
prices:
  anthropic.claude-3-haiku-20240307-v1:0:   # a negotiated rate
    per: 1M             # token prices are per token, 1K or 1M tokens
    input: 0.2
    output: 1.0
    cacheWrite: 0.3     # fills a price the list lacks
    source: contract 2026-17
    date: 2026-11-01
  eu.anthropic.claude-3-5-sonnet-20241022-v2:0:
    per: 1M
    input: 3.3
    output: 16.5
  my.image-model-v1:
    image: 0.04         # per image; no "per" needed
`
	var c struct {
		Prices Prices `yaml:"prices"`
	}
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	list, err := Load(c.Prices)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := list.Lookup("anthropic.claude-3-haiku-20240307-v1:0")
	if !eqPrice(e.Input, fp(2e-07)) || !eqPrice(e.CacheWrite, fp(3e-07)) || e.Date != "2026-11-01" {
		t.Errorf("haiku: %+v", e)
	}
	d, ok := list.Cost("anthropic.claude-3-5-sonnet-20241022-v2:0", "eu.anthropic.claude-3-5-sonnet-20241022-v2:0", invocation.Usage{InputTokens: 1_000_000})
	if !ok || math.Abs(d-3.3) > 1e-12 {
		t.Errorf("eu profile: %v %v", d, ok)
	}

	bad := yaml.NewDecoder(strings.NewReader("prices:\n  m:\n    per: 1M\n    inptu: 1\n"))
	bad.KnownFields(true)
	if err := bad.Decode(&c); err == nil || !strings.Contains(err.Error(), "inptu") {
		t.Errorf("misspelt field: %v", err)
	}
}
