// The view layer's helpers: elements built with text only. Everything the
// server returns (orders, dead-letter payloads, even error messages) is
// untrusted text. It reaches the page only as textContent, as a form
// field's value, or as an attribute on the allow-list below; nothing is
// ever parsed as markup. The server's Content-Security-Policy backs this
// up, but the script must be safe without it.

// ATTRS are the attributes el and svg may set. None can load or run
// anything: no on* handler, no style, no href, src, action or other URL,
// whatever the value, so no data can become a link or a request.
const ATTRS = new Set([
  'type', 'title', 'datetime', 'tabindex', 'role', 'scope', 'readonly', 'disabled', 'for', 'id', 'open', 'colspan',
  'value', 'name', 'lang', 'dir', 'hidden', 'autocomplete', 'spellcheck',
  // SVG geometry and presentation
  'viewBox', 'preserveAspectRatio', 'd', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height',
  'text-anchor', 'dominant-baseline', 'fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'focusable',
]);

// attrAllowed reports whether el and svg may set the attribute name:
// those listed, and aria-* and data-*.
export function attrAllowed(name) {
  return ATTRS.has(name) || /^aria-[a-z]+$/.test(name) || /^data-[a-z][a-z0-9-]*$/.test(name);
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (!attrAllowed(name)) throw new Error(`el: refusing attribute ${name}`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child); // a string becomes a text node
  }
}

// el builds an HTML element: a class, text (textContent), attributes from
// the allow-list, and children (elements or strings, which become text
// nodes).
export function el(tag, opts = {}, ...children) {
  const node = document.createElement(tag);
  if (opts.class) node.className = opts.class;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  setAttrs(node, opts.attrs);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// svg builds an SVG element the same way.
export function svg(tag, opts = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  if (opts.class) node.setAttribute('class', opts.class);
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  setAttrs(node, opts.attrs);
  append(node, children);
  return node;
}

// byId fails loudly: a renamed id must break at load, not at first click.
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`orderd UI: #${id} is missing from index.html`);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

// setStatus writes a status line; kind 'error' or 'ok' colours it.
export function setStatus(node, text, kind = '') {
  node.textContent = text;
  node.classList.toggle('error', kind === 'error');
  node.classList.toggle('ok', kind === 'ok');
}

// Facts are label/value pairs in a <dl>; empty values are left out so a
// card never shows a label with nothing after it.
export function fillFacts(dl, pairs) {
  dl.replaceChildren();
  for (const [label, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(el('div', { class: 'fact' },
      el('dt', { text: label }),
      value instanceof Node ? el('dd', {}, value) : el('dd', { text: value })));
  }
}

export function str(v) {
  return v === undefined || v === null ? '' : String(v);
}
