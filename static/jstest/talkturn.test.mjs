// static/js/talkturn.js: the talk turn as events in, effects out. Each test
// drives a TalkTurn the way session.js does and checks what it asks the
// session to do. The three "regression" tests are the bugs the hands-free
// work shipped and caught only in Chromium (commits c45e77e and 08e0952).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_TAIL_MS, LIMIT_HOLD, LIMIT_TAP, MAX_TAIL_MS, START_BUZZ_MS, TalkTurn, WARN_BEFORE_MS, WARN_BUZZ_MS,
  preemptedText,
} from '../../static/js/talkturn.js';

const SELF = 'me';
const OTHER = 'bob';
const LIMIT_MS = 30000;

// turn returns a TalkTurn joined in a room and ready, with a counter for
// request ids, and step(), which also keeps every effect in `all`.
function joinedTurn() {
  let id = 0;
  const t = new TalkTurn({ nextId: () => ++id });
  const all = [];
  const step = (ev) => {
    const fx = t.step(ev);
    all.push(...fx);
    return fx;
  };
  step({ type: 'joined', self: SELF, floor: null, now: 0 });
  step({ type: 'ready', open: true });
  step({ type: 'link', up: true });
  return { t, step, all, lastId: () => id };
}

const request = (id) => ({ type: 'send', message: { type: 'floor_request', id } });
const RELEASE = { type: 'send', message: { type: 'floor_release' } };
const MIC_ON = { type: 'mic', on: true };
const MIC_OFF = { type: 'mic', on: false };
const chirp = (sound) => ({ type: 'chirp', sound });
const requests = (fx) => fx.filter((e) => e.type === 'send' && e.message.type === 'floor_request');

// talking: a turn that holds the floor, by a held press or a hands-free tap.
function talking(how) {
  const r = joinedTurn();
  r.step({ type: how, open: true });
  r.step({ type: 'granted', member: SELF, id: r.lastId(), deadlineMs: LIMIT_MS, now: 1000 });
  assert.equal(r.t.view().talk, 'talking');
  return r;
}

test('a press asks for the floor; the grant turns the mic on with the start chirp', () => {
  const { t, step } = joinedTurn();
  assert.deepEqual(step({ type: 'press', open: true }), [request(1)]);
  assert.equal(t.view().talk, 'requesting');
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 500 }),
    [MIC_ON, chirp('start'), { type: 'buzz', ms: START_BUZZ_MS }, { type: 'timer', ms: LIMIT_MS - WARN_BEFORE_MS, event: { type: 'warn', seq: 1 } }]);
  assert.deepEqual(t.view(), { talk: 'talking', latched: false, holder: SELF, mine: true, deadline: 500 + LIMIT_MS, warning: '' });
});

test('letting go silences at once and gives the floor back', () => {
  const { t, step } = talking('press');
  assert.deepEqual(step({ type: 'release' }), [MIC_OFF, chirp('end'), RELEASE]);
  assert.equal(t.view().talk, 'idle');
  // The server's floor_released that follows changes nothing more.
  assert.deepEqual(step({ type: 'released', member: SELF }), []);
  assert.equal(t.view().holder, null);
});

test('a release before the grant withdraws the request; the late grant leaves the mic off', () => {
  const { t, step } = joinedTurn();
  step({ type: 'press', open: true });
  assert.deepEqual(step({ type: 'release' }), [RELEASE]);
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 0 }), []);
  assert.equal(t.view().talk, 'idle');
});

test('after press-release-press only the grant of the latest request turns the mic on', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true }); // id 1
  step({ type: 'release' });
  assert.deepEqual(step({ type: 'press', open: true }), [request(2)]);
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 0 }), []);
  assert.deepEqual(step({ type: 'granted', member: SELF, id: 2, deadlineMs: LIMIT_MS, now: 0 }).slice(0, 1), [MIC_ON]);
});

test('a busy floor chirps busy; a busy answering an older request is not ours', () => {
  const { t, step } = joinedTurn();
  step({ type: 'granted', member: OTHER, deadlineMs: LIMIT_MS, now: 0 });
  assert.equal(t.view().talk, 'busy');
  step({ type: 'press', open: true }); // id 1
  assert.deepEqual(step({ type: 'busy', id: 1 }), [chirp('busy')]);
  assert.equal(t.view().talk, 'busy');
  step({ type: 'release' });
  step({ type: 'press', open: true }); // id 2
  assert.deepEqual(step({ type: 'busy', id: 1 }), []);
  assert.equal(t.view().talk, 'requesting');
});

