// The Dead letters view: filters by reason and time, each record with its
// original place and error, its payload as a tree and as raw text, and
// redrive, one record or every one listed, each behind a confirmation.

import { api, latestOnly } from './api.js';
import { byId, el, fillFacts, setStatus, show, str } from './dom.js';
import { plural } from './format.js';
import { children, nodeKind, nodeSummary, payloadText, scalarText, treeOf } from './json.js';
import { REASONS, chunks, describeBulk, describeRedrive, keptText, listStatus, redrivenText } from './redrive.js';
import { timeEl } from './time.js';

const TOKEN_KEY = 'orderd-admin-token';
const DLQ_LIMIT = 50;

const dlq = {
  nextListSignal: latestOnly(),
  nextDetailSignal: latestOnly(),
  records: new Map(), // ref → record from the listing
  next: null, // the cursor of the listing's next page, if it may have one
  current: null, // the record shown in the detail
  original: '', // the payload text as first put in the textarea
  memoryToken: null, // used when sessionStorage is unavailable
  listed: null, // the filter of the list shown, reason|since; null before the first
};

let nav; // from main.js

// The token lives in sessionStorage only: it survives a reload but not
// the tab, and is never written anywhere that outlives the session.
function getToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || dlq.memoryToken;
  } catch {
    return dlq.memoryToken;
  }
}

function setToken(token) {
  dlq.memoryToken = token;
  try {
    if (token === null) window.sessionStorage.removeItem(TOKEN_KEY);
    else window.sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the in-memory copy lasts until the page closes.
  }
}

function tokenProblem(token) {
  if (token === '') return 'Enter the admin token.';
  // fetch cannot send a header with other characters.
  if (!/^[\x20-\x7e]+$/.test(token)) return 'The token can only hold printable ASCII characters.';
  return null;
}

function showTokenForm() {
  show(byId('dlq-token-form'), true);
  show(byId('dlq-admin'), false);
  show(byId('dlq-browser'), false);
  closeBulk();
  closeDetail();
}

function showAdmin() {
  show(byId('dlq-token-form'), false);
  show(byId('dlq-admin'), true);
  show(byId('dlq-browser'), true);
}

// showDlq shows the view with the filter the URL holds.
export function showDlq(state) {
  const reason = byId('dlq-reason');
  const since = byId('dlq-since');
  const r = REASONS.includes(state.reason) ? state.reason : '';
  const s = [...since.options].some((o) => o.value === state.since) ? state.since : '';
  reason.value = r;
  since.value = s;
  if (!getToken()) {
    showTokenForm();
    return;
  }
  showAdmin();
  if (dlq.listed !== `${r}|${s}`) loadDlq();
}

// authProblem turns the admin API's refusals into what the operator must
// do, and reports whether err was one of them.
function authProblem(err, { notFoundMeansDisabled }) {
  const status = byId('dlq-status');
  if (err.status === 401) {
    setToken(null);
    showTokenForm();
    setStatus(status, 'wrong or missing admin token: enter the ADMIN_TOKEN orderd was started with.', 'error');
    byId('dlq-token').focus();
    return true;
  }
  // A 404 on a single record can mean the record is gone; the server's
  // own message says which.
  if (err.status === 404 && (notFoundMeansDisabled || /disabled/i.test(err.message))) {
    showTokenForm();
    setStatus(status, 'the admin API is disabled on this server (ADMIN_TOKEN not set)', 'error');
    return true;
  }
  return false;
}

