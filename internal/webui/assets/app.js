// modelwatch dashboard: a hash-routed single page over the data APIs of the
// same server — /api/dashboard (the dashboard model), the Prometheus HTTP API
// (/api/v1/query, /api/v1/query_range), /api/history (how far back the
// metric history goes) and /api/invocations. No framework: pages are built
// with the small el() helper; charts are uPlot.
//
// Routes: #/ (first section: all models), #/model/<sectionId>, #/cost,
// #/invocations, #/invocations/<requestId>, #/governance (budgets, alarms,
// quotas, policies and the audit trail, from /api/governance and
// /api/audit).
import {
  RANGES, REFRESHES, DEFAULT_REFRESH, chartWindow, expandQuery, humanDuration, humanAge, isCumulative,
  formatParts, formatValue, formatTicks, formatInteger, unitLabel, markdown,
  seriesLabel, seriesUnit, relativeTime, escapeHTML,
  formatAmount, percentOf, barLevel, thresholdText, periodText, stateBadge, alarmCondition, isAnomalyAlarm,
  auditPrincipal, auditOutcome, isAccessDenied, notPermittedText, formatPercent,
} from './format.js';

const body = document.body;
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const resolution = Number(body.dataset.resolution) || 60;
const KEY_NAME = 'modelwatch.apiKey';
const COLORS = ['#2f5bd3', '#e8590c', '#0f9d76', '#9c36b5', '#d6336c', '#1098ad', '#74b816', '#f59f00', '#495057'];

const state = {
  dashboard: null,
  dashboardError: null,
  range: localStorage.getItem('modelwatch.range') || '6h',
  refresh: localStorage.getItem('modelwatch.refresh') || DEFAULT_REFRESH,
  timer: 0,
  page: null,        // {refresh(): Promise, destroy()}
  generation: 0,     // bumped per render; stale async work checks it
};

// ---------------------------------------------------------------- DOM helper

/** el builds an element: el('div', {class: 'x', onclick: f}, child, 'text', ...). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'html') e.innerHTML = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---------------------------------------------------------------- API access

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY_NAME) || localStorage.getItem(KEY_NAME) || '';
}

/** api GETs a JSON API of the server, with the API key if one is set. */
async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) url.searchParams.set(k, v);
  const headers = { Accept: 'application/json' };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let res;
  try {
    res = await fetch(url, { headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `modelwatch is not reachable (${e.message})`);
  }
  let data = null;
  const text = await res.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new ApiError(res.status, `${path} did not return JSON`);
  }
  if (!res.ok || (data && data.status === 'error')) {
    const msg = (data && (data.error || data.message)) || text.trim() || res.statusText;
    throw new ApiError(res.status, `${msg}`);
  }
  return data;
}

/**
 * query runs an instant PromQL query; it returns [{metric, value}] (scalars
 * become one element). at is the refresh's time: the time of the live
 * sample /api/history took for it, so every query of one refresh is
 * evaluated at exactly that sample (the counters as they were when the
 * refresh began, exact, and consistent across widgets). Without it (a
 * server without /api/history) no time is sent and the server evaluates
 * the query at a sample of its own present.
 */
async function query(promql, at) {
  const params = { query: promql };
  if (at !== null && at !== undefined) params.time = String(at);
  const data = await api('/api/v1/query', params);
  const d = (data && data.data) || {};
  if (d.resultType === 'scalar') return [{ metric: {}, value: Number(d.result[1]) }];
  if (d.resultType !== 'vector') throw new ApiError(200, `expected an instant vector, got ${d.resultType || 'nothing'}`);
  return (d.result || []).map((r) => ({ metric: r.metric || {}, value: Number(r.value[1]) }));
}

/** queryRange runs a range query; it returns [{metric, values: [[t, v]...]}]. */
async function queryRange(promql, start, end, step) {
  const data = await api('/api/v1/query_range', {
    query: promql, start: String(start), end: String(end), step: String(step),
  });
  const d = (data && data.data) || {};
  if (d.resultType !== 'matrix') throw new ApiError(200, `expected a range vector, got ${d.resultType || 'nothing'}`);
  return (d.result || []).map((r) => ({
    metric: r.metric || {},
    values: (r.values || []).map(([t, v]) => [Number(t), Number(v)]),
  }));
}

// ---------------------------------------------------------------- time range

function currentRange() {
  return RANGES.find((r) => r.id === state.range) || RANGES[1];
}

/**
 * history asks the metric history for a live sample and how far back it
 * goes: {sampleTime, firstSample, intervalSeconds}, or null when
 * the server cannot say (an older server, or a 401 that the widgets then
 * show themselves).
 */
async function history() {
  try {
    const h = await api('/api/history');
    if (!h || typeof h !== 'object') return null;
    const num = (v) => (Number.isFinite(v) ? v : null);
    return {
      sampleTime: num(h.sampleTime),
      firstSample: num(h.firstSample),
      intervalSeconds: Number.isFinite(h.intervalSeconds) && h.intervalSeconds > 0 ? h.intervalSeconds : null,
    };
  } catch {
    return null;
  }
}

/**
 * timeContext fixes the time of one refresh, so all widgets agree. It
 * first asks /api/history for a live sample: its time is the refresh's
 * "now" (ctx.at, sent with every instant query, and the end of every
 * chart), so tiles, tables and the last point of each chart are the
 * counters as they were at that one sample, exactly. Without it, now is
 * the browser's clock in whole seconds and instant queries go without a
 * time. ctx.now also expands $today and $month; ctx.win is the charts'
 * window (see chartWindow in format.js), ending at now and starting no
 * earlier than the history's first sample.
 */
async function timeContext() {
  const r = currentRange();
  const h = await history();
  const at = h ? h.sampleTime : null;
  const now = at ?? Math.floor(Date.now() / 1000);
  const res = (h && h.intervalSeconds) || resolution;
  return { range: r, now, at, win: chartWindow(now, r.seconds, res, h ? h.firstSample : null) };
}

// ---------------------------------------------------------------- errors

/** errorBox renders an API error inline; a 401 offers to enter the API key. */
function errorBox(err, what) {
  if (err && err.status === 401) {
    return el('div', { class: 'widget-error', role: 'alert' },
      el('strong', {}, 'API key required'),
      el('span', {}, 'The data APIs need an API key.'),
      el('button', { type: 'button', class: 'button link-button', onclick: openKeyDialog }, 'Enter API key'));
  }
  return el('div', { class: 'widget-error', role: 'alert' },
    el('strong', {}, what || 'Query failed'),
    el('code', {}, err && err.message ? err.message : String(err)));
}

function emptyBox(title, detail) {
  return el('div', { class: 'empty' }, el('strong', {}, title), detail ? el('span', {}, detail) : null);
}

// ---------------------------------------------------------------- widgets

/**
 * buildWidget builds one tile of a section. Each kind has a load(ctx) that
 * queries and replaces the tile's body in one step, so a refresh never
 * shows a blank tile.
 */
function buildWidget(w, section) {
  const kind = w.kind;
  const tile = el('section', {
    class: 'widget', dataset: { kind, title: w.title || '' },
    'aria-label': w.title || kind,
  });
  tile.style.gridColumn = `span ${Math.min(24, Math.max(1, w.width || 6))}`;
  tile.style.gridRow = `span ${Math.max(1, w.height || (kind === 'graph' ? 6 : 3))}`;
  const bodyEl = el('div', { class: 'widget-body' });
  const unitEl = el('span', { class: 'widget-unit' });
  if (kind !== 'text') {
    tile.append(el('header', {}, el('h2', { class: 'widget-title', title: w.title }, w.title || ''), unitEl));
  } else if ((w.height || 2) > 2) {
    // A tall text widget is a note (the "unpriced" cost panel), not a heading.
    tile.classList.add('note');
  }
  tile.append(bodyEl);
  const widget = {
    tile, body: bodyEl, unitEl, chart: null,
    destroy() { if (this.chart) this.chart.destroy(); },
  };
  switch (kind) {
    case 'text':
      bodyEl.innerHTML = markdown(w.text || w.title || '');
      widget.load = async () => {};
      break;
    case 'value':
      widget.load = (ctx) => loadValue(widget, w, ctx);
      break;
    case 'graph':
      widget.load = (ctx) => loadGraph(widget, w, ctx);
      break;
    case 'table':
      widget.load = (ctx) => loadTable(widget, w, ctx, section);
      break;
    default:
      bodyEl.replaceChildren(emptyBox(`Unknown widget kind “${kind}”`, 'This version of the dashboard cannot draw it.'));
      widget.load = async () => {};
  }
  return widget;
}

