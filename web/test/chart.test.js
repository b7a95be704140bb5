import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceStep, yScale, geometry } from '../static/chart.js';

test('niceStep picks 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(10, 4), 5);
  assert.equal(niceStep(7, 4), 2);
  assert.equal(niceStep(1, 4), 0.5);
  assert.equal(niceStep(0.003, 4), 0.001);
  assert.equal(niceStep(12345, 4), 5000);
  assert.equal(niceStep(0), 1);
});

test('yScale starts at 0 and ends on a round value at or above the top', () => {
  assert.deepEqual(yScale([3, 7, 9.2]), { min: 0, max: 10, ticks: [0, 5, 10] });
  assert.deepEqual(yScale([0, 0]), { min: 0, max: 1, ticks: [0, 1] });
  assert.deepEqual(yScale([null, 0.3]), { min: 0, max: 0.3, ticks: [0, 0.1, 0.2, 0.3] });
  assert.deepEqual(yScale([0.5], { fixedMax: 1 }), { min: 0, max: 1, ticks: [0, 0.5, 1] });
  assert.deepEqual(yScale([120]), { min: 0, max: 150, ticks: [0, 50, 100, 150] });
});

test('geometry maps time to x and values to y, and breaks the line at gaps', () => {
  const g = geometry([0, 1000, 2000, 3000], [0, 10, null, 5], { width: 300, height: 100, from: 0, to: 3000, tickEvery: 1000 });
  assert.equal(g.d, 'M0 100L100 0M300 50');
  assert.deepEqual(g.last, { value: 5, x: 300, y: 50, at: 3000 });
  assert.deepEqual(g.yTicks, [{ value: 0, y: 100 }, { value: 5, y: 50 }, { value: 10, y: 0 }]);
  assert.deepEqual(g.xTicks.map((t) => t.x), [0, 100, 200, 300]);
});

test('geometry of no data draws nothing and labels nothing', () => {
  const g = geometry([], [], { width: 300, height: 100, from: 0, to: 900000 });
  assert.equal(g.d, '');
  assert.equal(g.last, null);
});

test('a ratio keeps its 0 to 100% axis', () => {
  const g = geometry([0, 1], [0.9, 1], { width: 10, height: 10, from: 0, to: 1, fixedMax: 1 });
  assert.equal(g.max, 1);
  assert.equal(g.d, 'M0 1L10 0');
});

test('geometry places the plot at its offset in the box', () => {
  const g = geometry([0, 10], [0, 1], { width: 100, height: 50, left: 60, top: 10, from: 0, to: 10, fixedMax: 1, tickEvery: 10 });
  assert.equal(g.d, 'M60 60L160 10');
  assert.deepEqual(g.xTicks.map((t) => t.x), [60, 160]);
  assert.deepEqual(g.yTicks.map((t) => t.y), [60, 35, 10]);
});

test('a count never gets a tick between two whole numbers', () => {
  assert.deepEqual(yScale([1], { integer: true }), { min: 0, max: 1, ticks: [0, 1] });
  assert.deepEqual(yScale([3], { integer: true }), { min: 0, max: 3, ticks: [0, 1, 2, 3] });
  assert.deepEqual(yScale([1]), { min: 0, max: 1, ticks: [0, 0.5, 1] }); // a rate may have halves
  assert.deepEqual(geometry([0], [1], { width: 1, height: 1, from: 0, to: 1, fixedMax: 1, integer: true }).yTicks.map((t) => t.value), [0, 1]);
});
