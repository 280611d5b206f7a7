// Package budget implements budgets on model spend the way AWS Budgets
// does them: a COST (USD) or USAGE (tokens) limit per DAILY, MONTHLY,
// QUARTERLY, ANNUALLY or CUSTOM period, a filter selecting the calls
// that count, ACTUAL and FORECASTED notifications with AWS Budgets'
// operators and threshold types, and, beyond AWS, an optional hard limit
// that refuses calls.
//
// Decisions:
//
//   - Periods. Calendar units start at the UTC start of the day, month,
//     quarter (Jan/Apr/Jul/Oct) or year and roll over there; spend,
//     unpriced and call counts and notification states reset and the
//     closed period's final numbers are kept as Status.Previous. CUSTOM
//     is [Start, End). Start/End on a calendar unit only bound when the
//     budget is active. Outside its bounds a budget neither counts nor
//     refuses calls.
//   - A call's spend counts in the period current when it settles; a
//     hold made before a rollover is released after it.
//   - USAGE counts input + output + cache-read + cache-write tokens
//     (UsageTokens); the caller passes that sum to Settle, and input
//     estimate + max output to Reserve.
//   - Amounts are exact: COST spend is kept in int64 nano-dollars, USAGE
//     in tokens, so concurrent sums do not depend on order.
//   - Hard limits. Reserve holds the call's worst case on every matching
//     HardLimit budget and refuses (*Exceeded, naming the budget, the
//     period and when it resets) when actual + held + worst case would
//     pass the limit. It is all-or-nothing across budgets, under one
//     mutex, so racing calls can never take actual + held past a limit.
//     Settle may still push actual above the limit when a call costs
//     more than its estimate; later calls are then refused.
//   - Dollars are never invented. An unpriced call (usdKnown/priced
//     false) holds nothing and adds $0 to COST budgets but increments
//     their Unpriced count, which Status reports so the dashboard shows
//     "unpriced" rather than silent $0. It is admitted by a COST hard
//     limit unless the budget is already used up.
//   - Forecast. AWS forecasts from a usage profile; we use a run rate:
//     actual + actual / elapsed × remaining, available once 10 % of the
//     period has elapsed (DAILY 2.4 h, MONTHLY ~3 days); before that
//     Status.ForecastAvailable is false, the forecast metric is absent
//     and FORECASTED notifications wait.
//   - Notifications fire once per notification per period (state ALARM
//     until the period ends, persisted across restarts). PERCENTAGE
//     (the default) is a percentage of Limit. GREATER_THAN fires when
//     the amount is strictly above the threshold; EQUAL_TO when it
//     reaches it (spend moves in steps, so exact equality would mostly be
//     missed); FORECASTED LESS_THAN when a forecast exists and is below;
//     ACTUAL LESS_THAN when a period closes below it. Thresholds are
//     checked when spend is settled (and on reload and rollover), and
//     Options.Notify runs in its own goroutine. PostWebhooks delivers a
//     Message as an SNS-style Notification with bounded retries.
//   - Persistence. Options.StatePath holds, per budget, the current
//     period's spend and notification states and the previous period,
//     written atomically about once a second when changed and on Close.
//     A record is restored only into a budget with the same name, type,
//     time unit, bounds and filter; an unreadable state file fails New
//     rather than silently resetting hard limits.
//   - Replace keeps spend, holds and notification states of budgets whose
//     name, type, time unit, bounds and filter are unchanged; limits,
//     notifications and HardLimit may change without a reset.
//   - Refusals map to ServiceQuotaExceededException (HTTP 400, not
//     retryable) with RetryAfter until the reset (Exceeded.APIError).
//
// Metrics: modelwatch_budget_spend{budget}, modelwatch_budget_limit{budget},
// modelwatch_budget_forecast{budget}, modelwatch_budget_refusals_total{budget},
// modelwatch_budget_notifications_total{budget,type}.
package budget
