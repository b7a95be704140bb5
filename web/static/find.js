// The Find view: one box for an order_uid, a track number or a customer
// id, plus a date range; the matches as lists to page through; and the
// order card.

import { api, latestOnly } from './api.js';
import { byId, el, setStatus, show, str } from './dom.js';
import { plural } from './format.js';
import { hideOrder, renderOrder, summaryItem } from './order.js';
import { KIND_LABELS, matchSummary, nextPath, orderIdProblem, searchPlan, toLocalInput, toRFC3339 } from './query.js';

const find = {
  nextSignal: latestOnly(),
  seq: 0,
  search: { q: '', from: '', to: '' }, // the search shown, as in the URL
};

let nav; // from main.js: go(state, how)

function els() {
  return {
    form: byId('lookup-form'),
    input: byId('lookup-id'),
    from: byId('search-from'),
    to: byId('search-to'),
    status: byId('lookup-status'),
    results: byId('search-results'),
    groups: byId('search-groups'),
    order: byId('order'),
  };
}

// formState reads the form: { q, from, to } with RFC 3339 dates, or
// { problem }.
function formState() {
  const e = els();
  const from = toRFC3339(e.from.value);
  const to = toRFC3339(e.to.value);
  if (from === null || to === null) return { problem: 'A date is incomplete: give both the day and the time, or clear it.' };
  return { q: e.input.value.trim(), from, to };
}

function clearResults() {
  const e = els();
  e.groups.replaceChildren();
  show(e.results, false);
}

// show shows a state of the Find view: the search q/from/to, if any, and
// the order id, if any. It runs the search again only when it changed.
export async function showFind(state) {
  const e = els();
  const search = { q: state.q, from: state.from, to: state.to };
  const changed = search.q !== find.search.q || search.from !== find.search.from || search.to !== find.search.to;
  e.input.value = state.q || state.id || '';
  e.from.value = toLocalInput(state.from);
  e.to.value = toLocalInput(state.to);
  if (!search.q && !search.from && !search.to) {
    find.search = search;
    clearResults();
    if (state.id) return loadOrder(state.id);
    find.nextSignal();
    find.seq++;
    setStatus(e.status, '');
    hideOrder();
    return undefined;
  }
  const rerun = changed || !e.groups.hasChildNodes();
  find.search = search;
  if (rerun) await runSearch(search, { openSingle: !state.id });
  if (state.id) return loadOrder(state.id);
  return undefined;
}

// loadOrder shows one order's card.
async function loadOrder(id) {
  const e = els();
  const problem = orderIdProblem(id);
  const seq = ++find.seq;
  if (problem) {
    setStatus(e.status, problem, 'error');
    hideOrder();
    return;
  }
  e.order.setAttribute('aria-busy', 'true');
  try {
    const { data, text } = await api(`/order/${encodeURIComponent(id)}`, { signal: find.nextSignal(), exact: true });
    renderOrder(data, text);
    if (!find.search.q && !find.search.from && !find.search.to) setStatus(e.status, `Order ${id} loaded.`, 'ok');
    markOpen(id);
  } catch (err) {
    if (err.superseded) return;
    hideOrder();
    if (err.status === 404) setStatus(e.status, `Order not found: no order has the id ${id}.`, 'error');
    else setStatus(e.status, err.message, 'error');
  } finally {
    if (seq === find.seq) e.order.removeAttribute('aria-busy');
  }
}

