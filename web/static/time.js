// <time> elements: a moment in the reader's locale, with the exact value
// the server sent kept in datetime and title for whoever needs it.

import { el } from './dom.js';
import { dateTime, parseDate } from './format.js';

export function fillTime(node, raw, date = parseDate(raw)) {
  node.textContent = date ? dateTime(date) : String(raw ?? '—');
  if (typeof raw === 'string') node.setAttribute('datetime', raw);
  else if (date) node.setAttribute('datetime', date.toISOString());
  else node.removeAttribute('datetime');
  node.setAttribute('title', String(raw ?? ''));
  return node;
}

export function timeEl(raw, date) {
  return fillTime(el('time'), raw, date);
}

export function unixTimeEl(seconds) {
  const date = typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000) : null;
  const node = timeEl(seconds, date && !Number.isNaN(date.getTime()) ? date : null);
  node.setAttribute('title', `${seconds} (Unix seconds)`);
  return node;
}
