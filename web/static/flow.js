// The Flow view: the last 15 minutes as line charts, drawn as inline SVG
// from GET /api/stats/history. chart.js does the arithmetic; this draws.

import { api, latestOnly } from './api.js';
import { byId, el, setStatus, svg } from './dom.js';
import { geometry, yScale } from './chart.js';
import { UNITS, clock } from './format.js';
import { REASONS } from './redrive.js';

const EVERY_MS = 3000;

// The box of every chart, in SVG user units, and the plot inside it.
const W = 560;
const H = 190;
const LEFT = 64;
const RIGHT = 70; // room for the current value's label at the line's end
const TOP = 26; // room for the axis's title above its top label
const BOTTOM = 26;
const PW = W - LEFT - RIGHT;
const PH = H - TOP - BOTTOM;

const one = (name, pick) => (h) => [{ name, values: pick(h), cls: 'line' }];

// CHARTS are what the Flow view shows, each with its unit and what its
// axis measures.
const CHARTS = [
  {
    id: 'stored', title: 'Orders stored', axis: 'orders/s', unit: UNITS.perSecond,
    about: 'New orders written to PostgreSQL per second.',
    series: one('stored', (h) => h.orders_stored_per_second),
  },
  {
    id: 'lag', title: 'Consumer lag', axis: 'messages', unit: UNITS.count, integer: true,
    about: 'Messages on Kafka this orderd has not consumed yet, over its partitions.',
    series: one('lag', (h) => h.consumer_lag),
  },
  {
    id: 'dead', title: 'Dead letters', axis: 'messages/s', unit: UNITS.perSecond,
    about: 'Messages sent to the dead-letter topic per second, by reason.',
    series: (h) => {
      const by = h.dead_letters_per_second || {};
      // Only the reasons seen in the window: five lines flat at 0 would
      // say nothing and bury the one that matters.
      const names = Object.keys(by).filter((r) => by[r].some((v) => v > 0)).sort();
      if (names.length === 0) return [{ name: 'none in the last 15 minutes', values: h.at.map(() => 0), cls: 'line' }];
      return names.map((r) => ({ name: r, values: by[r], cls: `line reason-line reason-${REASONS.includes(r) ? r : 'unknown'}` }));
    },
  },
  {
    id: 'hits', title: 'Cache hit ratio', axis: 'of reads', unit: UNITS.ratio, fixedMax: 1,
    about: 'Share of GET /order reads answered from the cache; a gap means no reads then.',
    series: one('hits', (h) => h.cache_hit_ratio),
  },
  {
    id: 'p99', title: 'GET /order latency, p99', axis: 'latency', unit: UNITS.seconds,
    about: '99th percentile of GET /order/{id}, from the request histogram; a gap means no requests then.',
    series: one('p99', (h) => h.order_p99_seconds),
  },
];

const flow = {
  timer: null,
  active: false,
  nextSignal: latestOnly(),
  cards: new Map(), // chart id → { now, plot, legend }
};

