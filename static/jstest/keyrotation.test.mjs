// static/js/keyrotation.js: when a member's own sender key moves on
// (docs/keys.md, "Sending"), as events in, effects out, on a fake clock
// that runs the timer effects the way session.js does with setTimeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { KeyRotation, KeySwitchDelay, RotationInterval } from '../../static/js/keyrotation.js';

// A fake clock and session: timers fire in time order as the clock moves;
// 'rotate' is answered with 'sent' after sendMs (the batch going out).
function rig({ sendMs = 20 } = {}) {
  const rot = new KeyRotation();
  let now = 0;
  let timers = []; // { at, event }
  const log = []; // [time, effect] of every rotate and use
  const perform = (fx) => {
    for (const f of fx) {
      if (f.type === 'timer') timers.push({ at: now + f.ms, event: f.event });
      else {
        log.push([now, f.type, f.epoch]);
        if (f.type === 'rotate') timers.push({ at: now + sendMs, event: { type: 'sent', epoch: f.epoch } });
      }
    }
  };
  const step = (ev) => perform(rot.step(ev));
  const advance = (ms) => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > end) break;
      timers = timers.slice(1);
      now = t.at;
      step(t.event);
    }
    now = end;
  };
  step({ type: 'start' });
  return { rot, step, advance, log, now: () => now, timers: () => timers };
}

test('a trigger sends the next epoch at once and switches to it KeySwitchDelay after it went out', () => {
  const r = rig({ sendMs: 30 });
  r.advance(1000);
  r.step({ type: 'trigger', reason: 'left' });
  assert.deepEqual(r.log, [[1000, 'rotate', 1]]);
  assert.equal(r.rot.epoch, 0, 'still encrypting under the old key');
  assert.equal(r.rot.pending, 1);
  r.advance(30 + KeySwitchDelay - 1);
  assert.equal(r.rot.epoch, 0, 'switched before KeySwitchDelay passed since sending');
  r.advance(1);
  assert.deepEqual(r.log, [[1000, 'rotate', 1], [1000 + 30 + KeySwitchDelay, 'use', 1]]);
  assert.equal(r.rot.epoch, 1);
  assert.equal(r.rot.pending, null);
});

test('every RotationInterval without a trigger, a timer rotation', () => {
  const r = rig({ sendMs: 0 });
  r.advance(RotationInterval - 1);
  assert.deepEqual(r.log, []);
  r.advance(1);
  assert.deepEqual(r.log, [[RotationInterval, 'rotate', 1]]);
  r.advance(KeySwitchDelay);
  r.advance(RotationInterval);
  assert.deepEqual(r.log.map(([, type, epoch]) => [type, epoch]), [['rotate', 1], ['use', 1], ['rotate', 2]]);
  assert.equal(r.log[2][0], RotationInterval * 2 + KeySwitchDelay, 'the interval counts from the switch');
});

test('a rotation for a leave or a join restarts the interval: no timer rotation right after it', () => {
  const r = rig({ sendMs: 0 });
  r.advance(RotationInterval - 100);
  r.step({ type: 'trigger', reason: 'joined' });
  r.advance(KeySwitchDelay);
  r.advance(RotationInterval - 1);
  assert.deepEqual(r.log.map(([, type, epoch]) => [type, epoch]), [['rotate', 1], ['use', 1]], 'the old interval timer fired');
  r.advance(1);
  assert.deepEqual(r.log.at(-1), [RotationInterval - 100 + KeySwitchDelay + RotationInterval, 'rotate', 2]);
});

test('triggers during a pending rotation fold into one more, right after the switch', () => {
  const r = rig({ sendMs: 10 });
  r.step({ type: 'trigger', reason: 'joined' });
  r.advance(100);
  r.step({ type: 'trigger', reason: 'left' });
  r.step({ type: 'trigger', reason: 'joined' });
  r.step({ type: 'trigger', reason: 'left' });
  assert.deepEqual(r.log, [[0, 'rotate', 1]], 'a trigger while pending rotated at once');
  r.advance(10 + KeySwitchDelay - 100);
  assert.deepEqual(r.log, [[0, 'rotate', 1], [10 + KeySwitchDelay, 'use', 1], [10 + KeySwitchDelay, 'rotate', 2]]);
  r.advance(10 * KeySwitchDelay);
  assert.deepEqual(r.log.map(([, type, epoch]) => [type, epoch]), [['rotate', 1], ['use', 1], ['rotate', 2], ['use', 2]],
    'three folded triggers made more than one rotation');
});

test('at most one rotation per KeySwitchDelay, however many triggers', () => {
  const r = rig({ sendMs: 5 });
  for (let t = 0; t < 10 * KeySwitchDelay; t += 50) {
    r.step({ type: 'trigger', reason: 'left' });
    r.advance(50);
  }
  const rotations = r.log.filter(([, type]) => type === 'rotate').map(([at]) => at);
  for (let i = 1; i < rotations.length; i++) assert.ok(rotations[i] - rotations[i - 1] >= KeySwitchDelay, `rotations at ${rotations}`);
  assert.ok(rotations.length >= 9, `only ${rotations.length} rotations in ${10 * KeySwitchDelay} ms of triggers`);
});

test('a late switch or interval timer is ignored; sent for another epoch changes nothing', () => {
  const rot = new KeyRotation();
  const start = rot.step({ type: 'start' });
  assert.deepEqual(start, [{ type: 'timer', ms: RotationInterval, event: { type: 'interval', seq: 1 } }]);
  assert.deepEqual(rot.step({ type: 'trigger', reason: 'left' }), [{ type: 'rotate', epoch: 1 }]);
  assert.deepEqual(rot.step({ type: 'sent', epoch: 2 }), []);
  assert.deepEqual(rot.step({ type: 'switch', epoch: 2 }), []);
  assert.deepEqual(rot.step({ type: 'sent', epoch: 1 }), [{ type: 'timer', ms: KeySwitchDelay, event: { type: 'switch', epoch: 1 } }]);
  const sw = rot.step({ type: 'switch', epoch: 1 });
  assert.deepEqual(sw, [{ type: 'use', epoch: 1 }, { type: 'timer', ms: RotationInterval, event: { type: 'interval', seq: 3 } }]);
  assert.deepEqual(rot.step({ type: 'switch', epoch: 1 }), [], 'a second switch');
  assert.deepEqual(rot.step({ type: 'interval', seq: 1 }), [], 'the interval timer of the previous key');
  assert.deepEqual(rot.step({ type: 'interval', seq: 3 }), [{ type: 'rotate', epoch: 2 }]);
});

test('the epoch wraps from 65535 to 0', () => {
  const r = rig({ sendMs: 0 });
  for (let i = 0; i < 65536; i++) {
    r.step({ type: 'trigger', reason: 'timer' });
    r.advance(KeySwitchDelay);
  }
  assert.equal(r.rot.epoch, 0);
  assert.deepEqual(r.log.slice(-4).map(([, type, epoch]) => [type, epoch]), [['rotate', 65535], ['use', 65535], ['rotate', 0], ['use', 0]]);
});

test('after stop nothing rotates: late timers and triggers do nothing', () => {
  const r = rig({ sendMs: 0 });
  r.step({ type: 'trigger', reason: 'left' });
  r.step({ type: 'stop' });
  r.advance(2 * RotationInterval);
  r.step({ type: 'trigger', reason: 'joined' });
  assert.deepEqual(r.log, [[0, 'rotate', 1]]);
  assert.equal(r.rot.pending, null);
});