/** visible are the series a widget draws: Hidden ones only feed the CloudWatch export's metric math. */
function visible(w) {
  return (w.series || []).filter((s) => !s.hidden);
}

/** unitWords is the unit shown in a tile's header. */
function unitWords(unit) {
  switch (unit) {
    case 'seconds': return 'latency';
    case 'usd': return 'USD';
    case 'percent': return '%';
    case 'tokens': return 'tokens';
    default: return '';
  }
}

/** noData says there is nothing in the window, naming it. */
function noDataText(ctx) {
  return `No data yet in the ${ctx.range.label.toLowerCase()}`;
}

/**
 * queryAll runs the instant queries of a widget's series over the selected
 * range; a failure is shown in the widget and rethrown.
 */
async function queryAll(widget, series, ctx) {
  try {
    return await Promise.all(series.map((s) => query(expandQuery(s.promql, ctx.range.seconds, ctx.now), ctx.at)));
  } catch (e) {
    widget.body.replaceChildren(errorBox(e));
    throw e;
  }
}

async function loadValue(widget, w, ctx) {
  const series = visible(w);
  if (!series.length) {
    widget.body.replaceChildren(emptyBox('No query', 'This widget has no series.'));
    return;
  }
  const results = await queryAll(widget, series, ctx);
  // One item per result element; an empty result is "no data".
  const items = [];
  results.forEach((res, i) => {
    const s = series[i];
    const unit = seriesUnit(s, w.unit);
    const base = series.length > 1 ? s.label : '';
    if (!res.length) items.push({ label: base, value: null, unit });
    for (const r of res) items.push({ label: res.length > 1 ? seriesLabel(s.label, r.metric) : base, value: r.value, unit });
  });
  const list = el('div', { class: `value-list${items.length > 2 ? ' many' : ''}` });
  for (const it of items.slice(0, 6)) {
    let number;
    let note = it.label;
    if (it.value === null || (Number.isNaN(it.value) && it.unit !== 'usd')) {
      // No series, or 0/0 (an average without calls).
      number = el('div', { class: 'value' }, el('span', { class: 'value-number nodata' }, '—'));
      note = it.label ? `${it.label} · no data yet` : 'No data yet';
    } else if (Number.isNaN(it.value)) {
      // A cost of NaN means the model has no price: never show it as $0.
      number = el('div', { class: 'value' }, el('span', { class: 'value-number' }, el('span', { class: 'badge unpriced big' }, 'unpriced')));
    } else {
      const p = formatParts(it.value, it.unit);
      number = el('div', { class: 'value', title: String(it.value) },
        el('span', { class: 'value-number' }, p.text),
        p.suffix ? el('span', { class: 'value-suffix' }, p.suffix) : null);
    }
    list.append(el('div', { class: 'value-item' }, number, note ? el('div', { class: 'value-label' }, note) : null));
  }
  widget.body.replaceChildren(list);
}

async function loadGraph(widget, w, ctx) {
  const series = visible(w);
  const unit = w.unit || seriesUnit(series[0], '');
  const perWindow = ['count', 'tokens', 'usd'].includes(unit) && series.every((s) => isCumulative(s.promql));
  const { win } = ctx;
  let results;
  try {
    results = await Promise.all(series.map((s) =>
      queryRange(expandQuery(s.promql, win.window, ctx.now), win.start, win.end, win.step)));
  } catch (e) {
    if (widget.chart) { widget.chart.destroy(); widget.chart = null; }
    widget.tile.dataset.points = '0';
    widget.body.replaceChildren(errorBox(e));
    throw e;
  }
  widget.unitEl.textContent = [unitWords(unit), perWindow ? `per ${humanDuration(win.window).replace(/^1 /, '')}` : '']
    .filter(Boolean).join(' ');
  // Align every series on the query's own grid of timestamps, matched to
  // the millisecond (the grid ends at a sample time with a fraction of a
  // second, which float sums do not reproduce bit for bit).
  const xs = [];
  const n = Math.round((win.end - win.start) / win.step);
  for (let k = 0; k <= n; k++) xs.push(Math.round((win.start + k * win.step) * 1000) / 1000);
  const ms = (t) => Math.round(t * 1000);
  const index = new Map(xs.map((t, i) => [ms(t), i]));
  const lines = [];
  results.forEach((res, i) => {
    const s = series[i];
    for (const r of res) {
      const ys = new Array(xs.length).fill(null);
      let any = false;
      for (const [t, v] of r.values) {
        const j = index.get(ms(t));
        if (j !== undefined && Number.isFinite(v)) { ys[j] = v; any = true; }
      }
      if (any) {
        lines.push({
          label: res.length > 1 ? seriesLabel(s.label, r.metric) : (s.label || seriesLabel('', r.metric)),
          right: s.axis === 'right', ys,
        });
      }
    }
  });
  if (widget.chart) { widget.chart.destroy(); widget.chart = null; }
  // data-points counts what is drawn (tests read it): the non-null points
  // of every line.
  widget.tile.dataset.points = String(lines.reduce((n, l) => n + l.ys.filter((y) => y !== null).length, 0));
  if (!lines.length) {
    const where = win.clamped ? `since the history began ${humanAge(win.since)} ago` : `in the ${ctx.range.label.toLowerCase()}`;
    widget.body.replaceChildren(emptyBox('No data yet', `Nothing recorded ${where}.`));
    return;
  }
  const holder = el('div', { class: 'chart', role: 'img', 'aria-label': `${w.title}: chart of ${lines.map((l) => l.label).join(', ')}` });
  widget.body.replaceChildren(holder);
  widget.chart = drawChart(holder, xs, lines, unit, {
    left: w.leftAxisLabel || unitLabel(unit),
    right: w.rightAxisLabel || unitLabel(unit),
  }, win.step);
}

const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/**
 * timeTicks renders the time axis on one line, as precise as the ticks are
 * apart: "6:37:30 PM" for seconds, "6:37 PM" for minutes and hours, "Dec 7"
 * for days and for midnights between hourly ticks (the cursor's legend
 * gives the full time).
 */
function timeTicks(u, splits, axisIdx, space, incr) {
  const time = incr >= 60 ? { hour: 'numeric', minute: '2-digit' } : { hour: 'numeric', minute: '2-digit', second: '2-digit' };
  return splits.map((t) => {
    if (t == null) return '';
    const d = new Date(t * 1000);
    const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
    if (incr >= 86400 || (incr >= 3600 && midnight)) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
    return d.toLocaleTimeString([], time);
  });
}

// yRange starts the y axis at zero (counts and latencies are never
// negative) and leaves headroom above the highest point.
function yRange(u, min, max) {
  return [Math.min(0, min), max > 0 ? max * 1.1 : 1];
}

/**
 * drawChart draws lines with uPlot, sized to its holder. Axes have a fixed
 * width so that the plot areas of charts in a column line up; cursors are
 * synchronised across the page's charts. A line may set its own stroke,
 * dash, fill (null: none), width and points (an alarm's threshold);
 * extra.bands shades between two lines (an anomaly alarm's band).
 */
