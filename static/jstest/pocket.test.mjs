// static/js/pocket.js: pocket mode's decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { audioSessionType, backAction, isAppleMobile } from '../../static/js/pocket.js';

test('a page back in the room on an open socket checks it at once', () => {
  assert.equal(backAction({ joined: true, open: true }), 'check');
});

test('a page back with its socket gone, or waiting to retry, reconnects now', () => {
  // Frozen: Chromium closed the socket; its close event has not run yet.
  assert.equal(backAction({ joined: true, open: false }), 'reconnect');
  // Waiting on a backoff timer after a loss.
  assert.equal(backAction({}), 'reconnect');
  // An open socket not yet in the room is an attempt: see below.
  assert.equal(backAction({ open: true }), 'reconnect');
});

test('a page back from a freeze reconnects whatever its socket says: Chromium failed it', () => {
  assert.equal(backAction({ frozen: true, joined: true, open: true }), 'reconnect');
  assert.equal(backAction({ frozen: true, attempting: true, open: true }), 'reconnect');
  assert.equal(backAction({ frozen: true, left: true }), 'none');
  assert.equal(backAction({ frozen: true, fatal: true }), 'none');
});

test('nothing to do after Leave, after a fatal error, or while an attempt is under way', () => {
  assert.equal(backAction({ left: true }), 'none');
  assert.equal(backAction({ fatal: true, joined: true, open: true }), 'none');
  assert.equal(backAction({ attempting: true }), 'none');
  assert.equal(backAction({ attempting: true, open: true }), 'none');
});

test('in a room with the microphone open, iOS is asked for play-and-record (loudspeaker)', () => {
  assert.equal(audioSessionType({ inRoom: true, micLive: true }), 'play-and-record');
});

test('out of a room, or with no live microphone, the choice goes back to the browser', () => {
  assert.equal(audioSessionType({}), 'auto');
  assert.equal(audioSessionType({ inRoom: true, micLive: false }), 'auto');
  assert.equal(audioSessionType({ inRoom: false, micLive: true }), 'auto');
});

test('iPhone, iPod and iPad, also an iPad asking for desktop pages, are Apple mobile', () => {
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1';
  const crios = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1';
  const ipadDesktop = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
  assert.equal(isAppleMobile({ userAgent: iphone, platform: 'iPhone', maxTouchPoints: 5 }), true);
  assert.equal(isAppleMobile({ userAgent: crios, platform: 'iPhone', maxTouchPoints: 5 }), true);
  assert.equal(isAppleMobile({ userAgent: ipadDesktop, platform: 'MacIntel', maxTouchPoints: 5 }), true);
});

test('a Mac, Android and desktop Chrome are not', () => {
  const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
  const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
  assert.equal(isAppleMobile({ userAgent: mac, platform: 'MacIntel', maxTouchPoints: 0 }), false);
  assert.equal(isAppleMobile({ userAgent: android, platform: 'Linux armv8l', maxTouchPoints: 5 }), false);
  assert.equal(isAppleMobile({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0', platform: 'Linux x86_64' }), false);
  assert.equal(isAppleMobile(), false);
});
