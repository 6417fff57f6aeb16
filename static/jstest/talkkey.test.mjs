// static/js/talkkey.js: what a key pressed while learning the talk key
// means, how a remembered key is read back, and how a key is shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_TALK_KEY, MAX_CODE_LENGTH, REFUSED, keyLabel, learnKey, storedTalkKey } from '../../static/js/talkkey.js';

test('any plain key is learned by its code', () => {
  for (const code of ['F8', 'KeyT', 'Digit5', 'Space', 'ArrowUp', 'MediaPlayPause', 'AudioVolumeUp', 'Numpad0']) {
    assert.deepEqual(learnKey({ code }), { kind: 'learned', code });
  }
});

test('Escape cancels; Tab and Enter are refused with the reason shown', () => {
  assert.deepEqual(learnKey({ code: 'Escape' }), { kind: 'cancel' });
  for (const code of ['Tab', 'Enter', 'NumpadEnter']) {
    const got = learnKey({ code });
    assert.equal(got.kind, 'refused', code);
    assert.equal(got.reason, REFUSED[code]);
    assert.match(got.reason, /Tab|Enter/);
  }
});

test('modifier keys and shortcuts are refused (the talk input ignores them)', () => {
  for (const code of ['ShiftLeft', 'ControlRight', 'AltLeft', 'MetaLeft', 'CapsLock']) {
    assert.equal(learnKey({ code }).kind, 'refused', code);
  }
  assert.equal(learnKey({ code: 'KeyT', ctrlKey: true }).kind, 'refused');
  assert.equal(learnKey({ code: 'KeyT', altKey: true }).kind, 'refused');
  assert.equal(learnKey({ code: 'KeyT', metaKey: true }).kind, 'refused');
});

test('a key that does not name itself is refused', () => {
  for (const code of ['', '5', '__proto__', 'x'.repeat(MAX_CODE_LENGTH + 1)]) {
    assert.equal(learnKey({ code }).kind, 'refused', JSON.stringify(code));
  }
});

test('a remembered key reads back only if it could have been learned', () => {
  assert.equal(storedTalkKey(null), DEFAULT_TALK_KEY);
  assert.equal(storedTalkKey('F8'), 'F8');
  assert.equal(storedTalkKey('KeyT'), 'KeyT');
  for (const bad of ['Tab', 'Enter', 'Escape', 'ShiftLeft', '<img>', 'x'.repeat(MAX_CODE_LENGTH + 1), 42, {}]) {
    assert.equal(storedTalkKey(bad), DEFAULT_TALK_KEY, String(bad));
  }
});

test('labels people recognise', () => {
  assert.equal(keyLabel('Space'), 'Space');
  assert.equal(keyLabel('KeyT'), 'T');
  assert.equal(keyLabel('Digit5'), '5');
  assert.equal(keyLabel('F8'), 'F8');
  assert.equal(keyLabel('Numpad7'), 'Numpad 7');
  assert.equal(keyLabel('ArrowUp'), 'Arrow Up');
  assert.equal(keyLabel('MediaPlayPause'), 'Media Play Pause');
});