function drawChart(holder, xs, lines, unit, labels, step, extra) {
  const hasRight = lines.some((l) => l.right);
  // The legend sits under the plot; the plot gets the height it leaves
  // (estimated until the legend exists, then measured).
  let legend = null;
  const size = () => {
    const lh = legend ? legend.offsetHeight : 22 * Math.ceil(lines.length / 3);
    return {
      width: Math.max(120, Math.floor(holder.clientWidth)),
      height: Math.max(80, Math.floor(holder.clientHeight) - lh - 4),
    };
  };
  const axisValues = (u, vals) => formatTicks(vals, unit);
  const yAxis = (scale, label, side) => ({
    scale, side, label, stroke: '#56627a', values: axisValues, size: 64, labelSize: 18, gap: 4,
    labelFont: AXIS_FONT, font: AXIS_FONT, grid: side === 1 ? { show: false } : { stroke: '#edf0f5' }, ticks: { show: false },
  });
  const opts = {
    ...size(),
    cursor: { sync: { key: 'modelwatch' }, points: { size: 6 } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: yRange } },
    series: [
      // Away from the cursor the legend shows each line's latest value.
      {
        label: 'Time',
        value: (u, v, si, idx) => (idx == null || v == null ? 'latest'
          : new Date(v * 1000).toLocaleString([], {
            month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: step < 60 ? '2-digit' : undefined,
          })),
      },
      ...lines.map((l, i) => ({
        label: l.label,
        scale: l.right ? 'y2' : 'y',
        stroke: l.stroke || COLORS[i % COLORS.length],
        fill: l.fill !== undefined ? (l.fill ?? undefined) : (lines.length === 1 ? `${COLORS[0]}1a` : undefined),
        width: l.width || 1.75,
        dash: l.dash || (l.right ? [6, 3] : undefined),
        points: { show: l.points !== undefined ? l.points : xs.length <= 60 },
        value: (u, v, si, idx) => {
          if (idx == null) v = l.ys.findLast((y) => y !== null);
          return v == null ? '—' : formatValue(v, unit);
        },
      })),
    ],
    axes: [
      {
        stroke: '#56627a', grid: { stroke: '#edf0f5' }, ticks: { stroke: '#dde2ea' }, size: 32, font: AXIS_FONT,
        values: timeTicks, space: 80,
      },
      yAxis('y', labels.left, 3),
      // An empty right axis keeps the plot as wide as its neighbours'.
      hasRight ? yAxis('y2', labels.right, 1) : { side: 1, scale: 'y', size: 64, values: (u, vals) => vals.map(() => ''), grid: { show: false }, ticks: { show: false } },
    ],
  };
  if (hasRight) opts.scales.y2 = { range: yRange };
  if (extra && extra.bands) opts.bands = extra.bands;
  const chart = new uPlot(opts, [xs, ...lines.map((l) => l.ys)], holder);
  legend = chart.root.querySelector('.u-legend');
  chart.setSize(size());
  const ro = new ResizeObserver(() => chart.setSize(size()));
  ro.observe(holder);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => { ro.disconnect(); destroy(); };
  return chart;
}

const GROUP_TITLES = { model_id: 'Model', principal: 'Principal', operation: 'Operation' };

async function loadTable(widget, w, ctx, section) {
  const series = visible(w);
  const groupBy = w.groupBy || 'model_id';
  const results = await queryAll(widget, series, ctx);
  const rows = new Map();
  results.forEach((res, i) => {
    for (const r of res) {
      const key = r.metric[groupBy] ?? seriesLabel('', r.metric);
      if (!rows.has(key)) rows.set(key, new Array(series.length).fill(null));
      rows.get(key)[i] = r.value;
    }
  });
  if (!rows.size) {
    widget.body.replaceChildren(emptyBox('No data yet', `${noDataText(ctx)}.`));
    return;
  }
  const units = series.map((s) => seriesUnit(s, w.unit));
  const columns = [
    {
      title: GROUP_TITLES[groupBy] || groupBy, numeric: false, sortValue: (row) => row.key,
      cell: (row) => (groupBy === 'model_id' ? modelCell(row.key, section) : el('span', { class: 'mono key', title: row.key }, row.key)),
    },
    ...series.map((s, i) => ({
      title: s.label || `Series ${i + 1}`, numeric: true,
      cell: (row) => tableCell(row.values[i], units[i]),
      // Unpriced and missing values sort last.
      sortValue: (row) => (Number.isFinite(row.values[i]) ? row.values[i] : null),
    })),
  ];
  const data = [...rows].map(([key, values]) => ({ key, values }));
  const table = sortableTable(columns, data, series.length ? 1 : 0, 'descending', w.title);
  widget.body.replaceChildren(el('div', { class: 'table-wrap' }, table));
}

/** tableCell formats one value; a NaN cost is an unpriced model. */
function tableCell(v, unit) {
  if (Number.isNaN(v) && unit === 'usd') {
    return el('span', { class: 'badge unpriced', title: 'The price list has no price for this model' }, 'unpriced');
  }
  if (v === null || !Number.isFinite(v)) return el('span', { class: 'muted' }, '—');
  return formatValue(v, unit);
}

/** modelCell links a model ID to its page when the dashboard has one. */
function modelCell(modelId, section) {
  const target = state.dashboard && state.dashboard.sections.find((s) => s.modelId === modelId);
  if (target && (!section || target.id !== section.id)) {
    return el('a', { href: `#/model/${encodeURIComponent(target.id)}`, class: 'mono key', title: modelId }, modelId);
  }
  return el('span', { class: 'mono key', title: modelId }, modelId);
}

/** tableSorts are the orders chosen in keyed tables: key → {col, dir}. */
const tableSorts = new Map();

/**
 * sortableTable renders rows with clickable column headers; aria-sort tells
 * screen readers the order. Missing values sort last either way.
 * opts.rowAttrs, when given, returns each row's attributes (el()'s: class,
 * dataset …); opts.key names the table so that the order a person chose
 * survives refreshes, which rebuild it.
 */
function sortableTable(columns, rows, sortCol, sortDir, caption, opts = {}) {
  const table = el('table', { class: 'data' });
  if (caption) table.append(el('caption', { class: 'visually-hidden' }, caption));
  const tbody = el('tbody');
  const kept = opts.key ? tableSorts.get(opts.key) : null;
  let col = kept && kept.col < columns.length ? kept.col : sortCol;
  let dir = kept && kept.col < columns.length ? kept.dir : sortDir;
  const rowAttrs = opts.rowAttrs;
  const headRow = el('tr');
  const ths = columns.map((c, i) => {
    const th = el('th', { scope: 'col', class: c.numeric ? 'num' : null },
      el('button', {
        type: 'button',
        onclick: () => {
          if (col === i) dir = dir === 'descending' ? 'ascending' : 'descending';
          else dir = c.numeric ? 'descending' : 'ascending';
          col = i;
          if (opts.key) tableSorts.set(opts.key, { col, dir });
          render();
        },
      }, c.title));
    headRow.append(th);
    return th;
  });
  table.append(el('thead', {}, headRow), tbody);
  function render() {
    ths.forEach((th, i) => (i === col ? th.setAttribute('aria-sort', dir) : th.removeAttribute('aria-sort')));
    const key = columns[col].sortValue;
    const sign = dir === 'ascending' ? 1 : -1;
    const sorted = [...rows].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const xm = x === null || x === undefined;
      const ym = y === null || y === undefined;
      if (xm || ym) return xm === ym ? 0 : (xm ? 1 : -1);
      if (typeof x === 'string') return sign * x.localeCompare(y);
      return sign * (x - y);
    });
    tbody.replaceChildren(...sorted.map((row) => el('tr', rowAttrs ? rowAttrs(row) : {},
      ...columns.map((c) => el('td', { class: c.numeric ? 'num' : null }, c.cell(row))))));
  }
  render();
  return table;
}

// ---------------------------------------------------------------- pages

