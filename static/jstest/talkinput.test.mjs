// static/js/talkinput.js: which pointer and key events make the talk button
// go down and up. The browser is modelled where it matters: a keydown goes
// to the focused element, and a Space nobody prevents toggles a focused
// checkbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TalkInput } from '../../static/js/talkinput.js';

const PREVENT = { type: 'prevent' };
const UP = { type: 'up' };
const down = (latch) => ({ type: 'down', latch });
const space = (o = {}) => ({ code: 'Space', target: 'page', active: true, handsFree: false, ...o });
const finger = (o = {}) => ({ id: 7, isMouse: false, mouseButton: 0, active: true, handsFree: false, ...o });

test('hold mode: a held pointer is down once captured, up when lifted', () => {
  const input = new TalkInput();
  assert.deepEqual(input.pointerDown(finger()), [PREVENT, { type: 'capture', id: 7 }]);
  assert.equal(input.isDown, false, 'down before the capture was granted');
  assert.deepEqual(input.captured(7), [down(false)]);
  assert.deepEqual(input.pointerDown(finger({ id: 8 })), [], 'a second finger counted');
  assert.deepEqual(input.pointerUp(8), []);
  assert.deepEqual(input.pointerUp(7), [UP]);
});

test('a refused capture leaves the button up', () => {
  const input = new TalkInput();
  input.pointerDown(finger());
  assert.deepEqual(input.pointerUp(7), []);
  assert.equal(input.isDown, false);
});

test('only the main mouse button, only while the room shows', () => {
  const input = new TalkInput();
  assert.deepEqual(input.pointerDown(finger({ isMouse: true, mouseButton: 2 })), []);
  assert.deepEqual(input.pointerDown(finger({ active: false })), []);
  assert.deepEqual(input.keyDown(space({ active: false })), []);
});

test('hold mode: Space down and up; repeats and modified keys change nothing', () => {
  const input = new TalkInput();
  assert.deepEqual(input.keyDown(space({ ctrlKey: true })), []);
  assert.deepEqual(input.keyDown(space()), [PREVENT, down(false)]);
  assert.deepEqual(input.keyDown(space({ repeat: true })), [PREVENT]);
  assert.deepEqual(input.keyUp({ code: 'Space' }), [PREVENT, UP]);
  assert.deepEqual(input.keyUp({ code: 'Space' }), []);
});

test('Space typed into a field or on another control is theirs', () => {
  const input = new TalkInput();
  assert.deepEqual(input.keyDown(space({ target: 'field' })), []);
  assert.deepEqual(input.keyDown(space({ target: 'control' })), []);
  assert.deepEqual(input.keyDown(space({ target: 'button' })), [PREVENT, down(false)]);
});

test('hands-free: a tap or Space latches, the next one lets go; blur keeps a latch, release ends it', () => {
  const input = new TalkInput();
  assert.deepEqual(input.pointerDown(finger({ handsFree: true })), [PREVENT, down(true)]);
  assert.deepEqual(input.blur(), []);
  assert.deepEqual(input.keyDown(space({ handsFree: true })), [PREVENT, UP]);
  input.keyDown(space({ handsFree: true }));
  assert.deepEqual(input.release(), [UP]);
});

test('blur lets go of a held button (its up event goes elsewhere)', () => {
  const input = new TalkInput();
  input.pointerDown(finger());
  input.captured(7);
  assert.deepEqual(input.blur(), [{ type: 'uncapture', id: 7 }, UP]);
});

// Regression 2 (c45e77e): ticking the Hands-free box left the focus on it,
// and the next Space unticked it instead of talking.
test('regression: Space after ticking the Hands-free box talks, it does not untick the box', () => {
  const input = new TalkInput();
  let focused = 'field'; // the box was just clicked: a checkbox is an input
  for (const fx of input.modeSwitched()) if (fx.type === 'focus') focused = 'button';
  const fx = input.keyDown(space({ target: focused, handsFree: true }));
  // Without preventDefault, the browser toggles the focused checkbox.
  assert.deepEqual(fx, [PREVENT, down(true)], 'Space went to the Hands-free box, not to the talk button');
});

test('a switch of mode lets go of the button', () => {
  const input = new TalkInput();
  input.keyDown(space({ handsFree: true }));
  assert.deepEqual(input.modeSwitched(), [UP, { type: 'focus' }]);
  assert.equal(input.isDown, false);
});

// A learned talk key (talkkey.js) behaves as Space does.
const f8 = (o = {}) => space({ code: 'F8', talkKey: 'F8', ...o });

test('a learned key holds and lets go; Space then does nothing', () => {
  const input = new TalkInput();
  assert.deepEqual(input.keyDown(space({ talkKey: 'F8' })), [], 'Space still talks after F8 was learned');
  assert.deepEqual(input.keyDown(f8()), [PREVENT, down(false)]);
  assert.deepEqual(input.keyDown(f8({ repeat: true })), [PREVENT]);
  assert.deepEqual(input.keyUp({ code: 'Space' }), []);
  assert.deepEqual(input.keyUp({ code: 'F8' }), [PREVENT, UP]);
  assert.deepEqual(input.keyDown(f8({ handsFree: true })), [PREVENT, down(true)]);
  assert.deepEqual(input.keyDown(f8({ handsFree: true })), [PREVENT, UP]);
});

test('a learned letter typed into a field is typing; on another button it talks (only Space presses buttons)', () => {
  const input = new TalkInput();
  const t = (o) => space({ code: 'KeyT', talkKey: 'KeyT', ...o });
  assert.deepEqual(input.keyDown(t({ target: 'field' })), []);
  assert.deepEqual(input.keyDown(t({ target: 'control' })), [PREVENT, down(false)]);
  assert.deepEqual(input.keyUp({ code: 'KeyT' }), [PREVENT, UP]);
  assert.deepEqual(input.keyDown(t({ shiftKey: true, altKey: true })), [], 'a shortcut talked');
});

test('the key held ends its turn on keyup even if the talk key changed meanwhile', () => {
  const input = new TalkInput();
  input.keyDown(space());
  assert.deepEqual(input.keyDown(f8()), [PREVENT], 'a second talk key started a second press');
  assert.deepEqual(input.keyUp({ code: 'F8' }), []);
  assert.deepEqual(input.keyUp({ code: 'Space' }), [PREVENT, UP]);
});

test('a headset tap latches in hold mode too, and the next ends the turn', () => {
  const input = new TalkInput();
  assert.deepEqual(input.headsetTap({ active: false }), []);
  assert.deepEqual(input.headsetTap({ active: true }), [down(true)]);
  assert.equal(input.isLatched, true);
  assert.deepEqual(input.blur(), [], 'blur ended a headset turn');
  assert.deepEqual(input.headsetTap({ active: true }), [UP]);
  assert.equal(input.isLatched, false);
});

test('a headset tap ends a turn held by finger or key, which then starts nothing when lifted', () => {
  const input = new TalkInput();
  input.pointerDown(finger());
  input.captured(7);
  assert.deepEqual(input.headsetTap({ active: true }), [{ type: 'uncapture', id: 7 }, UP]);
  assert.deepEqual(input.pointerUp(7), []);
  input.keyDown(space());
  assert.deepEqual(input.headsetTap({ active: true }), [UP]);
  assert.deepEqual(input.keyDown(space({ repeat: true })), [PREVENT], 'a held key repeating talked again');
  assert.deepEqual(input.keyUp({ code: 'Space' }), []);
  assert.equal(input.isDown, false);
});
