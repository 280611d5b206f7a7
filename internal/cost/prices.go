package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

//go:embed prices.json
var embeddedJSON []byte

// Currency is the only currency price lists may be written in: every cost
// metric is in US dollars.
const Currency = "USD"

// Unit is how many tokens a token price in a Price is for.
type Unit string

// Units. Image prices are always per image, whatever the unit.
const (
	PerToken   Unit = "token"
	Per1K      Unit = "1K"
	Per1M      Unit = "1M"
	unitAbsent Unit = ""
)

// tokens returns how many tokens the unit stands for, or 0 for an unknown
// unit. "1k" and "1m" are accepted as well.
func (u Unit) tokens() int64 {
	switch strings.ToUpper(string(u)) {
	case "TOKEN":
		return 1
	case "1K":
		return 1_000
	case "1M":
		return 1_000_000
	}
	return 0
}

// Price is one model's prices as written in the embedded price list or in
// the configuration. A nil field means "no known price" (a call that uses
// that kind of token is unpriced); 0 means free.
type Price struct {
	// Per is the unit of the token prices: "token", "1K" or "1M" (tokens).
	// It is required when any token price is given.
	Per Unit `json:"per,omitempty" yaml:"per,omitempty"`
	// Input, Output, CacheRead and CacheWrite are USD per Per tokens.
	// CacheWrite is the price of prompt-cache writes with the default
	// five-minute TTL; CacheWrite1h that of writes with a one-hour TTL
	// (Converse's cachePoint ttl "1h", Anthropic's cache_control ttl "1h"),
	// which Anthropic prices at 2x the input price against 1.25x for five
	// minutes.
	Input        *float64 `json:"input,omitempty" yaml:"input,omitempty"`
	Output       *float64 `json:"output,omitempty" yaml:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty" yaml:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty" yaml:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty" yaml:"cacheWrite1h,omitempty"`
	// Image is USD per generated image, whatever its size and quality.
	// ImageTiers, when given, price images by size and quality instead
	// (Nova Canvas, Titan Image Generator v2).
	Image      *float64    `json:"image,omitempty" yaml:"image,omitempty"`
	ImageTiers []ImageTier `json:"imageTiers,omitempty" yaml:"imageTiers,omitempty"`
	// InputImage is USD per image an embedding call embeds (Titan
	// Multimodal Embeddings), apart from its text tokens.
	InputImage *float64 `json:"inputImage,omitempty" yaml:"inputImage,omitempty"`
	// VideoSecond is USD per second of generated video (Nova Reel).
	VideoSecond *float64 `json:"videoSecond,omitempty" yaml:"videoSecond,omitempty"`
	// LongContext are the token prices of calls whose prompt exceeds a
	// threshold (Claude Sonnet 4 and 4.5 above 200K input tokens): every
	// token of such a call, output included, pays them.
	LongContext *LongContextPrice `json:"longContext,omitempty" yaml:"longContext,omitempty"`
	// GeoProfiles multiplies every price of calls made through a
	// geographic cross-region inference profile (us., eu., apac., jp.,
	// au., ...) of the model: 1.1 for the Claude 4.5 generation and Nova
	// 2 Lite. Calls through global. profiles, and in-region calls, pay the
	// base price. An entry for the profile ID itself wins over this.
	GeoProfiles *TierPrice `json:"geoProfiles,omitempty" yaml:"geoProfiles,omitempty"`
	// LatencyOptimized are the token prices of calls served with
	// latency-optimized inference (performanceConfig latency "optimized"),
	// per Per tokens like the others. A kind it leaves out has no known
	// price for such calls: they do not fall back to the standard price,
	// which is a different one.
	LatencyOptimized *LatencyPrice `json:"latencyOptimized,omitempty" yaml:"latencyOptimized,omitempty"`
	// ServiceTiers price calls served in a service tier other than the
	// default one, by tier: priority, flex or reserved. Each multiplies
	// every token and image price of the entry. A call served in a tier the
	// entry does not list is unpriced (default, and a call that names no
	// tier, pay the prices above).
	ServiceTiers map[string]TierPrice `json:"serviceTiers,omitempty" yaml:"serviceTiers,omitempty"`
	// Source is where the price comes from (a URL or a document) and Date
	// (YYYY-MM-DD) when it was recorded from it. Both are required in the
	// embedded list and optional in the configuration.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	Date   string `json:"date,omitempty" yaml:"date,omitempty"`
	// Notes is free text shown next to the price (caveats, disagreements).
	Notes string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// LatencyPrice is a model's prices for latency-optimized inference: USD per
// Per tokens of the entry it belongs to, with its own provenance (Source
// and Date default to the entry's when left out of the configuration).
type LatencyPrice struct {
	Input        *float64 `json:"input,omitempty" yaml:"input,omitempty"`
	Output       *float64 `json:"output,omitempty" yaml:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty" yaml:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty" yaml:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty" yaml:"cacheWrite1h,omitempty"`
	Source       string   `json:"source,omitempty" yaml:"source,omitempty"`
	Date         string   `json:"date,omitempty" yaml:"date,omitempty"`
	Notes        string   `json:"notes,omitempty" yaml:"notes,omitempty"`
}

func (l *LatencyPrice) fields() [5]field {
	return tokenFields(l.Input, l.Output, l.CacheRead, l.CacheWrite, l.CacheWrite1h)
}

// tokenFields are the five token prices, in the order of the fields and
// rates arrays, of a block that has no others (latency-optimized and
// long-context prices).
func tokenFields(input, output, cacheRead, cacheWrite, cacheWrite1h *float64) [5]field {
	return [5]field{
		{KindInput, input}, {KindOutput, output},
		{KindCacheRead, cacheRead}, {KindCacheWrite, cacheWrite}, {KindCacheWrite1h, cacheWrite1h},
	}
}

// ImageTier is the price of one generated image up to a size, at a
// quality. Size is "WxH" and bounds the image's pixel count (width times
// height), so 1280x720 fits "1024x1024"; an empty Size is any size.
// Quality is "standard" or "premium" ("" any); a call that names no
// quality is a standard one, as Nova Canvas and Titan default to it. An
// image is priced by the smallest tier that holds it.
type ImageTier struct {
	Size    string   `json:"size,omitempty" yaml:"size,omitempty"`
	Quality string   `json:"quality,omitempty" yaml:"quality,omitempty"`
	Image   *float64 `json:"image,omitempty" yaml:"image,omitempty"`
}

// LongContextPrice are the token prices, per Per tokens of the entry, of
// calls whose input (InputTokens plus cache reads and writes, as Anthropic
// counts it) exceeds Threshold tokens.
type LongContextPrice struct {
	Threshold    int      `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	Input        *float64 `json:"input,omitempty" yaml:"input,omitempty"`
	Output       *float64 `json:"output,omitempty" yaml:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty" yaml:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty" yaml:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty" yaml:"cacheWrite1h,omitempty"`
	Source       string   `json:"source,omitempty" yaml:"source,omitempty"`
	Date         string   `json:"date,omitempty" yaml:"date,omitempty"`
	Notes        string   `json:"notes,omitempty" yaml:"notes,omitempty"`
}

func (l *LongContextPrice) fields() [5]field {
	return tokenFields(l.Input, l.Output, l.CacheRead, l.CacheWrite, l.CacheWrite1h)
}

// Image qualities of ImageTier and invocation.Usage.ImageQuality.
const (
	QualityStandard = "standard"
	QualityPremium  = "premium"
)

// parseSize reads "WxH" into its pixel count (0, false when malformed).
func parseSize(s string) (int, int, bool) {
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return 0, 0, false
	}
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if err1 != nil || err2 != nil || wi <= 0 || hi <= 0 || wi > 1<<16 || hi > 1<<16 {
		return 0, 0, false
	}
	return wi, hi, true
}

