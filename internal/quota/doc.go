// Package quota enforces Bedrock-style service quotas: requests per
// minute, tokens per minute and tokens per day, per model, principal and
// inference profile, as configured by []Rule under `quotas:`.
//
// A call is admitted with Reserve before any provider is called, holding
// its worst case (input estimate plus max output tokens, as Bedrock
// reserves), and settled with Settle when it ends with what it actually
// used (QuotaTokens: input + cache write + output × burndown). A long
// stream therefore holds its whole reservation for as long as it runs and
// no set of concurrent calls can overshoot a limit.
//
// Decisions:
//
//   - Windowing. Each per-minute limit L of each (rule, key) is a token
//     bucket of capacity L that refills continuously at L/60 per second,
//     kept as its consumption with exact integer arithmetic (no floats,
//     no rounding drift). A call is admitted while consumption+n ≤ L.
//     Hence, settled amounts aside, the tokens (or requests) admitted over
//     any interval of length T are at most L + L·T/60: with a frozen
//     clock exactly L, over any 60 s window at most 2L, and over a long
//     run the average rate is at most L per minute. Reservations are
//     deducted at admission; Settle refunds the unused part (never making
//     the bucket fuller than its capacity) or charges the excess, which
//     may put the bucket in debt beyond L, delaying later calls.
//   - Tokens per day count per fixed UTC calendar day; the counter resets
//     at 00:00 UTC. A reservation settled on a later day refunds nothing
//     (yesterday is gone) but its excess is charged to today.
//   - Requests are counted at admission and never refunded, as Bedrock
//     counts throttled-later and failed calls.
//   - All-or-nothing. Reserve locks the counters of every matching rule
//     (in rule-creation order, so concurrent calls cannot deadlock), checks
//     them all, and either charges all or none. When several refuse, the
//     refusal with the longest RetryAfter is returned: the earliest time
//     at which every rule could admit the call.
//   - Refusal is *Exceeded: Bedrock's ThrottlingException (429) with
//     "Too many requests, please wait before trying again." or "Too many
//     tokens, please wait before trying again."; RetryAfter is whole
//     seconds, at least 1, computed from the refill (or the next UTC
//     midnight) assuming no refunds.
//   - A call reserving more tokens than a rule's whole limit can never be
//     admitted. Like Bedrock (whose usual surprise throttle is an unset
//     max_tokens reserving the model's whole output), it is refused as a
//     token throttle, but Exceeded.TooLarge is set, Error() says to lower
//     max tokens, and RetryAfter is the limit's whole window (60 s, or
//     until midnight for tokens per day).
//   - Scope: Model and Principal are * globs ("" matches all); a non-empty
//     Profile only matches calls made through a profile, so "*" means
//     "cross-Region calls". Per projects the call's Key onto the listed
//     dimensions: the counter is shared by all calls equal on them.
//   - Memory: counters exist per (rule, projected key), bounded by the
//     configured principals, catalog models and profiles. At most once a
//     minute, Reserve drops counters that hold nothing (no call in flight,
//     buckets refilled, nothing counted today): a fresh one is identical.
//   - Replace swaps the rules atomically; a rule whose name and definition
//     are unchanged keeps its counters, a changed one starts afresh, and
//     reservations made earlier settle against the counters they hold.
//   - Concurrency: a mutex per (rule, key) counter; the counters a Key
//     maps to are cached per Key (sync.Map, refreshed when one is swept),
//     so the hot path is lock-free up to the counters themselves and
//     allocates one Reservation. When no rule matches, Reserve returns a nil
//     *Reservation and allocates nothing.
//   - Metrics (when Options.Registerer is set):
//     modelwatch_quota_throttles_total{rule,kind},
//     modelwatch_quota_tokens_reserved{rule} and
//     modelwatch_quota_requests_admitted_total{rule}.
package quota