// loadDlq lists the newest dead letters that match the filter (reset),
// or the page after those shown (More), with the cursor the last page
// gave. A page stops at DLQ_LIMIT records, or when the server's time
// budget for one search runs out ("partial"): More goes on from there.
async function loadDlq(reset = true) {
  const reason = byId('dlq-reason').value;
  const since = byId('dlq-since').value;
  dlq.listed = `${reason}|${since}`;
  const list = byId('dlq-list');
  const more = byId('dlq-more');
  const refresh = byId('dlq-refresh');
  const status = byId('dlq-status');
  const params = new URLSearchParams({ limit: String(DLQ_LIMIT) });
  if (reason) params.set('reason', reason);
  if (since) params.set('since', since);
  if (!reset && dlq.next) params.set('cursor', dlq.next);
  setStatus(status, reset ? 'Loading…' : 'Loading more…');
  if (reset) closeBulk();
  refresh.disabled = true;
  more.disabled = true;
  try {
    const { data } = await api(`/api/admin/dlq?${params}`, { token: getToken(), signal: dlq.nextListSignal() });
    const records = Array.isArray(data.records) ? data.records : [];
    if (reset) dlq.records = new Map();
    for (const r of records) dlq.records.set(str(r && r.ref), r || {});
    const items = records.map(dlqItem);
    if (reset) list.replaceChildren(...items);
    else list.append(...items);
    markCurrent();
    dlq.next = typeof data.next === 'string' && data.next !== '' ? data.next : null;
    show(more, dlq.next !== null);
    byId('dlq-bulk').disabled = dlq.records.size === 0;
    setStatus(status, listStatus({
      shown: list.childElementCount, next: dlq.next, full: records.length >= DLQ_LIMIT,
      partial: data.partial === true, trimmed: data.trimmed, reason, since,
    }));
  } catch (err) {
    if (err.superseded) return;
    if (!authProblem(err, { notFoundMeansDisabled: true })) {
      setStatus(status, `Could not list dead letters: ${err.message}`, 'error');
    }
  } finally {
    refresh.disabled = false;
    more.disabled = false;
  }
}

function reasonBadge(reason) {
  const code = str(reason) || 'unknown';
  const known = REASONS.includes(code) ? code : 'unknown';
  return el('span', { class: `dlq-reason badge reason-${known}`, text: code });
}

// A record too large for the dead-letter topic was cut to fit it; the
// server says so only then, with the size and digest of the whole.
function isTruncated(rec) {
  return Boolean(rec) && rec.truncated === true;
}

function truncatedBadge(rec) {
  const original = Number.isFinite(rec.original_bytes) ? ` of ${plural(rec.original_bytes, 'byte', 'bytes')}` : '';
  return el('span', {
    class: 'badge badge-truncated',
    text: 'truncated',
    attrs: { title: `Payload cut to fit the dead-letter topic: only the start of the message${original} is kept` },
  });
}

// sourceText is where the message was before orderd dead-lettered it.
function sourceText(r) {
  if (!r.source_topic && r.source_partition === undefined) return '';
  return `from ${str(r.source_topic) || '?'} partition ${str(r.source_partition)}, offset ${str(r.source_offset)}`;
}

function dlqItem(r) {
  const rec = r || {};
  const ref = str(rec.ref);
  return el('li', {},
    el('button', { class: 'dlq-item', attrs: { type: 'button', 'data-ref': ref } },
      el('span', { class: 'dlq-item-head' },
        el('span', { class: 'dlq-ref mono', text: ref, attrs: { title: 'partition:offset on the dead-letter topic' } }),
        reasonBadge(rec.reason),
        isTruncated(rec) ? truncatedBadge(rec) : null,
        rec.failed_at ? el('span', { class: 'dlq-time' }, timeEl(rec.failed_at)) : null),
      el('span', { class: 'dlq-error', text: str(rec.error) || 'no error recorded' }),
      el('span', { class: 'dlq-source', text: sourceText(rec) }),
      rec.preview ? el('span', { class: 'dlq-preview mono', text: str(rec.preview) }) : null));
}

function markCurrent() {
  const ref = dlq.current ? str(dlq.current.ref) : null;
  for (const button of byId('dlq-list').querySelectorAll('.dlq-item')) {
    if (button.dataset.ref === ref) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}

async function openRecord(ref) {
  const status = byId('dlq-status');
  const listed = dlq.records.get(ref);
  const partition = listed ? listed.partition : Number(ref.split(':')[0]);
  const offset = listed ? listed.offset : Number(ref.split(':')[1]);
  if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) {
    setStatus(status, `Cannot open record ${ref}: not PARTITION:OFFSET.`, 'error');
    return;
  }
  setStatus(status, `Loading record ${ref}…`);
  try {
    const { data } = await api(`/api/admin/dlq/${encodeURIComponent(partition)}/${encodeURIComponent(offset)}`,
      { token: getToken(), signal: dlq.nextDetailSignal() });
    renderDetail(data);
    setStatus(status, `Record ${str(data.ref) || ref} opened.`);
    byId('dlq-detail-title').focus();
  } catch (err) {
    if (err.superseded) return;
    if (!authProblem(err, { notFoundMeansDisabled: false })) {
      setStatus(status, `Could not open record ${ref}: ${err.message}`, 'error');
    }
  }
}