test('a refused request chirps busy and ends a hands-free tap', () => {
  const { t, step } = joinedTurn();
  step({ type: 'latch', open: true });
  assert.equal(t.view().latched, true);
  assert.deepEqual(step({ type: 'refused', id: 1 }), [chirp('busy')]);
  assert.equal(t.view().latched, false);
  assert.equal(t.view().talk, 'idle');
});

test('a press on a dead connection chirps busy; a held one asks once ready, a tap is dropped', () => {
  for (const [how, asks] of [['press', true], ['latch', false]]) {
    let id = 0;
    const t = new TalkTurn({ nextId: () => ++id });
    assert.deepEqual(t.step({ type: how, open: false }), [chirp('busy')], how);
    t.step({ type: 'joined', self: SELF, floor: null, now: 0 });
    assert.deepEqual(t.step({ type: 'ready', open: true }), asks ? [request(1)] : [], how);
  }
});

test('the talk limit ends the turn and says how to go on, in the words of the mode', () => {
  for (const [how, text] of [['press', LIMIT_HOLD], ['latch', LIMIT_TAP]]) {
    const { t, step } = talking(how);
    assert.deepEqual(step({ type: 'limit', member: SELF }), [MIC_OFF, chirp('end'), { type: 'announce', text }], how);
    assert.equal(t.view().latched, false, how);
    // Never re-grabbed by itself: a new connection asks nothing.
    step({ type: 'lost' });
    step({ type: 'joined', self: SELF, floor: null, now: 0 });
    assert.deepEqual(step({ type: 'ready', open: true }), [], how);
  }
});

test('a quick tap off and on is not ended by the first turn\'s late release', () => {
  const { t, step } = talking('latch');
  step({ type: 'release' });
  step({ type: 'latch', open: true }); // id 2
  assert.deepEqual(step({ type: 'released', member: SELF }), []);
  assert.equal(t.view().latched, true);
  assert.equal(t.view().talk, 'requesting');
});

test('the floor taken from a hands-free turn ends the latch', () => {
  const { t, step } = talking('latch');
  assert.deepEqual(step({ type: 'released', member: SELF }), [MIC_OFF, chirp('end')]);
  assert.equal(t.view().latched, false);
});

// Talk priority (issue 17): a priority member took the floor from us.
test('a priority member taking our turn: mic off at once, the busy chirp, and why, in the words of the mode', () => {
  for (const [how, tapped] of [['press', false], ['latch', true]]) {
    const { t, step } = talking(how);
    const text = preemptedText('Pat', tapped);
    assert.deepEqual(step({ type: 'preempted', member: SELF, byName: 'Pat' }), [MIC_OFF, chirp('busy'), { type: 'announce', text }], how);
    assert.equal(t.view().talk, 'idle', how);
    assert.equal(t.view().latched, false, how);
    // The priority member's grant follows: the floor is busy with Pat.
    assert.deepEqual(step({ type: 'granted', member: 'pat', deadlineMs: LIMIT_MS, now: 2000 }), [], how);
    assert.equal(t.view().talk, 'busy', how);
    // Letting go after it sends nothing: the floor is not ours to release.
    assert.deepEqual(step({ type: 'release', tailMs: DEFAULT_TAIL_MS }), [], how);
  }
  assert.equal(preemptedText('Pat', false), 'Pat has priority and took the floor. Let go, then press again when they are done.');
  assert.equal(preemptedText('Pat', true), 'Pat has priority and took the floor. Tap again when they are done.');
  assert.match(preemptedText('', false), /^Someone has priority/);
});

test('a preempted held turn does not ask again after a reconnect', () => {
  const { step } = talking('press');
  step({ type: 'preempted', member: SELF, byName: 'Pat' });
  step({ type: 'lost' });
  step({ type: 'joined', self: SELF, floor: null, now: 0 });
  assert.deepEqual(step({ type: 'ready', open: true }), []);
});

test('a priority member taking the tail ends it at once; taking another\'s turn only frees the holder', () => {
  const { t, step } = talking('press');
  step({ type: 'release', tailMs: 200 });
  assert.deepEqual(step({ type: 'preempted', member: SELF, byName: '' }), [MIC_OFF, chirp('busy'), { type: 'announce', text: preemptedText('', false) }]);
  assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [], 'the tail\'s timer sent a release');
  assert.equal(t.view().talk, 'idle');

  const other = joinedTurn();
  other.step({ type: 'granted', member: OTHER, deadlineMs: LIMIT_MS, now: 0 });
  assert.deepEqual(other.step({ type: 'preempted', member: OTHER, byName: 'Pat' }), []);
  assert.equal(other.t.view().holder, null);
});

