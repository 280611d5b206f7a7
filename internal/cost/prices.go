package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
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
	Input      *float64 `json:"input,omitempty" yaml:"input,omitempty"`
	Output     *float64 `json:"output,omitempty" yaml:"output,omitempty"`
	CacheRead  *float64 `json:"cacheRead,omitempty" yaml:"cacheRead,omitempty"`
	CacheWrite *float64 `json:"cacheWrite,omitempty" yaml:"cacheWrite,omitempty"`
	// Image is USD per generated image.
	Image *float64 `json:"image,omitempty" yaml:"image,omitempty"`
	// Source is where the price comes from (a URL or a document) and Date
	// (YYYY-MM-DD) when it was recorded from it. Both are required in the
	// embedded list and optional in the configuration.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	Date   string `json:"date,omitempty" yaml:"date,omitempty"`
	// Notes is free text shown next to the price (caveats, disagreements).
	Notes string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

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
	tokenPrice := false
	for _, f := range p.fields() {
		if f.v == nil {
			continue
		}
		if f.kind != KindImage {
			tokenPrice = true
		}
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			bad("%s: %v is not a number", f.kind, *f.v)
		} else if *f.v < 0 {
			bad("%s: %v is negative", f.kind, *f.v)
		}
	}
	switch {
	case p.Per == unitAbsent && tokenPrice:
		bad(`per is required with token prices: "token", "1K" or "1M"`)
	case p.Per != unitAbsent && p.Per.tokens() == 0:
		bad(`unknown unit per: %q (want "token", "1K" or "1M")`, p.Per)
	}
	if !tokenPrice && p.Image == nil && strict {
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
	KindImage      = "image"
)

type field struct {
	kind string
	v    *float64
}

func (p *Price) fields() [5]field {
	return [5]field{
		{KindInput, p.Input}, {KindOutput, p.Output},
		{KindCacheRead, p.CacheRead}, {KindCacheWrite, p.CacheWrite},
		{KindImage, p.Image},
	}
}

// Entry is one model's normalised prices, for display (the web UI's price
// table) and for Go callers. Token prices are USD per token, Image USD per
// image; nil means unknown.
type Entry struct {
	ModelID    string   `json:"modelId"`
	Input      *float64 `json:"input,omitempty"`
	Output     *float64 `json:"output,omitempty"`
	CacheRead  *float64 `json:"cacheRead,omitempty"`
	CacheWrite *float64 `json:"cacheWrite,omitempty"`
	Image      *float64 `json:"image,omitempty"`
	Source     string   `json:"source,omitempty"`
	Date       string   `json:"date,omitempty"`
	Notes      string   `json:"notes,omitempty"`
	// Overridden is set when the configuration changed or added the entry.
	Overridden bool `json:"overridden,omitempty"`
}

func (e *Entry) fields() [5]field {
	return [5]field{
		{KindInput, e.Input}, {KindOutput, e.Output},
		{KindCacheRead, e.CacheRead}, {KindCacheWrite, e.CacheWrite},
		{KindImage, e.Image},
	}
}

// rates is the hot-path form of an Entry: plain floats and a bit per known
// price, so computing a cost allocates nothing.
type rates struct {
	v     [5]float64 // input, output, cache read, cache write, image
	known uint8      // bit i set when v[i] is a known price
}

// cost returns the dollars of u, or false when u uses a kind whose price is
// unknown. Negative counts (a provider bug) are treated as zero so a cost
// can never be negative.
func (r *rates) cost(u invocation.Usage) (float64, bool) {
	n := [5]int{u.InputTokens, u.OutputTokens, u.CacheReadInputTokens, u.CacheWriteInputTokens, u.OutputImages}
	var d float64
	for i, c := range n {
		if c <= 0 {
			continue
		}
		if r.known&(1<<i) == 0 {
			return 0, false
		}
		d += float64(c) * r.v[i]
	}
	return d, true
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
	set(&e.Input, p.Input, per)
	set(&e.Output, p.Output, per)
	set(&e.CacheRead, p.CacheRead, per)
	set(&e.CacheWrite, p.CacheWrite, per)
	set(&e.Image, p.Image, 1)
	if p.Source != "" {
		e.Source = p.Source
		e.Date = p.Date
	}
	if p.Notes != "" {
		e.Notes = p.Notes
	}
	return e
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
		var r rates
		for i, f := range e.fields() {
			if f.v != nil {
				r.v[i] = *f.v
				r.known |= 1 << i
			}
		}
		p.byID[id] = &r
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
// the model's, else nil.
func (p *PriceList) rates(modelID, profileID string) *rates {
	if p == nil {
		return nil
	}
	if profileID != "" {
		if r := p.byID[profileID]; r != nil {
			return r
		}
	}
	return p.byID[modelID]
}

// Cost returns the dollars a call of modelID, made through the inference
// profile profileID (empty when none), costs for usage u: the profile's
// price when the list has one, else the model's. priced is false, and
// dollars 0, when the model has no price or u uses a kind of token (or
// images) whose price is unknown: an unknown cost is never reported as $0.
func (p *PriceList) Cost(modelID, profileID string, u invocation.Usage) (dollars float64, priced bool) {
	r := p.rates(modelID, profileID)
	if r == nil {
		return 0, false
	}
	return r.cost(u)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