function byteLength(rec) {
  if (typeof rec.payload_base64 === 'string') {
    const b64 = rec.payload_base64;
    const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
    return Math.floor((b64.length * 3) / 4) - pad;
  }
  return new TextEncoder().encode(str(rec.payload)).length;
}

// TREE_OPEN_DEPTH is how deep the tree opens by itself: an order's top
// level and its delivery, payment and items; deeper takes a click.
const TREE_OPEN_DEPTH = 2;

// treeNode is one value of the JSON tree: a leaf, or a <details> whose
// summary says how much it holds. Keys and values are text, always.
function treeNode(key, value, depth) {
  const label = key === null ? null : el('span', { class: 'tree-key', text: `${key}: ` });
  const kind = nodeKind(value);
  if (kind !== 'object' && kind !== 'array') {
    return el('div', { class: 'tree-leaf' }, label, el('span', { class: `tree-value tree-${kind}`, text: scalarText(value) }));
  }
  const box = el('details', { class: 'tree-branch', attrs: { open: depth < TREE_OPEN_DEPTH } },
    el('summary', {}, label, el('span', { class: 'tree-summary', text: nodeSummary(value) })));
  for (const [k, v] of children(value)) box.append(treeNode(k, v, depth + 1));
  return box;
}

function renderTree(rec) {
  const t = treeOf(str(rec.payload), rec.payload_is_json === true);
  const tree = byId('dlq-tree');
  if (t.why) {
    tree.replaceChildren(el('p', { class: 'muted', text: `No tree: ${t.why}.` }));
    byId('dlq-tree-note').textContent = isTruncated(rec) ? '(truncated: only the start of the message)' : '';
    return;
  }
  tree.replaceChildren(treeNode(null, t.value, 0));
  byId('dlq-tree-note').textContent = '(integers exact; click a line to fold it)';
}

function renderDetail(rec) {
  dlq.current = rec;
  byId('dlq-detail-ref').textContent = str(rec.ref);
  byId('dlq-detail-error').textContent = str(rec.error) || 'No error recorded.';
  fillFacts(byId('dlq-detail-facts'), [
    ['Reason', reasonBadge(rec.reason)],
    ['Failed at', rec.failed_at ? timeEl(rec.failed_at) : ''],
    ['Original topic', str(rec.source_topic)],
    ['Original partition', str(rec.source_partition)],
    ['Original offset', str(rec.source_offset)],
    ['Key', str(rec.key)],
    ['Dead-letter position', `partition ${str(rec.partition)}, offset ${str(rec.offset)}`],
  ]);

  const headers = Array.isArray(rec.headers) ? rec.headers : [];
  const kv = byId('dlq-headers');
  // The API documents {"key","value"}; a server that encodes the Go
  // struct without tags sends {"Key","Value"}. Either shows.
  const field = (h, name) => (h ? str(h[name] ?? h[name[0].toUpperCase() + name.slice(1)]) : '');
  kv.replaceChildren(...headers.map((h) => el('div', { class: 'kv-row' },
    el('dt', { class: 'mono', text: field(h, 'key') }),
    el('dd', { class: 'mono', text: field(h, 'value') }))));
  if (headers.length === 0) kv.append(el('div', { class: 'kv-row' }, el('dt', { text: 'none' })));

  renderTree(rec);
  const { text, note } = payloadText(str(rec.payload), rec.payload_is_json === true);
  dlq.original = text;
  byId('dlq-payload').value = text;
  const notice = byId('dlq-truncated');
  const kept = keptText(byteLength(rec), rec.original_bytes);
  if (isTruncated(rec)) {
    byId('dlq-payload-note').textContent = `${note} · ${kept} (truncated)`;
    notice.replaceChildren(
      `Payload truncated to fit the dead-letter topic: ${kept}, original SHA-256 `,
      el('span', { class: 'mono', text: str(rec.original_sha256) || 'unknown' }),
      '. Below is only the start of the message, which Redrive will not send as it is: replace it with the whole message, corrected, first.');
  } else {
    byId('dlq-payload-note').textContent = `${note} · ${plural(byteLength(rec), 'byte', 'bytes')}`;
    notice.replaceChildren();
  }
  show(notice, isTruncated(rec));
  setStatus(byId('dlq-redrive-result'), '');
  closeConfirm();
  payloadEdited();
  show(byId('dlq-detail'), true);
  markCurrent();
}