/** fill replaces an element's children, skipping empty ones. */
function fill(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function pageHead(title, sub) {
  return el('div', { class: 'page-head' },
    el('h1', {}, title),
    sub ? el('div', { class: 'sub' }, sub) : null);
}

/**
 * rangeNote says what the page shows: the selected range, when the history
 * is younger how long ago it began (the charts start there), and the
 * charts' step when the page has charts.
 */
function rangeNote(ctx, charts) {
  const parts = [ctx.range.label];
  if (ctx.win.clamped) parts.push(`since the history began ${humanAge(ctx.win.since)} ago`);
  if (charts) parts.push(`points every ${humanDuration(ctx.win.step).replace(/^1 /, '')}`);
  return parts.join(' · ');
}

/** sectionPage draws the widgets of a dashboard section. */
function sectionPage(section) {
  let specs = section.widgets || [];
  // The construct opens each view with a "# Title" text widget; it becomes
  // the page's heading (and the text under it the lead) rather than a second
  // heading under the page's.
  let title = section.title || section.id;
  let lead = '';
  const first = specs[0];
  const m = first && first.kind === 'text' && /^#\s+([^\n]+)\n?([\s\S]*)$/.exec((first.text || '').trim());
  if (m) {
    title = m[1].trim();
    lead = m[2].trim();
    specs = specs.slice(1);
  }
  const grid = el('div', { class: 'grid' });
  const widgets = specs.map((w) => buildWidget(w, section));
  grid.append(...widgets.map((w) => w.tile));
  const sub = el('span', {});
  fill(main,
    pageHead(title, sub),
    lead ? el('div', { class: 'lead', html: markdown(lead) }) : null,
    widgets.length ? grid : emptyBox('This page has no widgets', ''));
  const charts = specs.some((w) => w.kind === 'graph');
  return {
    async refresh() {
      const ctx = await timeContext();
      fill(sub,
        section.modelId ? el('code', {}, section.modelId) : null,
        section.modelId ? ' · ' : null,
        rangeNote(ctx, charts));
      const results = await Promise.allSettled(widgets.map((w) => w.load(ctx)));
      const failed = results.filter((r) => r.status === 'rejected').length;
      return { failed, total: widgets.filter((w) => w.tile.dataset.kind !== 'text').length };
    },
    destroy() { widgets.forEach((w) => w.destroy()); },
  };
}

/**
 * defaultCostSection is the cost view used when the dashboard has no "cost"
 * section: the same widgets internal/dashboard builds — cost today and this
 * month in total, per model and per principal — with a NaN cost (a model
 * whose modelwatch_model_priced is 0) shown as "unpriced", never as $0.
 */
function defaultCostSection() {
  const cost = 'modelwatch_cost_dollars_total';
  const priced = 'max by (model_id) (modelwatch_model_priced)';
  const perModel = (win) => `sum by (model_id) (increase(${cost}[${win}])) or (${priced} == 1) * 0 or (${priced} == 0) * NaN`;
  const perPrincipal = (win) => `sum by (principal) (increase(${cost}[${win}]))`;
  const total = (win) => `sum(increase(${cost}[${win}])) or vector(0)`;
  const value = (title, win) => ({ kind: 'value', title, unit: 'usd', width: 6, height: 3, series: [{ label: title, promql: total(win) }] });
  const table = (title, groupBy, promql) => ({
    kind: 'table', title, width: 12, height: 8, groupBy, series: [{ label: 'Cost', promql, unit: 'usd' }],
  });
  return {
    id: 'cost', title: 'Cost', widgets: [
      value('Cost Today', '$today'),
      value('Cost This Month', '$month'),
      value('Cost in Period', '$range'),
      { kind: 'value', title: 'Unpriced Models', unit: 'count', width: 6, height: 3, series: [{ label: 'Unpriced', promql: 'count(max by (model_id) (modelwatch_model_priced) == 0) or vector(0)' }] },
      table('Cost per Model Today', 'model_id', perModel('$today')),
      table('Cost per Model This Month', 'model_id', perModel('$month')),
      table('Cost per Principal Today', 'principal', perPrincipal('$today')),
      table('Cost per Principal This Month', 'principal', perPrincipal('$month')),
    ],
  };
}

/** costSection is the dashboard's cost section, or the default one. */
function costSection() {
  return (state.dashboard && state.dashboard.sections.find((s) => s.id === 'cost')) || defaultCostSection();
}

/** recordField reads a dotted path of an invocation record. */
function field(rec, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), rec);
}

function shortPrincipal(arn) {
  if (!arn) return '';
  const i = arn.lastIndexOf('/');
  return i >= 0 ? arn.slice(i + 1) : arn;
}

function statusBadge(rec) {
  return rec.errorCode
    ? el('span', { class: 'badge err' }, rec.errorCode)
    : el('span', { class: 'badge ok' }, 'OK');
}

function loggingOff() {
  return el('div', { class: 'banner info', role: 'status' },
    el('h2', {}, 'Invocation logging is off'),
    el('p', {}, 'Recent calls are listed here when model invocation logging is on. It is off by default and switched on with Bedrock\u2019s own API, for example:'),
    el('pre', {}, `aws --endpoint-url ${location.origin} bedrock put-model-invocation-logging-configuration \\\n  --logging-config '{"s3Config":{"bucketName":"bedrock-logs","keyPrefix":"invocation-logs"},"textDataDeliveryEnabled":true}'`),
    el('p', { class: 'muted' }, 'Without S3 credentials the bucket is a local directory under the data directory. See “Invocation logging” in the README.'));
}

/** invocationsPage lists recent invocation records, newest first. */
function invocationsPage() {
  const sub = el('span', {}, 'Most recent calls recorded by invocation logging');
  const filter = el('input', { type: 'search', id: 'inv-filter', placeholder: 'Filter by model, principal, operation, status…', 'aria-label': 'Filter invocations' });
  const content = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  main.replaceChildren(pageHead('Invocations', sub), content);
  let records = [];
  let table = null;
  const applyFilter = () => {
    if (!table) return;
    const f = filter.value.trim().toLowerCase();
    for (const tr of table.tBodies[0].rows) {
      // The request ID is in the link's title, not in the text.
      const text = `${tr.textContent} ${tr.querySelector('a')?.title || ''}`.toLowerCase();
      tr.hidden = f !== '' && !text.includes(f);
    }
  };
  filter.addEventListener('input', applyFilter);
  async function refresh() {
    let data;
    try {
      data = await api('/api/invocations', { limit: '200' });
    } catch (e) {
      content.replaceChildren(el('div', { class: 'banner error' }, errorBox(e, 'Could not load invocations')));
      throw e;
    }
    records = (data && data.invocations) || [];
    if (!data || data.logging === false) {
      fill(content, loggingOff(), records.length ? invTable() : null);
      return;
    }
    if (!records.length) {
      content.replaceChildren(el('div', { class: 'panel' }, el('div', { class: 'notice' },
        emptyBox('No invocations yet', 'Calls appear here as soon as modelwatch serves them.'))));
      return;
    }
    content.replaceChildren(el('div', { class: 'toolbar' }, filter,
      el('span', { class: 'muted' }, `${records.length} most recent call${records.length === 1 ? '' : 's'}`)),
    el('section', { class: 'panel' }, el('div', { class: 'table-wrap' }, invTable())));
    applyFilter();
  }
  function invTable() {
    const now = Date.now();
    const rows = records.map((rec) => ({ rec, key: rec.requestId, time: Date.parse(rec.timestamp) || 0 }));
    // The time opens the record; the request ID is its title (and on the record's page).
    const timeLink = (r) => el('a', { href: `#/invocations/${encodeURIComponent(r.rec.requestId)}`, title: `Request ${r.rec.requestId} · ${new Date(r.time).toLocaleString()}` },
      el('time', { datetime: r.rec.timestamp }, relativeTime(r.time, now)));
    table = sortableTable([
      { title: 'Time', cell: timeLink, sortValue: (r) => r.time },
      { title: 'Operation', cell: (r) => r.rec.operation || '', sortValue: (r) => r.rec.operation || '' },
      { title: 'Model', cell: (r) => modelCell(r.rec.modelId || ''), sortValue: (r) => r.rec.modelId || '' },
      { title: 'Principal', cell: (r) => el('span', { class: 'key', title: field(r.rec, 'identity.arn') || '' }, shortPrincipal(field(r.rec, 'identity.arn'))), sortValue: (r) => field(r.rec, 'identity.arn') || '' },
      { title: 'Status', cell: (r) => statusBadge(r.rec), sortValue: (r) => r.rec.errorCode || '' },
      { title: 'Tokens in', numeric: true, cell: (r) => formatInteger(field(r.rec, 'input.inputTokenCount')), sortValue: (r) => field(r.rec, 'input.inputTokenCount') ?? null },
      { title: 'Tokens out', numeric: true, cell: (r) => formatInteger(field(r.rec, 'output.outputTokenCount')), sortValue: (r) => field(r.rec, 'output.outputTokenCount') ?? null },
      { title: 'Served by', cell: (r) => upstreamText(r.rec), sortValue: (r) => upstreamText(r.rec) },
    ], rows, 0, 'descending', 'Recent invocations');
    table.id = 'invocations-table';
    return table;
  }
  return { refresh, destroy() {} };
}

function upstreamText(rec) {
  const u = rec.upstream;
  if (!u) return '';
  const attempts = u.attempts > 1 ? ` (${u.attempts} attempts)` : '';
  const fallback = u.servedModelId && u.servedModelId !== rec.modelId ? ` → ${u.servedModelId}` : '';
  return `${u.provider || ''}${fallback}${attempts}`;
}

