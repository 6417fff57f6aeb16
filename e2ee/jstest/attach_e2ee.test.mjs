// attach.js's E2EE handle against stand-ins for Worker, RTCRtpSender and
// RTCRtpScriptTransform: which API call each path makes, the ready
// handshake, event relay, and the watchdog stopping a sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import { API_ENCODED_STREAMS, API_SCRIPT_TRANSFORM, startE2EE } from '../../static/js/e2ee/attach.js';

// FakeWorker answers like worker.js: 'ready' after 'init', counters on 'stats'.
class FakeWorker {
  static last = null;
  constructor(url, opts) {
    this.url = String(url);
    this.opts = opts;
    this.posted = [];
    this.framesOut = 0;
    this.framesIn = 0;
    this.failInit = false;
    FakeWorker.last = this;
  }
  postMessage(msg, transfer) {
    this.posted.push({ msg, transfer });
    const reply = (data) => queueMicrotask(() => this.onmessage?.({ data }));
    if (msg.type === 'init') reply(this.failInit ? { type: 'error', code: 'init' } : { type: 'ready', kid: '0123456789ab' });
    if (msg.type === 'stats') {
      reply({ type: 'stats', id: msg.id, send: { encrypted: this.framesOut, passed: 0, dropped: 0 }, recv: { decrypted: this.framesIn, passed: 0, dropped: 0 } });
    }
  }
  terminate() {
    this.terminated = true;
  }
}
globalThis.Worker = FakeWorker;
globalThis.RTCRtpScriptTransform = class {
  constructor(worker, options) {
    this.worker = worker;
    this.options = options;
  }
};

function fakeSender() {
  return {
    packetsSent: 0,
    track: 'mic',
    createEncodedStreams() {
      this.calls = (this.calls ?? 0) + 1;
      return { readable: { r: 1 }, writable: { w: 1 } };
    },
    async getStats() {
      return new Map([['o', { type: 'outbound-rtp', packetsSent: this.packetsSent }]]);
    },
    async replaceTrack(t) {
      this.track = t;
    },
  };
}

test('legacy path: streams go to the worker, transferred, once per sender', async () => {
  const media = new Uint8Array(32).fill(1);
  const e = await startE2EE({ media, api: API_ENCODED_STREAMS, workerUrl: 'worker.js' });
  const w = FakeWorker.last;
  assert.equal(e.kid, '0123456789ab');
  assert.equal(w.opts.type, 'module');
  assert.deepEqual(w.posted[0].msg, { type: 'init', media });
  assert.notEqual(w.posted[0].msg.media, media, 'the key is copied, not shared');
  const s = fakeSender();
  e.attachSender(s);
  e.attachSender(s);
  assert.equal(s.calls, 1);
  const p = w.posted.find((x) => x.msg.type === 'streams');
  assert.equal(p.msg.side, 'send');
  assert.deepEqual(p.transfer, [p.msg.readable, p.msg.writable]);
  const r = fakeSender();
  e.attachReceiver(r);
  assert.equal(w.posted.filter((x) => x.msg.type === 'streams' && x.msg.side === 'recv').length, 1);
  e.addSender('aaaaaaaaaaaa');
  e.removeSender('aaaaaaaaaaaa');
  assert.deepEqual(w.posted.slice(-2).map((x) => x.msg), [
    { type: 'add-sender', kid: 'aaaaaaaaaaaa' }, { type: 'remove-sender', kid: 'aaaaaaaaaaaa' }]);
  e.close();
  assert.ok(w.terminated);
});

test('script-transform path sets RTCRtpScriptTransform with the side', async () => {
  const e = await startE2EE({ media: new Uint8Array(32), api: API_SCRIPT_TRANSFORM, workerUrl: 'worker.js' });
  const s = {};
  const r = {};
  e.attachSender(s);
  e.attachReceiver(r);
  assert.deepEqual(s.transform.options, { side: 'send' });
  assert.deepEqual(r.transform.options, { side: 'recv' });
  assert.equal(s.transform.worker, FakeWorker.last);
  e.close();
});

test('a worker that fails to start rejects startE2EE and is terminated', async () => {
  const orig = FakeWorker.prototype.postMessage;
  FakeWorker.prototype.postMessage = function (msg, transfer) {
    this.failInit = true;
    return orig.call(this, msg, transfer);
  };
  try {
    await assert.rejects(startE2EE({ media: new Uint8Array(32), api: API_SCRIPT_TRANSFORM, workerUrl: 'w.js' }),
      (err) => codeOf(err) === 'unsupported');
    assert.ok(FakeWorker.last.terminated);
  } finally {
    FakeWorker.prototype.postMessage = orig;
  }
});

