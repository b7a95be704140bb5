// orderd's web UI: find orders, the recent ones, the flow as charts, the
// dead letters, and a live strip of numbers. Plain DOM and ES modules, no
// framework, no build step. The pure logic lives in modules without DOM
// access (json, format, query, chart, redrive), unit-tested with
// node --test (web/test); the rest is a thin view layer that builds
// elements with text only (dom.js).
//
// The address bar holds the view and what it shows (query.js: urlFor), so
// every search, order and dead-letter filter can be shared and reloaded,
// and back and forward step through them.

import { byId, show } from './dom.js';
import { initDlq, showDlq } from './dlq.js';
import { initFind, showFind } from './find.js';
import { initFlow, showFlow } from './flow.js';
import { initOrderCard } from './order.js';
import { stateFromURL, urlFor } from './query.js';
import { initRecent, loadRecent } from './recent.js';
import { initStats } from './stats.js';

// The tabs, in their order, by view.
const tabs = {
  find: { tab: 'tab-lookup', panel: 'panel-lookup' },
  recent: { tab: 'tab-recent', panel: 'panel-recent' },
  flow: { tab: 'tab-flow', panel: 'panel-flow' },
  dlq: { tab: 'tab-dlq', panel: 'panel-dlq' },
};
const order = Object.keys(tabs);
let recentShown = false;
let current = null; // the state shown

function selectTab(view) {
  for (const [key, t] of Object.entries(tabs)) {
    const active = key === view;
    const tab = byId(t.tab);
    tab.setAttribute('aria-selected', String(active));
    tab.tabIndex = active ? 0 : -1;
    show(byId(t.panel), active);
  }
  showFlow(view === 'flow');
}

// apply shows a state: the tab, and what the view shows in it.
function apply(state) {
  current = state;
  selectTab(state.view);
  if (state.view === 'find') showFind(state);
  else if (state.view === 'recent' && !recentShown) {
    recentShown = true;
    loadRecent(true);
  } else if (state.view === 'dlq') showDlq(state);
}

// go shows state and records it in the address bar: how is 'push' (a new
// step for back), 'replace' or 'none' (the URL already says it).
function go(state, how = 'push') {
  const url = urlFor(state);
  if (how === 'push' && url !== window.location.pathname + window.location.search) window.history.pushState(null, '', url);
  else if (how !== 'none') window.history.replaceState(null, '', url);
  apply(state);
}

const nav = { go };

function initTabs() {
  for (const [view, t] of Object.entries(tabs)) {
    const tab = byId(t.tab);
    // A tab goes back to what it showed last, e.g. the dead-letter filter.
    tab.addEventListener('click', () => nav.go(view === current?.view ? current : remembered(view), 'push'));
    // Arrow keys move between tabs, as the ARIA tabs pattern expects.
    tab.addEventListener('keydown', (event) => {
      const i = order.indexOf(view);
      let next = null;
      if (event.key === 'ArrowRight') next = order[(i + 1) % order.length];
      else if (event.key === 'ArrowLeft') next = order[(i - 1 + order.length) % order.length];
      else if (event.key === 'Home') next = order[0];
      else if (event.key === 'End') next = order[order.length - 1];
      if (next === null) return;
      event.preventDefault();
      nav.go(remembered(next), 'push');
      byId(tabs[next].tab).focus();
    });
  }
}

// remembered is the state a view was last left in.
const last = {};
function remembered(view) {
  return last[view] || { view };
}

function start() {
  initTabs();
  initOrderCard();
  initFind(nav);
  initRecent(nav);
  initFlow();
  initDlq(nav);
  initStats();
  const keep = (state) => {
    last[state.view] = state;
    return state;
  };
  nav.go = (state, how) => go(keep(state), how);
  window.addEventListener('popstate', () => apply(keep(stateFromURL(window.location.search))));
  apply(keep(stateFromURL(window.location.search)));
}

start();
