package cost

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// issue16Tokens are issue 16's token-priced models as the shared spec
// digests list them: USD per 1M tokens, -1 where no price is published.
var issue16Tokens = []struct {
	id                                   string
	input, output, cw5m, cw1h, cacheRead float64
	inputImage                           float64
	geo                                  bool
}{
	{"anthropic.claude-3-7-sonnet-20250219-v1:0", 3, 15, 3.75, -1, 0.3, -1, false},
	{"anthropic.claude-sonnet-4-20250514-v1:0", 3, 15, 3.75, -1, 0.3, -1, false},
	{"anthropic.claude-opus-4-20250514-v1:0", 15, 75, 18.75, -1, 1.5, -1, false},
	{"anthropic.claude-opus-4-1-20250805-v1:0", 15, 75, 18.75, -1, 1.5, -1, false},
	{"anthropic.claude-sonnet-4-5-20250929-v1:0", 3, 15, 3.75, 6, 0.3, -1, true},
	{"anthropic.claude-haiku-4-5-20251001-v1:0", 1, 5, 1.25, 2, 0.1, -1, true},
	{"anthropic.claude-opus-4-5-20251101-v1:0", 5, 25, 6.25, 10, 0.5, -1, true},
	{"amazon.nova-2-lite-v1:0", 0.3, 2.5, -1, -1, 0.075, -1, true},
	{"amazon.nova-2-pro-preview-20251202-v1:0", 2.1875, 17.5, -1, -1, -1, -1, false},
	{"amazon.nova-premier-v1:0", 2.5, 12.5, -1, -1, -1, -1, false},
	{"meta.llama4-maverick-17b-instruct-v1:0", 0.24, 0.97, -1, -1, -1, -1, false},
	{"meta.llama4-scout-17b-instruct-v1:0", 0.17, 0.66, -1, -1, -1, -1, false},
	{"mistral.mistral-large-2407-v1:0", 3, 9, -1, -1, -1, -1, false},
	{"mistral.pixtral-large-2502-v1:0", 2, 6, -1, -1, -1, -1, false},
	{"mistral.mistral-large-3-675b-instruct", 0.5, 1.5, -1, -1, -1, -1, false},
	{"mistral.mistral-small-2402-v1:0", 1, 3, -1, -1, -1, -1, false},
	{"deepseek.r1-v1:0", 1.35, 5.4, -1, -1, -1, -1, false},
	{"deepseek.v3-v1:0", 0.58, 1.68, -1, -1, -1, -1, false},
	{"openai.gpt-oss-120b-1:0", 0.15, 0.6, -1, -1, -1, -1, false},
	{"openai.gpt-oss-20b-1:0", 0.07, 0.3, -1, -1, -1, -1, false},
	{"qwen.qwen3-32b-v1:0", 0.15, 0.6, -1, -1, -1, -1, false},
	{"qwen.qwen3-235b-a22b-2507-v1:0", 0.22, 0.88, -1, -1, -1, -1, false},
	{"qwen.qwen3-coder-30b-a3b-v1:0", 0.15, 0.6, -1, -1, -1, -1, false},
	{"qwen.qwen3-coder-480b-a35b-v1:0", 0.22, 1.8, -1, -1, -1, -1, false},
	{"qwen.qwen3-next-80b-a3b", 0.15, 1.2, -1, -1, -1, -1, false},
	{"qwen.qwen3-vl-235b-a22b", 0.53, 2.66, -1, -1, -1, -1, false},
	{"qwen.qwen3-coder-next", 0.5, 1.2, -1, -1, -1, -1, false},
	{"cohere.command-r-v1:0", 0.5, 1.5, -1, -1, -1, -1, false},
	{"cohere.command-r-plus-v1:0", 3, 15, -1, -1, -1, -1, false},
	{"ai21.jamba-1-5-mini-v1:0", 0.2, 0.4, -1, -1, -1, -1, false},
	{"ai21.jamba-1-5-large-v1:0", 2, 8, -1, -1, -1, -1, false},
	// Embeddings: output is free; Titan Multimodal adds a per-image price.
	{"amazon.titan-embed-image-v1", 0.8, 0, -1, -1, -1, 0.00006, false},
	{"cohere.embed-english-v3", 0.1, 0, -1, -1, -1, -1, false},
	{"cohere.embed-multilingual-v3", 0.1, 0, -1, -1, -1, -1, false},
	{"cohere.embed-v4:0", 0.12, 0, -1, -1, -1, -1, false},
}

