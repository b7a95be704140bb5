import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderIdProblem, ordersQuery, searchPlan, nextPath, matchSummary, toRFC3339, toLocalInput, stateFromURL, urlFor } from '../static/query.js';

test('orderIdProblem', () => {
  assert.equal(orderIdProblem('b563feb7b2b84b6test'), null);
  assert.match(orderIdProblem(''), /Enter/);
  assert.match(orderIdProblem('a'.repeat(65)), /65 characters/);
  assert.match(orderIdProblem('a b'), /only letters/);
});

test('ordersQuery leaves out what is empty, and escapes what is not', () => {
  assert.equal(ordersQuery({}), 'limit=20');
  assert.equal(ordersQuery({ trackNumber: 'A&B', from: '2026-01-01T00:00:00.000Z', before: '17_3', limit: 5 }),
    'limit=5&track_number=A%26B&created_from=2026-01-01T00%3A00%3A00.000Z&before=17_3');
  assert.equal(ordersQuery({ customerId: 'x', to: '2026-01-02T00:00:00+01:00' }), 'limit=20&customer_id=x&created_to=2026-01-02T00%3A00%3A00%2B01%3A00');
});

test('searchPlan tries every kind the text may be', () => {
  assert.match(searchPlan({ text: '  ' }).problem, /Enter/);
  assert.match(searchPlan({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }).problem, /after its start/);
  const kinds = (plan) => plan.requests.map((r) => r.kind);
  assert.deepEqual(kinds(searchPlan({ text: 'WBILMTESTTRACK' })), ['order_uid', 'track_number', 'customer_id']);
  assert.deepEqual(kinds(searchPlan({ text: 'has space' })), ['track_number', 'customer_id']); // never an order_uid
  assert.deepEqual(kinds(searchPlan({ text: 'abc', from: '2026-01-01T00:00:00Z' })), ['track_number', 'customer_id']);
  const dated = searchPlan({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' });
  assert.deepEqual(kinds(dated), ['created']);
  assert.equal(dated.requests[0].path, '/api/orders?limit=20&created_from=2026-01-01T00%3A00%3A00Z&created_to=2026-01-02T00%3A00%3A00Z');
  const plan = searchPlan({ text: ' a/b ' });
  assert.equal(plan.requests[0].path, '/api/orders?limit=20&track_number=a%2Fb');
  assert.equal(nextPath(plan.requests[1].filter, '99_4'), '/api/orders?limit=20&customer_id=a%2Fb&before=99_4');
  assert.equal(searchPlan({ text: 'x-1' }).requests[0].path, '/order/x-1');
});

test('matchSummary says which kind matched', () => {
  assert.equal(matchSummary('T1', [{ kind: 'order_uid', count: 0 }, { kind: 'track_number', count: 1 }, { kind: 'customer_id', count: 0 }]),
    '“T1” matched a track number (1 order).');
  assert.equal(matchSummary('x', [{ kind: 'order_uid', count: 1 }, { kind: 'customer_id', count: 20, more: true }]),
    '“x” matched its order_uid and a customer id (20+ orders).');
  assert.equal(matchSummary('x', [{ kind: 'track_number', count: 0 }], true), 'No order has “x” as its order_uid, track number or customer id in these dates.');
  assert.equal(matchSummary('', [{ kind: 'created', count: 3 }], true), '3 orders created in these dates, newest first.');
  assert.equal(matchSummary('', [{ kind: 'created', count: 0 }], true), 'No order was created in these dates.');
});

test('dates go from the inputs to instants and back', () => {
  assert.equal(toRFC3339(''), '');
  assert.equal(toRFC3339('nope'), null);
  const iso = toRFC3339('2026-03-01T10:30');
  assert.equal(new Date(iso).getHours(), 10); // local time, as typed
  assert.equal(toLocalInput(iso), '2026-03-01T10:30');
  assert.equal(toLocalInput('garbage'), '');
});

test('URLs hold a view and read back the same', () => {
  const f = (state, url) => {
    assert.equal(urlFor(state), url);
    const back = stateFromURL(url.slice(1));
    for (const [k, v] of Object.entries(state)) assert.equal(back[k], v, `${url}: ${k}`);
  };
  f({}, '/');
  f({ view: 'find', id: 'b563' }, '/?id=b563');
  f({ view: 'find', q: 'WB&1', from: '2026-01-01T00:00:00.000Z' }, '/?q=WB%261&from=2026-01-01T00%3A00%3A00.000Z');
  f({ view: 'find', q: 'T', id: 'u1' }, '/?id=u1&q=T');
  f({ view: 'dlq', reason: 'invalid_order', since: '1h' }, '/?view=dlq&reason=invalid_order&since=1h');
  f({ view: 'flow' }, '/?view=flow');
  assert.equal(stateFromURL('view=nonsense').view, 'find');
  assert.equal(urlFor({ view: 'flow', reason: 'x', id: 'y' }), '/?view=flow'); // what a view does not use is left out
});
