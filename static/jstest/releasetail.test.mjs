// static/js/prefs.js, the release tail's choice: only the offered choices
// are kept, the default is stored as nothing, and anything else (or blocked
// storage) reads as the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { RELEASE_TAIL_CHOICES_MS, loadReleaseTail, saveReleaseTail } from '../../static/js/prefs.js';
import { DEFAULT_TAIL_MS, MAX_TAIL_MS } from '../../static/js/talkturn.js';

const KEY = 'sotto.releaseTail';

function fakeStorage() {
  const m = new Map();
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

test('the tail is the default until chosen, then the choice', () => {
  const s = fakeStorage();
  globalThis.localStorage = s;
  assert.equal(loadReleaseTail(), DEFAULT_TAIL_MS);
  for (const ms of RELEASE_TAIL_CHOICES_MS) {
    saveReleaseTail(ms);
    assert.equal(loadReleaseTail(), ms);
  }
  saveReleaseTail(DEFAULT_TAIL_MS);
  assert.equal(s.map.has(KEY), false, 'the default is stored as nothing');
  assert.ok(RELEASE_TAIL_CHOICES_MS.includes(0), 'the tail can be switched off');
  assert.ok(RELEASE_TAIL_CHOICES_MS.every((ms) => ms <= MAX_TAIL_MS), 'a choice longer than the turn allows');
});

test('anything else stored, or a choice not offered, reads as the default', () => {
  const s = fakeStorage();
  globalThis.localStorage = s;
  for (const v of ['150', '-1', 'abc', '', '1e9']) {
    s.setItem(KEY, v);
    assert.equal(loadReleaseTail(), DEFAULT_TAIL_MS, v);
  }
  saveReleaseTail(150);
  assert.equal(s.map.has(KEY), false, 'a choice not offered was stored');
  globalThis.localStorage = { getItem() { throw new Error('blocked'); }, setItem() { throw new Error('blocked'); } };
  assert.equal(loadReleaseTail(), DEFAULT_TAIL_MS);
  saveReleaseTail(0); // blocked storage: not kept, no throw
  delete globalThis.localStorage;
});
