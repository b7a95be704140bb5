// The arithmetic of the charts: scales, ticks and the line's path, in SVG
// user units. No DOM: tested with node --test; charts-view.js draws it.

// niceStep is a round step (1, 2 or 5 times a power of ten) that cuts
// span into at most about target parts.
export function niceStep(span, target = 4) {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    if (m * pow >= raw) return m * pow;
  }
  return 10 * pow;
}

// yScale picks the value axis: from 0 (every series here is a count, rate
// or ratio, and a line that starts from 0 does not exaggerate a wobble)
// to a round top at or above the highest value; fixedMax pins it (1 for a
// ratio). ticks are the values labelled on the axis. With integer (a
// count), no step is less than 1: half a message is not a tick.
export function yScale(values, { fixedMax = null, target = 4, integer = false } = {}) {
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  const hi = Math.max(0, ...finite);
  if (fixedMax !== null) {
    const step = integer ? Math.max(1, niceStep(fixedMax, target)) : niceStep(fixedMax, target);
    return { min: 0, max: fixedMax, ticks: range(0, fixedMax, step) };
  }
  if (hi === 0) return { min: 0, max: 1, ticks: [0, 1] }; // a flat 0 sits on the axis, not mid-air
  const step = integer ? Math.max(1, niceStep(hi, target)) : niceStep(hi, target);
  const max = round(Math.ceil(hi / step - 1e-9) * step);
  return { min: 0, max, ticks: range(0, max, step) };
}

function range(lo, hi, step) {
  const out = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) out.push(round(lo + i * step));
  return out;
}

// round drops the float noise of stepping (0.1 + 0.2).
function round(v) {
  return Number.parseFloat(v.toPrecision(12));
}

// geometry lays a series out in a box of width × height user units:
// times (ms) along x from `from` to `to`, values up y. A null value is a
// gap (no data for that interval: no requests, say), so the line breaks
// there instead of inventing a value. It returns the path, the y axis's
// ticks, the x axis's ticks (every tickEvery ms, on round times) and the
// last point with a value, for the current-value label. The box's top
// left corner is at (left, top).
export function geometry(times, values, { width, height, from, to, fixedMax = null, integer = false, tickEvery = 5 * 60 * 1000, left = 0, top = 0 }) {
  const scale = yScale(values, { fixedMax, integer });
  const span = Math.max(to - from, 1);
  const x = (t) => round(left + ((t - from) / span) * width);
  const y = (v) => round(top + height - ((Math.min(v, scale.max) - scale.min) / (scale.max - scale.min)) * height);
  let d = '';
  let pen = false;
  let last = null;
  for (let i = 0; i < times.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || times[i] < from) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(times[i])} ${y(v)}`;
    pen = true;
    last = { value: v, x: x(times[i]), y: y(v), at: times[i] };
  }
  const yTicks = scale.ticks.map((v) => ({ value: v, y: y(v) }));
  const xTicks = [];
  for (let t = Math.ceil(from / tickEvery) * tickEvery; t <= to; t += tickEvery) xTicks.push({ at: t, x: x(t) });
  return { d, yTicks, xTicks, last, max: scale.max };
}
