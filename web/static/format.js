// Numbers, money and dates as the UI shows them. No DOM: tested with
// node --test. Every function takes an optional locale (the browser's by
// default), so the tests can pin one.

import { exactInt } from './json.js';

const formats = new Map();

// nf caches Intl.NumberFormats: building one costs more than using it.
function nf(locale, opts) {
  const key = `${locale}|${JSON.stringify(opts)}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, opts);
    formats.set(key, f);
  }
  return f;
}

// count formats a count, or a dash for anything that is not a number.
export function count(n, locale) {
  return typeof n === 'number' && Number.isFinite(n) ? nf(locale, {}).format(n) : '—';
}

export function plural(n, one, many, locale) {
  return `${count(n, locale)} ${n === 1 ? one : many}`;
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
function moneyFormat(currency, locale) {
  const key = `${locale}|${currency}`;
  let format = moneyFormats.get(key);
  if (format) return format;
  try {
    if (knownCurrencies && !knownCurrencies.has(currency)) throw new RangeError('unknown currency');
    format = exactMoneyFormat(new Intl.NumberFormat(locale, { style: 'currency', currency }));
  } catch {
    const plain = exactMoneyFormat(nf(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    format = (minor) => `${plain(minor)} ${currency}`.trim();
  }
  moneyFormats.set(key, format);
  return format;
}

// exactMoneyFormat formats minor units with f, a format whose minimum and
// maximum fraction digits agree (as a currency's do), without ever going
// through a double: int64 amounts beyond 2^53 must keep every digit.
// Intl formats a BigInt exactly but only as a whole number, so f formats
// the major units and the exact remainder replaces the zeros it put after
// the decimal sign, in f's own digits.
function exactMoneyFormat(f) {
  const { locale, numberingSystem, maximumFractionDigits: digits } = f.resolvedOptions();
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
    return f.formatToParts(whole).map((part) => (part.type === 'fraction' ? fraction : part.value)).join('');
  };
}

// money formats an amount given in the currency's minor units (a Number
// or a BigInt from parseJSON), or a dash when it is not an exact integer.
export function money(minor, currency, locale) {
  const n = exactInt(minor);
  return n === null ? '—' : moneyFormat(String(currency ?? ''), locale)(n);
}

export function parseDate(value) {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateTimes = new Map();

// dateTime formats a moment in the locale, to the second; timeZone is for
// the tests.
export function dateTime(date, locale, timeZone) {
  const key = `${locale}|${timeZone}`;
  let f = dateTimes.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone });
    dateTimes.set(key, f);
  }
  return f.format(date);
}

// percentDown formats a ratio as a whole percentage rounded down, so that
// a strip never claims 100% while there are misses.
export function percentDown(ratio, locale) {
  if (typeof ratio !== 'number' || !Number.isFinite(ratio)) return '—';
  return nf(locale, { style: 'percent', maximumFractionDigits: 0 }).format(Math.floor(ratio * 100) / 100);
}

// The units of the charts' values. format gives a value with its unit;
// each picks a readable scale for its size.
export const UNITS = {
  perSecond: {
    name: 'per second',
    format: (v, locale) => `${nf(locale, { maximumFractionDigits: v !== 0 && Math.abs(v) < 10 ? 1 : 0 }).format(v)}/s`,
  },
  count: {
    name: 'messages',
    format: (v, locale) => nf(locale, { maximumFractionDigits: 0 }).format(v),
  },
  ratio: {
    name: 'percent',
    format: (v, locale) => nf(locale, { style: 'percent', maximumFractionDigits: v > 0.99 && v < 1 ? 1 : 0 }).format(v),
  },
  seconds: {
    name: 'latency',
    format: (v, locale) => {
      if (v === 0) return '0 ms';
      if (v < 0.001) return `${nf(locale, { maximumFractionDigits: 0 }).format(v * 1e6)} µs`;
      if (v < 1) return `${nf(locale, { maximumFractionDigits: v < 0.01 ? 2 : 1 }).format(v * 1e3)} ms`;
      return `${nf(locale, { maximumFractionDigits: 2 }).format(v)} s`;
    },
  },
};

// clock formats a time of day for a chart's axis, e.g. 14:05.
export function clock(ms, locale, timeZone) {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(ms));
}
