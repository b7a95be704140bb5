// orderd's web UI: order lookup, recent orders, the dead-letter queue and a
// live stats strip. Plain DOM, no framework, no build step.
//
// Everything the server returns (orders, dead-letter payloads, even error
// messages) is untrusted text. It reaches the page only as textContent, as a
// form field's value, or as a non-event attribute set through el(); nothing
// is ever parsed as markup. The server's Content-Security-Policy backs this
// up, but the script must be safe without it.
(() => {
  'use strict';

  const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
  const TOKEN_KEY = 'orderd-admin-token';
  const REASONS = ['invalid_json', 'invalid_order', 'too_large', 'conflict', 'internal_error'];
  const RECENT_PAGE = 20;
  const DLQ_LIMIT = 50;
  const REQUEST_TIMEOUT_MS = 10000; // the server gives up after 10 s itself
  const STATS_EVERY_MS = 3000;
  const STATS_TIMEOUT_MS = 2500; // shorter than the period, so polls never pile up

  // ---------------------------------------------------------------- DOM

  // byId fails loudly: a renamed id must break at load, not at first click.
  function byId(id) {
    const node = document.getElementById(id);
    if (!node) throw new Error(`orderd UI: #${id} is missing from index.html`);
    return node;
  }

  // el builds an element. Text only ever goes in through textContent or a
  // text node, and event-handler or style attributes are refused, so no
  // caller can turn order data into markup or script by accident.
  function el(tag, opts = {}, ...children) {
    const node = document.createElement(tag);
    if (opts.class) node.className = opts.class;
    if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
    for (const [name, value] of Object.entries(opts.attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (/^on/i.test(name) || /^style$/i.test(name)) {
        throw new Error(`el: refusing attribute ${name}`);
      }
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child); // a string becomes a text node
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // setStatus writes a status line; kind 'error' or 'ok' colours it.
  function setStatus(node, text, kind = '') {
    node.textContent = text;
    node.classList.toggle('error', kind === 'error');
    node.classList.toggle('ok', kind === 'ok');
  }

  // Facts are label/value pairs in a <dl>; empty values are left out so a
  // card never shows a label with nothing after it.
  function fillFacts(dl, pairs) {
    dl.replaceChildren();
    for (const [label, value] of pairs) {
      if (value === undefined || value === null || value === '') continue;
      dl.append(el('div', { class: 'fact' },
        el('dt', { text: label }),
        value instanceof Node ? el('dd', {}, value) : el('dd', { text: value })));
    }
  }

  // ---------------------------------------------------------- formatting

  const numberFmt = new Intl.NumberFormat();
  const oneDecimalFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const percentFmt = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
  const precisePercentFmt = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 });
  const plainMoneyFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

  function count(n) {
    return typeof n === 'number' && Number.isFinite(n) ? numberFmt.format(n) : '—';
  }

  function plural(n, one, many) {
    return `${count(n)} ${n === 1 ? one : many}`;
  }

  // Intl accepts any well-formed code, even one it knows nothing about, and
  // then guesses 2 fraction digits with no symbol; where the engine can list
  // its currencies, an unknown code is formatted plainly instead.
  const knownCurrencies = (() => {
    try {
      return new Set(Intl.supportedValuesOf('currency'));
    } catch {
      return null;
    }
  })();

  const moneyFormats = new Map();

  // moneyFormat returns the formatter of a currency's amounts, which takes
  // the amount in minor units as a BigInt.
  function moneyFormat(currency) {
    let format = moneyFormats.get(currency);
    if (format) return format;
    try {
      if (knownCurrencies && !knownCurrencies.has(currency)) throw new RangeError('unknown currency');
      format = exactMoneyFormat(new Intl.NumberFormat(undefined, { style: 'currency', currency }));
    } catch {
      const plain = exactMoneyFormat(plainMoneyFmt);
      format = (minor) => `${plain(minor)} ${currency}`.trim();
    }
    moneyFormats.set(currency, format);
    return format;
  }

  // exactMoneyFormat formats minor units with nf, a format whose minimum and
  // maximum fraction digits agree (as a currency's do), without ever going
  // through a double: int64 amounts beyond 2^53 must keep every digit.
  // Intl formats a BigInt exactly but only as a whole number, so nf formats
  // the major units and the exact remainder replaces the zeros it put after
  // the decimal sign, in nf's own digits.
  function exactMoneyFormat(nf) {
    const { locale, numberingSystem, maximumFractionDigits: digits } = nf.resolvedOptions();
    // Minor units per major unit differ: JPY has 0, KWD 3.
    const scale = 10n ** BigInt(digits);
    const fractionFmt = digits > 0
      ? new Intl.NumberFormat(locale, { numberingSystem, minimumIntegerDigits: digits, useGrouping: false })
      : null;
    return (minor) => {
      const abs = minor < 0n ? -minor : minor;
      const major = abs / scale;
      // -0 keeps the sign of an amount under one major unit, e.g. -0.50.
      const whole = minor >= 0n ? major : major === 0n ? -0 : -major;
      const fraction = fractionFmt ? fractionFmt.format(abs % scale) : '';
      return nf.formatToParts(whole).map((part) => (part.type === 'fraction' ? fraction : part.value)).join('');
    };
  }

  // exactInt returns an integer read by parseJSON as a BigInt, or null if v
  // is not one. A Number that is not a safe integer is refused too: its
  // digits may already be wrong, and a dash is better than a wrong amount.
  function exactInt(v) {
    if (typeof v === 'bigint') return v;
    return Number.isSafeInteger(v) ? BigInt(v) : null;
  }

  // money formats an amount given in the currency's minor units.
  function money(minor, currency) {
    const n = exactInt(minor);
    return n === null ? '—' : moneyFormat(String(currency ?? ''))(n);
  }

  function parseDate(value) {
    if (typeof value !== 'string' && typeof value !== 'number') return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  // fillTime shows a moment in the user's locale and keeps the exact value
  // the server sent in datetime and title, for anyone who needs it.
  function fillTime(node, raw, date = parseDate(raw)) {
    node.textContent = date ? dateTimeFmt.format(date) : String(raw ?? '—');
    if (typeof raw === 'string') node.setAttribute('datetime', raw);
    else if (date) node.setAttribute('datetime', date.toISOString());
    else node.removeAttribute('datetime');
    node.setAttribute('title', String(raw ?? ''));
    return node;
  }

  function timeEl(raw, date) {
    return fillTime(el('time'), raw, date);
  }

  function unixTimeEl(seconds) {
    const date = typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000) : null;
    const node = timeEl(seconds, date && !Number.isNaN(date.getTime()) ? date : null);
    node.setAttribute('title', `${seconds} (Unix seconds)`);
    return node;
  }

  function str(v) {
    return v === undefined || v === null ? '' : String(v);
  }

  // ---------------------------------------------------------------- JSON

  // JSON_TOKEN matches one JSON token after any white space. It splits text
  // into tokens and nothing more: JSON.parse is what decides whether text
  // is JSON.
  const JSON_TOKEN = /\s*("(?:[^"\\]|\\.)*"|[{}[\]:,]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/y;

  // jsonTokens splits JSON text into its tokens, each exactly as written,
  // or returns null for text it cannot tokenize. The DLQ editor compares
  // payloads by them; parseJSON reads numbers from them.
  function jsonTokens(text) {
    const tokens = [];
    JSON_TOKEN.lastIndex = 0;
    while (JSON_TOKEN.lastIndex < text.length) {
      const at = JSON_TOKEN.lastIndex;
      const m = JSON_TOKEN.exec(text);
      if (!m) return /^\s*$/.test(text.slice(at)) ? tokens : null;
      tokens.push(m[1]);
    }
    return tokens;
  }

  const INTEGER = /^-?\d+$/;

  // parseJSON reads JSON as JSON.parse does, except that an integer beyond
  // Number.MAX_SAFE_INTEGER (2^53 - 1) becomes a BigInt of exactly the
  // digits sent. JSON.parse rounds it to the nearest double, and orderd's
  // ids and amounts are int64: nm_id 9223372036854775807 would come back as
  // 9223372036854775808, and a correct payment would seem not to add up.
  // Every other integer stays a Number, so code that only ever sees small
  // ones is unchanged; code that reads an int64 takes either (exactInt).
  //
  // Why a reader of our own, and not JSON.parse's reviver with
  // context.source: that third argument is new (Chromium 114, other engines
  // later), and where it is missing the reviver still runs and the digits
  // are lost without a word. This works in any engine with BigInt, reuses
  // the DLQ editor's tokenizer, and leaves every question of syntax (and
  // its error message) to JSON.parse, which reads the text first.
  //
  // Each string is one regular-expression match, so this is for answers
  // whose strings are short, like orders (at most 1024 bytes each), not for
  // dead-letter payloads of megabytes.
  function parseJSON(text) {
    const rounded = JSON.parse(text);
    const tokens = jsonTokens(text);
    if (tokens === null) return rounded; // not reached: JSON.parse accepted the text
    let i = 0;
    const value = () => {
      const t = tokens[i++];
      if (t === '{') {
        const obj = {};
        if (tokens[i] === '}') {
          i++;
          return obj;
        }
        do {
          const key = JSON.parse(tokens[i]);
          i += 2; // the key and its colon
          // Defined, not assigned, as JSON.parse does: a key "__proto__"
          // is then a property like any other, not the object's prototype.
          Object.defineProperty(obj, key, { value: value(), writable: true, enumerable: true, configurable: true });
        } while (tokens[i++] === ',');
        return obj;
      }
      if (t === '[') {
        const arr = [];
        if (tokens[i] === ']') {
          i++;
          return arr;
        }
        do arr.push(value()); while (tokens[i++] === ',');
        return arr;
      }
      if (INTEGER.test(t)) {
        const n = Number(t);
        return Number.isSafeInteger(n) ? n : BigInt(t);
      }
      return JSON.parse(t); // a string, a number with a fraction or exponent, true, false or null
    };
    return value();
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, { superseded = false, body = null } = {}) {
      super(message);
      this.name = 'ApiError';
      this.status = status; // 0: no HTTP answer
      this.superseded = superseded;
      this.body = body;
    }
  }

  // latestOnly hands out a fresh AbortSignal per call and aborts the one
  // before it, so a slow old answer can never overwrite a newer one.
  function latestOnly() {
    let ctrl = null;
    return () => {
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      return ctrl.signal;
    };
  }

  // api fetches JSON from orderd. It resolves with the parsed body and its
  // exact text, or rejects with an ApiError whose message is the server's
  // own {"error": ...} when there is one. With exact, the body is read by
  // parseJSON, so int64 values keep their digits.
  async function api(path, { method = 'GET', body, token, signal, timeoutMs = REQUEST_TIMEOUT_MS, exact = false } = {}) {
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, timeoutMs);
    const forward = () => ctrl.abort();
    if (signal) {
      if (signal.aborted) ctrl.abort();
      else signal.addEventListener('abort', forward, { once: true });
    }
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;

    let res;
    let text;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
        cache: 'no-store',
        credentials: 'same-origin',
      });
      text = await res.text();
    } catch (err) {
      if (signal && signal.aborted) throw new ApiError(0, 'superseded', { superseded: true });
      if (timedOut) throw new ApiError(0, `network error: orderd did not answer within ${timeoutMs / 1000} s`);
      throw new ApiError(0, `network error: could not reach orderd (${err.message})`);
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', forward);
    }

    let data;
    try {
      data = exact ? parseJSON(text) : JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const msg = data && typeof data.error === 'string' && data.error !== ''
        ? data.error
        : `HTTP ${res.status} ${res.statusText}`.trim();
      throw new ApiError(res.status, msg, { body: data });
    }
    if (data === undefined || data === null || typeof data !== 'object') {
      throw new ApiError(res.status, 'orderd answered with something that is not a JSON object');
    }
    return { data, text };
  }

  // ---------------------------------------------------------------- tabs

  const tabs = {
    lookup: { tab: byId('tab-lookup'), panel: byId('panel-lookup') },
    recent: { tab: byId('tab-recent'), panel: byId('panel-recent'), onFirstShow: () => loadRecent(true) },
    dlq: { tab: byId('tab-dlq'), panel: byId('panel-dlq'), onFirstShow: () => dlqStart() },
  };
  const tabOrder = Object.keys(tabs);

  function selectTab(name, { focusTab = false } = {}) {
    for (const [key, t] of Object.entries(tabs)) {
      const active = key === name;
      t.tab.setAttribute('aria-selected', String(active));
      t.tab.tabIndex = active ? 0 : -1;
      show(t.panel, active);
    }
    const t = tabs[name];
    if (focusTab) t.tab.focus();
    if (t.onFirstShow && !t.shown) t.onFirstShow();
    t.shown = true;
  }

  function initTabs() {
    for (const [name, t] of Object.entries(tabs)) {
      t.tab.addEventListener('click', () => selectTab(name));
      // Arrow keys move between tabs, as the ARIA tabs pattern expects.
      t.tab.addEventListener('keydown', (event) => {
        const i = tabOrder.indexOf(name);
        let next = null;
        if (event.key === 'ArrowRight') next = tabOrder[(i + 1) % tabOrder.length];
        else if (event.key === 'ArrowLeft') next = tabOrder[(i - 1 + tabOrder.length) % tabOrder.length];
        else if (event.key === 'Home') next = tabOrder[0];
        else if (event.key === 'End') next = tabOrder[tabOrder.length - 1];
        if (next === null) return;
        event.preventDefault();
        selectTab(next, { focusTab: true });
      });
    }
  }

  // -------------------------------------------------------------- lookup

  const lookup = {
    form: byId('lookup-form'),
    input: byId('lookup-id'),
    status: byId('lookup-status'),
    order: byId('order'),
    nextSignal: latestOnly(),
    seq: 0,
    raw: '', // the order exactly as the server sent it, for "Copy JSON"
  };

  function orderIdProblem(id) {
    if (id === '') return 'Enter an order id.';
    if (id.length > 64) return `Not a valid order id: ${id.length} characters, at most 64 allowed. Nothing was fetched.`;
    if (!ORDER_ID.test(id)) return 'Not a valid order id: only letters, digits, _ and - are allowed. Nothing was fetched.';
    return null;
  }

  function idFromURL() {
    return new URLSearchParams(window.location.search).get('id');
  }

  // rememberLookup puts ?id= in the address bar so a lookup can be shared,
  // reloaded, and stepped through with back and forward.
  function rememberLookup(id, how) {
    if (how === 'none') return;
    const url = new URL(window.location.href);
    const same = url.searchParams.get('id') === id;
    url.searchParams.set('id', id);
    if (how === 'push' && !same) window.history.pushState({ id }, '', url);
    else window.history.replaceState({ id }, '', url);
  }

  // loadOrder looks an order up; how is 'push', 'replace' or 'none' (the
  // URL already says it: first load, back or forward).
  async function loadOrder(rawId, how) {
    const id = rawId.trim();
    lookup.input.value = id;
    const problem = orderIdProblem(id);
    const seq = ++lookup.seq;
    if (problem) {
      lookup.nextSignal(); // drop any lookup still running
      lookup.order.removeAttribute('aria-busy');
      setStatus(lookup.status, problem, 'error');
      hideOrder();
      return;
    }
    rememberLookup(id, how);
    setStatus(lookup.status, 'Loading…');
    lookup.order.setAttribute('aria-busy', 'true');
    try {
      const { data, text } = await api(`/order/${encodeURIComponent(id)}`, { signal: lookup.nextSignal(), exact: true });
      renderOrder(data, text);
      setStatus(lookup.status, `Order ${id} loaded.`, 'ok');
    } catch (err) {
      if (err.superseded) return;
      hideOrder();
      if (err.status === 404) setStatus(lookup.status, `Order not found: no order has the id ${id}.`, 'error');
      else setStatus(lookup.status, err.message, 'error');
    } finally {
      if (seq === lookup.seq) lookup.order.removeAttribute('aria-busy');
    }
  }

  function hideOrder() {
    show(lookup.order, false);
    lookup.raw = '';
    setStatus(byId('copy-status'), '');
  }

  function clearLookup() {
    lookup.nextSignal();
    lookup.seq++;
    lookup.order.removeAttribute('aria-busy');
    lookup.input.value = '';
    setStatus(lookup.status, '');
    hideOrder();
  }

  function initLookup() {
    lookup.form.addEventListener('submit', (event) => {
      event.preventDefault();
      loadOrder(lookup.input.value, 'push');
    });
    window.addEventListener('popstate', () => {
      const id = idFromURL();
      if (id === null || id === '') {
        clearLookup();
        return;
      }
      selectTab('lookup');
      loadOrder(id, 'none');
    });
    byId('copy-json').addEventListener('click', () => copyJSON());
  }

  // ------------------------------------------------------ order rendering

  function renderOrder(order, raw) {
    lookup.raw = raw;
    const o = order || {};
    const payment = o.payment || {};
    const delivery = o.delivery || {};
    const items = Array.isArray(o.items) ? o.items : [];

    byId('order-uid').textContent = str(o.order_uid);
    byId('order-track').textContent = str(o.track_number);
    fillTime(byId('order-date'), o.date_created);
    fillFacts(byId('order-facts'), [
      ['Entry', str(o.entry)],
      ['Locale', str(o.locale)],
      ['Customer id', str(o.customer_id)],
      ['Delivery service', str(o.delivery_service)],
      ['Shard key', str(o.shardkey)],
      ['SM id', str(o.sm_id)],
      ['OOF shard', str(o.oof_shard)],
      ['Internal signature', str(o.internal_signature)],
    ]);
    renderDelivery(delivery);
    renderPayment(payment, items);
    renderItems(items, str(payment.currency));
    setStatus(byId('copy-status'), '');
    show(lookup.order, true);
  }

  function renderDelivery(d) {
    const place = [str(d.city), str(d.region)].filter(Boolean).join(', ');
    const cityLine = [place, str(d.zip)].filter(Boolean).join(' ');
    const contact = el('dl', { class: 'facts compact' });
    fillFacts(contact, [['Phone', str(d.phone)], ['Email', str(d.email)]]);
    byId('delivery-body').replaceChildren(
      el('p', { class: 'person', text: str(d.name) }),
      el('p', { class: 'address' },
        el('span', { class: 'line', text: str(d.address) }),
        el('span', { class: 'line', text: cityLine })),
      contact,
    );
  }

  function renderPayment(p, items) {
    const cur = str(p.currency);
    fillFacts(byId('payment-facts'), [
      ['Transaction', str(p.transaction)],
      ['Provider', str(p.provider)],
      ['Bank', str(p.bank)],
      ['Request id', str(p.request_id)],
      ['Paid at', p.payment_dt === undefined ? '' : unixTimeEl(p.payment_dt)],
      ['Currency', cur],
    ]);

    const row = (label, minor, cls = '') => el('tr', { class: cls },
      el('th', { attrs: { scope: 'row' }, text: label }),
      el('td', { class: 'num', text: money(minor, cur) }));
    byId('payment-receipt').replaceChildren(
      row('Goods total', p.goods_total),
      row('Delivery', p.delivery_cost),
      row('Custom fee', p.custom_fee),
      row('Amount', p.amount, 'total'),
    );

    // In BigInt, as orderd checks them in int64: with doubles, amounts
    // beyond 2^53 round, and a correct payment could seem not to add up.
    const sumOf = (values) => (values.every((v) => v !== null) ? values.reduce((a, b) => a + b, 0n) : null);
    const goods = exactInt(p.goods_total);
    const amount = exactInt(p.amount);
    const sum = sumOf([goods, exactInt(p.delivery_cost), exactInt(p.custom_fee)]);
    const adds = sum !== null && sum === amount;
    const itemsTotal = sumOf(items.map((it) => exactInt(it && it.total_price)));
    const goodsMatch = itemsTotal !== null && itemsTotal === goods;

    byId('payment-arithmetic').textContent =
      `${money(p.goods_total, cur)} + ${money(p.delivery_cost, cur)} + ${money(p.custom_fee, cur)} ${adds ? '=' : '≠'} ${money(p.amount, cur)}`;
    const check = byId('payment-check');
    check.textContent = adds ? '✓' : '✗';
    check.classList.toggle('bad', !adds);
    byId('payment-arithmetic').classList.toggle('mismatch', !adds);

    // orderd validates both sums before storing, so a mismatch here means
    // something changed the stored order afterwards: worth shouting about.
    const problems = [];
    if (!adds) problems.push(`The stored numbers do not add up: goods total + delivery + custom fee is ${money(sum, cur)}, but the amount is ${money(p.amount, cur)}.`);
    if (!goodsMatch) problems.push(`The items' totals add up to ${money(itemsTotal, cur)}, but the goods total is ${money(p.goods_total, cur)}.`);
    const warning = byId('payment-warning');
    warning.textContent = problems.join(' ');
    show(warning, problems.length > 0);
  }

  function renderItems(items, currency) {
    byId('items-count').textContent = `(${items.length})`;
    const rows = items.map((raw) => {
      const it = raw || {};
      const sale = Number.isFinite(it.sale) ? `${it.sale}%` : str(it.sale);
      // The ids matter to support staff, not to a reader skimming the
      // order, so they sit on a quiet second line under the name.
      const ids = el('span', { class: 'sub mono' },
        el('span', { text: `chrt_id ${str(it.chrt_id)}` }), ' · ',
        el('span', { text: `nm_id ${str(it.nm_id)}` }), ' · ',
        el('span', { text: `rid ${str(it.rid)}` }));
      return el('tr', {},
        el('td', { class: 'item-name' }, el('span', { class: 'name', text: str(it.name) }), ids),
        el('td', { text: str(it.brand) }),
        el('td', { text: str(it.size) }),
        el('td', { class: 'num', text: money(it.price, currency) }),
        el('td', { class: 'num', text: sale }),
        el('td', { class: 'num strong', text: money(it.total_price, currency) }),
        el('td', { class: 'num', text: str(it.status) }));
    });
    byId('order-items').tBodies[0].replaceChildren(...rows);
  }

  async function copyJSON() {
    const status = byId('copy-status');
    const text = lookup.raw;
    if (!text) return;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        copyWithTextarea(text);
      }
      setStatus(status, 'Copied', 'ok');
    } catch {
      // The async API can be refused (permissions, focus); the old way
      // often still works.
      try {
        copyWithTextarea(text);
        setStatus(status, 'Copied', 'ok');
      } catch (err) {
        setStatus(status, `Could not copy: ${err.message}`, 'error');
      }
    }
  }

  function copyWithTextarea(text) {
    const area = el('textarea', { class: 'offscreen', attrs: { readonly: true, 'aria-hidden': 'true', tabindex: '-1' } });
    area.value = text;
    const focused = document.activeElement;
    document.body.append(area);
    try {
      area.select();
      if (!document.execCommand('copy')) throw new Error('the browser refused to copy');
    } finally {
      area.remove();
      // Selecting moved focus into the textarea; give it back.
      if (focused instanceof HTMLElement) focused.focus();
    }
  }

  // -------------------------------------------------------------- recent

  const recent = {
    list: byId('recent-list'),
    status: byId('recent-status'),
    more: byId('recent-more'),
    refresh: byId('recent-refresh'),
    next: null,
    nextSignal: latestOnly(),
  };

  async function loadRecent(reset) {
    const params = new URLSearchParams({ limit: String(RECENT_PAGE) });
    if (!reset && recent.next) params.set('before', recent.next);
    setStatus(recent.status, 'Loading…');
    recent.more.disabled = true;
    try {
      const { data } = await api(`/api/orders?${params}`, { signal: recent.nextSignal(), exact: true });
      const orders = Array.isArray(data.orders) ? data.orders : [];
      const entries = orders.map(recentItem);
      if (reset) recent.list.replaceChildren(...entries);
      else recent.list.append(...entries);
      recent.next = typeof data.next === 'string' && data.next !== '' ? data.next
        : typeof data.next === 'number' ? String(data.next) : null;
      show(recent.more, recent.next !== null);
      const shown = recent.list.childElementCount;
      if (shown === 0) setStatus(recent.status, 'No orders stored yet.');
      else setStatus(recent.status, `${plural(shown, 'order', 'orders')} shown, newest first${recent.next ? '' : ' — that is all of them'}.`);
    } catch (err) {
      if (err.superseded) return;
      setStatus(recent.status, `Could not load recent orders: ${err.message}`, 'error');
    } finally {
      recent.more.disabled = false;
    }
  }

  function recentItem(o) {
    const s = o || {};
    const uid = str(s.order_uid);
    return el('li', {},
      el('button', { class: 'recent-item', attrs: { type: 'button', 'data-uid': uid } },
        el('span', { class: 'recent-uid mono', text: uid }),
        el('span', { class: 'recent-customer', text: str(s.customer) }),
        el('span', { class: 'recent-date' }, timeEl(s.date_created)),
        el('span', { class: 'recent-amount', text: money(s.amount, s.currency) }),
        el('span', { class: 'recent-count', text: plural(s.items, 'item', 'items') })));
  }

  function initRecent() {
    recent.refresh.addEventListener('click', () => loadRecent(true));
    recent.more.addEventListener('click', () => loadRecent(false));
    recent.list.addEventListener('click', (event) => {
      const item = event.target.closest('.recent-item');
      if (!item) return;
      selectTab('lookup');
      tabs.lookup.panel.focus({ preventScroll: true });
      window.scrollTo(0, 0);
      loadOrder(item.dataset.uid || '', 'push');
    });
  }

  // ----------------------------------------------------------------- DLQ

  const dlq = {
    tokenForm: byId('dlq-token-form'),
    tokenInput: byId('dlq-token'),
    admin: byId('dlq-admin'),
    browser: byId('dlq-browser'),
    reason: byId('dlq-reason'),
    since: byId('dlq-since'),
    refresh: byId('dlq-refresh'),
    list: byId('dlq-list'),
    more: byId('dlq-more'),
    status: byId('dlq-status'),
    detail: byId('dlq-detail'),
    payload: byId('dlq-payload'),
    redrive: byId('dlq-redrive'),
    confirm: byId('dlq-confirm'),
    confirmButton: byId('dlq-redrive-confirm'),
    cancelButton: byId('dlq-redrive-cancel'),
    result: byId('dlq-redrive-result'),
    nextListSignal: latestOnly(),
    nextDetailSignal: latestOnly(),
    records: new Map(), // ref → record from the listing
    next: null, // the cursor of the listing's next page, if it may have one
    current: null, // the record shown in the detail
    original: '', // the payload text as first put in the textarea
    memoryToken: null, // used when sessionStorage is unavailable
  };

  // The token lives in sessionStorage only: it survives a reload but not
  // the tab, and is never written anywhere that outlives the session.
  function getToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || dlq.memoryToken;
    } catch {
      return dlq.memoryToken;
    }
  }

  function setToken(token) {
    dlq.memoryToken = token;
    try {
      if (token === null) window.sessionStorage.removeItem(TOKEN_KEY);
      else window.sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage disabled: the in-memory copy lasts until the page closes.
    }
  }

  function tokenProblem(token) {
    if (token === '') return 'Enter the admin token.';
    // fetch cannot send a header with other characters.
    if (!/^[\x20-\x7e]+$/.test(token)) return 'The token can only hold printable ASCII characters.';
    return null;
  }

  function showTokenForm() {
    show(dlq.tokenForm, true);
    show(dlq.admin, false);
    show(dlq.browser, false);
    closeDetail();
  }

  function showAdmin() {
    show(dlq.tokenForm, false);
    show(dlq.admin, true);
    show(dlq.browser, true);
  }

  function dlqStart() {
    if (getToken()) {
      showAdmin();
      loadDlq();
    } else {
      showTokenForm();
    }
  }

  // authProblem turns the admin API's refusals into what the operator must
  // do, and reports whether err was one of them.
  function authProblem(err, { notFoundMeansDisabled }) {
    if (err.status === 401) {
      setToken(null);
      showTokenForm();
      setStatus(dlq.status, 'wrong or missing admin token: enter the ADMIN_TOKEN orderd was started with.', 'error');
      dlq.tokenInput.focus();
      return true;
    }
    // A 404 on a single record can mean the record is gone; the server's
    // own message says which.
    if (err.status === 404 && (notFoundMeansDisabled || /disabled/i.test(err.message))) {
      showTokenForm();
      setStatus(dlq.status, 'the admin API is disabled on this server (ADMIN_TOKEN not set)', 'error');
      return true;
    }
    return false;
  }

  // loadDlq lists the newest dead letters that match the filter (reset),
  // or the page after those shown (More), with the cursor the last page
  // gave. A page stops at DLQ_LIMIT records, or when the server's time
  // budget for one search runs out ("partial"): More goes on from there.
  async function loadDlq(reset = true) {
    const params = new URLSearchParams({ limit: String(DLQ_LIMIT) });
    if (dlq.reason.value) params.set('reason', dlq.reason.value);
    if (dlq.since.value) params.set('since', dlq.since.value);
    if (!reset && dlq.next) params.set('cursor', dlq.next);
    setStatus(dlq.status, reset ? 'Loading…' : 'Loading more…');
    dlq.refresh.disabled = true;
    dlq.more.disabled = true;
    try {
      const { data } = await api(`/api/admin/dlq?${params}`, { token: getToken(), signal: dlq.nextListSignal() });
      const records = Array.isArray(data.records) ? data.records : [];
      if (reset) dlq.records = new Map();
      for (const r of records) dlq.records.set(str(r && r.ref), r || {});
      const items = records.map(dlqItem);
      if (reset) dlq.list.replaceChildren(...items);
      else dlq.list.append(...items);
      markCurrent();
      dlq.next = typeof data.next === 'string' && data.next !== '' ? data.next : null;
      show(dlq.more, dlq.next !== null);
      const full = records.length >= DLQ_LIMIT;
      setStatus(dlq.status, listStatus(dlq.list.childElementCount, full, data.partial === true, data.trimmed));
    } catch (err) {
      if (err.superseded) return;
      if (!authProblem(err, { notFoundMeansDisabled: true })) {
        setStatus(dlq.status, `Could not list dead letters: ${err.message}`, 'error');
      }
    } finally {
      dlq.refresh.disabled = false;
      dlq.more.disabled = false;
    }
  }

  // listStatus says what the list shows and whether More has more. A full
  // page without a cursor (a server that cannot page) may not be all.
  function listStatus(shown, full, partial, trimmed) {
    const filtered = dlq.reason.value || dlq.since.value;
    let text;
    if (shown === 0 && dlq.next === null) {
      text = filtered ? 'No dead letters match this filter.' : 'No dead letters: the topic is empty.';
    } else if (shown === 0) {
      text = 'None found yet: the search stopped at its time limit. More searches further back.';
    } else if (partial) {
      text = `${plural(shown, 'record', 'records')} shown, newest first. The search stopped at its time limit: More searches further back.`;
    } else if (dlq.next !== null) {
      text = `${plural(shown, 'record', 'records')} shown, newest first. More lists older ones.`;
    } else if (full) {
      text = `${plural(shown, 'record', 'records')} shown, newest first.`;
    } else {
      text = `${plural(shown, 'record', 'records')} shown, newest first — that is all of them.`;
    }
    for (const t of Array.isArray(trimmed) ? trimmed : []) {
      text += ` Retention removed the older records of partition ${str(t && t.partition)} while they were listed; none it still holds were skipped.`;
    }
    return text;
  }

  function reasonBadge(reason) {
    const code = str(reason) || 'unknown';
    const known = REASONS.includes(code) ? code : 'unknown';
    return el('span', { class: `dlq-reason badge reason-${known}`, text: code });
  }

  // A record too large for the dead-letter topic was cut to fit it; the
  // server says so only then, with the size and digest of the whole.
  function isTruncated(rec) {
    return Boolean(rec) && rec.truncated === true;
  }

  function truncatedBadge(rec) {
    const original = Number.isFinite(rec.original_bytes) ? ` of ${plural(rec.original_bytes, 'byte', 'bytes')}` : '';
    return el('span', {
      class: 'badge badge-truncated',
      text: 'truncated',
      attrs: { title: `Payload cut to fit the dead-letter topic: only the start of the message${original} is kept` },
    });
  }

  function sourceText(r) {
    if (!r.source_topic && r.source_partition === undefined) return '';
    return `from ${str(r.source_topic) || '?'} partition ${str(r.source_partition)}, offset ${str(r.source_offset)}`;
  }

  function dlqItem(r) {
    const rec = r || {};
    const ref = str(rec.ref);
    return el('li', {},
      el('button', { class: 'dlq-item', attrs: { type: 'button', 'data-ref': ref } },
        el('span', { class: 'dlq-item-head' },
          el('span', { class: 'dlq-ref mono', text: ref }),
          reasonBadge(rec.reason),
          isTruncated(rec) ? truncatedBadge(rec) : null,
          rec.failed_at ? el('span', { class: 'dlq-time' }, timeEl(rec.failed_at)) : null),
        el('span', { class: 'dlq-error', text: str(rec.error) || 'no error recorded' }),
        el('span', { class: 'dlq-source', text: sourceText(rec) }),
        rec.preview ? el('span', { class: 'dlq-preview mono', text: str(rec.preview) }) : null));
  }

  function markCurrent() {
    const ref = dlq.current ? str(dlq.current.ref) : null;
    for (const button of dlq.list.querySelectorAll('.dlq-item')) {
      if (button.dataset.ref === ref) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  async function openRecord(ref) {
    const listed = dlq.records.get(ref);
    const partition = listed ? listed.partition : Number(ref.split(':')[0]);
    const offset = listed ? listed.offset : Number(ref.split(':')[1]);
    if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) {
      setStatus(dlq.status, `Cannot open record ${ref}: not PARTITION:OFFSET.`, 'error');
      return;
    }
    setStatus(dlq.status, `Loading record ${ref}…`);
    try {
      const { data } = await api(`/api/admin/dlq/${encodeURIComponent(partition)}/${encodeURIComponent(offset)}`,
        { token: getToken(), signal: dlq.nextDetailSignal() });
      renderDetail(data);
      setStatus(dlq.status, `Record ${str(data.ref) || ref} opened.`);
      byId('dlq-detail-title').focus();
    } catch (err) {
      if (err.superseded) return;
      if (!authProblem(err, { notFoundMeansDisabled: false })) {
        setStatus(dlq.status, `Could not open record ${ref}: ${err.message}`, 'error');
      }
    }
  }

  // payloadText is what the operator edits: pretty JSON when that changes
  // nothing but layout and string escapes, the text as received otherwise.
  // JSON.parse silently drops duplicate keys, rounds big numbers, rewrites
  // 1.0 as 1 and moves integer-like keys first; an operator fixing a
  // message must see what was actually sent, not a quietly repaired copy.
  function payloadText(rec) {
    const raw = str(rec.payload);
    if (!rec.payload_is_json) return { text: raw, note: 'as received (not JSON)' };
    let parsed;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { text: raw, note: 'as received' };
    }
    if (normalizeJSON(raw) !== JSON.stringify(parsed)) {
      return { text: raw, note: 'as received: pretty-printing would change it (duplicate keys, number forms or key order)' };
    }
    return { text: JSON.stringify(parsed, null, 2), note: 'JSON, pretty-printed' };
  }

  // normalizeJSON rewrites JSON text token by token the way JSON.stringify
  // would if nothing were lost: no white space, strings re-escaped (Go's
  // \u0026 for & is the same string), numbers and keys exactly as written.
  // It returns null for text it cannot tokenize.
  function normalizeJSON(text) {
    const tokens = jsonTokens(text);
    return tokens && tokens.map((t) => (t[0] === '"' ? JSON.stringify(JSON.parse(t)) : t)).join('');
  }

  function byteLength(rec) {
    if (typeof rec.payload_base64 === 'string') {
      const b64 = rec.payload_base64;
      const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
      return Math.floor((b64.length * 3) / 4) - pad;
    }
    return new TextEncoder().encode(str(rec.payload)).length;
  }

  function renderDetail(rec) {
    dlq.current = rec;
    byId('dlq-detail-ref').textContent = str(rec.ref);
    byId('dlq-detail-error').textContent = str(rec.error) || 'No error recorded.';
    fillFacts(byId('dlq-detail-facts'), [
      ['Reason', reasonBadge(rec.reason)],
      ['Failed at', rec.failed_at ? timeEl(rec.failed_at) : ''],
      ['Source', sourceText(rec).replace(/^from /, '')],
      ['Key', str(rec.key)],
      ['Dead-letter position', `partition ${str(rec.partition)}, offset ${str(rec.offset)}`],
    ]);

    const headers = Array.isArray(rec.headers) ? rec.headers : [];
    const kv = byId('dlq-headers');
    // The API documents {"key","value"}; a server that encodes the Go
    // struct without tags sends {"Key","Value"}. Either shows.
    const field = (h, name) => (h ? str(h[name] ?? h[name[0].toUpperCase() + name.slice(1)]) : '');
    kv.replaceChildren(...headers.map((h) => el('div', { class: 'kv-row' },
      el('dt', { class: 'mono', text: field(h, 'key') }),
      el('dd', { class: 'mono', text: field(h, 'value') }))));
    if (headers.length === 0) kv.append(el('div', { class: 'kv-row' }, el('dt', { text: 'none' })));

    const { text, note } = payloadText(rec);
    dlq.original = text;
    dlq.payload.value = text;
    const notice = byId('dlq-truncated');
    if (isTruncated(rec)) {
      byId('dlq-payload-note').textContent = `${note} · ${keptText(rec)} (truncated)`;
      notice.replaceChildren(
        `Payload truncated to fit the dead-letter topic: ${keptText(rec)}, original SHA-256 `,
        el('span', { class: 'mono', text: str(rec.original_sha256) || 'unknown' }),
        '. Below is only the start of the message, which Redrive will not send as it is: replace it with the whole message, corrected, first.');
    } else {
      byId('dlq-payload-note').textContent = `${note} · ${plural(byteLength(rec), 'byte', 'bytes')}`;
      notice.replaceChildren();
    }
    show(notice, isTruncated(rec));
    setStatus(dlq.result, '');
    closeConfirm();
    payloadEdited();
    show(dlq.detail, true);
    markCurrent();
  }

  function closeDetail() {
    dlq.nextDetailSignal();
    dlq.current = null;
    closeConfirm();
    show(dlq.detail, false);
    markCurrent();
  }

  function isEdited() {
    return dlq.payload.value !== dlq.original;
  }

  // keptText is how much of a truncated record's payload is left, e.g.
  // "1,613 of 7,632 bytes kept".
  function keptText(rec) {
    const original = Number.isFinite(rec.original_bytes) ? count(rec.original_bytes) : 'an unknown number of';
    return `${count(byteLength(rec))} of ${original} bytes kept`;
  }

  // mustEdit says the payload shown is a truncated fragment the operator
  // has not replaced: the server would refuse it (409), and rightly, since
  // orderd could only dead-letter a fragment again.
  function mustEdit() {
    return isTruncated(dlq.current) && !isEdited();
  }

  function payloadEdited() {
    const edited = isEdited();
    show(byId('dlq-payload-edited'), edited);
    byId('dlq-payload-reset').disabled = !edited;
    if (!dlq.confirm.hidden) describeRedrive();
  }

  function describeRedrive() {
    const ref = str(dlq.current && dlq.current.ref);
    const edited = isEdited();
    const cut = mustEdit();
    let question;
    if (cut) question = `Record ${ref} cannot be redriven with this payload: it is only part of the message (${keptText(dlq.current)}).`;
    else if (edited) question = `Publish record ${ref} to the orders topic again with the payload as you edited it? Your edited text replaces the original message.`;
    else question = `Publish record ${ref} to the orders topic again with its original payload, unchanged (not edited)?`;
    byId('dlq-confirm-text').textContent = question;
    dlq.confirmButton.disabled = cut;
    const warning = byId('dlq-confirm-warning');
    // Every order is JSON, so edited text that is not will come straight
    // back to the dead-letter topic.
    let problem = '';
    if (cut) {
      problem = 'The payload was truncated to fit the dead-letter topic, and sending what is left would only dead-letter it again. '
        + 'Replace the text in the Payload box with the whole message, corrected, then choose Redrive now.';
    } else if (edited) {
      try {
        JSON.parse(dlq.payload.value);
      } catch (err) {
        problem = `The edited payload is not valid JSON (${err.message}); orderd will dead-letter it again as invalid_json.`;
      }
    }
    warning.textContent = problem;
    show(warning, problem !== '');
  }

  function openConfirm() {
    if (!dlq.current) return;
    describeRedrive();
    show(dlq.confirm, true);
    dlq.redrive.setAttribute('aria-expanded', 'true');
    setStatus(dlq.result, '');
    // A disabled button cannot take focus; Cancel keeps it in the group.
    (mustEdit() ? dlq.cancelButton : dlq.confirmButton).focus();
  }

  function closeConfirm() {
    show(dlq.confirm, false);
    dlq.redrive.setAttribute('aria-expanded', 'false');
  }

  async function redrive() {
    const rec = dlq.current;
    if (!rec) return;
    if (mustEdit()) {
      describeRedrive();
      return;
    }
    const ref = str(rec.ref);
    const body = { records: [ref] };
    // Sent exactly as typed: the operator's text is the new message.
    if (isEdited()) body.payload = dlq.payload.value;
    dlq.confirmButton.disabled = true;
    dlq.cancelButton.disabled = true;
    setStatus(dlq.status, `Redriving ${ref}…`);
    try {
      const { data } = await api('/api/admin/dlq/redrive', { method: 'POST', body, token: getToken() });
      const done = Array.isArray(data.redriven) ? data.redriven : [];
      const text = done.length
        ? done.map((d) => `Redriven ${str(d.from)} → ${str(d.topic)} ${str(d.partition)}:${str(d.offset)}`).join('; ')
        : `Redrive of ${ref} answered, but named no new message.`;
      setStatus(dlq.status, text, done.length ? 'ok' : 'error');
      setStatus(dlq.result, text, done.length ? 'ok' : 'error');
      closeConfirm();
      dlq.redrive.focus();
    } catch (err) {
      if (authProblem(err, { notFoundMeansDisabled: false })) return;
      const text = `Redrive of ${ref} failed: ${err.message}`;
      setStatus(dlq.status, text, 'error');
      setStatus(dlq.result, text, 'error');
    } finally {
      dlq.confirmButton.disabled = mustEdit();
      dlq.cancelButton.disabled = false;
    }
  }

  function initDlq() {
    dlq.tokenForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = dlq.tokenInput.value.trim();
      const problem = tokenProblem(token);
      if (problem) {
        setStatus(dlq.status, problem, 'error');
        dlq.tokenInput.focus();
        return;
      }
      setToken(token);
      dlq.tokenInput.value = '';
      showAdmin();
      loadDlq();
    });
    byId('dlq-forget').addEventListener('click', () => {
      dlq.nextListSignal();
      setToken(null);
      dlq.list.replaceChildren();
      dlq.records = new Map();
      dlq.next = null;
      show(dlq.more, false);
      showTokenForm();
      setStatus(dlq.status, 'Token forgotten.');
      dlq.tokenInput.focus();
    });
    dlq.refresh.addEventListener('click', () => loadDlq());
    dlq.more.addEventListener('click', () => loadDlq(false));
    dlq.reason.addEventListener('change', () => loadDlq());
    dlq.since.addEventListener('change', () => loadDlq());
    dlq.list.addEventListener('click', (event) => {
      const item = event.target.closest('.dlq-item');
      if (item) openRecord(item.dataset.ref || '');
    });
    byId('dlq-detail-close').addEventListener('click', () => {
      const ref = dlq.current ? str(dlq.current.ref) : null;
      closeDetail();
      const item = [...dlq.list.querySelectorAll('.dlq-item')].find((b) => b.dataset.ref === ref);
      if (item) item.focus();
    });
    dlq.payload.addEventListener('input', payloadEdited);
    byId('dlq-payload-reset').addEventListener('click', () => {
      dlq.payload.value = dlq.original;
      payloadEdited();
      dlq.payload.focus();
    });
    dlq.redrive.addEventListener('click', openConfirm);
    dlq.cancelButton.addEventListener('click', () => {
      closeConfirm();
      dlq.redrive.focus();
    });
    dlq.confirmButton.addEventListener('click', redrive);
  }

  // --------------------------------------------------------------- stats

  const stats = {
    strip: byId('stats'),
    status: byId('stats-status'),
    timer: null,
    gen: 0,
    nextSignal: latestOnly(),
  };

  function renderStats(s) {
    byId('stat-orders').textContent = count(s.orders_stored);
    byId('stat-rate').textContent = Number.isFinite(s.ingest_rate) ? `${oneDecimalFmt.format(s.ingest_rate)}/s` : '—';

    const d = s.dlq || {};
    const byReason = d.by_reason && typeof d.by_reason === 'object' ? d.by_reason : {};
    const statDlq = byId('stat-dlq');
    statDlq.textContent = count(d.total);
    const reasons = [...REASONS, ...Object.keys(byReason).filter((k) => !REASONS.includes(k))]
      .map((k) => `${k}: ${count(byReason[k] ?? 0)}`);
    statDlq.title = `On the dead-letter topic: ${count(d.total)}.\nDead-lettered since this orderd started:\n${reasons.join('\n')}`;

    const c = s.cache || {};
    // Rounded down, so the strip never claims 100% while there are misses.
    const known = Number.isFinite(c.hit_ratio);
    const ratio = known ? percentFmt.format(Math.floor(c.hit_ratio * 100) / 100) : '–';
    const statCache = byId('stat-cache');
    statCache.textContent = `${count(c.entries)} · ${ratio}`;
    statCache.title = `${count(c.entries)} orders cached; hit ratio ${known ? precisePercentFmt.format(c.hit_ratio) : 'unknown (no reads yet)'}: ${count(c.hits)} hits, ${count(c.misses)} misses`;

    const statLag = byId('stat-lag');
    statLag.textContent = count(s.consumer_lag);
    statLag.title = `Messages on Kafka not yet consumed; ${count(s.in_flight)} in flight inside orderd`;
  }

  async function refreshStats() {
    clearTimeout(stats.timer);
    const gen = ++stats.gen;
    try {
      const { data } = await api('/api/stats', { signal: stats.nextSignal(), timeoutMs: STATS_TIMEOUT_MS });
      renderStats(data);
      stats.strip.classList.remove('stale');
      setStatus(stats.status, '');
      stats.status.title = '';
    } catch (err) {
      if (err.superseded) return;
      // Keep the last numbers, greyed out: blanking them would make the
      // strip jump every time orderd restarts.
      stats.strip.classList.add('stale');
      setStatus(stats.status, 'stats unavailable', 'error');
      stats.status.title = err.message;
    }
    if (gen === stats.gen && !document.hidden) stats.timer = setTimeout(refreshStats, STATS_EVERY_MS);
  }

  function initStats() {
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

  // ---------------------------------------------------------------- start

  function start() {
    initTabs();
    initLookup();
    initRecent();
    initDlq();
    initStats();
    selectTab('lookup');
    const id = idFromURL();
    if (id !== null && id !== '') loadOrder(id, 'none');
  }

  start();
})();
