// The Recent orders view: the newest stored orders, a page at a time.

import { api, latestOnly } from './api.js';
import { byId, setStatus, show } from './dom.js';
import { plural } from './format.js';
import { summaryItem } from './order.js';

const RECENT_PAGE = 20;

const recent = {
  next: null,
  nextSignal: latestOnly(),
};

export async function loadRecent(reset) {
  const list = byId('recent-list');
  const status = byId('recent-status');
  const more = byId('recent-more');
  const params = new URLSearchParams({ limit: String(RECENT_PAGE) });
  if (!reset && recent.next) params.set('before', recent.next);
  setStatus(status, 'Loading…');
  more.disabled = true;
  try {
    const { data } = await api(`/api/orders?${params}`, { signal: recent.nextSignal(), exact: true });
    const orders = Array.isArray(data.orders) ? data.orders : [];
    const entries = orders.map(summaryItem);
    if (reset) list.replaceChildren(...entries);
    else list.append(...entries);
    recent.next = typeof data.next === 'string' && data.next !== '' ? data.next : null;
    show(more, recent.next !== null);
    const shown = list.childElementCount;
    if (shown === 0) setStatus(status, 'No orders stored yet.');
    else setStatus(status, `${plural(shown, 'order', 'orders')} shown, newest stored first${recent.next ? '' : ' — that is all of them'}.`);
  } catch (err) {
    if (err.superseded) return;
    setStatus(status, `Could not load recent orders: ${err.message}`, 'error');
  } finally {
    more.disabled = false;
  }
}

export function initRecent(nav) {
  byId('recent-refresh').addEventListener('click', () => loadRecent(true));
  byId('recent-more').addEventListener('click', () => loadRecent(false));
  byId('recent-list').addEventListener('click', (event) => {
    const item = event.target.closest('.recent-item');
    if (!item) return;
    nav.go({ view: 'find', id: item.dataset.uid || '' }, 'push');
    window.scrollTo(0, 0);
  });
}
