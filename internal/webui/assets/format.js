// Pure helpers of the dashboard: number and unit formatting, time ranges and
// steps, PromQL $range substitution, the tiny Markdown subset of text
// widgets and the governance page's texts (amounts, thresholds, periods,
// alarm conditions, audit outcomes). No DOM access here, so the browser test can import this module and
// check the functions directly.

/** Time ranges of the picker, in seconds. */
export const RANGES = [
  { id: '1h', label: 'Last 1 hour', seconds: 3600 },
  { id: '6h', label: 'Last 6 hours', seconds: 6 * 3600 },
  { id: '24h', label: 'Last 24 hours', seconds: 24 * 3600 },
  { id: '7d', label: 'Last 7 days', seconds: 7 * 86400 },
  { id: '15d', label: 'Last 15 days', seconds: 15 * 86400 },
];

/** Auto-refresh choices, in seconds (0 = off). */
export const REFRESHES = [
  { id: 'off', label: 'Off', seconds: 0 },
  { id: '5s', label: '5 s', seconds: 5 },
  { id: '10s', label: '10 s', seconds: 10 },
  { id: '30s', label: '30 s', seconds: 30 },
  { id: '1m', label: '1 min', seconds: 60 },
];

/** The auto-refresh of a browser that has not chosen one: live. */
export const DEFAULT_REFRESH = '10s';

/** The most points a chart is asked for. */
export const MAX_POINTS = 300;

// Steps are picked from round values, so that a chart's points are evenly
// spaced by a step people can read ("a point every 15 seconds"). Below a
// minute they go down to one second; the history's resolution bounds them.
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/**
 * pickStep returns the query step (seconds) for a span of time: the smallest
 * round step that is not finer than the history resolution and draws the
 * span in at most MAX_POINTS points, counting both ends (a grid of
 * ceil(span / step) steps).
 */
export function pickStep(rangeSeconds, resolutionSeconds = 60) {
  const min = Math.max(1, resolutionSeconds, rangeSeconds / (MAX_POINTS - 1));
  for (const s of NICE_STEPS) {
    if (s >= min) return s;
  }
  return Math.ceil(min / 86400) * 86400;
}

/**
 * rateWindow is the PromQL range of graph queries: the step, but at least
 * four history intervals (Prometheus's advice for rate windows), so that
 * rate() and increase() always find two samples even when sampling jitters.
 */
export function rateWindow(step, resolutionSeconds = 60) {
  return Math.max(step, 4 * resolutionSeconds);
}

/**
 * chartWindow is the time window of a refresh's charts. It ends at now
 * (to the millisecond: the refresh's sample time); it covers the selected range, or — when the history
 * began later than the range's start — only the time since the first
 * sample, so a young server's few minutes fill the chart instead of a
 * corner of an empty axis. The step is picked for the span drawn, and the
 * points lie on a grid ending at now: start = end - k·step, the grid point
 * at or before the range's start (or the first sample).
 *
 * firstSample is the history's first sample (unix seconds), or null when
 * unknown or empty: then the selected range is drawn. It returns
 * {start, end, step, window (the rate window), span (end - start),
 * clamped (true when the window starts at the first sample), since (the
 * history's age in seconds, when clamped)}.
 */
export function chartWindow(nowSeconds, rangeSeconds, resolutionSeconds = 60, firstSample = null) {
  // The refresh's sample time, to the millisecond: the last point is then
  // evaluated exactly at that sample.
  const end = Math.round(nowSeconds * 1000) / 1000;
  let from = end - rangeSeconds;
  let clamped = false;
  if (firstSample !== null && firstSample !== undefined && Number.isFinite(firstSample) && firstSample > from) {
    from = Math.min(firstSample, end);
    clamped = true;
  }
  const wanted = end - from;
  const step = pickStep(wanted, resolutionSeconds);
  const k = Math.max(1, Math.ceil(wanted / step - 1e-9));
  const start = end - k * step;
  return {
    start, end, step, window: rateWindow(step, resolutionSeconds), span: end - start,
    clamped, since: clamped ? Math.max(0, nowSeconds - firstSample) : null,
  };
}

/** promDuration renders seconds as a PromQL duration (90 → "90s", 3600 → "1h"). */
export function promDuration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** substituteRange replaces every $range in a PromQL query. */
export function substituteRange(promql, seconds) {
  return String(promql).replaceAll('$range', promDuration(seconds));
}

