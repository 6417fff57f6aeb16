import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import { REPLAY_WINDOW, ReplayWindow } from '../../static/js/e2ee/replay.js';

function verdict(w, ctr) {
  try {
    w.check(ctr);
    return '';
  } catch (err) {
    return codeOf(err);
  }
}

// The rule written the slow, obvious way: remember every accepted CTR.
class Model {
  seen = new Set();
  top = -1n;
  check(ctr) {
    if (this.top < 0n || ctr > this.top) return '';
    if (this.top - ctr >= REPLAY_WINDOW) return 'too-old';
    return this.seen.has(ctr) ? 'replay' : '';
  }
  accept(ctr) {
    this.seen.add(ctr);
    if (ctr > this.top) this.top = ctr;
  }
}

test('replay window matches the model on random sequences', () => {
  let seed = 12345;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let run = 0; run < 100; run++) {
    const w = new ReplayWindow();
    const m = new Model();
    let base = BigInt(rnd(1 << 30));
    for (let i = 0; i < 1000; i++) {
      const ctr = base + BigInt(rnd(300));
      if (rnd(50) === 0) base += BigInt(rnd(200));
      const want = m.check(ctr);
      assert.equal(verdict(w, ctr), want, `run ${run} step ${i}`);
      if (want === '' && rnd(10) !== 0) {
        w.accept(ctr);
        m.accept(ctr);
      }
    }
  }
});

test('replay window edges', () => {
  const w = new ReplayWindow();
  assert.equal(verdict(w, 0n), '');
  w.accept(1000n);
  assert.equal(verdict(w, 1000n), 'replay');
  assert.equal(verdict(w, 1000n - REPLAY_WINDOW + 1n), '');
  assert.equal(verdict(w, 1000n - REPLAY_WINDOW), 'too-old');
  w.accept(936n);
  w.accept(1064n);
  assert.equal(verdict(w, 1000n), 'replay');
  assert.equal(verdict(w, 936n), 'too-old');
  w.accept((1n << 64n) - 1n);
  assert.equal(verdict(w, (1n << 64n) - 2n), '');
});
