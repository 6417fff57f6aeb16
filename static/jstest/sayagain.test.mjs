// static/js/sayagain.js: the store of turns heard, for "Say again".
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { GapWatch, KEEP_SECONDS, MAX_GAPS, MIN_GAP_MS, MIN_TURN_MS, TurnStore } from '../../static/js/sayagain.js';

const RATE = 1000; // samples per second: small numbers, same arithmetic

// tone is n samples of a recognisable ramp, starting at v.
function samples(n, v = 0.25) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = v + (i % 10) / 100;
  return x;
}

function heard(store, { talker = 'a', name = 'Alice', at = 0, n = RATE, v = 0.25 } = {}) {
  store.begin({ talker, name, at });
  store.append(samples(n, v));
  store.end();
}

function readAll(store, id) {
  return store.read(id, (n) => new Float32Array(n));
}

test('a turn heard can be read back, newest first in the list', () => {
  const s = new TurnStore({ rate: RATE, chunkFrames: 300 });
  heard(s, { name: 'Alice', at: 1000, n: 1000, v: 0.25 });
  heard(s, { talker: 'b', name: 'Bob', at: 5000, n: 2500, v: -0.5 });
  assert.deepEqual(s.list(), [
    { id: 2, name: 'Bob', at: 5000, ms: 2500 },
    { id: 1, name: 'Alice', at: 1000, ms: 1000 },
  ]);
  assert.equal(s.latest(), 2);
  const back = readAll(s, 1);
  const src = samples(1000, 0.25);
  assert.equal(back.length, 1000);
  for (let i = 0; i < back.length; i++) assert.ok(Math.abs(back[i] - src[i]) < 1e-4, `sample ${i}`);
  assert.ok(Math.abs(readAll(s, 2)[0] + 0.5) < 1e-4);
  assert.equal(s.bytes, (4 + 9) * 300 * 2); // whole blocks: 1000 -> 4, 2500 -> 9
});

test('the turn being recorded is neither listed nor readable until it ends', () => {
  const s = new TurnStore({ rate: RATE });
  heard(s, { name: 'Alice' });
  s.begin({ talker: 'b', name: 'Bob', at: 9 });
  s.append(samples(2000));
  assert.equal(s.recording, true);
  assert.deepEqual(s.list().map((t) => t.name), ['Alice']);
  assert.equal(s.latest(), 1);
  assert.equal(readAll(s, 2), null);
  s.end();
  assert.equal(s.latest(), 2);
});

test('samples with no turn under way are ignored', () => {
  const s = new TurnStore({ rate: RATE });
  s.append(samples(5000));
  assert.equal(s.turns, 0);
  assert.equal(s.bytes, 0);
});

test('a tap of the button shorter than MIN_TURN_MS is not kept, and its block is zeroed', () => {
  const blocks = [];
  const s = new TurnStore({ rate: RATE, alloc: (n) => blocks[blocks.push(new Int16Array(n)) - 1] });
  heard(s, { n: (MIN_TURN_MS * RATE) / 1000 - 1 });
  assert.equal(s.turns, 0);
  assert.deepEqual(s.list(), []);
  assert.ok(blocks.length > 0 && blocks.every((b) => b.every((x) => x === 0)));
});

test('the oldest turns go when the total passes KEEP_SECONDS, and their samples are zeroed', () => {
  const blocks = [];
  const s = new TurnStore({ rate: RATE, chunkFrames: 500, alloc: (n) => blocks[blocks.push(new Int16Array(n)) - 1] });
  const turn = (KEEP_SECONDS / 4) * RATE; // four turns fill it
  for (let i = 0; i < 6; i++) heard(s, { name: `T${i}`, at: i, n: turn });
  assert.deepEqual(s.list().map((t) => t.name), ['T5', 'T4', 'T3', 'T2']);
  assert.equal(s.bytes, KEEP_SECONDS * RATE * 2);
  // The first two turns' blocks are all zero now.
  const perTurn = turn / 500;
  assert.ok(blocks.slice(0, 2 * perTurn).every((b) => b.every((x) => x === 0)));
  assert.ok(blocks.slice(2 * perTurn).every((b) => b.some((x) => x !== 0)));
});

test('a turn longer than the whole store keeps its latest KEEP_SECONDS', () => {
  const s = new TurnStore({ rate: RATE, chunkFrames: 1000 });
  heard(s, { name: 'Old', at: 0, n: 2000 });
  s.begin({ talker: 'b', name: 'Long', at: 10_000 });
  const extra = 5;
  for (let sec = 0; sec < KEEP_SECONDS + extra; sec++) s.append(samples(RATE, sec / 1000));
  s.end();
  const list = s.list();
  assert.deepEqual(list.map((t) => t.name), ['Long']);
  assert.equal(list[0].ms, KEEP_SECONDS * 1000);
  assert.equal(list[0].at, 10_000 + extra * 1000); // its first kept sample
  const back = readAll(s, list[0].id);
  assert.ok(Math.abs(back[0] - extra / 1000) < 1e-4);
});