// TierPrice is how a service tier changes a model's prices: Multiplier
// times every price of the entry (1.75 for a 75% premium, 0.5 for a 50%
// discount), with its own provenance.
type TierPrice struct {
	Multiplier *float64 `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	Source     string   `json:"source,omitempty" yaml:"source,omitempty"`
	Date       string   `json:"date,omitempty" yaml:"date,omitempty"`
	Notes      string   `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// pricedTiers are the service tiers a price list may price: default is
// the base price by definition.
var pricedTiers = []string{invocation.TierPriority, invocation.TierFlex, invocation.TierReserved}

// Prices are price overrides from the configuration file, keyed by model ID
// (a catalog model ID or a cross-region inference profile ID such as
// us.anthropic.claude-3-haiku-20240307-v1:0), merged over the embedded list.
// An entry for a model the list already has replaces only the fields it
// sets; an entry for a profile ID applies to calls made through that
// profile instead of the base model's price. In the configuration file:
//
//	prices:
//	  anthropic.claude-3-haiku-20240307-v1:0:   # a negotiated rate
//	    per: 1M             # token prices are per token, 1K or 1M tokens
//	    input: 0.2
//	    output: 1.0
//	    cacheWrite: 0.3     # fills a price the list lacks
//	    source: contract 2026-17
//	    date: 2026-11-01
//	  eu.anthropic.claude-3-5-sonnet-20241022-v2:0:
//	    per: 1M
//	    input: 3.3
//	    output: 16.5
//	  my.image-model-v1:
//	    image: 0.04         # per image; no "per" needed
//	  amazon.nova-pro-v1:0:
//	    serviceTiers:
//	      priority:         # every price of the model times 1.75
//	        multiplier: 1.75
//	        source: invoice 2026-11
//
// A price of 0 means free; a price left out means unknown, and a call that
// uses a kind of token with an unknown price is counted as unpriced, never
// as $0.
type Prices map[string]Price

// Validate reports every invalid entry: a negative or non-finite price, a
// missing or unknown unit, a malformed date.
func (p Prices) Validate() error {
	var errs []error
	for _, id := range sortedKeys(p) {
		if err := p[id].validate(id, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p Price) validate(id string, strict bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("prices: %s: "+format, append([]any{id}, args...)...))
	}
	if id == "" || strings.TrimSpace(id) != id || strings.ContainsAny(id, " \t\n") {
		bad("invalid model ID %q", id)
	}
	checkValue := func(what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad("%s: %v is not a number", what, v)
		} else if v < 0 {
			bad("%s: %v is negative", what, v)
		}
	}
	checkProvenance := func(what, source, date string) {
		if date != "" {
			if _, err := time.Parse(time.DateOnly, date); err != nil {
				bad("%s: date %q is not YYYY-MM-DD", what, date)
			}
		}
		if strict && source == "" {
			bad("%s: source is required", what)
		}
		if strict && date == "" {
			bad("%s: date is required", what)
		}
	}
	tokenPrice := false
	for _, f := range p.fields() {
		if f.v == nil {
			continue
		}
		if isTokenKind(f.kind) {
			tokenPrice = true
		}
		checkValue(f.kind, *f.v)
	}
	// checkTokens checks a block of token prices (latency-optimized,
	// long-context), which must give at least one.
	checkTokens := func(what string, fs [5]field) {
		given := false
		for _, f := range fs {
			if f.v != nil {
				given, tokenPrice = true, true
				checkValue(what+": "+f.kind, *f.v)
			}
		}
		if !given {
			bad("%s: no price given", what)
		}
	}
	if l := p.LatencyOptimized; l != nil {
		checkTokens("latencyOptimized", l.fields())
		checkProvenance("latencyOptimized", l.Source, l.Date)
	}
	for i, t := range p.ImageTiers {
		what := fmt.Sprintf("imageTiers[%d]", i)
		if t.Size != "" {
			if _, _, ok := parseSize(t.Size); !ok {
				bad("%s: size %q is not WxH", what, t.Size)
			}
		}
		if t.Quality != "" && t.Quality != QualityStandard && t.Quality != QualityPremium {
			bad("%s: unknown quality %q (want standard or premium)", what, t.Quality)
		}
		if t.Image == nil {
			bad("%s: image price is required", what)
		} else {
			checkValue(what+": image", *t.Image)
		}
	}
	if l := p.LongContext; l != nil {
		checkTokens("longContext", l.fields())
		if l.Threshold <= 0 {
			bad("longContext: threshold must be a positive number of input tokens")
		}
		checkProvenance("longContext", l.Source, l.Date)
	}
	if g := p.GeoProfiles; g != nil {
		if g.Multiplier == nil {
			bad("geoProfiles: multiplier is required")
		} else {
			checkValue("geoProfiles: multiplier", *g.Multiplier)
		}
		checkProvenance("geoProfiles", g.Source, g.Date)
	}
	for _, tier := range sortedKeys(p.ServiceTiers) {
		t := p.ServiceTiers[tier]
		what := "serviceTiers: " + tier
		if !slices.Contains(pricedTiers, tier) {
			bad("serviceTiers: unknown tier %q (want priority, flex or reserved; default is the base price)", tier)
			continue
		}
		if t.Multiplier == nil {
			bad("%s: multiplier is required", what)
		} else {
			checkValue(what+": multiplier", *t.Multiplier)
		}
		checkProvenance(what, t.Source, t.Date)
	}
	switch {
	case p.Per == unitAbsent && tokenPrice:
		bad(`per is required with token prices: "token", "1K" or "1M"`)
	case p.Per != unitAbsent && p.Per.tokens() == 0:
		bad(`unknown unit per: %q (want "token", "1K" or "1M")`, p.Per)
	}
	if !tokenPrice && p.Image == nil && len(p.ImageTiers) == 0 && p.InputImage == nil && p.VideoSecond == nil && strict {
		bad("no price given")
	}
	if p.Date != "" {
		if _, err := time.Parse(time.DateOnly, p.Date); err != nil {
			bad("date %q is not YYYY-MM-DD", p.Date)
		}
	}
	if strict {
		if p.Source == "" {
			bad("source is required")
		}
		if p.Date == "" {
			bad("date is required")
		}
	}
	return errors.Join(errs...)
}

