// Package cost turns the tokens and images of every call into US dollars.
//
// It provides:
//
//   - a price list shipped with the binary (prices.json, embedded), with a
//     version, a currency (USD only) and, per model ID, prices for input,
//     output, cache-read and cache-write tokens (five-minute and one-hour
//     TTLs), per generated image, for latency-optimized inference and by
//     service tier, each with the source it was taken from and the date it
//     was recorded;
//   - Prices, the configuration's overrides (the `prices:` section of the
//     config file), merged field by field over the embedded list by Load;
//   - PriceList.Cost and CallCost, the cost of a usage (in a service tier,
//     with a latency mode) for Go callers, and
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
//     through the profile. The embedded list has none (the geographic
//     multiplier below covers the published differences); configuration
//     can add them.
//   - The price applied is that of the model that answered (a fallback's
//     when one answered), since those are the tokens billed, but the cost is
//     labelled with the model asked for, like every per-model metric of
//     package metrics, so cost and token series line up.
//   - Prompt-cache writes are priced by TTL: cacheWrite is the five-minute
//     price, cacheWrite1h the one-hour one (Anthropic: 1.25x and 2x the
//     input price), applied to the one-hour part of the writes the
//     provider reports (Converse cacheDetails with ttl 1h). A model without
//     a one-hour price leaves calls that write for an hour unpriced, as any
//     other unknown price does. Unpriced cache writes are counted by TTL
//     (kind cache_write and cache_write_1h).
//   - Service tiers (priority, flex, reserved) are a multiplier of every
//     price of the entry, per model, each with its own source and date;
//     default (or no tier) is the base price. The tier applied is the one
//     the Invocation records: the one the provider reported, else the one
//     asked for. A tier the entry does not price leaves the call unpriced:
//     reserved capacity is billed per reserved tokens-per-minute, not per
//     call, and the priority premium could not be verified from a published
//     source, so the shipped list prices only Nova Pro's flex tier
//     (0.5x, from AWS's re:Invent 2025 session AIM3304); configuration adds
//     the others (serviceTiers: priority: multiplier: 1.75 for the +75%
//     AWS announced, once your bill confirms it).
//   - Latency-optimized inference has its own prices (latencyOptimized,
//     as published for Nova Pro and Llama 3.1 70B), never the standard
//     ones; a call that is both latency-optimized and in a non-default tier
//     is unpriced, as AWS publishes no price for that combination.
//   - Images are priced per image, by size and quality where the list
//     has image tiers (Nova Canvas: up to 1024x1024 pixels $0.04 standard
//     / $0.06 premium, up to 2048x2048 $0.06 / $0.08; Titan Image
//     Generator v2: up to 512x512 $0.008 / $0.01, larger $0.01 / $0.012),
//     else at a flat price (Stability). A tier bounds the pixel count, so
//     1280x720 is a "1024x1024" image; the smallest tier that holds the
//     image at its quality applies; a call that names no quality is
//     standard (the models' default). An image of unknown size, or larger
//     than every tier, is unpriced. Prompt tokens of image and video
//     models are free (input 0): they bill per image or second only.
//   - Video is priced per second (Nova Reel, $0.08/s of 720p video,
//     Usage.OutputVideoSeconds); images an embedding call embeds per
//     image (Titan Multimodal Embeddings, $0.00006, Usage.InputImages),
//     on top of their text tokens. Unpriced video seconds and embedded
//     images are counted in modelwatch_unpriced_video_seconds_total and
//     modelwatch_unpriced_input_images_total.
//   - Long context: a call whose input (uncached input, cache read and
//     cache write tokens, as Anthropic counts it) exceeds the entry's
//     longContext threshold (200K for Claude Sonnet 4 and 4.5) pays the
//     long-context prices for all its tokens, output included, as
//     Anthropic bills it. A call of exactly 200,000 tokens is standard.
//   - Geographic cross-region inference profiles (us., eu., apac., jp.,
//     au., ...) of the Claude 4.5 generation and Nova 2 Lite cost 1.1x
//     the base price (geoProfiles); global. profiles and in-region calls
//     pay the base price. The profile ID reaches the recorder as
//     Invocation.InferenceProfileID ("us.<model ID>"); an application
//     inference profile, which names no geography, pays the base price.
//     A configured entry for the profile ID itself wins over the
//     multiplier. The multiplier applies to every price of the call,
//     service tiers and long context included.
//   - Reasoning tokens are output tokens: Bedrock reports them inside
//     outputTokens (Nova 2, Claude thinking, gpt-oss, DeepSeek-R1), and
//     they are priced as such.
//   - Batch inference (50% of on-demand on Bedrock) is not priced: the
//     gateway serves no batch jobs, and no Invocation is a batch one.
//     Flex (0.5x) and priority are service tiers, priced per model where a
//     multiplier is known (see above).
//   - Observe does no I/O and allocates nothing beyond the Prometheus label
//     lookups: the price list is immutable and read without locks.
package cost
