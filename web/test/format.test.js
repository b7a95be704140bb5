import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, plural, money, parseDate, dateTime, percentDown, UNITS, clock } from '../static/format.js';

const en = 'en-US';

test('count and plural', () => {
  assert.equal(count(1234567, en), '1,234,567');
  assert.equal(count(NaN, en), '—');
  assert.equal(count(undefined, en), '—');
  assert.equal(plural(1, 'order', 'orders', en), '1 order');
  assert.equal(plural(2, 'order', 'orders', en), '2 orders');
  assert.equal(plural(0, 'order', 'orders', en), '0 orders');
});

test('money keeps every digit of int64 minor units', () => {
  assert.equal(money(1817, 'USD', en), '$18.17');
  assert.equal(money(36028797018963978n, 'USD', en), '$360,287,970,189,639.78');
  assert.equal(money(9223372036854775807n, 'USD', en), '$92,233,720,368,547,758.07');
  assert.equal(money(-50, 'USD', en), '-$0.50');
  assert.equal(money(1817, 'JPY', en), '¥1,817'); // no minor units
  assert.equal(money(1817, 'KWD', en), 'KWD\u00a01.817'); // three
  assert.equal(money(1817, 'XQZ', en), '18.17 XQZ'); // unknown: plain, the code after
  assert.equal(money(2 ** 53, 'USD', en), '—'); // a double that may be rounded already
  assert.equal(money('1817', 'USD', en), '—');
});

test('dates', () => {
  assert.equal(parseDate('nope'), null);
  assert.equal(parseDate('2021-11-26T06:22:19Z').toISOString(), '2021-11-26T06:22:19.000Z');
  assert.equal(parseDate({}), null);
  assert.equal(dateTime(new Date('2021-11-26T06:22:19Z'), en, 'UTC'), 'Nov 26, 2021, 6:22:19 AM');
  assert.equal(clock(Date.parse('2026-12-07T14:05:00Z'), en, 'UTC'), '14:05');
});

test('percentDown never rounds up to 100%', () => {
  assert.equal(percentDown(0.999, en), '99%');
  assert.equal(percentDown(1, en), '100%');
  assert.equal(percentDown(null, en), '—');
});

test('chart units say what a value is', () => {
  assert.equal(UNITS.perSecond.format(12.345, en), '12/s');
  assert.equal(UNITS.perSecond.format(2.345, en), '2.3/s');
  assert.equal(UNITS.perSecond.format(0, en), '0/s');
  assert.equal(UNITS.count.format(12345, en), '12,345');
  assert.equal(UNITS.ratio.format(0.5, en), '50%');
  assert.equal(UNITS.ratio.format(0.995, en), '99.5%');
  assert.equal(UNITS.seconds.format(0.00005, en), '50 µs');
  assert.equal(UNITS.seconds.format(0.0031, en), '3.1 ms');
  assert.equal(UNITS.seconds.format(0.25, en), '250 ms');
  assert.equal(UNITS.seconds.format(1.5, en), '1.5 s');
  assert.equal(UNITS.seconds.format(0, en), '0 ms');
});
