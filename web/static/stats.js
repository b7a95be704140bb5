// The live strip: a few numbers, refreshed every few seconds.

import { api, latestOnly } from './api.js';
import { byId, setStatus } from './dom.js';
import { count, percentDown } from './format.js';
import { REASONS } from './redrive.js';

const STATS_EVERY_MS = 3000;
const STATS_TIMEOUT_MS = 2500; // shorter than the period, so polls never pile up

const stats = {
  timer: null,
  gen: 0,
  nextSignal: latestOnly(),
};

const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const precisePercent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 });

function renderStats(s) {
  byId('stat-orders').textContent = count(s.orders_stored);
  byId('stat-rate').textContent = Number.isFinite(s.ingest_rate) ? `${oneDecimal.format(s.ingest_rate)}/s` : '—';

  const d = s.dlq || {};
  const byReason = d.by_reason && typeof d.by_reason === 'object' ? d.by_reason : {};
  const statDlq = byId('stat-dlq');
  statDlq.textContent = count(d.total);
  const reasons = [...REASONS, ...Object.keys(byReason).filter((k) => !REASONS.includes(k))]
    .map((k) => `${k}: ${count(byReason[k] ?? 0)}`);
  statDlq.title = `On the dead-letter topic: ${count(d.total)}.\nDead-lettered since this orderd started:\n${reasons.join('\n')}`;

  const c = s.cache || {};
  const known = Number.isFinite(c.hit_ratio);
  const statCache = byId('stat-cache');
  statCache.textContent = count(c.entries);
  statCache.title = `${count(c.entries)} orders in the read cache`;
  const statHits = byId('stat-hits');
  statHits.textContent = known ? percentDown(c.hit_ratio) : 'no reads yet';
  statHits.title = `Reads of GET /order answered from the cache since start: ${known ? precisePercent.format(c.hit_ratio) : 'none yet'} (${count(c.hits)} hits, ${count(c.misses)} misses)`;

  const statLag = byId('stat-lag');
  statLag.textContent = count(s.consumer_lag);
  statLag.title = `Messages on Kafka not yet consumed; ${count(s.in_flight)} in flight inside orderd`;
}

async function refreshStats() {
  const strip = byId('stats');
  const status = byId('stats-status');
  clearTimeout(stats.timer);
  const gen = ++stats.gen;
  try {
    const { data } = await api('/api/stats', { signal: stats.nextSignal(), timeoutMs: STATS_TIMEOUT_MS });
    renderStats(data);
    strip.classList.remove('stale');
    setStatus(status, '');
    status.title = '';
  } catch (err) {
    if (err.superseded) return;
    // Keep the last numbers, greyed out: blanking them would make the
    // strip jump every time orderd restarts.
    strip.classList.add('stale');
    setStatus(status, 'stats unavailable', 'error');
    status.title = err.message;
  }
  if (gen === stats.gen && !document.hidden) stats.timer = setTimeout(refreshStats, STATS_EVERY_MS);
}

export function initStats() {
  // A hidden tab polls nothing; coming back shows fresh numbers at once.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(stats.timer);
      stats.gen++;
      stats.nextSignal();
    } else {
      refreshStats();
    }
  });
  if (!document.hidden) refreshStats();
}
