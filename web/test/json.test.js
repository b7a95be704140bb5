import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonTokens, parseJSON, exactInt, normalizeJSON, payloadText, treeOf, nodeSummary, scalarText, children, nodeKind } from '../static/json.js';

test('jsonTokens keeps each token as written', () => {
  assert.deepEqual(jsonTokens(' {"a": 1.0, "b":[true,null]} '), ['{', '"a"', ':', '1.0', ',', '"b"', ':', '[', 'true', ',', 'null', ']', '}']);
  assert.deepEqual(jsonTokens('"a\\"b"'), ['"a\\"b"']);
  assert.equal(jsonTokens('{"a": nope}'), null);
});

test('parseJSON keeps integers beyond 2^53 exact, as BigInt', () => {
  const v = parseJSON('{"nm_id": 9223372036854775807, "small": 42, "neg": -9007199254740993, "f": 1.5, "s": "9223372036854775807"}');
  assert.equal(v.nm_id, 9223372036854775807n);
  assert.equal(v.small, 42);
  assert.equal(v.neg, -9007199254740993n);
  assert.equal(v.f, 1.5);
  assert.equal(v.s, '9223372036854775807');
  assert.equal(JSON.parse('9223372036854775807'), 9223372036854775808); // what it guards against
});

test('parseJSON reads what JSON.parse reads, and refuses what it refuses', () => {
  const text = '{"a":[1,{"b":null},[]],"c":{},"__proto__":{"x":1}}';
  const v = parseJSON(text);
  assert.deepEqual(JSON.stringify(v), JSON.stringify(JSON.parse(text)));
  assert.equal(Object.getPrototypeOf(v), Object.prototype); // __proto__ is a key, not the prototype
  assert.deepEqual(Object.keys(v), ['a', 'c', '__proto__']);
  assert.throws(() => parseJSON('{"a":1,}'), SyntaxError);
  assert.throws(() => parseJSON(''), SyntaxError);
});

test('exactInt takes BigInts and safe integers only', () => {
  assert.equal(exactInt(5), 5n);
  assert.equal(exactInt(2n ** 63n - 1n), 2n ** 63n - 1n);
  assert.equal(exactInt(2 ** 53), null); // may already be rounded
  assert.equal(exactInt(1.5), null);
  assert.equal(exactInt('5'), null);
  assert.equal(exactInt(undefined), null);
});

test('normalizeJSON keeps numbers and keys as written', () => {
  assert.equal(normalizeJSON('{ "a" : 1.0 , "b": "\\u0026" }'), '{"a":1.0,"b":"&"}');
  assert.equal(normalizeJSON('nope'), null);
});

test('payloadText pretty-prints only what pretty-printing keeps', () => {
  assert.deepEqual(payloadText('{"a":1}', true), { text: '{\n  "a": 1\n}', note: 'JSON, pretty-printed' });
  assert.equal(payloadText('{"a":1,"a":2}', true).text, '{"a":1,"a":2}'); // a duplicate key
  assert.equal(payloadText('{"n":9223372036854775807}', true).text, '{"n":9223372036854775807}'); // would round
  assert.equal(payloadText('{"n":1.0}', true).text, '{"n":1.0}');
  assert.deepEqual(payloadText('<xml/>', false), { text: '<xml/>', note: 'as received (not JSON)' });
});

test('treeOf reads exact values, or says why there is no tree', () => {
  assert.equal(treeOf('{"n":9223372036854775807}', true).value.n, 9223372036854775807n);
  assert.match(treeOf('abc', false).why, /not JSON/);
  assert.match(treeOf('{', true).why, /not JSON/);
  assert.match(treeOf(`"${'x'.repeat(300 * 1024)}"`, true).why, /too large/);
});

test('the tree names, summarizes and writes its nodes', () => {
  assert.equal(nodeSummary([1, 2]), '[2 items]');
  assert.equal(nodeSummary([1]), '[1 item]');
  assert.equal(nodeSummary({ a: 1 }), '{1 key}');
  assert.equal(nodeSummary({}), '{0 keys}');
  assert.equal(scalarText('1'), '"1"');
  assert.equal(scalarText(1), '1');
  assert.equal(scalarText(9223372036854775807n), '9223372036854775807');
  assert.equal(scalarText(null), 'null');
  assert.deepEqual(children(['a', 'b']), [['0', 'a'], ['1', 'b']]);
  assert.deepEqual(children({ k: 1 }), [['k', 1]]);
  assert.deepEqual([null, [], {}, 's', 1, 1n, true].map(nodeKind), ['null', 'array', 'object', 'string', 'number', 'number', 'boolean']);
});
