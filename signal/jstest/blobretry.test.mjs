// static/js/blobretry.js: a blob refused with too_many_blobs is sent again
// after a backoff, a bounded number of times; other errors and closing
// stop it. Timers are fakes driven by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { BLOB_RETRY_MS, BlobResender, FORGET_MS, MAX_BLOBS_ITEMS, blobsMessages } from '../../static/js/blobretry.js';

function fakeTimers() {
  let now = 0;
  let seq = 0;
  const due = new Map(); // handle -> { at, fn }
  return {
    setTimeout: (fn, ms) => {
      due.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (h) => due.delete(h),
    random: () => 0.5, // no jitter
    advance(ms) {
      now += ms;
      for (;;) {
        const next = [...due].filter(([, d]) => d.at <= now).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) return;
        due.delete(next[0]);
        next[1].fn();
      }
    },
    get pending() {
      return due.size;
    },
  };
}

function setup() {
  const timers = fakeTimers();
  const sent = [];
  let id = 0;
  const r = new BlobResender({ send: (m) => (sent.push(m), true), nextId: () => ++id, timers });
  return { timers, sent, r };
}

const hello = { type: 'blob', data: 'AAEC' };

test('a refused hello is sent again after a backoff, with a new id', () => {
  const { timers, sent, r } = setup();
  assert.equal(r.send(hello), true);
  assert.deepEqual(sent, [{ ...hello, id: 1 }]);
  assert.equal(r.onError({ type: 'error', id: 1, code: 'too_many_blobs' }), true);
  timers.advance(BLOB_RETRY_MS[0] - 1);
  assert.equal(sent.length, 1, 'not before the backoff');
  timers.advance(1);
  assert.deepEqual(sent[1], { ...hello, id: 2 });
});

test('the tries are bounded', () => {
  const { timers, sent, r } = setup();
  r.send(hello);
  for (let i = 0; i < BLOB_RETRY_MS.length + 3; i++) {
    r.onError({ type: 'error', id: sent.at(-1).id, code: 'too_many_blobs' });
    timers.advance(60000);
  }
  assert.equal(sent.length, 1 + BLOB_RETRY_MS.length);
  assert.equal(timers.pending, 0, 'nothing left scheduled');
});

test('other errors, unknown ids and closing stop it', () => {
  const { timers, sent, r } = setup();
  r.send(hello);
  assert.equal(r.onError({ type: 'error', id: 1, code: 'no_such_member' }), true);
  assert.equal(r.onError({ type: 'error', id: 7, code: 'too_many_blobs' }), false);
  assert.equal(r.onError({ type: 'error', code: 'too_many_blobs' }), false);
  timers.advance(60000);
  assert.equal(sent.length, 1);

  r.send(hello);
  r.onError({ type: 'error', id: 2, code: 'too_many_blobs' });
  r.close();
  timers.advance(60000);
  assert.equal(sent.length, 2);
  assert.equal(timers.pending, 0);
  assert.equal(r.send(hello), false);
});

test('a blob not refused in time is forgotten', () => {
  const { timers, r } = setup();
  r.send(hello);
  timers.advance(FORGET_MS);
  assert.equal(r.onError({ type: 'error', id: 1, code: 'too_many_blobs' }), false);
  assert.equal(timers.pending, 0);
});

test('a refused blobs batch is sent again whole, with a new id', () => {
  const { timers, sent, r } = setup();
  const [batch] = blobsMessages([{ to: 'a', data: 'AAEC' }, { to: 'b', data: 'AwQF' }]);
  assert.equal(r.send(batch), true);
  assert.equal(r.onError({ type: 'error', id: 1, code: 'too_many_blobs' }), true);
  timers.advance(BLOB_RETRY_MS[0]);
  assert.deepEqual(sent, [{ ...batch, id: 1 }, { ...batch, id: 2 }]);
});

test('blobsMessages makes one batch per MAX_BLOBS_ITEMS items, none for none', () => {
  assert.deepEqual(blobsMessages([]), []);
  const items = Array.from({ length: 2 * MAX_BLOBS_ITEMS + 1 }, (_, i) => ({ to: `m${i}`, data: 'AAEC', extra: 1 }));
  const msgs = blobsMessages(items);
  assert.deepEqual(msgs.map((m) => [m.type, m.items.length]), [
    ['blobs', MAX_BLOBS_ITEMS],
    ['blobs', MAX_BLOBS_ITEMS],
    ['blobs', 1],
  ]);
  assert.deepEqual(msgs.flatMap((m) => m.items), items.map(({ to, data }) => ({ to, data })), 'in order, only to and data');
});