test('the holder tracks joined.floor, floor_granted, floor_released and member_left', () => {
  let id = 0;
  const t = new TalkTurn({ nextId: () => ++id });
  t.step({ type: 'joined', self: SELF, floor: { holder: OTHER, deadline_ms: 4000 }, now: 100 });
  t.step({ type: 'link', up: true });
  assert.deepEqual(t.view(), { talk: 'busy', latched: false, holder: OTHER, mine: false, deadline: 4100, warning: '' });
  t.step({ type: 'released', member: 'someone else' });
  assert.equal(t.view().holder, OTHER);
  t.step({ type: 'left', member: OTHER });
  assert.deepEqual(t.view(), { talk: 'idle', latched: false, holder: null, mine: false, deadline: 0, warning: '' });
});

test('the send watchdog switches the mic off and refuses every later press', () => {
  const { t, step } = talking('press');
  assert.deepEqual(step({ type: 'blocked' }), [MIC_OFF]);
  assert.equal(t.blocked, true);
  assert.equal(t.view().talk, 'offline');
  step({ type: 'release' });
  assert.deepEqual(step({ type: 'press', open: true }), [chirp('busy')]);
});

test('a held button asks again after a dropped connection: a finger is still on it', () => {
  const { t, step } = talking('press');
  assert.deepEqual(step({ type: 'lost' }), [chirp('end'), MIC_OFF]);
  step({ type: 'joined', self: 'me-again', floor: null, now: 0 });
  assert.deepEqual(step({ type: 'ready', open: true }), [request(2)]);
  assert.equal(t.view().talk, 'requesting');
});

// Regression 1 (c45e77e): a hands-free turn cut by a dropped connection kept
// its latch, and the session asked for the floor again after the reconnect:
// a mic that turned itself back on after its end chirp.
test('regression: a drop ends a hands-free turn and nothing re-grabs the floor', () => {
  const { t, step, all } = talking('latch');
  const before = requests(all).length;
  step({ type: 'lost' });
  step({ type: 'joined', self: 'me-again', floor: null, now: 0 });
  step({ type: 'ready', open: true });
  step({ type: 'link', up: true });
  assert.deepEqual(requests(all).slice(before), [], 'the floor was asked for again after the reconnect');
  assert.equal(t.view().latched, false, 'the latch survived the dropped connection');
  assert.equal(t.view().talk, 'idle');
});

// Regression 3 (08e0952): the rule "a latched button is requesting or
// talking, else it comes up" ended a hands-free turn on a hiccup: the
// button shows 'offline' whenever the media path is down or the browser
// says offline, with the signaling connection up and the floor still ours.
test('regression: a hiccup with the signaling connection up does not end the turn', () => {
  const { t, step, all } = talking('latch');
  const before = all.length;
  step({ type: 'link', up: false });
  assert.equal(t.view().talk, 'offline');
  step({ type: 'link', up: true });
  assert.deepEqual(all.slice(before), [], 'the hiccup switched the mic or sent something');
  assert.deepEqual(t.view(), { talk: 'talking', latched: true, holder: SELF, mine: true, deadline: 1000 + LIMIT_MS, warning: '' });
});

// ---- the release tail -------------------------------------------------------

const TAIL = DEFAULT_TAIL_MS;
const tailTimer = (seq, ms = TAIL) => ({ type: 'timer', ms, event: { type: 'tailEnd', seq } });

test('letting go keeps the mic on for the tail; its end gives the floor back with the end chirp', () => {
  for (const how of ['press', 'latch']) {
    const { t, step } = talking(how);
    assert.deepEqual(step({ type: 'release', tailMs: TAIL }), [tailTimer(1)], how);
    assert.equal(t.view().talk, 'talking', `${how}: the mic is still live in the tail`);
    assert.equal(t.view().latched, false, how);
    assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [MIC_OFF, chirp('end'), RELEASE], how);
    assert.equal(t.view().talk, 'idle', how);
    assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [], `${how}: a second timer end does nothing`);
  }
});

test('a press in the tail carries the same turn on: no release, no new request', () => {
  for (const how of ['press', 'latch']) {
    const { t, step } = talking(how);
    step({ type: 'release', tailMs: TAIL }); // tail 1
    assert.deepEqual(step({ type: how, open: true }), [], how);
    assert.equal(t.view().talk, 'talking', how);
    assert.equal(t.view().latched, how === 'latch', how);
    // The first tail's timer is stale: the turn goes on.
    assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [], how);
    assert.equal(t.view().talk, 'talking', how);
    // Letting go again starts a new tail, which ends it.
    assert.deepEqual(step({ type: 'release', tailMs: TAIL }), [tailTimer(2)], how);
    assert.deepEqual(step({ type: 'tailEnd', seq: 2 }), [MIC_OFF, chirp('end'), RELEASE], how);
  }
});