// Price kinds: the values of the kind label of the price and unpriced
// metrics, and the keys of Entry's prices.
const (
	KindInput      = "input"
	KindOutput     = "output"
	KindCacheRead  = "cache_read"
	KindCacheWrite = "cache_write"
	// KindCacheWrite1h is the prompt-cache writes with a one-hour TTL;
	// KindCacheWrite the five-minute ones.
	KindCacheWrite1h = "cache_write_1h"
	KindImage        = "image"
	// KindInputImage is an image an embedding call embedded,
	// KindVideoSecond a second of generated video.
	KindInputImage  = "input_image"
	KindVideoSecond = "video_second"
)

// kinds is the number of price kinds; their order (input, output, cache
// read, cache write, one-hour cache write, image, input image, video
// second) is the index of the fields and rates arrays.
const kinds = 8

// imageKind is the index of KindImage in the fields and rates arrays.
const imageKind = 5

// isTokenKind reports whether a kind's price is per token (and so needs a
// unit).
func isTokenKind(kind string) bool {
	switch kind {
	case KindImage, KindInputImage, KindVideoSecond:
		return false
	}
	return true
}

type field struct {
	kind string
	v    *float64
}

func (p *Price) fields() [kinds]field {
	return [kinds]field{
		{KindInput, p.Input}, {KindOutput, p.Output},
		{KindCacheRead, p.CacheRead}, {KindCacheWrite, p.CacheWrite}, {KindCacheWrite1h, p.CacheWrite1h},
		{KindImage, p.Image}, {KindInputImage, p.InputImage}, {KindVideoSecond, p.VideoSecond},
	}
}