// issue16Images are the flat per-image and per-second prices of the
// digest (image-video-embeddings.md sections 3 and 4).
var issue16Flat = []struct {
	id          string
	image, secs float64
}{
	{"stability.sd3-5-large-v1:0", 0.08, -1},
	{"stability.stable-image-core-v1:1", 0.04, -1},
	{"stability.stable-image-ultra-v1:1", 0.14, -1},
	{"stability.stable-image-core-v1:0", 0.04, -1},
	{"stability.stable-image-ultra-v1:0", 0.14, -1},
	{"amazon.nova-reel-v1:0", -1, 0.08},
	{"amazon.nova-reel-v1:1", -1, 0.08},
}

const (
	canvas   = "amazon.nova-canvas-v1:0"
	titanImg = "amazon.titan-image-generator-v2:0"
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	sonnet4  = "anthropic.claude-sonnet-4-20250514-v1:0"
	nova2    = "amazon.nova-2-lite-v1:0"
)

// issue16Entries is how many entries of the embedded list issue 16 added
// (the Claude 4.5 models were already there): the two image-tier models
// and the tables above.
func issue16Entries() int {
	n := 2 + len(issue16Flat)
	for _, m := range issue16Tokens {
		if !m.geo || !strings.HasPrefix(m.id, "anthropic.") {
			n++
		}
	}
	return n
}

// perM is the float64 nearest to v USD per 1M tokens, per token: what
// normalisation must give exactly.
func perM(v float64) *float64 {
	if v < 0 {
		return nil
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 64)+"e-6", 64)
	if err != nil {
		panic(err)
	}
	return &f
}

func opt(v float64) *float64 {
	if v < 0 {
		return nil
	}
	return &v
}

func TestIssue16PricesMatchSpec(t *testing.T) {
	p := embedded(t)
	if p.Version() != "2026-12-07.1" {
		t.Errorf("version %q, want the bumped 2026-12-07.1", p.Version())
	}
	for _, want := range issue16Tokens {
		e, ok := lookup(t, p, want.id)
		if !ok {
			continue
		}
		checkPrices(t, want.id, []priceCheck{
			{"input", e.Input, perM(want.input)}, {"output", e.Output, perM(want.output)},
			{"cacheWrite", e.CacheWrite, perM(want.cw5m)}, {"cacheWrite1h", e.CacheWrite1h, perM(want.cw1h)},
			{"cacheRead", e.CacheRead, perM(want.cacheRead)}, {"inputImage", e.InputImage, opt(want.inputImage)},
			{"image", e.Image, nil}, {"videoSecond", e.VideoSecond, nil},
		})
		if (e.GeoProfiles != nil) != want.geo || (want.geo && e.GeoProfiles.Multiplier != 1.1) {
			t.Errorf("%s geoProfiles %+v, want 1.1x: %v", want.id, e.GeoProfiles, want.geo)
		}
		if e.Source == "" || e.Date == "" {
			t.Errorf("%s: no provenance", want.id)
		}
	}
	for _, want := range issue16Flat {
		e, ok := lookup(t, p, want.id)
		if !ok {
			continue
		}
		// Prompt tokens of image and video models are free.
		if !eqPrice(e.Image, opt(want.image)) || !eqPrice(e.VideoSecond, opt(want.secs)) || !eqPrice(e.Input, fp(0)) || e.Output != nil {
			t.Errorf("%s = image %s, video %s, input %s; want %v, %v", want.id, show(e.Image), show(e.VideoSecond), show(e.Input), want.image, want.secs)
		}
	}
	for id, want := range map[string][]ImageTierEntry{
		canvas:   {{1024, 1024, "standard", 0.04}, {1024, 1024, "premium", 0.06}, {2048, 2048, "standard", 0.06}, {2048, 2048, "premium", 0.08}},
		titanImg: {{512, 512, "standard", 0.008}, {512, 512, "premium", 0.01}, {0, 0, "standard", 0.01}, {0, 0, "premium", 0.012}},
	} {
		e, _ := p.Lookup(id)
		if fmt.Sprint(e.ImageTiers) != fmt.Sprint(want) || e.Image != nil || !eqPrice(e.Input, fp(0)) {
			t.Errorf("%s tiers %v (image %s), want %v", id, e.ImageTiers, show(e.Image), want)
		}
	}
	for _, id := range []string{sonnet4, sonnet45} {
		e, _ := p.Lookup(id)
		l := e.LongContext
		if l == nil || l.Threshold != 200000 || !eqPrice(l.Input, perM(6)) || !eqPrice(l.Output, perM(22.5)) ||
			!eqPrice(l.CacheWrite, perM(7.5)) || !eqPrice(l.CacheRead, perM(0.6)) {
			t.Errorf("%s long context %+v", id, l)
		}
	}
	if e, _ := p.Lookup(sonnet45); e.LongContext == nil || !eqPrice(e.LongContext.CacheWrite1h, perM(12)) {
		t.Errorf("sonnet 4.5 long-context one-hour write %+v", e.LongContext)
	}
	if e, _ := p.Lookup(sonnet4); e.LongContext == nil || e.LongContext.CacheWrite1h != nil {
		t.Errorf("sonnet 4 has no published one-hour write, long context %+v", e.LongContext)
	}
}