function closeDetail() {
  dlq.nextDetailSignal();
  dlq.current = null;
  closeConfirm();
  show(byId('dlq-detail'), false);
  markCurrent();
}

function isEdited() {
  return byId('dlq-payload').value !== dlq.original;
}

// mustEdit says the payload shown is a truncated fragment the operator
// has not replaced: the server would refuse it (409), and rightly, since
// orderd could only dead-letter a fragment again.
function mustEdit() {
  return isTruncated(dlq.current) && !isEdited();
}

function payloadEdited() {
  const edited = isEdited();
  show(byId('dlq-payload-edited'), edited);
  byId('dlq-payload-reset').disabled = !edited;
  if (!byId('dlq-confirm').hidden) describe();
}

function describe() {
  const rec = dlq.current;
  const edited = isEdited();
  let jsonError = '';
  if (edited) {
    try {
      JSON.parse(byId('dlq-payload').value);
    } catch (err) {
      jsonError = err.message;
    }
  }
  const d = describeRedrive({
    ref: str(rec && rec.ref), edited, truncated: isTruncated(rec),
    kept: rec ? keptText(byteLength(rec), rec.original_bytes) : '', jsonError,
  });
  byId('dlq-confirm-text').textContent = d.question;
  byId('dlq-redrive-confirm').disabled = !d.canConfirm;
  const warning = byId('dlq-confirm-warning');
  warning.textContent = d.problem;
  show(warning, d.problem !== '');
  return d;
}

function openConfirm() {
  if (!dlq.current) return;
  const d = describe();
  show(byId('dlq-confirm'), true);
  byId('dlq-redrive').setAttribute('aria-expanded', 'true');
  setStatus(byId('dlq-redrive-result'), '');
  // A disabled button cannot take focus; Cancel keeps it in the group.
  (d.canConfirm ? byId('dlq-redrive-confirm') : byId('dlq-redrive-cancel')).focus();
}

function closeConfirm() {
  show(byId('dlq-confirm'), false);
  byId('dlq-redrive').setAttribute('aria-expanded', 'false');
}

// sendRedrive posts refs in requests the API takes, and returns what was
// redriven and the first failure's message ('' for none).
async function sendRedrive(refs, payload) {
  const done = [];
  for (const part of chunks(refs)) {
    const body = { records: part };
    if (payload !== undefined) body.payload = payload;
    try {
      const { data } = await api('/api/admin/dlq/redrive', { method: 'POST', body, token: getToken() });
      done.push(...(Array.isArray(data.redriven) ? data.redriven : []));
    } catch (err) {
      if (authProblem(err, { notFoundMeansDisabled: false })) return { done, error: null };
      const partial = err.body && Array.isArray(err.body.redriven) ? err.body.redriven : [];
      done.push(...partial);
      return { done, error: err.message };
    }
  }
  return { done, error: '' };
}

async function redrive() {
  const rec = dlq.current;
  if (!rec || !describe().canConfirm) return;
  const ref = str(rec.ref);
  const confirm = byId('dlq-redrive-confirm');
  const cancel = byId('dlq-redrive-cancel');
  confirm.disabled = true;
  cancel.disabled = true;
  setStatus(byId('dlq-status'), `Redriving ${ref}…`);
  // Sent exactly as typed: the operator's text is the new message.
  const { done, error } = await sendRedrive([ref], isEdited() ? byId('dlq-payload').value : undefined);
  cancel.disabled = false;
  confirm.disabled = mustEdit();
  if (error === null) return;
  const text = redrivenText(done.map(fmtDone), 1, error);
  const kind = error || done.length === 0 ? 'error' : 'ok';
  setStatus(byId('dlq-status'), text, kind);
  setStatus(byId('dlq-redrive-result'), text, kind);
  if (!error) {
    closeConfirm();
    byId('dlq-redrive').focus();
  }
}

