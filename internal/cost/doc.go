// Package cost turns the tokens and images of every call into US dollars.
//
// It provides:
//
//   - a price list shipped with the binary (prices.json, embedded), with a
//     version, a currency (USD only) and, per model ID, prices for input,
//     output, cache-read and cache-write tokens and per generated image, each
//     entry with the source it was taken from and the date it was recorded;
//   - Prices, the configuration's overrides (the `prices:` section of the
//     config file), merged field by field over the embedded list by Load;
//   - PriceList.Cost, the cost of a usage for Go callers, and
//     PriceList.Entries and Version for the web UI's price table;
//   - Recorder, an invocation.Observer that adds each call's cost to
//     modelwatch_cost_dollars_total{model_id, principal} and exports which
//     catalog models are priced (modelwatch_model_priced,
//     modelwatch_model_price_dollars).
//
// Decisions:
//
//   - Prices are written with an explicit unit ("per": token, 1K or 1M
//     tokens), because Bedrock quoted per 1,000 tokens and now quotes per
//     million, and normalised to USD per token on load. Normalising divides
//     the decimal as written, as a rational, and rounds once, so 0.035 per
//     1M is exactly the float64 nearest to 3.5e-8.
//   - Unknown is not free. A missing price is "unknown"; 0 is "free". A call
//     that uses any kind of token (or images) with an unknown price is not
//     counted as $0 nor at a partial cost: it is counted in
//     modelwatch_unpriced_invocations_total{model_id} with its tokens in
//     modelwatch_unpriced_tokens_total{model_id, kind}, and the model shows
//     as unpriced (modelwatch_model_priced 0) when it has no entry at all.
//   - One cost metric, labelled by model and principal, so cost per model
//     and cost per principal are both sums over it (sum by (model_id) /
//     sum by (principal)); the principal of an unauthenticated call is
//     "anonymous". Dollars are accumulated as float64 in the counter: with
//     per-token prices around 1e-8..1e-5 and realistic traffic the rounding
//     error stays far below a nano-dollar (see the tests).
//   - Cross-region inference profile IDs (us., eu., apac., global.) may have
//     their own entries, which win over the base model's for calls made
//     through the profile. The embedded list has none, as no differing
//     public price was recorded; configuration can add them.
//   - The price applied is that of the model that answered (a fallback's
//     when one answered), since those are the tokens billed, but the cost is
//     labelled with the model asked for, like every per-model metric of
//     package metrics, so cost and token series line up.
//   - Observe does no I/O and allocates nothing beyond the Prometheus label
//     lookups: the price list is immutable and read without locks.
package cost
