// static/js/connstate.js: what the room screen says of the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { connectionState } from '../../static/js/connstate.js';

test('a first visit says Connecting until the voice connection is up, never Reconnecting', () => {
  // The order of a fresh join: socket opening, joined, voice connected.
  assert.equal(connectionState({}), 'connecting');
  assert.equal(connectionState({ joined: true }), 'connecting');
  assert.equal(connectionState({ joined: true, mediaUp: true }), 'connected');
});

test('after being connected, a loss of the room or of the voice is Reconnecting', () => {
  assert.equal(connectionState({ everConnected: true }), 'reconnecting');
  assert.equal(connectionState({ joined: true, everConnected: true }), 'reconnecting');
  assert.equal(connectionState({ mediaUp: true, everConnected: true }), 'reconnecting');
  assert.equal(connectionState({ joined: true, mediaUp: true, everConnected: true }), 'connected');
});

test('offline and closed say so whatever else holds', () => {
  assert.equal(connectionState({ offline: true, joined: true, mediaUp: true, everConnected: true }), 'offline');
  assert.equal(connectionState({ fatal: true, offline: true, joined: true, mediaUp: true }), 'closed');
});