/** jsonHTML pretty-prints JSON with token classes for colour. */
function jsonHTML(value) {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) return '';
  return escapeHTML(text).replace(
    /(&quot;(?:\\.|[^&\\]|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g,
    (m, str, colon, lit) => {
      if (str) return colon ? `<span class="k">${str}</span>${colon}` : `<span class="s">${str}</span>`;
      if (lit) return `<span class="b">${lit}</span>`;
      return `<span class="n">${m}</span>`;
    });
}

/** invocationPage shows one full record. */
function invocationPage(requestId) {
  const content = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  main.replaceChildren(
    el('a', { href: '#/invocations', class: 'back' }, '← Invocations'),
    pageHead('Invocation', el('code', {}, requestId)),
    content);
  async function refresh() {
    let rec;
    try {
      rec = await api(`/api/invocations/${encodeURIComponent(requestId)}`);
    } catch (e) {
      content.replaceChildren(el('div', { class: 'banner error' }, errorBox(e, 'Could not load the record')));
      throw e;
    }
    const item = (k, v) => el('div', {}, el('dt', {}, k), el('dd', {}, v === undefined || v === '' ? '—' : v));
    const copy = el('button', { type: 'button', class: 'button', onclick: async () => {
      try { await navigator.clipboard.writeText(JSON.stringify(rec, null, 2)); copy.textContent = 'Copied'; } catch { copy.textContent = 'Copy failed'; }
    } }, 'Copy JSON');
    const pre = (v, label) => el('pre', { class: 'json', tabindex: '0', 'aria-label': label, html: jsonHTML(v) });
    const inBody = field(rec, 'input.inputBodyJson');
    const outBody = field(rec, 'output.outputBodyJson');
    fill(content,
      el('section', { class: 'panel' },
        el('header', {}, el('h2', {}, 'Summary'), statusBadge(rec)),
        el('dl', { class: 'record-summary' },
          item('Time', rec.timestamp ? new Date(rec.timestamp).toLocaleString() : ''),
          item('Operation', rec.operation),
          item('Model', rec.modelId),
          item('Principal', field(rec, 'identity.arn')),
          item('Input tokens', formatInteger(field(rec, 'input.inputTokenCount'))),
          item('Output tokens', formatInteger(field(rec, 'output.outputTokenCount'))),
          item('Served by', upstreamText(rec)),
          item('Error', rec.errorCode))),
      inBody !== undefined || field(rec, 'input.inputBodyS3Path') ? el('section', { class: 'panel' },
        el('header', {}, el('h2', {}, 'Request body')),
        inBody !== undefined ? pre(inBody, 'Request body') : el('p', { class: 'footnote' }, `Stored at ${field(rec, 'input.inputBodyS3Path')}`)) : null,
      outBody !== undefined || field(rec, 'output.outputBodyS3Path') ? el('section', { class: 'panel' },
        el('header', {}, el('h2', {}, 'Response body')),
        outBody !== undefined ? pre(outBody, 'Response body') : el('p', { class: 'footnote' }, `Stored at ${field(rec, 'output.outputBodyS3Path')}`)) : null,
      el('section', { class: 'panel' },
        el('header', {}, el('h2', {}, 'Full record'), copy),
        pre(rec, 'Full invocation record')));
  }
  return { refresh, destroy() {} };
}

// ---------------------------------------------------------------- governance

/** num is a finite number, or null (JSON null, missing, NaN). */
function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** timeAgo renders an ISO time as "3 min ago", the full time in its title. */
function timeAgo(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return el('span', { class: 'muted' }, '—');
  return el('time', { datetime: iso, title: new Date(t).toLocaleString() }, relativeTime(t, now));
}

function pill(state) {
  const b = stateBadge(state);
  return el('span', { class: `badge state ${b.cls}`, dataset: { state: state || '' } }, b.label);
}

/**
 * usageBar draws used against limit as a meter: the fill's width is the
 * share used (set through the CSSOM, which the CSP allows), the words are
 * in aria-valuetext. held, when given, is a lighter segment after it
 * (budget spend in flight, quota tokens reserved).
 */
function usageBar(used, limit, label, valueText, held) {
  const pct = percentOf(used, limit);
  const bar = el('div', {
    class: `bar ${barLevel(pct)}`, role: 'meter', 'aria-label': label,
    'aria-valuemin': '0', 'aria-valuemax': String(Math.max(limit, used)), 'aria-valuenow': String(used),
    'aria-valuetext': valueText,
  });
  const filled = Math.min(100, Math.max(0, pct ?? 0));
  const fillEl = el('div', { class: 'bar-fill' });
  fillEl.style.width = `${filled}%`;
  bar.append(fillEl);
  const h = percentOf(held, limit);
  if (h !== null && h > 0 && filled < 100) {
    const heldEl = el('div', { class: 'bar-held' });
    heldEl.style.width = `${Math.min(100 - filled, h)}%`;
    bar.append(heldEl);
  }
  return bar;
}

/** govSection is one section of the governance page, with its heading. */
function govSection(key, title, ...extra) {
  return el('section', {
    class: 'panel gov-section', id: `gov-${key}`, 'aria-labelledby': `gov-${key}-title`,
    dataset: { section: key, title, permitted: 'true' },
  }, el('header', {}, el('h2', { id: `gov-${key}-title` }, title), ...extra));
}

/** notPermitted marks a section its caller may not read, naming the action it needs. */
function notPermitted(section, key, message) {
  section.dataset.permitted = 'false';
  section.append(el('p', { class: 'gov-note muted', role: 'note' }, message || notPermittedText(key)));
  return section;
}

function countNote(n, one, many) {
  return el('span', { class: 'muted' }, `${formatInteger(n)} ${n === 1 ? one : many}`);
}

// ---- budgets

function budgetCard(b) {
  const unit = b.unit || (b.type === 'COST' ? 'USD' : '');
  const actual = num(b.actual) ?? 0;
  const limit = num(b.limit);
  const held = num(b.held) ?? 0;
  const forecast = num(b.forecast);
  const unpriced = num(b.unpricedCalls) ?? 0;
  const pct = percentOf(actual, limit);
  const amount = (v) => formatAmount(v, unit);
  const used = `${amount(actual)} of ${amount(limit)}${pct === null ? '' : ` (${formatPercent(pct)})`}`;
  const fact = (k, v) => el('div', {}, el('dt', {}, k), el('dd', {}, v));
  const notifications = b.notifications || [];
  return el('article', {
    class: `gov-card budget ${barLevel(pct)}`, 'aria-label': `Budget ${b.name}`,
    dataset: {
      budget: b.name, type: b.type || '', unit, actual: String(actual), limit: limit === null ? '' : String(limit),
      held: String(held), forecast: forecast === null ? '' : String(forecast), unpricedCalls: String(unpriced),
      hardLimit: String(Boolean(b.hardLimit)), percent: pct === null ? '' : String(pct),
    },
  },
  el('header', {},
    el('h3', {}, b.name),
    el('span', { class: 'badges' },
      b.type ? el('span', { class: 'badge plain' }, b.type === 'COST' ? 'Cost' : b.type === 'USAGE' ? 'Usage' : b.type) : null,
      b.hardLimit
        ? el('span', { class: 'badge hard', title: 'Calls are refused once the limit is reached' }, 'Hard limit')
        : el('span', { class: 'badge plain', title: 'The limit notifies but does not refuse calls' }, 'Soft limit'))),
  el('p', { class: 'budget-figures' },
    el('span', { class: 'budget-actual' }, amount(actual)),
    el('span', { class: 'muted' }, ` of ${amount(limit)}`),
    pct === null ? null : el('span', { class: `budget-pct ${barLevel(pct)}` }, formatPercent(pct))),
  usageBar(actual, limit ?? 0, `${b.name}: spend against the limit`, used + (held > 0 ? `, ${amount(held)} in flight` : ''), held),
  unpriced > 0 ? el('p', { class: 'unpriced-note' },
    el('span', { class: 'badge unpriced' }, 'unpriced'),
    ` ${formatInteger(unpriced)} unpriced call${unpriced === 1 ? '' : 's'} not included`) : null,
  el('dl', { class: 'gov-facts' },
    fact('Forecast', forecast === null
      ? el('span', { class: 'muted', title: 'A forecast is made after 10% of the period' }, 'no forecast yet')
      : el('span', { class: limit !== null && forecast > limit ? 'over-text' : null }, amount(forecast),
        limit !== null && forecast > limit ? ' (over the limit)' : '')),
    fact('In flight', el('span', { title: 'Held for calls under way: counted once they finish' }, amount(held))),
    fact('Period', periodText(b.periodStart, b.periodEnd))),
  notifications.length ? el('div', { class: 'notifications' },
    el('h4', {}, 'Notifications'),
    el('ul', {}, ...notifications.map((n) => el('li', {
      class: n.state === 'ALARM' ? 'alarm' : null,
      dataset: { threshold: String(n.threshold), thresholdType: n.thresholdType || '', notificationType: n.type || '', state: n.state || '' },
    },
    el('span', {}, thresholdText(n, limit, unit)),
    pill(n.state),
    n.firedAt ? el('span', { class: 'muted' }, ' fired ', timeAgo(n.firedAt)) : null)))) : null);
}

function budgetsSection(budgets) {
  if (!Array.isArray(budgets)) return notPermitted(govSection('budgets', 'Budgets'), 'budgets');
  const s = govSection('budgets', 'Budgets', countNote(budgets.length, 'budget', 'budgets'));
  s.append(budgets.length
    ? el('div', { class: 'gov-cards' }, ...budgets.map(budgetCard))
    : el('div', { class: 'gov-empty' }, emptyBox('No budgets', 'Budgets are created with the AWS Budgets API (CreateBudget).')));
  return s;
}

// ---- alarms

function alarmsSection(alarms, draws) {
  if (!Array.isArray(alarms)) return notPermitted(govSection('alarms', 'Alarms'), 'alarms');
  const firing = alarms.filter((a) => a.state === 'ALARM').length;
  const s = govSection('alarms', 'Alarms', el('span', { class: 'muted' },
    `${formatInteger(alarms.length)} alarm${alarms.length === 1 ? '' : 's'}`, firing ? ` · ${firing} in alarm` : ''));
  if (!alarms.length) {
    s.append(el('div', { class: 'gov-empty' }, emptyBox('No alarms', 'Alarms are created with the CloudWatch API (PutMetricAlarm).')));
    return s;
  }
  const now = Date.now();
  const remediation = (a) => {
    if (a.rolledBack) return el('span', { class: 'badge warn', title: a.rollback ? `Calls go to ${a.rollback}` : null }, 'Rolled back to fallback');
    if (a.rollback) return el('span', { class: 'muted', title: 'Rolled back to this model when the alarm fires' }, 'fallback ', el('span', { class: 'mono key' }, a.rollback));
    return '';
  };
  const table = sortableTable([
    { title: 'Alarm', cell: (a) => el('span', { class: 'mono key', title: a.description || null }, a.name), sortValue: (a) => a.name },
    { title: 'State', cell: (a) => pill(a.state), sortValue: (a) => ({ ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 }[a.state] ?? 3) },
    { title: 'Condition', cell: (a) => alarmCondition(a), sortValue: (a) => alarmCondition(a) },
    { title: 'Reason', cell: (a) => el('span', { class: 'reason' }, a.stateReason || ''), sortValue: (a) => a.stateReason || '' },
    { title: 'Since', cell: (a) => timeAgo(a.stateTime, now), sortValue: (a) => Date.parse(a.stateTime) || null },
    { title: 'Remediation', cell: remediation, sortValue: (a) => (a.rolledBack ? 0 : 1) },
  ], alarms, 1, 'ascending', 'Alarms', { key: 'gov-alarms', rowAttrs: (a) => ({
    class: a.state === 'ALARM' ? 'row-alarm' : null,
    dataset: { alarm: a.name, state: a.state || '', rolledBack: String(Boolean(a.rolledBack)) },
  }) });
  table.id = 'alarms-table';
  const cards = alarms.map((a) => {
    const points = (a.datapoints || []).filter((d) => num(d.v) !== null).length;
    const history = a.history || [];
    const chartBox = el('div', { class: 'alarm-chart' });
    if (points) draws.push({ holder: chartBox, alarm: a });
    else chartBox.append(emptyBox('No datapoints yet', a.query ? `Nothing evaluated for ${a.query}` : ''));
    return el('article', {
      class: `gov-card alarm-card${a.state === 'ALARM' ? ' alarm' : ''}`, 'aria-label': `Alarm ${a.name}`,
      dataset: { alarmChart: a.name, points: String(points), state: a.state || '' },
    },
    el('header', {}, el('h3', { class: 'mono key' }, a.name), el('span', { class: 'badges' }, pill(a.state), remediation(a) || null)),
    a.description ? el('p', { class: 'muted alarm-desc' }, a.description) : null,
    el('p', { class: 'alarm-cond' }, alarmCondition(a),
      a.query ? el('code', { class: 'alarm-query', title: 'The PromQL the alarm evaluates' }, a.query) : null),
    chartBox,
    el('details', { class: 'history', dataset: { key: `history:${a.name}` } },
      el('summary', {}, `History (${history.length} transition${history.length === 1 ? '' : 's'})`),
      history.length ? el('ol', {}, ...history.map((h) => el('li', { dataset: { newState: h.newState || '' } },
        timeAgo(h.time, now), ' ', pill(h.oldState), ' → ', pill(h.newState),
        h.reason ? el('span', { class: 'reason' }, h.reason) : null)))
        : el('p', { class: 'muted' }, 'No transitions yet.')));
  });
  s.append(el('div', { class: 'table-wrap' }, table), el('div', { class: 'gov-cards alarms' }, ...cards));
  return s;
}

/**
 * drawAlarm charts an alarm's datapoints: the metric, and its threshold as
 * a dashed red line or, for an anomaly detection alarm, the band between
 * lower and upper shaded.
 */
function drawAlarm(holder, a) {
  const pts = (a.datapoints || [])
    .map((d) => ({ t: Date.parse(d.t) / 1000, v: num(d.v), lower: num(d.lower), upper: num(d.upper) }))
    .filter((p) => Number.isFinite(p.t))
    .sort((x, y) => x.t - y.t);
  const xs = pts.map((p) => p.t);
  const lines = [{ label: 'Value', ys: pts.map((p) => p.v), fill: '#2f5bd314', points: xs.length <= 60 }];
  const extra = {};
  if (isAnomalyAlarm(a) || pts.some((p) => p.lower !== null || p.upper !== null)) {
    lines.push({ label: 'Upper band', ys: pts.map((p) => p.upper), stroke: '#868e96', width: 1, fill: null, points: false });
    lines.push({ label: 'Lower band', ys: pts.map((p) => p.lower), stroke: '#868e96', width: 1, fill: null, points: false });
    extra.bands = [{ series: [2, 3], fill: 'rgba(134, 142, 150, 0.18)' }];
  } else if (num(a.threshold) !== null) {
    lines.push({ label: 'Threshold', ys: xs.map(() => a.threshold), stroke: '#b42318', dash: [6, 4], width: 1.5, fill: null, points: false });
  }
  const chart = el('div', {
    class: 'chart', role: 'img',
    'aria-label': `${a.name}: chart of ${xs.length} datapoints${lines.length > 1 ? ` with its ${lines.length > 2 ? 'band' : 'threshold'}` : ''}`,
  });
  holder.replaceChildren(chart);
  holder.dataset.lines = lines.map((l) => l.label).join(',');
  return drawChart(chart, xs, lines, 'count', { left: '', right: '' }, a.periodSeconds || 60, extra);
}

// ---- quotas

/** quotaCell shows used against a limit with a bar; a limit of 0 is no such limit. */
function quotaCell(used, limit, what, reserved) {
  if (!(limit > 0)) return el('span', { class: 'muted' }, `${formatInteger(used)} · no limit`);
  const pct = percentOf(used + (reserved || 0), limit);
  const text = `${formatInteger(used)} / ${formatInteger(limit)}`;
  return el('div', { class: 'quota-cell' },
    el('span', { class: 'quota-text' }, text, reserved > 0 ? el('span', { class: 'muted' }, ` +${formatInteger(reserved)} reserved`) : null),
    usageBar(used, limit, what, `${text} ${what}${reserved > 0 ? `, ${formatInteger(reserved)} reserved` : ''} (${formatPercent(pct)})`, reserved));
}

function quotasSection(quotas) {
  if (!Array.isArray(quotas)) return notPermitted(govSection('quotas', 'Quotas'), 'quotas');
  const s = govSection('quotas', 'Quotas', countNote(quotas.length, 'rule in use', 'rules in use'));
  if (!quotas.length) {
    s.append(el('div', { class: 'gov-empty' }, emptyBox('No quotas', 'No quota rule applies yet.')));
    return s;
  }
  const n = (v) => num(v) ?? 0;
  const share = (used, limit) => percentOf(used, limit);
  const table = sortableTable([
    { title: 'Rule', cell: (q) => el('span', { class: 'mono key' }, q.rule), sortValue: (q) => q.rule },
    { title: 'Model', cell: (q) => el('span', { class: 'mono key' }, q.model || '*'), sortValue: (q) => q.model || '' },
    { title: 'Principal', cell: (q) => (q.principal || (q.profile ? `profile ${q.profile}` : el('span', { class: 'muted' }, 'everyone'))), sortValue: (q) => q.principal || q.profile || '' },
    { title: 'Requests / min', numeric: true, cell: (q) => quotaCell(n(q.requestsUsed), n(q.requestsPerMinute), 'requests this minute'), sortValue: (q) => share(n(q.requestsUsed), n(q.requestsPerMinute)) },
    { title: 'Tokens / min', numeric: true, cell: (q) => quotaCell(n(q.tokensUsed), n(q.tokensPerMinute), 'tokens this minute', n(q.tokensReserved)), sortValue: (q) => share(n(q.tokensUsed) + n(q.tokensReserved), n(q.tokensPerMinute)) },
    { title: 'Tokens / day', numeric: true, cell: (q) => quotaCell(n(q.tokensToday), n(q.tokensPerDay), 'tokens today'), sortValue: (q) => share(n(q.tokensToday), n(q.tokensPerDay)) },
  ], quotas, 0, 'ascending', 'Quotas', { key: 'gov-quotas', rowAttrs: (q) => ({
    dataset: {
      quotaRule: q.rule, model: q.model || '', principal: q.principal || '', profile: q.profile || '',
      requestsPerMinute: String(n(q.requestsPerMinute)), requestsUsed: String(n(q.requestsUsed)),
      tokensPerMinute: String(n(q.tokensPerMinute)), tokensUsed: String(n(q.tokensUsed)), tokensReserved: String(n(q.tokensReserved)),
      tokensPerDay: String(n(q.tokensPerDay)), tokensToday: String(n(q.tokensToday)),
    },
  }) });
  table.id = 'quotas-table';
  s.append(el('div', { class: 'table-wrap' }, table));
  return s;
}

// ---- policies

function policiesSection(principals) {
  if (!Array.isArray(principals)) return notPermitted(govSection('policies', 'Policies'), 'policies');
  const s = govSection('policies', 'Policies', countNote(principals.length, 'principal', 'principals'));
  if (!principals.length) {
    s.append(el('div', { class: 'gov-empty' }, emptyBox('No principals', 'Principals and their policies are configured under auth.principals.')));
    return s;
  }
  const chips = (items) => el('span', { class: 'chips' }, ...items.map((t) => el('span', { class: 'chip mono' }, t)));
  s.append(el('div', { class: 'principals' }, ...principals.map((p) => {
    const tags = Object.entries(p.tags || {}).sort(([a], [b]) => a.localeCompare(b));
    const groups = p.groups || [];
    const policies = p.policies || [];
    return el('article', { class: 'gov-card principal-card', 'aria-label': `Principal ${p.principal}`, dataset: { principal: p.principal, arn: p.arn || '' } },
      el('header', {}, el('h3', {}, p.principal), p.arn ? el('code', { class: 'key' }, p.arn) : null),
      el('dl', { class: 'gov-facts' },
        el('div', { dataset: { field: 'groups' } }, el('dt', {}, 'Groups'), el('dd', {}, groups.length ? chips(groups) : el('span', { class: 'muted' }, 'none'))),
        el('div', { dataset: { field: 'tags' } }, el('dt', {}, 'Tags'), el('dd', {}, tags.length ? chips(tags.map(([k, v]) => `${k}=${v}`)) : el('span', { class: 'muted' }, 'none')))),
      policies.length ? policies.map((pol) => el('details', {
        class: 'policy', dataset: { key: `policy:${p.principal}:${pol.type}:${pol.id}`, policyId: pol.id || '', policyType: pol.type || '' },
      },
      el('summary', {}, el('span', { class: 'mono' }, pol.id || '(unnamed)'), ' ', el('span', { class: 'badge plain' }, `${pol.type || 'inline'} policy`)),
      el('pre', { class: 'json', tabindex: '0', 'aria-label': `Policy document ${pol.id}`, html: jsonHTML(pol.document) })))
        : el('p', { class: 'muted' }, 'No policies: every call is denied.'));
  })));
  return s;
}

// ---- audit trail

function auditSection(res) {
  const s = govSection('audit', 'Audit trail');
  if (res.status === 'rejected') {
    const e = res.reason;
    if (e && e.status === 403) return notPermitted(s, 'audit', e.message && e.message !== 'Forbidden' ? e.message : notPermittedText('audit'));
    s.append(el('div', { class: 'gov-empty' }, errorBox(e, 'Could not load the audit trail')));
    return s;
  }
  const events = (res.value && res.value.events) || [];
  s.querySelector('header').append(countNote(events.length, 'recent event', 'recent events'));
  if (!events.length) {
    s.append(el('div', { class: 'gov-empty' }, emptyBox('No events yet', 'Management calls and refused calls are recorded here.')));
    return s;
  }
  const now = Date.now();
  const rows = events.map((ev) => ({ ev, time: Date.parse(ev.eventTime) || null }));
  const table = sortableTable([
    { title: 'Time', cell: (r) => timeAgo(r.ev.eventTime, now), sortValue: (r) => r.time },
    { title: 'Event', cell: (r) => el('span', { class: 'mono' }, r.ev.eventName || ''), sortValue: (r) => r.ev.eventName || '' },
    { title: 'Principal', cell: (r) => el('span', { class: 'key', title: (r.ev.userIdentity && r.ev.userIdentity.arn) || null }, auditPrincipal(r.ev)), sortValue: (r) => auditPrincipal(r.ev) },
    { title: 'Source IP', cell: (r) => el('span', { class: 'mono' }, r.ev.sourceIPAddress || ''), sortValue: (r) => r.ev.sourceIPAddress || '' },
    { title: 'Kind', cell: (r) => (r.ev.readOnly === true ? 'read' : r.ev.readOnly === false ? 'write' : ''), sortValue: (r) => String(r.ev.readOnly) },
    {
      title: 'Outcome',
      cell: (r) => el('span', { class: `badge ${r.ev.errorCode ? 'err' : 'ok'}`, title: r.ev.errorMessage || null }, auditOutcome(r.ev)),
      sortValue: (r) => r.ev.errorCode || '',
    },
  ], rows, 0, 'descending', 'Recent audit events', { key: 'gov-audit', rowAttrs: (r) => ({
    class: isAccessDenied(r.ev) ? 'denied' : null,
    dataset: {
      eventName: r.ev.eventName || '', errorCode: r.ev.errorCode || '', eventId: r.ev.eventID || '',
      requestId: r.ev.requestID || '', principal: auditPrincipal(r.ev), denied: String(isAccessDenied(r.ev)),
    },
  }) });
  table.id = 'audit-table';
  s.append(el('div', { class: 'table-wrap' }, table));
  return s;
}

/**
 * governancePage shows budgets, alarms, quotas and policies from
 * /api/governance (each section only when the caller may read it) and the
 * audit trail from /api/audit. A refresh builds the sections off-screen and
 * swaps them in one step (never blanking), keeps the history and policy
 * panels that were open, and the keyboard focus on them.
 */
function governancePage() {
  const content = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
  main.replaceChildren(pageHead('Governance', 'Budgets, alarms, quotas, policies and the audit trail'), content);
  let charts = [];
  async function refresh() {
    const [gov, audit] = await Promise.allSettled([api('/api/governance'), api('/api/audit', { limit: '50' })]);
    if (gov.status === 'rejected') {
      charts.forEach((c) => c.destroy());
      charts = [];
      content.replaceChildren(el('div', { class: 'banner error' }, errorBox(gov.reason, 'Could not load governance')));
      throw gov.reason;
    }
    const g = (gov.value && typeof gov.value === 'object') ? gov.value : {};
    const open = new Set([...content.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
    const active = document.activeElement;
    const focusKey = active && content.contains(active) ? active.closest('[data-key]')?.dataset.key : null;
    const draws = [];
    const sections = [
      budgetsSection(g.budgets), alarmsSection(g.alarms, draws), quotasSection(g.quotas),
      policiesSection(g.policies), auditSection(audit),
    ];
    for (const s of sections) {
      for (const d of s.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
    }
    const old = charts;
    charts = [];
    fill(content, ...sections);
    old.forEach((c) => c.destroy());
    for (const { holder, alarm } of draws) charts.push(drawAlarm(holder, alarm));
    if (focusKey) {
      const d = [...content.querySelectorAll('details[data-key]')].find((x) => x.dataset.key === focusKey);
      d?.querySelector('summary')?.focus({ preventScroll: true });
    }
    const auditFailed = audit.status === 'rejected' && audit.reason?.status !== 403;
    return auditFailed ? { failed: 1, total: 2 } : {};
  }
  return { refresh, destroy() { charts.forEach((c) => c.destroy()); charts = []; } };
}

function notFoundPage(what) {
  main.replaceChildren(pageHead('Not found'), el('div', { class: 'banner' }, el('p', {}, what), el('a', { href: '#/' }, 'Back to the overview')));
  return { async refresh() {}, destroy() {} };
}

function dashboardErrorPage() {
  main.replaceChildren(pageHead('Overview'),
    el('div', { class: 'banner error' }, errorBox(state.dashboardError, 'Could not load the dashboard'),
      el('button', { type: 'button', class: 'button', onclick: () => start() }, 'Try again')));
  return { async refresh() { return { error: state.dashboardError }; }, destroy() {} };
}

// ---------------------------------------------------------------- navigation

function parseRoute() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, '').split('?')[0]);
  const [page, ...rest] = h.split('/');
  return { page: page || '', arg: rest.join('/') };
}

function renderNav(route) {
  const link = (href, label, current, extra) => el('li', {}, el('a', { href, 'aria-current': current ? 'page' : null }, label, extra || null));
  const sections = (state.dashboard && state.dashboard.sections) || [];
  const first = sections[0];
  const modelSections = sections.filter((s, i) => i > 0 && s.modelId);
  const otherSections = sections.filter((s, i) => i > 0 && !s.modelId && s.id !== 'cost');
  const isSection = (s) => (route.page === 'model' && route.arg === s.id) || (route.page === '' && s === first);
  fill(nav,
    el('h2', {}, 'Dashboard'),
    el('ul', {},
      first ? link('#/', first.title || 'All models', isSection(first)) : link('#/', 'Overview', route.page === ''),
      ...otherSections.map((s) => link(`#/model/${encodeURIComponent(s.id)}`, s.title || s.id, isSection(s))),
      link('#/cost', 'Cost', route.page === 'cost'),
      link('#/invocations', 'Invocations', route.page === 'invocations'),
      link('#/governance', 'Governance', route.page === 'governance')),
    modelSections.length ? el('h2', {}, 'Models') : null,
    modelSections.length ? el('ul', {}, ...modelSections.map((s) => link(`#/model/${encodeURIComponent(s.id)}`,
      s.title || s.modelId, isSection(s), s.title && s.title !== s.modelId ? el('span', { class: 'model-id' }, s.modelId) : null))) : null);
}

/** render draws the page of the current route and loads its data. */
async function render() {
  const gen = ++state.generation;
  if (state.page) state.page.destroy();
  state.page = null;
  main.dataset.state = 'loading';
  const route = parseRoute();
  renderNav(route);
  const sections = (state.dashboard && state.dashboard.sections) || [];
  let page;
  if (route.page === 'cost') page = sectionPage(costSection());
  else if (route.page === 'invocations' && route.arg) page = invocationPage(route.arg);
  else if (route.page === 'invocations') page = invocationsPage();
  else if (route.page === 'governance') page = governancePage();
  else if (!state.dashboard) page = dashboardErrorPage();
  else if (route.page === '') page = sections.length ? sectionPage(sections[0]) : notFoundPage('The dashboard has no sections.');
  else if (route.page === 'model') {
    const s = sections.find((x) => x.id === route.arg);
    page = s ? sectionPage(s) : notFoundPage(`There is no dashboard page “${route.arg}”.`);
  } else page = notFoundPage(`There is no page “${route.page}”.`);
  state.page = page;
  document.title = `${main.querySelector('h1')?.textContent || 'Dashboard'} · ${body.dataset.title || 'modelwatch'}`;
  await reload(gen);
}

/**
 * reload refreshes the data of the current page; main's data-state says
 * when it is done ("ready"). Refreshes of a page never overlap: one asked
 * for while another runs (a click during an auto-refresh) runs after it,
 * and the page is ready only when the last has finished.
 */
function reload(gen = state.generation) {
  const page = state.page;
  if (!page) return Promise.resolve();
  if (page.loading) {
    page.again = true;
    return page.loading;
  }
  main.dataset.state = main.dataset.state === 'ready' ? 'refreshing' : 'loading';
  page.loading = (async () => {
    let outcome;
    let started;
    do {
      page.again = false;
      started = new Date();
      try {
        outcome = (await page.refresh()) || {};
      } catch (e) {
        // Shown inline by the page.
        outcome = { error: e };
      }
    } while (page.again && gen === state.generation);
    page.loading = null;
    if (gen === state.generation) {
      showUpdated(started, outcome);
      main.dataset.state = 'ready';
    }
  })();
  return page.loading;
}

const updated = document.getElementById('updated');

/** showUpdated says when the data shown was loaded, and whether all of it loaded. */
function showUpdated(when, outcome) {
  const t = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  let text = `Updated ${t}`;
  if (outcome.error) text = `Update failed at ${t}`;
  else if (outcome.failed) text = `Updated ${t} · ${outcome.failed} of ${outcome.total} widgets failed`;
  updated.textContent = text;
  updated.dataset.updated = String(when.getTime());
  updated.classList.toggle('failed', Boolean(outcome.error || outcome.failed));
  state.updatedAt = when.getTime();
}

function refreshSeconds() {
  const r = REFRESHES.find((x) => x.id === state.refresh);
  return r ? r.seconds : 0;
}

/**
 * scheduleRefresh starts the auto-refresh timer. A tick is skipped while
 * the tab is hidden or a load is under way; a tab shown again after a
 * missed tick refreshes at once.
 */
function scheduleRefresh() {
  clearInterval(state.timer);
  const seconds = refreshSeconds();
  if (seconds > 0) {
    state.timer = setInterval(() => {
      if (!document.hidden && main.dataset.state === 'ready') reload();
    }, seconds * 1000);
  }
}

document.addEventListener('visibilitychange', () => {
  const seconds = refreshSeconds();
  if (!document.hidden && seconds > 0 && main.dataset.state === 'ready'
    && Date.now() - (state.updatedAt || 0) >= seconds * 1000) {
    reload();
    scheduleRefresh();
  }
});

// ---------------------------------------------------------------- API key dialog

const dialog = document.getElementById('key-dialog');
const keyButton = document.getElementById('key-button');

function openKeyDialog() {
  if (dialog.open) return;
  document.getElementById('key-input').value = '';
  document.getElementById('key-remember').checked = Boolean(localStorage.getItem(KEY_NAME));
  dialog.showModal();
}

function updateKeyButton() {
  const has = Boolean(apiKey());
  keyButton.textContent = has ? 'API key set' : 'API key';
  keyButton.classList.toggle('signed-in', has);
}

function initKeyDialog() {
  keyButton.addEventListener('click', openKeyDialog);
  document.getElementById('key-cancel').addEventListener('click', () => dialog.close());
  document.getElementById('key-clear').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
    dialog.close();
    updateKeyButton();
    start();
  });
  document.getElementById('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = document.getElementById('key-input').value.trim();
    if (!key) return;
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
    (document.getElementById('key-remember').checked ? localStorage : sessionStorage).setItem(KEY_NAME, key);
    dialog.close();
    updateKeyButton();
    start();
  });
  updateKeyButton();
}

