// static/js/talkturn.js against a server that holds a talker's first
// packets until its grant (joined.floor_hold_ms, issue 17): the mic goes on
// with the request; busy, a refusal, letting go or a lost connection take
// it off at once; the start chirp still waits for the grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { START_BUZZ_MS, TalkTurn, WARN_BEFORE_MS } from '../../static/js/talkturn.js';

const SELF = 'me';
const OTHER = 'bob';
const LIMIT_MS = 30000;
const HOLD_MS = 300;

function joinedTurn(holdMs = HOLD_MS) {
  let id = 0;
  const t = new TalkTurn({ nextId: () => ++id });
  const step = (ev) => t.step(ev);
  // 'absent': a joined without floor_hold_ms, as an older server sends.
  step({ type: 'joined', self: SELF, floor: null, now: 0, ...(holdMs === 'absent' ? {} : { holdMs }) });
  step({ type: 'ready', open: true });
  step({ type: 'link', up: true });
  return { t, step };
}

const request = (id) => ({ type: 'send', message: { type: 'floor_request', id } });
const RELEASE = { type: 'send', message: { type: 'floor_release' } };
const MIC_ON = { type: 'mic', on: true };
const MIC_OFF = { type: 'mic', on: false };
const chirp = (sound) => ({ type: 'chirp', sound });
const GRANT_FX = [MIC_ON, chirp('start'), { type: 'buzz', ms: START_BUZZ_MS },
  { type: 'timer', ms: LIMIT_MS - WARN_BEFORE_MS, event: { type: 'warn', seq: 1 } }];

test('with the hold advertised a press opens the mic with the request; the chirp waits for the grant', () => {
  const { t, step } = joinedTurn();
  assert.deepEqual(step({ type: 'press', open: true }), [request(1), MIC_ON]);
  assert.equal(t.view().talk, 'requesting');
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 100 }), GRANT_FX);
  assert.equal(t.view().talk, 'talking');
  assert.deepEqual(step({ type: 'release' }), [MIC_OFF, chirp('end'), RELEASE]);
});

test('without it (absent or 0) the mic waits for the grant, as before', () => {
  for (const holdMs of [0, 'absent']) {
    const { step } = joinedTurn(holdMs);
    assert.deepEqual(step({ type: 'press', open: true }), [request(1)]);
    assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 100 }), GRANT_FX);
  }
});

test('busy or a refusal takes the early mic off at once, before the busy chirp', () => {
  for (const answer of ['busy', 'refused']) {
    const { t, step } = joinedTurn();
    step({ type: 'press', open: true });
    assert.deepEqual(step({ type: answer, id: 1 }), [MIC_OFF, chirp('busy')], answer);
    assert.equal(t.view().talk, 'idle');
    // The holder's release later opens nothing by itself.
    assert.deepEqual(step({ type: 'released', member: OTHER }), []);
  }
});

test('letting go before the grant takes the early mic off, whatever the tail', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true });
  assert.deepEqual(step({ type: 'release', tailMs: 200 }), [MIC_OFF, RELEASE]);
  // The late grant of the withdrawn request opens nothing.
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 0 }), []);
});

test('a lost connection takes the early mic off; a held button asks again, mic on, once ready', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true });
  assert.deepEqual(step({ type: 'lost' }), [MIC_OFF]);
  step({ type: 'joined', self: SELF, floor: null, holdMs: HOLD_MS, now: 0 });
  assert.deepEqual(step({ type: 'ready', open: true }), [request(2), MIC_ON]);
});

test('a reconnect to a server without the hold waits for the grant again', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true });
  step({ type: 'lost' });
  step({ type: 'joined', self: SELF, floor: null, holdMs: 0, now: 0 });
  assert.deepEqual(step({ type: 'ready', open: true }), [request(2)]);
});

test('press-release-press: the second request opens the mic again; the first grant is not ours', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true });
  step({ type: 'release' });
  assert.deepEqual(step({ type: 'press', open: true }), [request(2), MIC_ON]);
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 0 }), []);
  assert.deepEqual(step({ type: 'busy', id: 2 }), [MIC_OFF, chirp('busy')]);
});

test('the send watchdog ends an early mic for good', () => {
  const { t, step } = joinedTurn();
  step({ type: 'press', open: true });
  assert.deepEqual(step({ type: 'blocked' }), [MIC_OFF]);
  assert.deepEqual(step({ type: 'busy', id: 1 }), [chirp('busy')]);
  assert.deepEqual(step({ type: 'press', open: true }), [chirp('busy')]);
  assert.equal(t.view().talk, 'offline');
});

test('a hands-free tap opens the mic early too; busy ends the latch and the mic', () => {
  const { t, step } = joinedTurn();
  assert.deepEqual(step({ type: 'latch', open: true }), [request(1), MIC_ON]);
  assert.deepEqual(step({ type: 'busy', id: 1 }), [MIC_OFF, chirp('busy')]);
  assert.equal(t.view().latched, false);
});
