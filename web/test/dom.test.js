import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrAllowed } from '../static/dom.js';

test('the element helper sets only allow-listed attributes', () => {
  for (const ok of ['title', 'type', 'datetime', 'aria-current', 'aria-expanded', 'data-uid', 'data-ref', 'viewBox', 'd', 'stroke']) {
    assert.equal(attrAllowed(ok), true, ok);
  }
  // Nothing that loads, links or runs, in any case.
  for (const bad of ['href', 'src', 'srcset', 'action', 'formaction', 'xlink:href', 'style', 'onclick', 'onerror', 'ONLOAD',
    'srcdoc', 'poster', 'background', 'data', 'ping', 'data-', 'aria-', 'data-X']) {
    assert.equal(attrAllowed(bad), false, bad);
  }
});