// ---------------------------------------------------------------- start

function initControls() {
  const range = document.getElementById('range');
  const refresh = document.getElementById('refresh');
  range.replaceChildren(...RANGES.map((r) => el('option', { value: r.id, selected: r.id === state.range }, r.label)));
  refresh.replaceChildren(...REFRESHES.map((r) => el('option', { value: r.id, selected: r.id === state.refresh }, r.label)));
  range.addEventListener('change', () => {
    state.range = range.value;
    localStorage.setItem('modelwatch.range', state.range);
    render();
  });
  refresh.addEventListener('change', () => {
    state.refresh = refresh.value;
    localStorage.setItem('modelwatch.refresh', state.refresh);
    scheduleRefresh();
  });
  document.getElementById('refresh-now').addEventListener('click', () => reload());
  document.getElementById('controls').addEventListener('submit', (ev) => ev.preventDefault());
}

/** start (re)loads the dashboard model and draws the current page. */
async function start() {
  try {
    state.dashboard = await api('/api/dashboard');
    if (!state.dashboard || !Array.isArray(state.dashboard.sections)) throw new ApiError(200, '/api/dashboard returned no sections');
    state.dashboardError = null;
  } catch (e) {
    state.dashboard = null;
    state.dashboardError = e;
  }
  await render();
}

if (!RANGES.some((r) => r.id === state.range)) state.range = '6h';
if (!REFRESHES.some((r) => r.id === state.refresh)) state.refresh = DEFAULT_REFRESH;
initControls();
initKeyDialog();
window.addEventListener('hashchange', () => { render(); main.focus({ preventScroll: true }); });
scheduleRefresh();
start();