// Entry is one model's normalised prices, for display (the web UI's price
// table) and for Go callers. Token prices are USD per token, Image USD per
// image; nil means unknown.
type Entry struct {
	ModelID      string   `json:"modelId"`
	Input        *float64 `json:"input,omitempty"`
	Output       *float64 `json:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty"`
	Image        *float64 `json:"image,omitempty"`
	// ImageTiers price images by size and quality (smallest first; a
	// tier without a size last); InputImage is per embedded image and
	// VideoSecond per second of video.
	ImageTiers  []ImageTierEntry `json:"imageTiers,omitempty"`
	InputImage  *float64         `json:"inputImage,omitempty"`
	VideoSecond *float64         `json:"videoSecond,omitempty"`
	// LatencyOptimized are the prices of latency-optimized calls (nil:
	// none known), ServiceTiers the tiers priced apart from default.
	LatencyOptimized *LatencyEntry        `json:"latencyOptimized,omitempty"`
	ServiceTiers     map[string]TierEntry `json:"serviceTiers,omitempty"`
	// LongContext are the prices of calls over a prompt-size threshold,
	// GeoProfiles the multiplier of geographic inference profiles.
	LongContext *LongContextEntry `json:"longContext,omitempty"`
	GeoProfiles *TierEntry        `json:"geoProfiles,omitempty"`
	Source      string            `json:"source,omitempty"`
	Date        string            `json:"date,omitempty"`
	Notes       string            `json:"notes,omitempty"`
	// Overridden is set when the configuration changed or added the entry.
	Overridden bool `json:"overridden,omitempty"`
}

func (e *Entry) fields() [kinds]field {
	return [kinds]field{
		{KindInput, e.Input}, {KindOutput, e.Output},
		{KindCacheRead, e.CacheRead}, {KindCacheWrite, e.CacheWrite}, {KindCacheWrite1h, e.CacheWrite1h},
		{KindImage, e.Image}, {KindInputImage, e.InputImage}, {KindVideoSecond, e.VideoSecond},
	}
}

// HasPrice reports whether the entry prices any kind of usage at all:
// tokens, images (flat or by tier), embedded images or video seconds.
func (e *Entry) HasPrice() bool {
	for _, f := range e.fields() {
		if f.v != nil {
			return true
		}
	}
	return len(e.ImageTiers) > 0
}

// ImageTierEntry is one image tier in an Entry: USD per image of at most
// Width x Height pixels (0 x 0: any size) at Quality ("": any).
type ImageTierEntry struct {
	Width   int     `json:"width,omitempty"`
	Height  int     `json:"height,omitempty"`
	Quality string  `json:"quality,omitempty"`
	Image   float64 `json:"image"`
}

// LongContextEntry are an entry's long-context prices, USD per token, for
// calls whose input exceeds Threshold tokens.
type LongContextEntry struct {
	Threshold    int      `json:"threshold"`
	Input        *float64 `json:"input,omitempty"`
	Output       *float64 `json:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty"`
	Source       string   `json:"source,omitempty"`
	Date         string   `json:"date,omitempty"`
	Notes        string   `json:"notes,omitempty"`
}

