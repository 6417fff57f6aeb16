import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import {
  API_ENCODED_STREAMS, API_SCRIPT_TRANSFORM, chooseApi, decideWatchdog, peerConnectionConfig, WATCHDOG_SLACK_PACKETS,
} from '../../static/js/e2ee/attach.js';

class Worker {}
function legacyClass() {
  return class { createEncodedStreams() {} };
}

test('chooseApi: Chromium with both APIs gets encoded streams', () => {
  const env = { Worker, RTCRtpSender: legacyClass(), RTCRtpReceiver: legacyClass(), RTCRtpScriptTransform: class {} };
  assert.equal(chooseApi(env), API_ENCODED_STREAMS);
});

test('chooseApi: Safari/Firefox get RTCRtpScriptTransform', () => {
  const env = { Worker, RTCRtpSender: class {}, RTCRtpReceiver: class {}, RTCRtpScriptTransform: class {} };
  assert.equal(chooseApi(env), API_SCRIPT_TRANSFORM);
});

test('chooseApi: half the legacy API is not enough', () => {
  const env = { Worker, RTCRtpSender: legacyClass(), RTCRtpReceiver: class {} };
  assert.throws(() => chooseApi(env), (e) => codeOf(e) === 'unsupported');
});

test('chooseApi: neither API, or no workers, refuses with a clear message', () => {
  for (const env of [{ Worker, RTCRtpSender: class {}, RTCRtpReceiver: class {} }, {}, { RTCRtpScriptTransform: class {} }]) {
    assert.throws(() => chooseApi(env), (e) => codeOf(e) === 'unsupported' && /end to end/.test(e.message));
  }
});

test('peerConnectionConfig asks for insertable streams only on the legacy path', () => {
  assert.deepEqual(peerConnectionConfig(API_ENCODED_STREAMS, { bundlePolicy: 'max-bundle' }),
    { bundlePolicy: 'max-bundle', encodedInsertableStreams: true });
  assert.deepEqual(peerConnectionConfig(API_SCRIPT_TRANSFORM, { bundlePolicy: 'max-bundle' }), { bundlePolicy: 'max-bundle' });
});

test('watchdog: packets with frames is fine', () => {
  assert.equal(decideWatchdog({ packets: 100, frames: 100 }, { packets: 150, frames: 150 }).stop, false);
  // Slightly out of step (stats read a few ms apart) is fine too.
  assert.equal(decideWatchdog({ packets: 100, frames: 103 }, { packets: 150, frames: 148 }).stop, false);
});

test('watchdog: packets growing while the transform handles no frame stops', () => {
  const d = decideWatchdog({ packets: 100, frames: 100 }, { packets: 150, frames: 100 });
  assert.equal(d.stop, true);
  assert.match(d.reason, /50 packets/);
});

test('watchdog: silence (nothing grows) and DTX (frames without packets) are fine', () => {
  assert.equal(decideWatchdog({ packets: 100, frames: 100 }, { packets: 100, frames: 100 }).stop, false);
  assert.equal(decideWatchdog({ packets: 100, frames: 100 }, { packets: 101, frames: 150 }).stop, false);
});

test('watchdog: up to the slack is tolerated, one more packet is not', () => {
  const prev = { packets: 0, frames: 7 };
  assert.equal(decideWatchdog(prev, { packets: WATCHDOG_SLACK_PACKETS, frames: 7 }).stop, false);
  assert.equal(decideWatchdog(prev, { packets: WATCHDOG_SLACK_PACKETS + 1, frames: 7 }).stop, true);
});

test('watchdog: the first sample is compared with zero', () => {
  // Both counters start at zero, so the first tick already catches a bypass.
  assert.equal(decideWatchdog(null, { packets: 50, frames: 0 }).stop, true);
  assert.equal(decideWatchdog(null, { packets: 50, frames: 48 }).stop, false);
  assert.equal(decideWatchdog(null, { packets: WATCHDOG_SLACK_PACKETS, frames: 0 }).stop, false);
});

test('watchdog: missing stats and counter resets never stop', () => {
  assert.equal(decideWatchdog({ packets: 1, frames: 1 }, { packets: undefined, frames: 1 }).stop, false);
  assert.equal(decideWatchdog({ packets: 900, frames: 900 }, { packets: 50, frames: 0 }).stop, false);
});

test('E2EE handle as a key ring sink: sender keys go to the worker transferred, KIDs as hex', async () => {
  const { E2EE } = await import('../../static/js/e2ee/attach.js');
  const posted = [];
  const worker = { postMessage: (msg, transfer = []) => posted.push({ msg, transfer }) };
  const e2ee = new E2EE(worker, API_SCRIPT_TRANSFORM, () => {});
  worker.onmessage({ data: { type: 'ready', kid: '0a11ce000000' } });
  await e2ee.ready;

  const key = new Uint8Array(32).fill(5);
  e2ee.setSenderKey(0x0b0b00000003n, key);
  assert.equal(posted[0].msg.type, 'set-sender-key');
  assert.equal(posted[0].msg.kid, '0b0b00000003');
  assert.deepEqual(posted[0].transfer, [key.buffer], 'the key buffer is transferred, not copied');

  // A key that shares its buffer is copied for the transfer and the source zeroed.
  const shared = new Uint8Array(64).fill(9);
  e2ee.useSenderKey(0x0a11ce000001n, shared.subarray(16, 48));
  assert.equal(posted[1].msg.type, 'use-sender-key');
  assert.deepEqual([...posted[1].msg.key], new Array(32).fill(9));
  assert.ok(shared.subarray(16, 48).every((b) => b === 0));
  assert.ok(shared.subarray(0, 16).every((b) => b === 9), 'bytes outside the key are left alone');

  e2ee.removeSender(0x0b0b00000003n);
  e2ee.removeSender('0b0b00000004');
  assert.deepEqual(posted.slice(2).map((p) => p.msg), [
    { type: 'remove-sender', kid: '0b0b00000003' }, { type: 'remove-sender', kid: '0b0b00000004' },
  ]);
});