function buildCards() {
  const box = byId('flow-charts');
  for (const c of CHARTS) {
    const now = el('p', { class: 'chart-now', text: 'no data yet' });
    const plot = svg('svg', {
      class: 'chart-svg',
      attrs: { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${c.title} over the last 15 minutes` },
    });
    const legend = el('ul', { class: 'chart-legend' });
    box.append(el('section', { class: 'card chart', attrs: { id: `chart-${c.id}`, 'aria-labelledby': `chart-${c.id}-title` } },
      el('div', { class: 'chart-head' },
        el('h3', { text: c.title, attrs: { id: `chart-${c.id}-title` } }),
        now),
      el('p', { class: 'muted small chart-about', text: c.about }),
      plot,
      legend));
    flow.cards.set(c.id, { now, plot, legend });
  }
}

function draw(c, h) {
  const card = flow.cards.get(c.id);
  const to = h.at.length ? h.at[h.at.length - 1] : Date.now();
  const from = to - (h.span_seconds || 900) * 1000;
  const series = c.series(h);
  // One scale for every line of a chart.
  const integer = c.integer === true;
  const max = c.fixedMax ?? yScale(series.flatMap((s) => s.values), { integer }).max;
  const drawn = series.map((s) => ({ s, g: geometry(h.at, s.values, { width: PW, height: PH, left: LEFT, top: TOP, from, to, fixedMax: max, integer }) }));
  const axes = drawn[0].g;
  const nodes = [];
  for (const t of axes.yTicks) {
    nodes.push(svg('line', { class: 'grid', attrs: { x1: LEFT, x2: LEFT + PW, y1: t.y, y2: t.y } }));
    nodes.push(svg('text', { class: 'tick', text: c.unit.format(t.value), attrs: { x: LEFT - 6, y: t.y, 'text-anchor': 'end', 'dominant-baseline': 'middle' } }));
  }
  for (const t of axes.xTicks) {
    nodes.push(svg('line', { class: 'grid-x', attrs: { x1: t.x, x2: t.x, y1: TOP + PH, y2: TOP + PH + 4 } }));
    nodes.push(svg('text', { class: 'tick', text: clock(t.at), attrs: { x: t.x, y: H - 6, 'text-anchor': 'middle' } }));
  }
  nodes.push(svg('text', { class: 'axis-title', text: c.axis, attrs: { x: LEFT - 6, y: 10, 'text-anchor': 'end' } }));
  nodes.push(svg('line', { class: 'axis', attrs: { x1: LEFT, x2: LEFT + PW, y1: TOP + PH, y2: TOP + PH } }));
  const nows = [];
  for (const { s, g } of drawn) {
    nodes.push(svg('path', { class: s.cls, attrs: { d: g.d, fill: 'none' } }));
    if (g.last) {
      nodes.push(svg('circle', { class: `${s.cls} dot`, attrs: { cx: g.last.x, cy: g.last.y, r: 3 } }));
      nows.push({ name: s.name, text: c.unit.format(g.last.value), at: g.last });
    }
  }
  // The current value, at the line's end; for several lines, in the legend.
  if (series.length === 1 && nows.length === 1) {
    const { at, text } = nows[0];
    nodes.push(svg('text', { class: 'now-label', text, attrs: { x: at.x + 8, y: at.y, 'dominant-baseline': 'middle' } }));
  }
  card.plot.replaceChildren(...nodes);
  card.legend.replaceChildren(...(c.id === 'dead' ? series.map((s) => el('li', {},
    el('span', { class: `swatch ${s.cls}` }),
    el('span', { text: `${s.name}: ${nows.find((n) => n.name === s.name)?.text ?? '—'}` }))) : []));
  if (nows.length === 0) {
    card.now.textContent = c.id === 'hits' || c.id === 'p99' ? 'no reads in the last 15 min' : 'no data yet';
  } else if (c.id === 'dead') {
    const total = nows.reduce((a, n) => a + n.at.value, 0);
    card.now.textContent = `now ${c.unit.format(total)}`;
  } else {
    card.now.textContent = `now ${nows[0].text}`;
  }
  card.now.title = nows.length ? `at ${new Date(nows[0].at.at).toLocaleTimeString()}` : '';
}

async function refresh() {
  clearTimeout(flow.timer);
  if (!flow.active) return;
  const status = byId('flow-status');
  try {
    const { data } = await api('/api/stats/history', { signal: flow.nextSignal(), timeoutMs: 2500 });
    const h = { at: [], dead_letters_per_second: {}, ...data };
    for (const c of CHARTS) draw(c, h);
    if (h.at.length === 0) setStatus(status, `Collecting: the first sample comes within ${h.interval_seconds || 3} s.`);
    else setStatus(status, `${h.at.length} samples, one every ${h.interval_seconds} s.`);
  } catch (err) {
    if (err.superseded) return;
    setStatus(status, `Could not load the history: ${err.message}`, 'error');
  }
  if (flow.active && !document.hidden) flow.timer = setTimeout(refresh, EVERY_MS);
}

// showFlow starts polling while the view is shown, and stops when not.
export function showFlow(active) {
  flow.active = active;
  if (active) refresh();
  else {
    clearTimeout(flow.timer);
    flow.nextSignal();
  }
}

export function initFlow() {
  buildCards();
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && flow.active) refresh();
  });
}
