// Package alarm implements CloudWatch metric alarms on modelwatch's own
// metric history (package history): static-threshold and anomaly
// detection alarms over the AWS/Bedrock metrics (or any PromQL), with
// CloudWatch's M-of-N and missing-data semantics, SNS-style webhook
// notifications, a remediation (rolling a model back to its fallback
// while an alarm is in ALARM), persisted state and transition history,
// and exports to CloudWatch PutMetricAlarm inputs and Prometheus alerting
// rules.
//
// Decisions:
//
//   - Metrics map to PromQL as the dashboard maps them: a datapoint is the
//     statistic over one Period ending at the evaluation time, e.g. Sum of
//     InvocationThrottles for ModelId X over 60s is
//     sum(increase(bedrock_invocation_throttles_total{model_id="X"}[1m])).
//     Without ModelId the metric is summed over every model. Counters of
//     events (Invocations, InvocationThrottles, InvocationClientErrors,
//     InvocationServerErrors) support Sum and SampleCount (the same
//     number: each event is a datapoint of 1); token counts support Sum,
//     SampleCount (calls) and Average (tokens per call); InvocationLatency
//     and TimeToFirstToken support Sum, SampleCount, Average and pNN
//     (histogram_quantile over the period). Latencies are in milliseconds,
//     CloudWatch's unit, so that thresholds mean the same in CloudWatch
//     and here. Minimum and Maximum are refused: a histogram keeps
//     neither, and the latency extremes gauges cover a sliding window, not
//     a period.
//   - A datapoint is stamped with its period's start, as CloudWatch's are.
//     The newest datapoint ends at the evaluation time truncated to the
//     evaluation interval (10 s or 1 min), so Run's rounds see whole
//     periods ending now. The evaluation range is N+2 datapoints (N=3 →
//     5, as CloudWatch). A NaN (0/0 averages with no calls) or absent
//     value is a missing datapoint.
//   - Missing data: all N present → those; ≥N real in the range → the
//     newest N real; otherwise breaching/notBreaching fill the gaps,
//     missing with nothing present is INSUFFICIENT_DATA and ignore keeps
//     the state. With some present under missing or ignore: ALARM when M
//     real points breach or by the premature-alarm guard (the oldest
//     breaching point in the window is at least M points old and every
//     newer one breaches or is missing: `- - X - -` alarms, `- - - X -`
//     and `- - - - X` stay put); OK when no filling could reach M
//     breaches; otherwise the state stays put.
//   - StateReason follows CloudWatch's single-datapoint wording exactly.
//     For several datapoints (wording unpublished): "Threshold Crossed: 2
//     out of the last 3 datapoints [6.0 (07/12/26 16:02:00), 5.0
//     (07/12/26 16:01:00)] were greater than the threshold (4.0) (minimum
//     2 datapoints for OK -> ALARM transition)." The datapoints listed are
//     the breaching ones (ALARM) or the non-breaching ones (OK), newest
//     first; the minimum is M for ALARM and N−M+1 for OK. The reason is
//     set on transitions only.
//   - Anomaly detection: one model per alarm, trained on up to 14 days of
//     the alarm's own datapoints before the evaluation range (queried at
//     most 10,000 points, so coarser than Period over long histories),
//     retrained once an hour. Fewer than 10 datapoints → INSUFFICIENT_DATA.
//     Under 3 h of history → mean ± k × standard deviation of what exists.
//     From 3 h: least-squares linear trend, then hour-of-day seasonality
//     (medians of the detrended values per UTC hour) once a day of history
//     exists, and hour-of-week seasonality once two weeks exist; the
//     spread is 1.4826 × the median absolute deviation of the residuals
//     (robust to the anomalies themselves), at least 1 % of the mean
//     magnitude so flat history does not give a zero-width band. The band
//     is expected ± k σ, clamped at 0 for AWS/Bedrock metrics (all counts
//     or durations); Expr alarms are not clamped.
//   - Actions run on state changes only, after the round's evaluation,
//     outside the lock: the Remediator first (Rollback(model, true) on
//     entering ALARM, false on leaving it), then the webhooks. A webhook
//     gets an SNS Notification envelope whose Message is CloudWatch's
//     alarm message; the default Notify POSTs it up to 3 times.
//   - State (state, reason, reason data, times, configuration timestamp
//     and the last 100 transitions) is saved as JSON to StatePath after
//     every round with a transition and every Replace. An alarm keeps its
//     state across restarts and reloads while its definition is unchanged
//     (compared by fingerprint); a changed one restarts in
//     INSUFFICIENT_DATA with its history. On start, alarms saved in ALARM
//     have their rollback applied again; alarms removed or changed while
//     in ALARM have it undone.
//   - Exports: PutMetricAlarmJSON gives CloudWatch's inputs; webhooks
//     become one SNS topic (TopicArn) to subscribe the endpoints to, and a
//     rollback has no CloudWatch equivalent. PrometheusRules gives one
//     alerting rule per alarm: the query compared with the threshold,
//     for: (M−1) × Period (M consecutive breaching periods; M-of-N with
//     gaps has no Prometheus equivalent), breaching missing data as
//     or absent(...). Anomaly rules compare with avg_over_time ±
//     k × stddev_over_time over a 1-day subquery at the alarm's period:
//     no seasonality, an approximation of the band evaluated here. The group
//     is evaluated every 10 s when an alarm has a period under a minute.
//     User text in labels and annotations is escaped from templating.
//   - Run evaluates on the real clock, on 10-second boundaries: alarms with
//     periods under a minute every 10 s, all alarms on whole minutes.
//     Evaluate is the same round for every alarm at a given time (tests).
//     A query error keeps the alarm's state and is reported in
//     Status.LastError and modelwatch_alarm_evaluations_total{result}.
//   - Messages: Trigger.Statistic is upper-case (SUM, AVERAGE,
//     SAMPLE_COUNT — the last UNVERIFIED); percentiles use StatisticType
//     ExtendedStatistic; anomaly alarms carry Metrics and
//     ThresholdMetricId instead of MetricName and Statistic; Expr alarms
//     carry Expression. Unknown regions keep their code as Region.
package alarm