func TestIssue16CallCosts(t *testing.T) {
	p := embedded(t)
	img := func(n, w, h int, q string) invocation.Usage {
		return invocation.Usage{OutputImages: n, ImageWidth: w, ImageHeight: h, ImageQuality: q}
	}
	tests := []struct {
		name           string
		model, profile string
		u              invocation.Usage
		want           float64
		priced         bool
	}{
		// Nova Canvas: the smallest tier whose pixel count holds the image.
		{"canvas 1024x1024 standard x2", canvas, "", img(2, 1024, 1024, "standard"), 0.08, true},
		{"canvas no quality is standard", canvas, "", img(1, 1024, 1024, ""), 0.04, true},
		{"canvas 1024x1024 premium", canvas, "", img(1, 1024, 1024, "premium"), 0.06, true},
		{"canvas 1280x720 fits 1024x1024 by pixels", canvas, "", img(3, 1280, 720, "premium"), 0.18, true},
		{"canvas 2048x1024 standard", canvas, "", img(1, 2048, 1024, "standard"), 0.06, true},
		{"canvas 2048x2048 premium", canvas, "", img(5, 2048, 2048, "premium"), 0.4, true},
		{"canvas larger than every tier", canvas, "", img(1, 4096, 4096, "standard"), 0, false},
		{"canvas unknown size", canvas, "", img(1, 0, 0, "standard"), 0, false},
		{"canvas unknown quality", canvas, "", img(1, 1024, 1024, "ultra"), 0, false},
		{"canvas moderated: no image, no cost", canvas, "", img(0, 1024, 1024, "standard"), 0, true},
		// Titan v2: 512x512 and every larger size.
		{"titan 512x512 standard", titanImg, "", img(1, 512, 512, "standard"), 0.008, true},
		{"titan 512x512 premium x2", titanImg, "", img(2, 512, 512, "premium"), 0.02, true},
		{"titan 1024x1024 standard", titanImg, "", img(1, 1024, 1024, "standard"), 0.01, true},
		{"titan 1408x768 premium", titanImg, "", img(4, 1408, 768, "premium"), 0.048, true},
		// Stability: one price per image.
		{"sd3.5 large x3", "stability.sd3-5-large-v1:0", "", img(3, 1024, 1024, ""), 0.24, true},
		{"ultra, size unknown", "stability.stable-image-ultra-v1:1", "", img(1, 0, 0, ""), 0.14, true},
		{"core", "stability.stable-image-core-v1:1", "", img(2, 1536, 640, ""), 0.08, true},
		// Nova Reel: per second.
		{"reel 6 s", "amazon.nova-reel-v1:0", "", invocation.Usage{OutputVideoSeconds: 6}, 0.48, true},
		{"reel 2 min", "amazon.nova-reel-v1:1", "", invocation.Usage{OutputVideoSeconds: 120}, 9.6, true},
		{"video on an image model", canvas, "", invocation.Usage{OutputVideoSeconds: 6}, 0, false},
		// Embeddings: text tokens plus images.
		{"titan mm text and image", "amazon.titan-embed-image-v1", "", invocation.Usage{InputTokens: 10, InputImages: 1}, 0.000068, true},
		{"titan mm image only", "amazon.titan-embed-image-v1", "", invocation.Usage{InputImages: 1}, 0.00006, true},
		{"cohere v4 text", "cohere.embed-v4:0", "", invocation.Usage{InputTokens: 1000}, 0.00012, true},
		{"cohere v3 image has no price", "cohere.embed-english-v3", "", invocation.Usage{InputTokens: 1000, InputImages: 1}, 0, false},
		// Reasoning tokens are output tokens (Nova 2: "ok" with 2,980).
		{"nova 2 reasoning as output", nova2, "", invocation.Usage{InputTokens: 12, OutputTokens: 2980}, 0.0074536, true},
		{"gpt-oss reasoning as output", "openai.gpt-oss-120b-1:0", "", invocation.Usage{InputTokens: 100, OutputTokens: 900}, 0.000555, true},
		// Long context: over 200K input (cache included) all at 6 / 22.5.
		{"sonnet 4.5 at 200K is standard", sonnet45, "", invocation.Usage{InputTokens: 200000, OutputTokens: 1000}, 0.615, true},
		{"sonnet 4.5 over 200K", sonnet45, "", invocation.Usage{InputTokens: 200001, OutputTokens: 1000}, 1.222506, true},
		{"sonnet 4.5 over 200K by cache", sonnet45, "", invocation.Usage{InputTokens: 150000, CacheReadInputTokens: 60000, OutputTokens: 1000}, 0.9585, true},
		{"sonnet 4.5 long with 1h writes", sonnet45, "", invocation.Usage{InputTokens: 1000, CacheWriteInputTokens: 200000, CacheWrite1hInputTokens: 100000}, 1.956, true},
		{"sonnet 4 long with 1h writes is unpriced", sonnet4, "", invocation.Usage{InputTokens: 1000, CacheWriteInputTokens: 200000, CacheWrite1hInputTokens: 100000}, 0, false},
		{"sonnet 4 over 200K", sonnet4, "", invocation.Usage{InputTokens: 300000, OutputTokens: 2000}, 1.845, true},
		{"opus 4.1 has no long tier", "anthropic.claude-opus-4-1-20250805-v1:0", "", invocation.Usage{InputTokens: 300000}, 4.5, true},
		// Profiles: geographic 1.1x for the 4.5 generation and Nova 2 Lite.
		{"sonnet 4.5 in region", sonnet45, "", invocation.Usage{InputTokens: 100000}, 0.3, true},
		{"sonnet 4.5 us. profile", sonnet45, "us." + sonnet45, invocation.Usage{InputTokens: 100000, OutputTokens: 100000}, 1.98, true},
		{"sonnet 4.5 global. profile", sonnet45, "global." + sonnet45, invocation.Usage{InputTokens: 100000, OutputTokens: 100000}, 1.8, true},
		{"sonnet 4.5 eu. long context", sonnet45, "eu." + sonnet45, invocation.Usage{InputTokens: 1000000}, 6.6, true},
		{"haiku 4.5 jp. profile", "anthropic.claude-haiku-4-5-20251001-v1:0", "jp.anthropic.claude-haiku-4-5-20251001-v1:0", invocation.Usage{OutputTokens: 1000000}, 5.5, true},
		{"nova 2 lite eu. profile", nova2, "eu." + nova2, invocation.Usage{InputTokens: 1000000, OutputTokens: 1000000}, 3.08, true},
		{"nova 2 lite global. profile", nova2, "global." + nova2, invocation.Usage{InputTokens: 1000000, OutputTokens: 1000000}, 2.8, true},
		{"sonnet 4 us. profile is base", sonnet4, "us." + sonnet4, invocation.Usage{InputTokens: 100000}, 0.3, true},
		{"application profile is base", sonnet45, "abcdef123456", invocation.Usage{InputTokens: 100000}, 0.3, true},
		{"another model's profile is base", sonnet45, "us." + nova2, invocation.Usage{InputTokens: 100000}, 0.3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, priced := p.Cost(tt.model, tt.profile, tt.u)
			if priced != tt.priced || !nearish(got, tt.want) {
				t.Errorf("Cost = %v, %v; want %v, %v", got, priced, tt.want, tt.priced)
			}
		})
	}
}

