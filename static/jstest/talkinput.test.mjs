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