function markOpen(uid) {
  for (const b of els().groups.querySelectorAll('.recent-item')) {
    if (b.dataset.uid === uid) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
}

// runSearch asks every request of the plan at once and shows what
// matched. A search that finds exactly one order opens it (openSingle).
async function runSearch(search, { openSingle }) {
  const e = els();
  const plan = searchPlan({ text: search.q, from: search.from, to: search.to });
  const seq = ++find.seq;
  hideOrder();
  clearResults();
  if (plan.problem) {
    setStatus(e.status, plan.problem, 'error');
    return;
  }
  setStatus(e.status, 'Searching…');
  const signal = find.nextSignal();
  const answers = await Promise.allSettled(plan.requests.map((r) => api(r.path, { signal, exact: true })));
  if (seq !== find.seq) return;
  const results = [];
  const failures = [];
  let found = null; // the order an order_uid named
  plan.requests.forEach((r, i) => {
    const a = answers[i];
    if (a.status === 'rejected') {
      if (a.reason.superseded) return;
      if (r.kind === 'order_uid' && a.reason.status === 404) results.push({ kind: r.kind, count: 0 });
      else failures.push(`${KIND_LABELS[r.kind]}: ${a.reason.message}`);
      return;
    }
    if (r.kind === 'order_uid') {
      found = a.value;
      results.push({ kind: r.kind, count: 1 });
      return;
    }
    const orders = Array.isArray(a.value.data.orders) ? a.value.data.orders : [];
    const next = typeof a.value.data.next === 'string' && a.value.data.next !== '' ? a.value.data.next : null;
    results.push({ kind: r.kind, count: orders.length, more: next !== null, orders, next, filter: r.filter });
  });
  const dated = Boolean(search.from || search.to);
  const summary = matchSummary(search.q, results, dated);
  setStatus(e.status, failures.length ? `${summary} Some searches failed: ${failures.join('; ')}` : summary,
    failures.length ? 'error' : results.some((r) => r.count > 0) ? 'ok' : 'error');

  const lists = results.filter((r) => r.kind !== 'order_uid' && r.count > 0);
  for (const r of lists) e.groups.append(resultGroup(search, r));
  show(e.results, lists.length > 0);
  if (found) {
    renderOrder(found.data, found.text);
    return;
  }
  const only = lists.length === 1 && lists[0].count === 1 && !lists[0].more ? lists[0].orders[0] : null;
  if (openSingle && only) {
    await loadOrder(str(only.order_uid));
  }
}

// resultGroup is one kind's matches, with More for its next page.
function resultGroup(search, r) {
  const heading = r.kind === 'created'
    ? 'Orders created in these dates'
    : `Orders whose ${KIND_LABELS[r.kind]} is “${search.q}”`;
  const list = el('ul', { class: 'recent-list', attrs: { 'data-kind': r.kind } }, ...r.orders.map(summaryItem));
  const more = el('button', { class: 'button secondary', text: 'More', attrs: { type: 'button' } });
  const count = el('span', { class: 'muted count' });
  const state = { next: r.next, shown: r.orders.length };
  const say = () => {
    count.textContent = ` ${plural(state.shown, 'order', 'orders')} shown${state.next ? ', newest first; More lists older ones' : ''}`;
    show(more, state.next !== null);
  };
  say();
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const { data } = await api(nextPath(r.filter, state.next), { exact: true });
      const orders = Array.isArray(data.orders) ? data.orders : [];
      list.append(...orders.map(summaryItem));
      state.shown += orders.length;
      state.next = typeof data.next === 'string' && data.next !== '' ? data.next : null;
      say();
    } catch (err) {
      setStatus(els().status, `Could not list more: ${err.message}`, 'error');
    } finally {
      more.disabled = false;
    }
  });
  return el('section', { class: 'result-group', attrs: { 'data-kind': r.kind } },
    el('h3', {}, heading, count),
    list,
    el('div', { class: 'more-row' }, more));
}

export function initFind(navigation) {
  nav = navigation;
  const e = els();
  e.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const s = formState();
    if (s.problem) {
      setStatus(e.status, s.problem, 'error');
      return;
    }
    // Only an order_uid, without dates: straight to the card, as a
    // lookup always did; the search still says what else matched.
    find.search = { q: '', from: '', to: '' }; // search again even if unchanged: the operator asked
    nav.go({ view: 'find', q: s.q, from: s.from, to: s.to }, 'push');
  });
  byId('search-clear').addEventListener('click', () => {
    e.from.value = '';
    e.to.value = '';
  });
  e.groups.addEventListener('click', (event) => {
    const item = event.target.closest('.recent-item');
    if (!item) return;
    nav.go({ view: 'find', ...find.search, id: item.dataset.uid || '' }, 'push');
    byId('order').scrollIntoView({ block: 'start' });
  });
}
