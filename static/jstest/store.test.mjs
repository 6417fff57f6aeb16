// static/js/store.js: one state object, listeners told once per microtask,
// and a snapshot for the browser tests that never holds a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as store from '../../static/js/store.js';

const tick = () => new Promise((resolve) => queueMicrotask(resolve));

// A link and code that must never reach the snapshot or a log.
const SECRET_LINK = 'https://sotto.example/#1.c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';
const ROOM_CODE = '482-719-3528';

test('subscribe renders at once; updates in one task are told once, merged', async () => {
  const seen = [];
  const stop = store.subscribe((s) => seen.push({ screen: s.screen, talk: s.talk }));
  assert.deepEqual(seen, [{ screen: store.get().screen, talk: store.get().talk }]);
  store.update({ screen: 'room' });
  store.update({ talk: 'requesting' });
  assert.equal(seen.length, 1, 'told before the task ended');
  await tick();
  assert.deepEqual(seen.slice(1), [{ screen: 'room', talk: 'requesting' }]);
  stop();
  store.update({ talk: 'idle' });
  await tick();
  assert.equal(seen.length, 2, 'told after unsubscribing');
});

test('a listener that throws neither stops the others nor logs the state', async () => {
  const logged = [];
  const realError = console.error;
  console.error = (...args) => logged.push(args);
  const heard = [];
  const stops = [store.subscribe(() => {
    if (store.get().inviteLink) throw new Error(store.get().inviteLink);
  }), store.subscribe((s) => heard.push(s.inviteLink))];
  try {
    store.update({ inviteLink: SECRET_LINK });
    await tick();
  } finally {
    console.error = realError;
    stops.forEach((stop) => stop());
    store.update({ inviteLink: '' });
  }
  assert.deepEqual(heard.at(-1), SECRET_LINK);
  assert.equal(logged.length, 1);
  assert.ok(!JSON.stringify(logged).includes(SECRET_LINK), `the log holds the link: ${JSON.stringify(logged)}`);
});

test('the snapshot holds no link, code, safety code or notice', () => {
  store.update({
    inviteLink: SECRET_LINK, roomCode: ROOM_CODE, safetyCode: '123 456', notice: 'private words',
    members: [{ id: 'm1', name: 'Alice', talking: true, self: true }],
    floor: { holder: 'm1', mine: true, deadline: 12345 },
  });
  const snap = store.snapshot();
  assert.deepEqual(Object.keys(snap).sort(), ['connection', 'floor', 'keys', 'members', 'nameplate', 'sayAgain', 'screen', 'self']);
  // Media keys: epoch numbers and drop counts, nothing else (docs/keys.md).
  assert.deepEqual(Object.keys(snap.keys).sort(), ['cantDecrypt', 'epoch', 'held', 'unknownSender']);
  // "Say again": how much is kept, never what (names, times, audio).
  assert.deepEqual(Object.keys(snap.sayAgain).sort(), ['bytes', 'count', 'gaps', 'listed']);
  assert.deepEqual(snap.members, [{ id: 'm1', name: 'Alice' }]);
  assert.deepEqual(snap.floor, { holder: 'm1', mine: true });
  const text = JSON.stringify(snap);
  for (const secret of [SECRET_LINK, ROOM_CODE, '123 456', 'private words']) assert.ok(!text.includes(secret), secret);
  // A copy: changing it does not change the state.
  snap.members.push({ id: 'x' });
  assert.equal(store.get().members.length, 1);
});