test('a tail of 0 ends at once; a long one is capped', () => {
  const { step } = talking('press');
  assert.deepEqual(step({ type: 'release', tailMs: 0 }), [MIC_OFF, chirp('end'), RELEASE]);
  const r = talking('press');
  assert.deepEqual(r.step({ type: 'release', tailMs: 60000 }), [tailTimer(1, MAX_TAIL_MS)]);
});

test('Leave in the tail (a release with no tail) ends it at once', () => {
  const { t, step } = talking('press');
  step({ type: 'release', tailMs: TAIL });
  assert.deepEqual(step({ type: 'release', tailMs: 0 }), [MIC_OFF, chirp('end'), RELEASE]);
  assert.equal(t.view().talk, 'idle');
  assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [], 'the timer found the turn still going');
});

test('a lost connection, the talk limit or the server end a tail at once', () => {
  const cases = [
    [{ type: 'lost' }, [chirp('end'), MIC_OFF]],
    [{ type: 'limit', member: SELF }, [MIC_OFF, chirp('end'), { type: 'announce', text: LIMIT_HOLD }]],
    [{ type: 'released', member: SELF }, [MIC_OFF, chirp('end')]],
    [{ type: 'blocked' }, [MIC_OFF]],
  ];
  for (const [ev, want] of cases) {
    const { t, step } = talking('press');
    step({ type: 'release', tailMs: TAIL });
    assert.deepEqual(step(ev), want, ev.type);
    assert.notEqual(t.view().talk, 'talking', ev.type);
    assert.deepEqual(step({ type: 'tailEnd', seq: 1 }), [], `${ev.type}: the tail's timer sent a second release`);
  }
});

test('a release before the grant withdraws at once, whatever the tail', () => {
  const { t, step } = joinedTurn();
  step({ type: 'press', open: true });
  assert.deepEqual(step({ type: 'release', tailMs: TAIL }), [RELEASE]);
  assert.equal(t.view().talk, 'idle');
});

// ---- the warning before the talk limit ----------------------------------------

const warnTimer = (seq, ms) => ({ type: 'timer', ms, event: { type: 'warn', seq } });

test('the grant sets a timer for the warning; it chirps, buzzes and shows the time left', () => {
  const { t, step } = joinedTurn();
  step({ type: 'press', open: true });
  const fx = step({ type: 'granted', member: SELF, id: 1, deadlineMs: LIMIT_MS, now: 1000 });
  assert.deepEqual(fx.at(-1), warnTimer(1, LIMIT_MS - WARN_BEFORE_MS));
  assert.deepEqual(step({ type: 'warn', seq: 1, now: 1000 + LIMIT_MS - WARN_BEFORE_MS }),
    [chirp('warn'), { type: 'buzz', ms: WARN_BUZZ_MS }]);
  assert.equal(t.view().warning, '10 seconds left');
  // The words go with the turn.
  step({ type: 'limit', member: SELF });
  assert.equal(t.view().warning, '');
});

test('no warning for a turn already over, in the tail, or of an older grant', () => {
  // Over: let go before the timer.
  let r = talking('press');
  r.step({ type: 'release', tailMs: 0 });
  assert.deepEqual(r.step({ type: 'warn', seq: 1, now: 0 }), []);
  // In the tail: the thumb is up.
  r = talking('press');
  r.step({ type: 'release', tailMs: TAIL });
  assert.deepEqual(r.step({ type: 'warn', seq: 1, now: 0 }), []);
  assert.equal(r.t.view().warning, '');
  // An older grant's timer, in a newer turn.
  r = talking('press');
  r.step({ type: 'release', tailMs: 0 });
  r.step({ type: 'press', open: true });
  r.step({ type: 'granted', member: SELF, id: r.lastId(), deadlineMs: LIMIT_MS, now: 5000 });
  assert.deepEqual(r.step({ type: 'warn', seq: 1, now: 6000 }), []);
  assert.deepEqual(r.step({ type: 'warn', seq: 3, now: 5000 + LIMIT_MS - WARN_BEFORE_MS }).length, 2);
});

test('a talk limit no longer than the warning gets none', () => {
  const { step } = joinedTurn();
  step({ type: 'press', open: true });
  const fx = step({ type: 'granted', member: SELF, id: 1, deadlineMs: WARN_BEFORE_MS, now: 0 });
  assert.deepEqual(fx.filter((e) => e.type === 'timer'), []);
});

test('an unknown event is a bug, not a no-op', () => {
  assert.throws(() => new TalkTurn({ nextId: () => 1 }).step({ type: 'nope' }), /unknown event nope/);
});
