// Package sharedlimit keeps the quota counters (package quota) and the
// budget totals (package budget) of every replica of the gateway in one
// Redis, so that N replicas behind a load balancer together admit no more
// than each limit. It applies the same rules, with the same refusals
// (*quota.Exceeded, *budget.Exceeded) and the same texts, as the
// in-memory quota.Limiter and budget.Tracker it stands in for.
//
// # Keys
//
// Every key starts with Options.Prefix (default "mw:") followed by the
// hash tag "{shared}", so that all of them live in one Redis Cluster slot
// and every script's keys are in one slot (on a Cluster the counters are
// therefore served by one shard; use a single primary, with Sentinel or a
// managed failover, rather than a Cluster). Names and key parts are
// query-escaped.
//
//	<p>{shared}:q:<rule>:<fingerprint>:<model>:<principal>:<profile>:m
//	    hash, one per (rule, projected key): the per-minute buckets
//	    ru/rf/rl (requests: used, remainder in unit·µs, last refill µs)
//	    and tu/tf/tl (tokens), res (tokens reserved by calls in flight),
//	    inf (calls in flight). Expires 2 minutes after its last use, or
//	    later while a bucket is in debt (used beyond the limit after an
//	    overrun): a fresh bucket is then identical.
//	<p>{shared}:q:…:d
//	    hash: day (UTC day number) and du (tokens counted that day).
//	    Expires one hour after the end of its UTC day.
//	<p>{shared}:b:<budget>:<spend key hash>:<period start, unix s>
//	    hash, one per (budget, period): a (actual spend), h (held by calls
//	    in flight), u (unpriced calls), c (calls), r (refusals this
//	    period), h:<ticket> (each call's hold), n:<notification key>
//	    (when it fired, unix ms). Amounts are int64 nano-dollars (COST)
//	    or tokens (USAGE). Expires one period after the period's end.
//	<p>{shared}:b:…:holds
//	    sorted set of the period's holds by expiry (Options.HoldTTL).
//	<p>{shared}:t:<ticket>
//	    a ticket's marker: "a" once admitted, "s" once settled; lives 48 h.
//
// A rule's counters are keyed by its fingerprint (scope, per and limits):
// a changed rule starts afresh, as quota.Limiter.Replace does. A budget's
// are keyed by its spend key (type, unit, bounds, filter), as
// budget.Tracker keeps spend across Replace.
//
// # Scripts
//
// Admission is one Lua script (EVALSHA, falling back to EVAL after a
// restart flushed the script cache), so one round trip: atomically, for
// every matching quota counter and every matching hard-limit budget, it
// checks, and then either charges all (one request, the reserved tokens
// on the per-minute bucket and the day counter, the budget hold) or none,
// returning which refused and when to retry. Buckets refill continuously
// with exact integer arithmetic (the product limit × elapsed µs is split
// so that no intermediate exceeds 2^53) on Redis's clock (TIME), so the
// replicas' clocks do not matter for quotas; budget periods follow the
// replicas' clocks (Options.Now), as they do in budget.Tracker.
//
// Settlement is a second script per ticket, run off the request path by a
// small pool of workers: it refunds or charges the difference between
// reserved and used tokens (as quota.Reservation.Settle), releases the
// hold and adds the spend, unpriced count and call to the period current
// at settlement (as budget.Hold.Settle). It runs exactly once: the
// ticket's marker turns from "a" to "s", and a retry (a timeout after the
// script ran) finds "s" and does nothing. A settlement whose admission
// Redis does not know (it restarted empty, or the admission never
// reached it) adds only what was used: tokens per day and spend.
//
// # The bound
//
// While Redis answers, the scripts are atomic, so all replicas together
// admit exactly what one quota.Limiter and one budget.Tracker would: at
// most the limit with a frozen clock, limit × (1 + T/60) over T seconds
// for per-minute limits, and actual + held never past a hard budget
// limit at admission (a call costing more than its worst case may still
// take actual past it, as locally). Integers are exact up to 2^53: 9·10^15
// tokens, or $9,007,199 per period in nano-dollars; Redis adds them as
// int64 (HINCRBY), only the comparison with a larger limit may be off by a
// few nano-dollars.
//
// # Failure modes
//
//   - Redis unreachable or slow (any error other than the caller's own
//     context ending): the failure counts in
//     modelwatch_shared_counters_unavailable_total, admission switches
//     (logged once, at Warn) to Options.OnUnavailable and
//     modelwatch_shared_counters_mode{mode} says which. Set short client
//     timeouts on the client (ReadTimeout, WriteTimeout and DialTimeout
//     ≈ 200 ms, DialerRetries 1, MaxRetries -1): the call that meets the
//     failure waits about that long, later calls do not try Redis until
//     the probe (every 500 ms) gets an answer. Retries are safe (a
//     ticket's marker makes a repeated admission count once) but slow.
//   - "local" (default, fail open): each replica admits against its own
//     in-memory quota.Limiter and budget.Tracker, built from the same rules
//     and budgets. Quota counters start from what this replica counted
//     itself, so during an outage N replicas together may admit up to N ×
//     each quota limit. Hard-limit budgets start from the cluster's last
//     known spend plus holds (read every 2 s while Redis answers;
//     budget.Tracker.Seed), so N replicas may together spend up to N ×
//     what was left of the limit, plus what was spent in the last 2 s.
//   - "closed" (fail closed): calls are refused with *Unavailable (the
//     server answers ServiceUnavailableException) until Redis answers.
//   - Reconciliation: when Redis answers again, before admission goes back
//     to the shared counters, what this replica settled locally during the
//     outage is added to Redis — tokens per day, budget spend, unpriced
//     counts and calls, aggregated per key, each batch applied exactly
//     once — and so are the settlements of tickets admitted in Redis that
//     could not reach it (their holds and reservations are released).
//     Per-minute buckets are not reconciled: they refill within a minute.
//     If Redis kept its data the totals are then exact; if it restarted
//     empty they hold what was settled since the outage began.
//   - Settlements never block a call: a bounded queue feeds the workers;
//     when it is full or Redis fails, settlements wait in a backlog
//     (modelwatch_shared_counters_pending_settlements) applied by the
//     probe in order. Close applies what it can and reports the rest.
//   - A replica that crashes leaves its calls' holds; they are released
//     Options.HoldTTL (default one hour) after admission by the next
//     admission on the budget, and its reservations drain from the
//     per-minute buckets within a minute.
//
// Notifications: PendingNotifications evaluates every budget's
// notifications on the shared totals with budget.EvaluateShared (the
// Tracker's own code) and marks each one fired with HSETNX on the
// period's hash, so that across replicas and leader changes each fires
// once per period; the caller delivers what it returns.
package sharedlimit