func (l *LongContextEntry) fields() [5]field {
	return tokenFields(l.Input, l.Output, l.CacheRead, l.CacheWrite, l.CacheWrite1h)
}

// LatencyEntry is an entry's latency-optimized prices, USD per token.
type LatencyEntry struct {
	Input        *float64 `json:"input,omitempty"`
	Output       *float64 `json:"output,omitempty"`
	CacheRead    *float64 `json:"cacheRead,omitempty"`
	CacheWrite   *float64 `json:"cacheWrite,omitempty"`
	CacheWrite1h *float64 `json:"cacheWrite1h,omitempty"`
	Source       string   `json:"source,omitempty"`
	Date         string   `json:"date,omitempty"`
	Notes        string   `json:"notes,omitempty"`
}

func (l *LatencyEntry) fields() [kinds]field {
	return [kinds]field{
		{KindInput, l.Input}, {KindOutput, l.Output},
		{KindCacheRead, l.CacheRead}, {KindCacheWrite, l.CacheWrite}, {KindCacheWrite1h, l.CacheWrite1h},
		{KindImage, nil}, {KindInputImage, nil}, {KindVideoSecond, nil},
	}
}

// TierEntry is how a service tier multiplies an entry's prices.
type TierEntry struct {
	Multiplier float64 `json:"multiplier"`
	Source     string  `json:"source,omitempty"`
	Date       string  `json:"date,omitempty"`
	Notes      string  `json:"notes,omitempty"`
}

// rateSet is one set of prices in hot-path form: plain floats and a bit
// per known price, so computing a cost allocates nothing.
type rateSet struct {
	v     [kinds]float64 // input, output, cache read, cache write (5m), cache write (1h), image, input image, video second
	known uint16         // bit i set when v[i] is a known price
	// images, when not nil, price output images by size and quality
	// instead of v[imageKind].
	images []imageRate
	// long, when not nil, is the set that applies to calls whose input
	// exceeds threshold tokens.
	long      *rateSet
	threshold int
}

// imageRate is an ImageTierEntry in hot-path form.
type imageRate struct {
	pixels  int // 0: any size
	quality string
	price   float64
}

func newRateSet(fs [kinds]field, multiplier float64) rateSet {
	var r rateSet
	for i, f := range fs {
		if f.v != nil {
			r.v[i] = *f.v * multiplier
			r.known |= 1 << i
		}
	}
	return r
}

// newEntrySet is the rate set of an entry's standard prices (its image
// tiers and long-context prices included) times multiplier.
func newEntrySet(e *Entry, multiplier float64) rateSet {
	r := newRateSet(e.fields(), multiplier)
	if len(e.ImageTiers) > 0 {
		r.images = make([]imageRate, 0, len(e.ImageTiers))
	}
	for _, t := range e.ImageTiers {
		r.images = append(r.images, imageRate{pixels: t.Width * t.Height, quality: t.Quality, price: t.Image * multiplier})
	}
	if l := e.LongContext; l != nil {
		fs := e.fields()
		// The long-context prices replace the token prices only: image and
		// video prices stay those of the entry.
		lf := l.fields()
		copy(fs[:], lf[:])
		long := newRateSet(fs, multiplier)
		long.images = r.images
		r.long, r.threshold = &long, l.Threshold
	}
	return r
}

// rates is the hot-path form of an Entry: the standard prices, the
// latency-optimized ones (nil when none are known) and, by service tier,
// the standard prices times the tier's multiplier (each price rounded once,
// as if the list gave it). geo, when the entry has a geographic-profile
// multiplier, is the same again with every price times it.
type rates struct {
	standard  rateSet
	optimized *rateSet
	tiers     map[string]*rateSet
	geo       *rates
}

func newRates(e *Entry, multiplier float64) *rates {
	r := &rates{standard: newEntrySet(e, multiplier)}
	if e.LatencyOptimized != nil {
		o := newRateSet(e.LatencyOptimized.fields(), multiplier)
		r.optimized = &o
	}
	for tier, t := range e.ServiceTiers {
		if r.tiers == nil {
			r.tiers = make(map[string]*rateSet, len(e.ServiceTiers))
		}
		ts := newEntrySet(e, t.Multiplier*multiplier)
		r.tiers[tier] = &ts
	}
	return r
}