test('worker events reach onEvent', async () => {
  const events = [];
  const e = await startE2EE({ media: new Uint8Array(32), api: API_SCRIPT_TRANSFORM, workerUrl: 'w.js', onEvent: (ev) => events.push(ev) });
  FakeWorker.last.onmessage({ data: { type: 'cant-decrypt', count: 3, codes: ['auth'] } });
  assert.deepEqual(events, [{ type: 'cant-decrypt', count: 3, codes: ['auth'] }]);
  e.close();
});

test('watchdog: stops a sender whose packets bypass the transform', async () => {
  const events = [];
  const e = await startE2EE({ media: new Uint8Array(32), api: API_ENCODED_STREAMS, workerUrl: 'w.js', onEvent: (ev) => events.push(ev) });
  const w = FakeWorker.last;
  const s = fakeSender();
  let stoppedWith = null;
  e.watchSender(s, { intervalMs: 5, onStop: (reason) => { stoppedWith = reason; } });
  // Healthy for a while: packets and encrypted frames grow together.
  for (let i = 0; i < 5; i++) {
    s.packetsSent += 50;
    w.framesOut += 50;
    await new Promise((r) => setTimeout(r, 12));
  }
  assert.equal(s.track, 'mic');
  assert.equal(stoppedWith, null);
  // Now packets grow while the worker encrypts nothing.
  for (let i = 0; i < 5 && stoppedWith === null; i++) {
    s.packetsSent += 50;
    await new Promise((r) => setTimeout(r, 12));
  }
  assert.match(stoppedWith, /packets went by while the transform handled no frame/);
  assert.equal(s.track, null, 'the sender no longer has a track');
  assert.deepEqual({ ...events.at(-1), reason: '' }, { type: 'watchdog', side: 'send', reason: '' });
  e.close();
});

test('receive watchdog: mutes a track whose packets bypass the transform', async () => {
  const events = [];
  const e = await startE2EE({ media: new Uint8Array(32), api: API_SCRIPT_TRANSFORM, workerUrl: 'w.js', onEvent: (ev) => events.push(ev) });
  const w = FakeWorker.last;
  const r = {
    packetsReceived: 0,
    track: { enabled: true },
    async getStats() {
      return new Map([['i', { type: 'inbound-rtp', packetsReceived: this.packetsReceived }]]);
    },
  };
  let stopped = false;
  e.watchReceiver(r, { intervalMs: 5, onStop: () => { stopped = true; } });
  for (let i = 0; i < 4; i++) {
    r.packetsReceived += 50;
    w.framesIn += 50;
    await new Promise((res) => setTimeout(res, 12));
  }
  assert.equal(r.track.enabled, true);
  for (let i = 0; i < 5 && !stopped; i++) {
    r.packetsReceived += 50;
    await new Promise((res) => setTimeout(res, 12));
  }
  assert.equal(stopped, true);
  assert.equal(r.track.enabled, false, 'the undecrypted stream is muted');
  assert.equal(events.at(-1).side, 'recv');
  e.close();
});

test('watchdog: a worker that stops answering stops the sender and says so', async () => {
  const events = [];
  const e = await startE2EE({ media: new Uint8Array(32), api: API_ENCODED_STREAMS, workerUrl: 'w.js', onEvent: (ev) => events.push(ev) });
  const w = FakeWorker.last;
  const s = fakeSender();
  let stoppedWith = null;
  e.watchSender(s, { intervalMs: 5, onStop: (reason) => { stoppedWith = reason; } });
  for (let i = 0; i < 3; i++) {
    s.packetsSent += 50;
    w.framesOut += 50;
    await new Promise((r) => setTimeout(r, 12));
  }
  assert.equal(stoppedWith, null, 'a healthy worker is left alone');
  // The worker dies: it never answers again (a closed worker fires no onerror).
  w.postMessage = () => {};
  for (let i = 0; i < 20 && stoppedWith === null; i++) await new Promise((r) => setTimeout(r, 10));
  assert.match(stoppedWith ?? '', /worker stopped answering/);
  assert.equal(s.track, null, 'the sender no longer has a track');
  assert.ok(events.some((ev) => ev.type === 'error' && ev.code === 'worker'), 'the app is told');
  await assert.rejects(e.stats({ timeoutMs: 5 }), (err) => codeOf(err) === 'worker');
  e.close();
});
