import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterText, listStatus, keptText, describeRedrive, describeBulk, chunks, redrivenText } from '../static/redrive.js';

test('filterText', () => {
  assert.equal(filterText('', ''), '');
  assert.equal(filterText('invalid_order', '1h'), 'reason invalid_order, failed in the last hour');
  assert.equal(filterText('', '90m'), 'failed in the last 90m');
});

test('listStatus says what is shown and what More does', () => {
  assert.equal(listStatus({ shown: 0, next: null }), 'No dead letters: the topic is empty.');
  assert.equal(listStatus({ shown: 0, next: null, reason: 'conflict' }), 'No dead letters match this filter (reason conflict).');
  assert.match(listStatus({ shown: 0, next: 'c' }), /time limit/);
  assert.equal(listStatus({ shown: 3, next: null, reason: 'too_large', since: '24h' }),
    '3 records matching reason too_large, failed in the last 24 hours shown, newest first — that is all of them.');
  assert.match(listStatus({ shown: 50, next: 'c' }), /More lists older ones/);
  assert.match(listStatus({ shown: 5, next: 'c', partial: true }), /stopped at its time limit/);
  assert.match(listStatus({ shown: 1, next: null, trimmed: [{ partition: 2 }] }), /partition 2/);
});

test('describeRedrive of one record', () => {
  const plain = describeRedrive({ ref: '0:5', edited: false, truncated: false });
  assert.match(plain.question, /original payload, unchanged/);
  assert.equal(plain.canConfirm, true);
  assert.equal(plain.problem, '');
  const edited = describeRedrive({ ref: '0:5', edited: true, truncated: false, jsonError: 'Unexpected token' });
  assert.match(edited.question, /as you edited it/);
  assert.match(edited.problem, /not valid JSON \(Unexpected token\).*invalid_json/);
  const cut = describeRedrive({ ref: '0:5', edited: false, truncated: true, kept: keptText(1613, 7632) });
  assert.equal(cut.canConfirm, false);
  assert.match(cut.question, /1,613 of 7,632 bytes kept/);
  assert.equal(describeRedrive({ ref: '0:5', edited: true, truncated: true }).canConfirm, true); // replaced by hand
  assert.equal(keptText(10, undefined), '10 of an unknown number of bytes kept');
});

test('describeBulk sends what it can, and says what it leaves out', () => {
  const recs = [{ ref: '0:1' }, { ref: '0:2', truncated: true }, { ref: '1:7' }];
  const b = describeBulk({ records: recs, reason: 'invalid_order', since: '1h', more: true });
  assert.deepEqual(b.refs, ['0:1', '1:7']);
  assert.equal(b.canConfirm, true);
  assert.equal(b.question, 'Publish the 2 records listed (reason invalid_order, failed in the last hour) to the orders topic again, each with its original payload?'
    + ' 1 truncated record is left out: open each to redrive it with its whole message.'
    + ' Only the records listed are sent: older ones that match (More) are not.');
  assert.equal(describeBulk({ records: [] }).canConfirm, false);
  const invalid = describeBulk({ records: [{ ref: '0:1', reason: 'invalid_order' }, { ref: '0:2', reason: 'conflict' }] });
  assert.match(invalid.question, / 1 of them was refused as invalid JSON or an invalid order: unchanged, it comes back to the dead-letter topic/);
  assert.doesNotMatch(describeBulk({ records: [{ ref: '0:2', reason: 'internal_error' }] }).question, /comes? back/);
  assert.match(describeBulk({ records: [{ ref: '0:2', truncated: true }] }).question, /each is truncated/);
});

test('chunks and redrivenText', () => {
  assert.deepEqual(chunks(['a', 'b', 'c'], 2), [['a', 'b'], ['c']]);
  assert.deepEqual(chunks([], 2), []);
  const d = { from: '0:1', topic: 'orders', partition: 0, offset: 9 };
  assert.equal(redrivenText([d], 1), 'Redriven 0:1 → orders 0:9');
  assert.equal(redrivenText([d, d], 2), 'Redriven 2 of 2 records to orders.');
  assert.equal(redrivenText([d], 2, 'kafka down'), 'Redriven 1 of 2 records to orders. Then it failed: kafka down. Redriving those again does no harm.');
  assert.equal(redrivenText([], 2, 'kafka down'), 'Redrive failed: kafka down');
});