// nearish is near for sums with a multiplier applied (one more rounding).
func nearish(got, want float64) bool {
	return near(got, want) || (got-want)*(got-want) <= (4e-16*want)*(4e-16*want)
}

func TestIssue16GeoMultipliesTiers(t *testing.T) {
	p, err := Load(Prices{sonnet45: {ServiceTiers: map[string]TierPrice{"flex": {Multiplier: fp(0.5)}}}})
	if err != nil {
		t.Fatal(err)
	}
	u := invocation.Usage{InputTokens: 100000}
	if got, ok := p.CallCost(sonnet45, "us."+sonnet45, u, invocation.TierFlex, ""); !ok || !nearish(got, 0.165) {
		t.Errorf("flex through us. = %v, %v; want 0.165", got, ok)
	}
	// A profile's own entry wins over the multiplier.
	p, err = Load(Prices{"us." + sonnet45: {Per: Per1M, Input: fp(3.25), Output: fp(16)}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Cost(sonnet45, "us."+sonnet45, u); !ok || !nearish(got, 0.325) {
		t.Errorf("profile entry = %v, %v; want 0.325", got, ok)
	}
}

func TestIssue16OverridesAndValidation(t *testing.T) {
	var over Prices
	if err := yaml.Unmarshal([]byte(`
amazon.nova-canvas-v1:0:
  imageTiers:
    - {quality: standard, image: 0.05}
  source: contract
acme.video-v1:
  videoSecond: 0.1
acme.embed-v1:
  per: 1M
  input: 0.5
  inputImage: 0.0001
anthropic.claude-sonnet-4-20250514-v1:0:
  per: 1M
  longContext: {threshold: 100000, cacheWrite1h: 12}
us.anthropic.claude-sonnet-4-20250514-v1:0:
  per: 1M
  input: 3.3
acme.claude-v1:
  per: 1M
  input: 1
  geoProfiles: {multiplier: 1.2}
`), &over); err != nil {
		t.Fatal(err)
	}
	p, err := Load(over)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model, profile string
		u              invocation.Usage
		want           float64
		priced         bool
	}{
		// The table replaces the list's whole: one price for any size,
		// none for premium any more.
		{canvas, "", invocation.Usage{OutputImages: 2, ImageWidth: 2048, ImageHeight: 1024, ImageQuality: "standard"}, 0.1, true},
		{canvas, "", invocation.Usage{OutputImages: 1, ImageWidth: 1024, ImageHeight: 1024, ImageQuality: "premium"}, 0, false},
		{"acme.video-v1", "", invocation.Usage{OutputVideoSeconds: 30}, 3, true},
		{"acme.embed-v1", "", invocation.Usage{InputTokens: 2000000, InputImages: 10}, 1.001, true},
		// Threshold lowered and a one-hour price added; the rest kept.
		{sonnet4, "", invocation.Usage{InputTokens: 100001}, 0.600006, true},
		{sonnet4, "", invocation.Usage{InputTokens: 1000, CacheWriteInputTokens: 200000, CacheWrite1hInputTokens: 100000}, 1.956, true},
		{sonnet4, "us." + sonnet4, invocation.Usage{InputTokens: 1000000}, 3.3, true},
		{"acme.claude-v1", "apac.acme.claude-v1", invocation.Usage{InputTokens: 1000000}, 1.2, true},
	} {
		got, ok := p.Cost(c.model, c.profile, c.u)
		if ok != c.priced || !nearish(got, c.want) {
			t.Errorf("%s %s %+v = %v, %v; want %v, %v", c.model, c.profile, c.u, got, ok, c.want, c.priced)
		}
	}
	if e, _ := p.Lookup(canvas); e.Source != "contract" || !e.Overridden || len(e.ImageTiers) != 1 {
		t.Errorf("canvas override %+v", e)
	}
	base := embedded(t)
	if e, _ := base.Lookup(canvas); len(e.ImageTiers) != 4 {
		t.Errorf("the override changed the base list: %+v", e.ImageTiers)
	}
	if e, _ := base.Lookup(sonnet4); e.LongContext.Threshold != 200000 || e.LongContext.CacheWrite1h != nil {
		t.Errorf("the override changed the base list: %+v", e.LongContext)
	}

	for _, c := range []struct {
		p    Price
		want string
	}{
		{Price{ImageTiers: []ImageTier{{Size: "1024", Image: fp(1)}}}, `imageTiers[0]: size "1024" is not WxH`},
		{Price{ImageTiers: []ImageTier{{Size: "0x10", Image: fp(1)}}}, `size "0x10" is not WxH`},
		{Price{ImageTiers: []ImageTier{{Quality: "hd", Image: fp(1)}}}, `unknown quality "hd"`},
		{Price{ImageTiers: []ImageTier{{Size: "512x512"}}}, "imageTiers[0]: image price is required"},
		{Price{ImageTiers: []ImageTier{{Image: fp(-1)}}}, "imageTiers[0]: image: -1 is negative"},
		{Price{VideoSecond: fp(-0.1)}, "video_second: -0.1 is negative"},
		{Price{Per: Per1M, LongContext: &LongContextPrice{Input: fp(6)}}, "longContext: threshold must be a positive"},
		{Price{Per: Per1M, LongContext: &LongContextPrice{Threshold: 5}}, "longContext: no price given"},
		{Price{LongContext: &LongContextPrice{Threshold: 5, Input: fp(6)}}, "per is required"},
		{Price{GeoProfiles: &TierPrice{}}, "geoProfiles: multiplier is required"},
		{Price{GeoProfiles: &TierPrice{Multiplier: fp(1.1), Date: "soon"}}, `geoProfiles: date "soon"`},
		{Price{InputImage: fp(1), Per: "2K"}, `unknown unit per: "2K"`},
	} {
		err := Prices{"acme.m-v1": c.p}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		}
	}
	// Per-image, per-second and per-embedded-image prices need no unit.
	if err := (Prices{"acme.m-v1": {InputImage: fp(1), VideoSecond: fp(1), ImageTiers: []ImageTier{{Image: fp(1)}}}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestIssue16Recorder(t *testing.T) {
	list := embedded(t)
	reg := prometheus.NewRegistry()
	r := NewRecorder(reg, list, []string{canvas, titanImg, "amazon.nova-reel-v1:1", "amazon.titan-embed-image-v1"})
	obs := func(model, profile string, u invocation.Usage) {
		inv := call(model, "alice", u)
		inv.InferenceProfileID = profile
		r.Observe(inv)
	}
	obs(canvas, "", invocation.Usage{InputTokens: 7, OutputImages: 2, ImageWidth: 1280, ImageHeight: 720, ImageQuality: "premium"})
	obs(canvas, "", invocation.Usage{OutputImages: 1, ImageWidth: 4096, ImageHeight: 4096})
	obs("amazon.nova-reel-v1:1", "", invocation.Usage{OutputVideoSeconds: 12})
	obs("amazon.titan-embed-image-v1", "", invocation.Usage{InputTokens: 5, InputImages: 2})
	obs("acme.unpriced-v1", "", invocation.Usage{InputImages: 3, OutputVideoSeconds: 6})
	obs(sonnet45, "us."+sonnet45, invocation.Usage{InputTokens: 100, OutputTokens: 10})
	cost := sumBy(t, reg, MetricCost, "model_id")
	// Nova Canvas bills its images only, not the prompt's tokens; the
	// 4096x4096 image is larger than any tier and is unpriced.
	for model, want := range map[string]float64{
		canvas:                        0.12,
		"amazon.nova-reel-v1:1":       0.96,
		"amazon.titan-embed-image-v1": 0.000124,
		sonnet45:                      0.000495,
	} {
		if !nearish(cost[model], want) {
			t.Errorf("cost of %s = %v, want %v", model, cost[model], want)
		}
	}
	if got := series(t, reg, MetricUnpricedImages)["model_id="+canvas]; got != 1 {
		t.Errorf("unpriced canvas images %v, want 1", got)
	}
	if got := series(t, reg, MetricUnpricedInputImages)["model_id=acme.unpriced-v1"]; got != 3 {
		t.Errorf("unpriced input images %v, want 3", got)
	}
	if got := series(t, reg, MetricUnpricedVideoSeconds)["model_id=acme.unpriced-v1"]; got != 6 {
		t.Errorf("unpriced video seconds %v, want 6", got)
	}
	gauges := series(t, reg, MetricModelPriceDollars)
	for k, want := range map[string]float64{
		"kind=image,model_id=" + canvas:                         0.04,
		"kind=image,model_id=" + titanImg:                       0.008,
		"kind=video_second,model_id=amazon.nova-reel-v1:1":      0.08,
		"kind=input_image,model_id=amazon.titan-embed-image-v1": 0.00006,
	} {
		if gauges[k] != want {
			t.Errorf("gauge %s = %v, want %v (all: %v)", k, gauges[k], want, gauges)
		}
	}
}