test('gap marks sit between turns in time order, short outages are not marked', () => {
  const s = new TurnStore({ rate: RATE });
  heard(s, { name: 'Alice', at: 1000 });
  s.gap({ at: 3000, ms: MIN_GAP_MS - 1 });
  s.gap({ at: 4000, ms: 7400 });
  heard(s, { name: 'Bob', at: 12000 });
  assert.deepEqual(s.list().map((e) => (e.gap ? `gap ${e.ms}` : e.name)), ['Bob', 'gap 7400', 'Alice']);
});

test('at most MAX_GAPS gap marks are kept, the newest', () => {
  const s = new TurnStore({ rate: RATE });
  for (let i = 0; i < MAX_GAPS + 3; i++) s.gap({ at: i, ms: 2000 + i });
  const gaps = s.list();
  assert.equal(gaps.length, MAX_GAPS);
  assert.equal(gaps[0].ms, 2000 + MAX_GAPS + 2);
});

test('a gap before the oldest turn goes with it', () => {
  const s = new TurnStore({ rate: RATE, keepSeconds: 2 });
  s.gap({ at: 0, ms: 5000 });
  heard(s, { name: 'A', at: 1, n: 1500 });
  s.gap({ at: 2, ms: 5000 });
  heard(s, { name: 'B', at: 3, n: 1500 });
  assert.deepEqual(s.list().map((e) => (e.gap ? 'gap' : e.name)), ['B', 'gap']);
});

test('wipe zeroes every block, the turn being recorded too, and forgets everything', () => {
  const blocks = [];
  const s = new TurnStore({ rate: RATE, chunkFrames: 400, alloc: (n) => blocks[blocks.push(new Int16Array(n)) - 1] });
  heard(s, { name: 'A', n: 1000 });
  s.gap({ at: 5, ms: 3000 });
  s.begin({ talker: 'b', name: 'B', at: 9 });
  s.append(samples(900));
  assert.ok(blocks.some((b) => b.some((x) => x !== 0)));
  s.wipe();
  assert.ok(blocks.length === 6 && blocks.every((b) => b.every((x) => x === 0)));
  assert.deepEqual(s.list(), []);
  assert.equal(s.turns, 0);
  assert.equal(s.bytes, 0);
  assert.equal(s.latest(), 0);
  assert.equal(s.recording, false);
  assert.equal(readAll(s, 1), null);
  // After a wipe it records anew.
  heard(s, { name: 'C' });
  assert.deepEqual(s.list().map((t) => t.name), ['C']);
});

test('loud samples are clipped to 16 bits, not wrapped', () => {
  const s = new TurnStore({ rate: RATE });
  s.begin({ talker: 'a', name: 'A', at: 0 });
  s.append(Float32Array.from({ length: 400 }, (_, i) => (i % 2 ? 3 : -3)));
  s.end();
  const back = readAll(s, s.latest());
  assert.equal(back[0], -1);
  assert.equal(back[1], 1);
});

test('an outage runs from the loss of a connected room to its return', () => {
  const w = new GapWatch();
  assert.equal(w.see('connecting', 0), null); // a first connection is no outage
  assert.equal(w.see('connected', 100), null);
  assert.equal(w.see('reconnecting', 1000), null);
  assert.equal(w.lost, true);
  assert.equal(w.see('offline', 2000), null); // still the same outage
  assert.equal(w.see('reconnecting', 3000), null);
  assert.deepEqual(w.see('connected', 9500), { at: 1000, ms: 8500 });
  assert.equal(w.lost, false);
  assert.equal(w.see('connected', 9600), null);
});

test('a re-key moves the room: its reconnect is no outage, the next one is', () => {
  const w = new GapWatch();
  w.see('connected', 0);
  w.moving();
  w.see('reconnecting', 10);
  assert.equal(w.see('connected', 2000), null);
  w.see('reconnecting', 3000);
  assert.deepEqual(w.see('connected', 4500), { at: 3000, ms: 1500 });
});

test('a re-key while already reconnecting drops that outage', () => {
  const w = new GapWatch();
  w.see('connected', 0);
  w.see('reconnecting', 10);
  w.moving();
  assert.equal(w.see('connected', 5000), null);
});

test('leaving (idle) or a fatal close is no outage to mark', () => {
  const w = new GapWatch();
  w.see('connected', 0);
  assert.equal(w.see('idle', 10), null);
  assert.equal(w.see('connected', 20), null);
  assert.equal(w.see('closed', 30), null);
  assert.equal(w.see('connected', 40), null);
});