/** localDayStart and localMonthStart are the starts (unix seconds) of the day and the month of a time, in the viewer's time zone. */
export function localDayStart(nowSeconds) {
  const d = new Date(nowSeconds * 1000);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() / 1000;
}

export function localMonthStart(nowSeconds) {
  const d = new Date(nowSeconds * 1000);
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime() / 1000;
}

/**
 * expandQuery substitutes the dashboard's placeholders (internal/dashboard
 * ExpandQuery): $range by the given window, $today and $month by the time
 * since the start of the day and of the month in the viewer's time zone,
 * rounded down to the second and at least one second.
 */
export function expandQuery(promql, rangeSeconds, nowSeconds) {
  const since = (start) => Math.max(1, Math.floor(nowSeconds - start));
  return String(promql)
    .replaceAll('$range', promDuration(rangeSeconds))
    .replaceAll('$today', promDuration(since(localDayStart(nowSeconds))))
    .replaceAll('$month', promDuration(since(localMonthStart(nowSeconds))));
}

/** isCumulative says whether a query sums a counter over its window (its points are "per window"). */
export function isCumulative(promql) {
  return /\bincrease\s*\(/.test(promql) && !/\brate\s*\(|histogram_quantile/.test(promql);
}

/**
 * humanAge renders how long a time span is, rounded down to its largest
 * unit, for sentences like "the history began 2 minutes ago".
 */
export function humanAge(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [n, name] of units) {
    if (s >= n) {
      const v = Math.floor(s / n);
      return `${v} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  return '0 seconds';
}

/** humanDuration renders seconds for people ("2 minutes", "1 hour"). */
export function humanDuration(seconds) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [n, name] of units) {
    if (seconds >= n && seconds % n === 0) {
      const v = seconds / n;
      return `${v} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const UNIT_NAMES = { count: '', tokens: 'tokens', seconds: '', usd: '', percent: '' };

/** unitLabel is the axis label of a unit. */
export function unitLabel(unit) {
  switch (unit) {
    case 'tokens': return 'tokens';
    case 'seconds': return 'latency';
    case 'usd': return 'USD';
    case 'percent': return 'percent';
    default: return 'count';
  }
}

// trim removes trailing zeros of a fixed-point rendering ("1.50" → "1.5").
function trim(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** compact renders a count with k/M/B suffixes: 999 → "999", 1234 → "1.23k". */
export function compact(v) {
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a >= 1e9) return sign + trim((a / 1e9).toPrecision(3)) + 'B';
  if (a >= 1e6) return sign + trim((a / 1e6).toPrecision(3)) + 'M';
  if (a >= 1e3) return sign + trim((a / 1e3).toPrecision(3)) + 'k';
  if (Number.isInteger(v)) return String(v);
  if (a >= 100) return sign + String(Math.round(a));
  if (a >= 1) return sign + trim(a.toFixed(2));
  if (a === 0) return '0';
  return sign + trim(a.toPrecision(2));
}

/** formatSeconds renders a duration in seconds as "235 ms", "1.24 s" or "2.5 min". */
export function formatSeconds(v) {
  const a = Math.abs(v);
  if (a === 0) return '0 ms';
  if (a < 0.001) return `${trim((v * 1e6).toPrecision(3))} µs`;
  if (a < 0.01) return `${trim((v * 1000).toFixed(1))} ms`;
  if (a < 1) return `${Math.round(v * 1000)} ms`;
  if (a < 60) return `${trim(v.toFixed(2))} s`;
  return `${trim((v / 60).toFixed(1))} min`;
}

/**
 * formatUSD renders dollars with 2 decimals, or up to 4 below one dollar so
 * that per-call costs are not all "$0.00"; below $0.0001 it says so.
 */
export function formatUSD(v) {
  const a = Math.abs(v);
  const sign = v < 0 ? '-' : '';
  if (a === 0) return '$0.00';
  if (a < 0.0001) return `${sign}<$0.0001`;
  // Cents from a dime up; four decimals below, so per-call costs are not
  // all "$0.00".
  if (a < 0.1) return `${sign}$${a.toFixed(4)}`;
  if (a < 1) return `${sign}$${a.toFixed(2)}`;
  if (a >= 1e6) return `${sign}$${trim((a / 1e6).toPrecision(3))}M`;
  return sign + '$' + a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** formatPercent renders a value already in percent (0–100). */
export function formatPercent(v) {
  const a = Math.abs(v);
  if (a === 0) return '0%';
  if (a < 0.1) return '<0.1%';
  if (a >= 100) return `${Math.round(v)}%`;
  return `${trim(v.toFixed(1))}%`;
}

/**
 * formatParts renders a value in a unit as {text, suffix}: the number and the
 * unit word shown after it (smaller) in value widgets. NaN and infinities
 * have no value.
 */
export function formatParts(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return { text: '—', suffix: '' };
  switch (unit) {
    case 'seconds': {
      const s = formatSeconds(v);
      const i = s.lastIndexOf(' ');
      return { text: s.slice(0, i), suffix: s.slice(i + 1) };
    }
    case 'usd': return { text: formatUSD(v), suffix: '' };
    case 'percent': return { text: formatPercent(v), suffix: '' };
    case 'tokens': return { text: compact(v), suffix: 'tokens' };
    default: return { text: compact(v), suffix: UNIT_NAMES[unit] || '' };
  }
}

/** formatValue renders a value in a unit as one string ("235 ms", "1.23k tokens"). */
export function formatValue(v, unit) {
  const p = formatParts(v, unit);
  return p.suffix ? `${p.text} ${p.suffix}` : p.text;
}

/** formatAxis renders an axis tick: like formatValue, without the word "tokens". */
export function formatAxis(v, unit) {
  if (v === null || !Number.isFinite(v)) return '';
  if (unit === 'tokens' || unit === 'count' || !unit) return compact(v);
  return formatValue(v, unit);
}

/**
 * formatTicks renders the ticks of an axis. Dollar ticks share one number of
 * decimals, enough to tell neighbours apart ($0.05, $0.10 — not $0.0500,
 * $0.10; $7,000 — not $7,000.00).
 */
export function formatTicks(vals, unit) {
  if (unit !== 'usd' || vals.length < 2) return vals.map((v) => formatAxis(v, unit));
  const inc = Math.abs(vals[1] - vals[0]) || 1;
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(inc) - 1e-9)));
  return vals.map((v) => (v === null || !Number.isFinite(v) ? ''
    : `${v < 0 ? '-' : ''}$${Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })}`));
}

/** formatInteger renders an exact count with thousands separators. */
export function formatInteger(v) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  return Number(v).toLocaleString('en-US');
}

/** escapeHTML makes text safe to put inside HTML. */
export function escapeHTML(s) {
  return String(s)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// safeHref keeps links to the web and to pages of the dashboard only.
function safeHref(href) {
  const h = href.trim();
  return /^(https?:\/\/|#|\/)/i.test(h) ? h : null;
}

// inline renders **bold**, `code` and [text](url) in escaped text.
function inline(text) {
  let s = escapeHTML(text);
  s = s.replace(/`([^`]+)`/g, '<code>$1</code>');
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, label, href) => {
    // href is escaped already; unescape &amp; for the check only.
    const ok = safeHref(href.replaceAll('&amp;', '&'));
    if (!ok) return label;
    const external = /^https?:/i.test(ok) ? ' target="_blank" rel="noopener noreferrer"' : '';
    return `<a href="${href}"${external}>${label}</a>`;
  });
  return s;
}

/**
 * markdown renders the subset text widgets use — headings (#, ##, ###),
 * paragraphs, **bold**, `code`, [links](https://…) and "- " lists — as HTML.
 * Everything else is escaped, so widget text can never inject markup.
 */
export function markdown(src) {
  const out = [];
  let para = [];
  let list = [];
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    if (list.length) out.push(`<ul>${list.map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`);
    para = [];
    list = [];
  };
  for (const raw of String(src || '').split(/\r?\n/)) {
    const line = raw.trim();
    const h = /^(#{1,3})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      // Page titles are h1; widget headings start at h2.
      const level = h[1].length + 1;
      out.push(`<h${level}>${inline(h[2])}</h${level}>`);
    } else if (/^[-*]\s+/.test(line)) {
      if (para.length) { out.push(`<p>${inline(para.join(' '))}</p>`); para = []; }
      list.push(line.replace(/^[-*]\s+/, ''));
    } else if (line === '') {
      flush();
    } else {
      if (list.length) { out.push(`<ul>${list.map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`); list = []; }
      para.push(line);
    }
  }
  flush();
  return out.join('');
}

/** seriesLabel names one result series of a query that returned several. */
export function seriesLabel(base, metric) {
  const m = metric || {};
  const keys = Object.keys(m).filter((k) => k !== '__name__');
  let own = '';
  if (m.model_id) own = m.model_id;
  else if (m.principal) own = m.principal;
  else if (keys.length) own = keys.sort().map((k) => `${k}=${m[k]}`).join(', ');
  if (!base) return own || 'value';
  return own ? `${base} · ${own}` : base;
}

// Units of the AWS/Bedrock metrics a series may name, for columns of tables
// whose widget has no single unit.
const METRIC_UNITS = {
  InvocationLatency: 'seconds',
  TimeToFirstToken: 'seconds',
  InputTokenCount: 'tokens',
  OutputTokenCount: 'tokens',
  CacheReadInputTokenCount: 'tokens',
  CacheWriteInputTokenCount: 'tokens',
};

/**
 * seriesUnit is the unit of one series: its own, else that of the
 * CloudWatch metric it names, else the widget's, else a guess from the
 * PromQL.
 */
export function seriesUnit(series, widgetUnit) {
  if (series && series.unit) return series.unit;
  if (series && METRIC_UNITS[series.metric]) return METRIC_UNITS[series.metric];
  if (series && /^(Invocations|InvocationClientErrors|InvocationServerErrors|InvocationThrottles|OutputImageCount|LegacyModelInvocations)$/.test(series.metric || '')) return 'count';
  if (widgetUnit) return widgetUnit;
  const q = (series && series.promql) || '';
  if (/cost_dollars/.test(q)) return 'usd';
  if (/histogram_quantile|_seconds_sum|_seconds_bucket/.test(q)) return 'seconds';
  if (/_tokens_total/.test(q)) return 'tokens';
  return 'count';
}

/** relativeTime renders how long ago a time was ("12 s ago", "3 min ago"). */
export function relativeTime(then, now) {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// ---------------------------------------------------------------- governance

/** isMoney says whether a budget's unit is a currency (USD): its amounts are money, not counts. */
export function isMoney(unit) {
  return /^usd$/i.test(String(unit || ''));
}

/**
 * formatAmount renders an amount of a budget or quota in its unit: money
 * as dollars ("$12.34"), anything else as an exact count with its unit
 * word ("1,250,000 tokens"). Missing and non-finite amounts are "—",
 * never $0.
 */
export function formatAmount(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  if (isMoney(unit)) return formatUSD(Number(v));
  const u = String(unit || '').trim();
  const word = u && !/^(count|none)$/i.test(u) ? ` ${u.toLowerCase()}` : '';
  return formatInteger(v) + word;
}

/**
 * percentOf is used as a percentage of limit (0–100 and beyond), or null
 * when there is no limit (0, negative or missing: "no such limit").
 */
export function percentOf(used, limit) {
  const u = Number(used);
  const l = Number(limit);
  if (!Number.isFinite(u) || !Number.isFinite(l) || l <= 0) return null;
  return (u / l) * 100;
}

/** barLevel names how full a bar is: "ok" below 80%, "warn" from 80%, "over" from 100%. */
export function barLevel(pct) {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'none';
  if (pct >= 100) return 'over';
  if (pct >= 80) return 'warn';
  return 'ok';
}

const BUDGET_COMPARISONS = { GREATER_THAN: '>', LESS_THAN: '<', EQUAL_TO: '=' };

/**
 * thresholdText renders a budget notification's condition, like AWS
 * Budgets says it: "Actual > 80% ($80.00)" for a percentage of the limit,
 * "Forecasted > $90.00" for an absolute value.
 */
export function thresholdText(n, limit, unit) {
  const kind = String(n.type || '').toLowerCase();
  const what = kind ? kind[0].toUpperCase() + kind.slice(1) : 'Actual';
  const op = BUDGET_COMPARISONS[n.comparison] || n.comparison || '>';
  if (n.thresholdType === 'ABSOLUTE_VALUE') return `${what} ${op} ${formatAmount(n.threshold, unit)}`;
  const abs = Number.isFinite(Number(limit)) && Number(limit) > 0 ? ` (${formatAmount((Number(limit) * n.threshold) / 100, unit)})` : '';
  return `${what} ${op} ${trim(Number(n.threshold).toFixed(2))}%${abs}`;
}

/**
 * periodText renders a budget period [start, end) in UTC, where budget
 * periods are defined: "Dec 1 – Dec 31, 2026" (the end is exclusive, so
 * the last day shown is the day before it), "Dec 7, 2026" for a day.
 */
export function periodText(start, end) {
  const s = Date.parse(start);
  const e = Date.parse(end);
  if (!Number.isFinite(s) || !Number.isFinite(e)) return '—';
  const last = new Date(Math.max(s, e - 1));
  const first = new Date(s);
  const day = { timeZone: 'UTC', month: 'short', day: 'numeric' };
  const year = { ...day, year: 'numeric' };
  const sameYear = first.getUTCFullYear() === last.getUTCFullYear();
  if (first.toISOString().slice(0, 10) === last.toISOString().slice(0, 10)) return first.toLocaleDateString('en-US', year);
  return `${first.toLocaleDateString('en-US', sameYear ? day : year)} – ${last.toLocaleDateString('en-US', year)}`;
}

const ALARM_STATES = {
  OK: { label: 'OK', cls: 'ok' },
  ALARM: { label: 'Alarm', cls: 'err' },
  INSUFFICIENT_DATA: { label: 'Insufficient data', cls: 'nodata' },
};

/**
 * stateBadge is the text and class of an alarm or notification state:
 * the pill says it in words ("Alarm", "Insufficient data"), colour only
 * repeats it.
 */
export function stateBadge(state) {
  return ALARM_STATES[state] || { label: String(state || 'Unknown'), cls: 'nodata' };
}

const ALARM_COMPARISONS = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '≥',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '≤',
};

const BAND_COMPARISONS = {
  LessThanLowerOrGreaterThanUpperThreshold: 'outside',
  GreaterThanUpperThreshold: 'above',
  LessThanLowerThreshold: 'below',
};

/**
 * alarmCondition renders when an alarm fires, as CloudWatch's console
 * does: "> 10 for 2 of 3 datapoints of 1 minute", or for an anomaly
 * detection alarm "outside the band (2 standard deviations) for …".
 */
export function alarmCondition(a) {
  let cond;
  if (BAND_COMPARISONS[a.comparison] || (a.threshold === null || a.threshold === undefined)) {
    const where = BAND_COMPARISONS[a.comparison] || 'outside';
    const width = Number.isFinite(a.anomalyBand) ? ` (${trim(Number(a.anomalyBand).toFixed(2))} standard deviation${a.anomalyBand === 1 ? '' : 's'})` : '';
    cond = `${where} the band${width}`;
  } else {
    cond = `${ALARM_COMPARISONS[a.comparison] || a.comparison} ${compact(a.threshold)}`;
  }
  const m = a.datapointsToAlarm || a.evaluationPeriods;
  const n = a.evaluationPeriods;
  const per = a.periodSeconds > 0 ? ` of ${humanDuration(a.periodSeconds)}` : '';
  if (n) cond += ` for ${m} of ${n} datapoint${n === 1 ? '' : 's'}${per}`;
  return cond;
}

/** isAnomalyAlarm says whether an alarm compares with a band (anomaly detection) rather than a threshold. */
export function isAnomalyAlarm(a) {
  return Boolean(a) && (BAND_COMPARISONS[a.comparison] !== undefined
    || ((a.threshold === null || a.threshold === undefined) && Number.isFinite(a.anomalyBand)));
}

/**
 * auditPrincipal names who made a CloudTrail event: the user name, else
 * the last part of the ARN, else the principal ID or identity type.
 */
export function auditPrincipal(ev) {
  const u = (ev && ev.userIdentity) || {};
  if (u.userName) return u.userName;
  if (u.arn) {
    const i = u.arn.lastIndexOf('/');
    return i >= 0 ? u.arn.slice(i + 1) : u.arn;
  }
  return u.principalId || u.type || '—';
}

/** auditOutcome is an event's outcome: its error code, or "OK". */
export function auditOutcome(ev) {
  return (ev && ev.errorCode) || 'OK';
}

/** isAccessDenied says whether an event was refused for want of permission. */
export function isAccessDenied(ev) {
  return /AccessDenied|Unauthorized|Forbidden|NotAuthorized/i.test((ev && ev.errorCode) || '');
}

/** The actions a principal needs for each section of the governance page. */
export const GOVERNANCE_ACTIONS = {
  budgets: 'budgets:ViewBudget',
  alarms: 'cloudwatch:DescribeAlarms',
  quotas: 'servicequotas:GetServiceQuota',
  policies: 'iam:GetPolicy',
  audit: 'cloudtrail:LookupEvents',
};

/** notPermittedText says which action a section needs: "Your principal may not read budgets (budgets:ViewBudget)". */
export function notPermittedText(section) {
  const what = section === 'audit' ? 'the audit trail' : section;
  return `Your principal may not read ${what} (${GOVERNANCE_ACTIONS[section] || '?'})`;
}