// imagePrice returns the price of each image of u: the smallest tier that
// holds u's size at u's quality ("" is standard). An image of unknown size
// or one no tier holds is unpriced.
func (r *rateSet) imagePrice(u invocation.Usage) (float64, bool) {
	quality := u.ImageQuality
	if quality == "" {
		quality = QualityStandard
	}
	pixels := u.ImageWidth * u.ImageHeight
	if u.ImageWidth <= 0 || u.ImageHeight <= 0 {
		return 0, false
	}
	best := -1
	for i, t := range r.images {
		if t.quality != "" && t.quality != quality {
			continue
		}
		if t.pixels != 0 && pixels > t.pixels {
			continue
		}
		if best < 0 || tierLess(t, r.images[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return r.images[best].price, true
}

// tierLess orders image tiers by size, a tier without a size last.
func tierLess(a, b imageRate) bool { return pixelsLess(a.pixels, b.pixels) }

// pixelsLess orders image-tier sizes in pixels, 0 (any size) last.
func pixelsLess(a, b int) bool {
	switch {
	case a == 0:
		return false
	case b == 0:
		return true
	}
	return a < b
}

// cost returns the dollars of u, or false when u uses a kind whose price is
// unknown. Negative counts (a provider bug) are treated as zero so a cost
// can never be negative. The cache writes are split by TTL: the one-hour
// ones are part of CacheWriteInputTokens. A call whose input (uncached,
// cache read and cache write tokens) exceeds the long-context threshold
// pays the long-context prices for all its tokens.
func (r *rateSet) cost(u invocation.Usage) (float64, bool) {
	if r.long != nil && u.InputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens > r.threshold {
		r = r.long
	}
	n := [kinds]int{u.InputTokens, u.OutputTokens, u.CacheReadInputTokens,
		u.CacheWrite5mInputTokens(), u.CacheWrite1hInputTokens, u.OutputImages, u.InputImages, u.OutputVideoSeconds}
	var d float64
	for i, c := range n {
		if c <= 0 {
			continue
		}
		if i == imageKind && r.images != nil {
			p, ok := r.imagePrice(u)
			if !ok {
				return 0, false
			}
			d += float64(c) * p
			continue
		}
		if r.known&(1<<i) == 0 {
			return 0, false
		}
		d += float64(c) * r.v[i]
	}
	return d, true
}

// cost prices u served in the service tier with the latency mode: the
// standard prices for the default tier (or none named) and standard
// latency (or none named), the latency-optimized prices for optimized
// calls, the tier's for priority, flex and reserved. A mode or tier the
// entry has no price for, a value outside Bedrock's enums, and a call that
// is both latency-optimized and in a non-default tier (AWS publishes no
// price for that combination) are unpriced.
func (r *rates) cost(u invocation.Usage, tier, latency string) (float64, bool) {
	set := &r.standard
	switch latency {
	case "", invocation.LatencyStandard:
	case invocation.LatencyOptimized:
		if set = r.optimized; set == nil {
			return 0, false
		}
	default:
		return 0, false
	}
	switch tier {
	case "", invocation.TierDefault:
	default:
		if latency == invocation.LatencyOptimized {
			return 0, false
		}
		if set = r.tiers[tier]; set == nil {
			return 0, false
		}
	}
	return set.cost(u)
}

// PriceList is a loaded, validated price list: the embedded one with the
// configuration's overrides applied. It is immutable and safe for
// concurrent use.
type PriceList struct {
	version string
	entries []Entry // sorted by model ID
	byID    map[string]*rates
}

// fileFormat is the shape of prices.json.
type fileFormat struct {
	Version  string `json:"version"`
	Currency string `json:"currency"`
	// Comment documents the file for people editing it.
	Comment string `json:"comment,omitempty"`
	Models  Prices `json:"models"`
}

// Parse reads a price list in the embedded file's format:
//
//	{"version": "2026-11-23.1", "currency": "USD",
//	 "models": {"<model ID>": {"per": "1M", "input": 0.8, "output": 4,
//	            "source": "https://...", "date": "2026-11-23"}}}
//
// Every entry needs a source and a date; unknown fields are rejected.
func Parse(data []byte) (*PriceList, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileFormat
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	var errs []error
	if f.Version == "" {
		errs = append(errs, errors.New("prices: version is required"))
	}
	if f.Currency != Currency {
		errs = append(errs, fmt.Errorf("prices: currency %q is not supported (want %s)", f.Currency, Currency))
	}
	if len(f.Models) == 0 {
		errs = append(errs, errors.New("prices: no models"))
	}
	for _, id := range sortedKeys(f.Models) {
		if err := f.Models[id].validate(id, true); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	entries := make(map[string]Entry, len(f.Models))
	for id, p := range f.Models {
		entries[id] = merge(Entry{ModelID: id}, p)
	}
	return build(f.Version, entries), nil
}

// Embedded returns the price list shipped with the binary.
func Embedded() (*PriceList, error) { return Parse(embeddedJSON) }

// Load returns the embedded price list with overrides applied (nil or
// empty overrides give the embedded list).
func Load(overrides Prices) (*PriceList, error) {
	p, err := Embedded()
	if err != nil {
		return nil, err
	}
	return p.With(overrides)
}

// With returns a copy of p with overrides merged over it. The version of
// the result is p's version suffixed with "+config" when overrides is not
// empty, so that the price list shown is never mistaken for the shipped one.
func (p *PriceList) With(overrides Prices) (*PriceList, error) {
	if err := overrides.Validate(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &PriceList{}
	}
	if len(overrides) == 0 {
		return p, nil
	}
	entries := make(map[string]Entry, len(p.entries)+len(overrides))
	for _, e := range p.entries {
		entries[e.ModelID] = e
	}
	for id, o := range overrides {
		e, ok := entries[id]
		if !ok {
			e = Entry{ModelID: id}
		}
		if o.Source == "" {
			o.Source = "configuration"
		}
		e = merge(e, o)
		e.Overridden = true
		entries[id] = e
	}
	return build(p.version+"+config", entries), nil
}

// merge applies p's set fields on top of e, normalising token prices to
// USD per token. p must be valid.
func merge(e Entry, p Price) Entry {
	set := func(dst **float64, v *float64, per int64) {
		if v != nil {
			n := perToken(*v, per)
			*dst = &n
		}
	}
	per := p.Per.tokens()
	// setTokens sets a block's five token prices (in tokenFields order)
	// from the configuration's.
	setTokens := func(input, output, cacheRead, cacheWrite, cacheWrite1h **float64, fs [5]field) {
		for i, dst := range [5]**float64{input, output, cacheRead, cacheWrite, cacheWrite1h} {
			set(dst, fs[i].v, per)
		}
	}
	set(&e.Input, p.Input, per)
	set(&e.Output, p.Output, per)
	set(&e.CacheRead, p.CacheRead, per)
	set(&e.CacheWrite, p.CacheWrite, per)
	set(&e.CacheWrite1h, p.CacheWrite1h, per)
	set(&e.Image, p.Image, 1)
	set(&e.InputImage, p.InputImage, 1)
	set(&e.VideoSecond, p.VideoSecond, 1)
	if len(p.ImageTiers) > 0 {
		// The tiers are a table: an override replaces it whole.
		e.ImageTiers = make([]ImageTierEntry, 0, len(p.ImageTiers))
		for _, t := range p.ImageTiers {
			te := ImageTierEntry{Quality: t.Quality, Image: *t.Image}
			if t.Size != "" {
				te.Width, te.Height, _ = parseSize(t.Size)
			}
			e.ImageTiers = append(e.ImageTiers, te)
		}
		slices.SortStableFunc(e.ImageTiers, func(a, b ImageTierEntry) int {
			pa, pb := a.Width*a.Height, b.Width*b.Height
			switch {
			case pixelsLess(pa, pb):
				return -1
			case pixelsLess(pb, pa):
				return 1
			}
			return 0
		})
	}
	if l := p.LongContext; l != nil {
		var le LongContextEntry
		if e.LongContext != nil {
			le = *e.LongContext
		}
		if l.Threshold > 0 {
			le.Threshold = l.Threshold
		}
		setTokens(&le.Input, &le.Output, &le.CacheRead, &le.CacheWrite, &le.CacheWrite1h, l.fields())
		le.Source, le.Date = provenance(l.Source, l.Date, p)
		if l.Notes != "" {
			le.Notes = l.Notes
		}
		e.LongContext = &le
	}
	if g := p.GeoProfiles; g != nil {
		ge := TierEntry{Multiplier: *g.Multiplier, Notes: g.Notes}
		ge.Source, ge.Date = provenance(g.Source, g.Date, p)
		e.GeoProfiles = &ge
	}
	if l := p.LatencyOptimized; l != nil {
		// Copied before it is changed: the entry being merged into may be
		// the base list's, which stays as it is.
		var le LatencyEntry
		if e.LatencyOptimized != nil {
			le = *e.LatencyOptimized
		}
		setTokens(&le.Input, &le.Output, &le.CacheRead, &le.CacheWrite, &le.CacheWrite1h, l.fields())
		le.Source, le.Date = provenance(l.Source, l.Date, p)
		if l.Notes != "" {
			le.Notes = l.Notes
		}
		e.LatencyOptimized = &le
	}
	if len(p.ServiceTiers) > 0 {
		tiers := make(map[string]TierEntry, len(e.ServiceTiers)+len(p.ServiceTiers))
		for k, v := range e.ServiceTiers {
			tiers[k] = v
		}
		for k, t := range p.ServiceTiers {
			te := tiers[k]
			te.Multiplier = *t.Multiplier
			te.Source, te.Date = provenance(t.Source, t.Date, p)
			if t.Notes != "" {
				te.Notes = t.Notes
			}
			tiers[k] = te
		}
		e.ServiceTiers = tiers
	}
	if p.Source != "" {
		e.Source = p.Source
		e.Date = p.Date
	}
	if p.Notes != "" {
		e.Notes = p.Notes
	}
	return e
}

// provenance is the source and date of a sub-price (latency-optimized or
// tier) that p sets: its own when given, else p's (an override's
// "configuration" when it names none).
func provenance(source, date string, p Price) (string, string) {
	if source != "" {
		return source, date
	}
	return p.Source, p.Date
}

// perToken divides a price by the tokens of its unit exactly: the decimal
// the user wrote (the shortest representation of v) is divided as a
// rational and rounded once, so 0.035 per 1M becomes the float64 nearest to
// 3.5e-8 rather than 0.035/1e6 with two roundings.
func perToken(v float64, tokens int64) float64 {
	if tokens <= 1 {
		return v
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
	if !ok { // unreachable for finite v, which validate guarantees
		return v / float64(tokens)
	}
	f, _ := r.Quo(r, big.NewRat(tokens, 1)).Float64()
	return f
}

func build(version string, entries map[string]Entry) *PriceList {
	p := &PriceList{version: version, byID: make(map[string]*rates, len(entries))}
	for _, id := range sortedKeys(entries) {
		e := entries[id]
		p.entries = append(p.entries, e)
		r := newRates(&e, 1)
		if e.GeoProfiles != nil {
			r.geo = newRates(&e, e.GeoProfiles.Multiplier)
		}
		p.byID[id] = r
	}
	return p
}

// Version returns the price list's version ("+config" appended when the
// configuration overrides prices).
func (p *PriceList) Version() string {
	if p == nil {
		return ""
	}
	return p.version
}

// Entries returns every entry, sorted by model ID. The caller may modify the
// returned slice but not the prices it points to.
func (p *PriceList) Entries() []Entry {
	if p == nil {
		return nil
	}
	return append([]Entry(nil), p.entries...)
}

// Lookup returns the entry of a model or inference profile ID.
func (p *PriceList) Lookup(id string) (Entry, bool) {
	if p == nil {
		return Entry{}, false
	}
	i := sort.Search(len(p.entries), func(i int) bool { return p.entries[i].ModelID >= id })
	if i < len(p.entries) && p.entries[i].ModelID == id {
		return p.entries[i], true
	}
	return Entry{}, false
}

// rates returns the prices that apply to a call of modelID made through
// profileID (empty when none): the profile's when the list has it, else
// the model's (times its geographic multiplier when profileID is a
// geographic profile of modelID), else nil.
func (p *PriceList) rates(modelID, profileID string) *rates {
	if p == nil {
		return nil
	}
	if profileID != "" {
		if r := p.byID[profileID]; r != nil {
			return r
		}
	}
	r := p.byID[modelID]
	if r != nil && r.geo != nil && isGeoProfile(profileID, modelID) {
		return r.geo
	}
	return r
}

// GlobalProfilePrefix is the prefix of global cross-region inference
// profiles, which pay the base model's price.
const GlobalProfilePrefix = "global"

// isGeoProfile reports whether profileID is a geographic cross-region
// inference profile of modelID: "<geo>.<modelID>" with a geography other
// than global. Application profile IDs, which name no geography, are not.
func isGeoProfile(profileID, modelID string) bool {
	geo, base, ok := strings.Cut(profileID, ".")
	return ok && base == modelID && geo != "" && geo != GlobalProfilePrefix
}

// Cost returns the dollars a call of modelID, made through the inference
// profile profileID (empty when none), costs for usage u: the profile's
// price when the list has one, else the model's. priced is false, and
// dollars 0, when the model has no price or u uses a kind of token (or
// images) whose price is unknown: an unknown cost is never reported as $0.
func (p *PriceList) Cost(modelID, profileID string, u invocation.Usage) (dollars float64, priced bool) {
	return p.CallCost(modelID, profileID, u, "", "")
}

// CallCost is Cost for a call served in a service tier (priority,
// default, flex, reserved; "" for none named) with a latency mode
// (standard, optimized; "" for none named), as the Invocation records
// them: the tier's multiplier applies to every price, and latency-optimized
// calls pay the latency-optimized prices. A tier or latency mode the
// model's entry has no price for makes the call unpriced, never priced at
// the standard rate.
func (p *PriceList) CallCost(modelID, profileID string, u invocation.Usage, serviceTier, latency string) (dollars float64, priced bool) {
	r := p.rates(modelID, profileID)
	if r == nil {
		return 0, false
	}
	return r.cost(u, serviceTier, latency)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
