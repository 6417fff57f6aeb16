// static/js/reconnect.js: the wait before each reconnect attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { JITTER, RETRY_MS, retryDelay } from '../../static/js/reconnect.js';

const middle = () => 0.5; // a factor of exactly 1
const lowest = () => 0;
const highest = () => 1 - Number.EPSILON; // Math.random never returns 1

// The room is whole again within 5 s of a restarted server being back
// (TestReconnectAfterSignalingCut): no wait may exceed this.
const MAX_WAIT_MS = 2500;

test('quick after a blip, then every 2 s', () => {
  assert.deepEqual([0, 1, 2, 3, 50].map((n) => retryDelay(n, 0, middle)), [300, 1000, 2000, 2000, 2000]);
});

test('jitter spreads a room that lost the server together by ±25%', () => {
  for (const [n, base] of RETRY_MS.entries()) {
    assert.equal(retryDelay(n, 0, lowest), base * (1 - JITTER));
    const hi = retryDelay(n, 0, highest);
    // The top is 1 + JITTER less a rounding error: at most, never above.
    assert.ok(hi <= base * (1 + JITTER) && hi > base * (1 + JITTER) * 0.999, `${n}: ${hi}`);
  }
});

test('no wait is longer than the cap, however many tries failed', () => {
  for (let n = 0; n < 100; n++) {
    for (const r of [lowest, middle, highest]) assert.ok(retryDelay(n, 0, r) <= MAX_WAIT_MS, `${n}: ${retryDelay(n, 0, r)}`);
  }
});

test('a refusal that clears slowly waits its own time, jittered too', () => {
  assert.equal(retryDelay(0, 10000, middle), 10000);
  assert.equal(retryDelay(5, 10000, lowest), 7500);
  assert.equal(retryDelay(5, 100, middle), 2000, 'a floor below the schedule lowers nothing');
});

test('without a random source given, Math.random jitters within the bounds', () => {
  for (let i = 0; i < 100; i++) {
    const d = retryDelay(0);
    assert.ok(d >= 300 * (1 - JITTER) && d <= 300 * (1 + JITTER), String(d));
  }
});
