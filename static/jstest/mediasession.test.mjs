// static/js/mediasession.js: every headset and lock-screen action is one
// tap on the talk button; the lock screen shows the room without its
// secrets; browsers with part of the API, or none, are fine.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TAP_ACTIONS, TITLE, bindMediaSession, metadataFor } from '../../static/js/mediasession.js';

// fakeSession records what the page tells the browser; known: the actions
// this browser has (others throw TypeError, as Safari does).
function fakeSession(known = TAP_ACTIONS, { mic = true } = {}) {
  const s = {
    handlers: new Map(),
    metadata: null,
    micCalls: [],
    setActionHandler(action, fn) {
      if (!known.includes(action)) throw new TypeError(`unknown action ${action}`);
      if (fn) s.handlers.set(action, fn);
      else s.handlers.delete(action);
    },
  };
  if (mic) s.setMicrophoneActive = (on) => { s.micCalls.push(on); };
  return s;
}
class FakeMetadata {
  constructor(init) { Object.assign(this, init); }
}

test('togglemicrophone, play, pause and playpause are each one tap', () => {
  const session = fakeSession();
  let taps = 0;
  const ms = bindMediaSession({ onTap: () => taps++, session, Metadata: FakeMetadata });
  assert.equal(session.handlers.size, 0, 'handlers before entering a room');
  ms.show({ talker: 'Nobody is talking', count: 2, mine: false });
  assert.deepEqual([...session.handlers.keys()].sort(), [...TAP_ACTIONS].sort());
  for (const action of TAP_ACTIONS) session.handlers.get(action)({ action });
  assert.equal(taps, TAP_ACTIONS.length);
});

test('the lock screen shows the room and who talks, updates on a change, clears on leaving', () => {
  const session = fakeSession();
  const ms = bindMediaSession({ onTap: () => {}, session, Metadata: FakeMetadata });
  ms.show({ talker: 'Nobody is talking', count: 1, mine: false });
  assert.equal(session.metadata.title, 'Nobody is talking');
  assert.equal(session.metadata.artist, `${TITLE} · 1 person`);
  const first = session.metadata;
  ms.show({ talker: 'Nobody is talking', count: 1, mine: false });
  assert.equal(session.metadata, first, 'the same text made new metadata');
  ms.show({ talker: 'Ana is talking', count: 3, mine: false });
  assert.equal(session.metadata.title, 'Ana is talking');
  assert.equal(session.metadata.artist, `${TITLE} · 3 people`);
  ms.show({ talker: 'You are talking', count: 3, mine: true });
  assert.deepEqual(session.micCalls, [false, true]);
  ms.clear();
  assert.equal(session.metadata, null);
  assert.equal(session.handlers.size, 0, 'a headset button still talks outside the room');
  assert.deepEqual(session.micCalls, [false, true, false]);
});

test('the metadata is made only of what it is given: no link, no code', () => {
  const meta = metadataFor({ talker: 'Ana is talking', count: 2 });
  assert.deepEqual(Object.keys(meta).sort(), ['album', 'artist', 'title']);
  assert.doesNotMatch(JSON.stringify(meta), /#|\d{3}-\d{3}/);
});

test('no API, or part of it, never throws', () => {
  const none = bindMediaSession({ onTap: () => {}, session: undefined, Metadata: undefined });
  none.show({ talker: 'x', count: 1, mine: true });
  none.clear();

  // Safari-like: no togglemicrophone, no setMicrophoneActive, no MediaMetadata.
  const session = fakeSession(['play', 'pause'], { mic: false });
  const part = bindMediaSession({ onTap: () => {}, session, Metadata: undefined });
  part.show({ talker: 'x', count: 1, mine: true });
  assert.deepEqual([...session.handlers.keys()].sort(), ['pause', 'play']);
  assert.equal(session.metadata, null);
  part.clear();
  assert.equal(session.handlers.size, 0);
});
