// static/js/codeoutcome.js: what each way a join by typed code can end
// means for the user. (Reading the typed code itself is pake/code.js,
// tested against shared vectors in pake/jstest/vectors.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { MESSAGES, knockEnded, knockRefused, messageOf, proofRejected } from '../../static/js/codeoutcome.js';

// Names a hostile server could send that an object lookup would resolve
// through the prototype.
const HOSTILE = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

test('every knock_done result of docs/protocol.md has its outcome', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const row = doc.split('\n').find((l) => l.startsWith('| `knock_done` | `knock`, `result`'));
  assert.ok(row, 'the knock_done row of docs/protocol.md');
  const results = [...row.split('|')[2].matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).filter((r) => r !== 'knock' && r !== 'result');
  assert.deepEqual(results.sort(), ['failed', 'gone', 'ok', 'refused', 'timeout', 'try_later']);
  assert.deepEqual(Object.fromEntries(results.map((r) => [r, knockEnded(r)])), {
    ok: 'failed', // an early ok is no success: the secret comes with the last message
    failed: 'wrong-code',
    gone: 'gone',
    refused: 'refused',
    timeout: 'timeout',
    try_later: 'try_later',
  });
});

test('anything else ends as failed, whatever its name', () => {
  for (const r of [undefined, '', 'weird', ...HOSTILE]) {
    assert.equal(knockEnded(r), 'failed', String(r));
    assert.equal(knockRefused(r), 'failed', String(r));
  }
});

test('a refused knock says why only where the user can act on it', () => {
  assert.equal(knockRefused('no_such_room'), 'no_such_room');
  assert.equal(knockRefused('try_later'), 'try_later');
  assert.equal(knockRefused('bad_request'), 'failed');
});

test('a rejected proof is a wrong code only when the PAKE says so', () => {
  assert.equal(proofRejected('wrong-code'), 'wrong-code');
  assert.equal(proofRejected('malformed'), 'failed');
  assert.equal(proofRejected(undefined), 'failed');
});

test('every outcome has words of its own; unknown ones get the generic words', () => {
  const outcomes = new Set(['bad-code', 'timeout', 'failed']); // bad-code and timeout come from codejoin.js itself
  for (const r of ['ok', 'failed', 'gone', 'refused', 'timeout', 'try_later']) outcomes.add(knockEnded(r));
  for (const c of ['no_such_room', 'try_later']) outcomes.add(knockRefused(c));
  outcomes.add(proofRejected('wrong-code'));
  assert.deepEqual([...outcomes].sort(), Object.keys(MESSAGES).sort(), 'an outcome without a message, or a message for none');
  assert.equal(new Set(Object.values(MESSAGES)).size, Object.keys(MESSAGES).length, 'two outcomes share words');
  for (const o of [undefined, 'weird', ...HOSTILE]) assert.equal(messageOf(o), MESSAGES.failed, String(o));
});
