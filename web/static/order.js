// The order card: one order as the store holds it.

import { byId, el, fillFacts, setStatus, show, str } from './dom.js';
import { money, plural } from './format.js';
import { exactInt } from './json.js';
import { fillTime, unixTimeEl } from './time.js';

const card = {
  raw: '', // the order exactly as the server sent it, for "Copy JSON"
};

export function hideOrder() {
  show(byId('order'), false);
  card.raw = '';
  setStatus(byId('copy-status'), '');
}

export function renderOrder(order, raw) {
  card.raw = raw;
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
  show(byId('order'), true);
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

// summaryItem is one order of a list (recent orders, search results): a
// button that opens its card.
export function summaryItem(o) {
  const s = o || {};
  const uid = str(s.order_uid);
  return el('li', {},
    el('button', { class: 'recent-item', attrs: { type: 'button', 'data-uid': uid } },
      el('span', { class: 'recent-uid mono', text: uid }),
      el('span', { class: 'recent-customer', text: str(s.customer) }),
      el('span', { class: 'recent-amount', text: money(s.amount, s.currency) }),
      el('span', { class: 'recent-count', text: plural(s.items, 'item', 'items') }),
      el('span', { class: 'recent-date' }, timeElOf(s.date_created),
        s.track_number ? el('span', { class: 'recent-ids', text: ` · track ${str(s.track_number)} · customer ${str(s.customer_id)}` }) : null)));
}

function timeElOf(raw) {
  return fillTime(el('time'), raw);
}

export function initOrderCard() {
  byId('copy-json').addEventListener('click', () => copyJSON());
}

async function copyJSON() {
  const status = byId('copy-status');
  const text = card.raw;
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
