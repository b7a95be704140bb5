// What the UI asks orderd, and what the address bar says: search plans,
// query strings and shareable URLs. No DOM: tested with node --test.

export const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

// The most orders a search asks for per page (the API allows 100).
export const SEARCH_PAGE = 20;

export function orderIdProblem(id) {
  if (id === '') return 'Enter an order id.';
  if (id.length > 64) return `Not a valid order id: ${id.length} characters, at most 64 allowed. Nothing was fetched.`;
  if (!ORDER_ID.test(id)) return 'Not a valid order id: only letters, digits, _ and - are allowed. Nothing was fetched.';
  return null;
}

// ordersQuery is the query string of GET /api/orders for a filter; empty
// fields are left out, since the API refuses an empty filter.
export function ordersQuery({ trackNumber, customerId, from, to, before, limit = SEARCH_PAGE } = {}) {
  const params = new URLSearchParams();
  params.set('limit', String(limit));
  if (trackNumber) params.set('track_number', trackNumber);
  if (customerId) params.set('customer_id', customerId);
  if (from) params.set('created_from', from);
  if (to) params.set('created_to', to);
  if (before) params.set('before', before);
  return params.toString();
}

// What each kind of match is called in what the UI says.
export const KIND_LABELS = {
  order_uid: 'order_uid',
  track_number: 'track number',
  customer_id: 'customer id',
  created: 'date range',
};

// searchPlan says what one search asks: { problem } when there is nothing
// to ask, or { requests: [{ kind, path, filter }] }, to send at once. The
// one box may hold an order_uid, a track number or a customer id, and
// nothing says which, so each is tried; the dates narrow the lists (an
// order_uid names one order, whenever it was created, so with dates it is
// not tried). path is for the first page; filter builds the next ones.
export function searchPlan({ text = '', from = '', to = '' }) {
  const q = text.trim();
  if (q === '' && !from && !to) return { problem: 'Enter an order_uid, a track number or a customer id, or choose dates.' };
  if (from && to && !(Date.parse(from) < Date.parse(to))) return { problem: 'The end of the date range must come after its start.' };
  const requests = [];
  if (q !== '' && !from && !to && ORDER_ID.test(q)) {
    requests.push({ kind: 'order_uid', path: `/order/${encodeURIComponent(q)}`, filter: null });
  }
  const list = (kind, filter) => requests.push({ kind, filter, path: `/api/orders?${ordersQuery(filter)}` });
  if (q !== '') {
    list('track_number', { trackNumber: q, from, to });
    list('customer_id', { customerId: q, from, to });
  } else {
    list('created', { from, to });
  }
  return { requests };
}

// nextPath is the path of the page after the one whose cursor is next.
export function nextPath(filter, next) {
  return `/api/orders?${ordersQuery({ ...filter, before: next })}`;
}

function orders(n, more) {
  return `${n}${more ? '+' : ''} ${n === 1 && !more ? 'order' : 'orders'}`;
}

// matchSummary says which kinds matched: results are { kind, count, more }
// (count 1 or 0 for an order_uid; more when a further page exists).
export function matchSummary(text, results, dated) {
  const q = text.trim();
  const hit = results.filter((r) => r.count > 0);
  if (hit.length === 0) {
    if (q === '') return 'No order was created in these dates.';
    return `No order has “${q}” as its order_uid, track number or customer id${dated ? ' in these dates' : ''}.`;
  }
  if (q === '') return `${orders(hit[0].count, hit[0].more)} created in these dates, newest first.`;
  const parts = hit.map((r) => (r.kind === 'order_uid' ? 'its order_uid' : `a ${KIND_LABELS[r.kind]} (${orders(r.count, r.more)})`));
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `“${q}” matched ${list}${dated ? ' in these dates' : ''}.`;
}

// toRFC3339 turns a datetime-local input's value (local time, no zone)
// into the instant the API takes; '' stays ''. null when it is not a date.
export function toRFC3339(local) {
  if (!local) return '';
  const ms = Date.parse(local); // without a zone: local time
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

// toLocalInput is the other way: an instant as a datetime-local value.
export function toLocalInput(iso) {
  const ms = Date.parse(iso || '');
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The views, and what the address bar holds for each: an order (?id=), a
// search (?q=&from=&to=), the charts (?view=flow) and the dead letters
// (?view=dlq&reason=&since=). Dates are RFC 3339 instants, so a link
// means the same moments in any time zone.
export const VIEWS = ['find', 'recent', 'flow', 'dlq'];

// stateFromURL reads the address bar's query string.
export function stateFromURL(search) {
  const p = new URLSearchParams(search);
  const get = (k) => p.get(k) ?? '';
  const id = get('id');
  const q = get('q');
  const from = get('from');
  const to = get('to');
  let view = get('view');
  if (!VIEWS.includes(view)) view = 'find';
  return { view, id, q, from, to, reason: get('reason'), since: get('since') };
}

// urlFor is the address of a state: only what it uses, in a fixed order,
// so equal states have equal URLs.
export function urlFor({ view = 'find', id = '', q = '', from = '', to = '', reason = '', since = '' } = {}) {
  const p = new URLSearchParams();
  if (view === 'find') {
    if (id) p.set('id', id);
    if (q) p.set('q', q);
    if (from) p.set('from', from);
    if (to) p.set('to', to);
  } else {
    p.set('view', view);
    if (view === 'dlq') {
      if (reason) p.set('reason', reason);
      if (since) p.set('since', since);
    }
  }
  const s = p.toString();
  return s ? `/?${s}` : '/';
}