function fmtDone(d) {
  return { from: str(d.from), topic: str(d.topic), partition: str(d.partition), offset: str(d.offset) };
}

function bulkDescription() {
  return describeBulk({
    records: [...dlq.records.values()].map((r) => ({ ref: str(r.ref), truncated: isTruncated(r), reason: str(r.reason) })),
    reason: byId('dlq-reason').value, since: byId('dlq-since').value, more: dlq.next !== null,
  });
}

function openBulk() {
  const d = bulkDescription();
  byId('dlq-bulk-text').textContent = d.question;
  byId('dlq-bulk-go').disabled = !d.canConfirm;
  show(byId('dlq-bulk-confirm'), true);
  byId('dlq-bulk').setAttribute('aria-expanded', 'true');
  (d.canConfirm ? byId('dlq-bulk-go') : byId('dlq-bulk-cancel')).focus();
}

function closeBulk() {
  show(byId('dlq-bulk-confirm'), false);
  byId('dlq-bulk').setAttribute('aria-expanded', 'false');
}

async function bulkRedrive() {
  const d = bulkDescription();
  if (!d.canConfirm) return;
  byId('dlq-bulk-go').disabled = true;
  setStatus(byId('dlq-status'), `Redriving ${plural(d.refs.length, 'record', 'records')}…`);
  const { done, error } = await sendRedrive(d.refs, undefined);
  byId('dlq-bulk-go').disabled = false;
  if (error === null) return;
  setStatus(byId('dlq-status'), redrivenText(done.map(fmtDone), d.refs.length, error), error ? 'error' : 'ok');
  closeBulk();
}

export function initDlq(navigation) {
  nav = navigation;
  const status = byId('dlq-status');
  byId('dlq-token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('dlq-token');
    const token = input.value.trim();
    const problem = tokenProblem(token);
    if (problem) {
      setStatus(status, problem, 'error');
      input.focus();
      return;
    }
    setToken(token);
    input.value = '';
    showAdmin();
    loadDlq();
  });
  byId('dlq-forget').addEventListener('click', () => {
    dlq.nextListSignal();
    setToken(null);
    byId('dlq-list').replaceChildren();
    dlq.records = new Map();
    dlq.next = null;
    dlq.listed = null;
    show(byId('dlq-more'), false);
    showTokenForm();
    setStatus(status, 'Token forgotten.');
    byId('dlq-token').focus();
  });
  // A filter is part of the address, so it can be shared and reloaded.
  const filterChanged = () => nav.go({ view: 'dlq', reason: byId('dlq-reason').value, since: byId('dlq-since').value }, 'push');
  byId('dlq-reason').addEventListener('change', filterChanged);
  byId('dlq-since').addEventListener('change', filterChanged);
  byId('dlq-refresh').addEventListener('click', () => loadDlq());
  byId('dlq-more').addEventListener('click', () => loadDlq(false));
  byId('dlq-list').addEventListener('click', (event) => {
    const item = event.target.closest('.dlq-item');
    if (item) openRecord(item.dataset.ref || '');
  });
  byId('dlq-detail-close').addEventListener('click', () => {
    const ref = dlq.current ? str(dlq.current.ref) : null;
    closeDetail();
    const item = [...byId('dlq-list').querySelectorAll('.dlq-item')].find((b) => b.dataset.ref === ref);
    if (item) item.focus();
  });
  byId('dlq-payload').addEventListener('input', payloadEdited);
  byId('dlq-payload-reset').addEventListener('click', () => {
    byId('dlq-payload').value = dlq.original;
    payloadEdited();
    byId('dlq-payload').focus();
  });
  byId('dlq-redrive').addEventListener('click', openConfirm);
  byId('dlq-redrive-cancel').addEventListener('click', () => {
    closeConfirm();
    byId('dlq-redrive').focus();
  });
  byId('dlq-redrive-confirm').addEventListener('click', redrive);
  byId('dlq-bulk').addEventListener('click', openBulk);
  byId('dlq-bulk-cancel').addEventListener('click', () => {
    closeBulk();
    byId('dlq-bulk').focus();
  });
  byId('dlq-bulk-go').addEventListener('click', bulkRedrive);

}
