// Runs static/js/e2ee/worker.js in Node as worker.test.mjs does, started in
// v2 (docs/keys.md): our own epochs from sender keys, members' epochs from
// set-sender-key, and a rotation that switches the encrypt side mid-stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatKid, parseKid } from '../../static/js/e2ee/keys.js';
import { epochKid } from '../../static/js/e2ee/epoch.js';
import { newSenderKey } from '../../static/js/e2ee/keyblob.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { encodedFrame, streams } from './framestreams.mjs';

const posted = [];
globalThis.postMessage = (m) => posted.push(m);
globalThis.setInterval = () => 0;
await import('../../static/js/e2ee/worker.js');
const send = (data) => globalThis.onmessage({ data });

// run pushes frames through a transform of side and returns what came out.
async function run(side, frames) {
  const { readable, writable, push, close, out, finished } = streams();
  globalThis.onrtctransform({ transformer: { options: { side }, readable, writable } });
  for (const f of frames) push(encodedFrame(typeof f === 'function' ? await f(out) : f));
  close();
  await finished;
  return out;
}

const mySid = 0x0a11ce00;
const k0 = newSenderKey();
const k0copy = k0.slice();

test('init-v2: our first epoch, under its sender key', async () => {
  await send({ type: 'init-v2', kid: formatKid(epochKid(mySid, 0)), key: k0 });
  const ready = posted.find((m) => m.type === 'ready');
  assert.equal(ready.kid, formatKid(epochKid(mySid, 0)));
  assert.ok(k0.every((b) => b === 0), 'the worker zeroed the sender key bytes');

  const out = await run('send', [new Uint8Array([0xfc, 1, 2])]);
  const rcv = Receiver.epochOnly();
  await rcv.setSenderKey(epochKid(mySid, 0), k0copy.slice());
  assert.deepEqual(await rcv.decrypt(out[0]), new Uint8Array([0xfc, 1, 2]));
});

test('use-sender-key: frames after the switch are under the new epoch', async () => {
  const k1 = newSenderKey();
  const k1copy = k1.slice();
  const pt = new Uint8Array([0xfc, 5]);
  const out = await run('send', [pt, async (sofar) => {
    // The first frame is out before the switch.
    for (let i = 0; i < 500 && sofar.length < 1; i++) await new Promise((r) => setTimeout(r, 2));
    await send({ type: 'use-sender-key', kid: formatKid(epochKid(mySid, 1)), key: k1 });
    return pt;
  }]);
  const rcv = Receiver.epochOnly();
  await rcv.setSenderKey(epochKid(mySid, 0), k0copy.slice());
  await rcv.setSenderKey(epochKid(mySid, 1), k1copy.slice());
  assert.deepEqual(await rcv.decrypt(out[0]), pt);
  assert.deepEqual(await rcv.decrypt(out[1]), pt);
  // The second frame names epoch 1 in its KID (bytes 2..7 after TOC and config).
  const kidOf = (f) => f.subarray(2, 8).reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  assert.equal(kidOf(out[0]), epochKid(mySid, 0));
  assert.equal(kidOf(out[1]), epochKid(mySid, 1));
});

test('set-sender-key and remove-sender: a member epoch plays, then not', async () => {
  posted.length = 0;
  const bob = 0x0b0b0000;
  const key = newSenderKey();
  const snd = await Sender.fromSenderKey(key.slice(), epochKid(bob, 4));
  await send({ type: 'set-sender-key', kid: formatKid(epochKid(bob, 4)), key });
  await send({ type: 'add-sender', kid: formatKid(epochKid(bob, 5)) }); // v1 is refused in v2
  assert.deepEqual(posted.map((m) => [m.type, m.code]), [['error', 'bad-key']]);
  const f1 = await snd.encrypt(new Uint8Array([0xfc, 7]));
  assert.deepEqual(await run('recv', [f1]), [new Uint8Array([0xfc, 7])]);
  await send({ type: 'remove-sender', kid: formatKid(epochKid(bob, 4)) });
  const f2 = await snd.encrypt(new Uint8Array([0xfc, 8]));
  assert.deepEqual(await run('recv', [f2]), []);
  assert.equal(parseKid(formatKid(epochKid(bob, 4))), epochKid(bob, 4));
});

test('a bad sender key is reported, the current one stays', async () => {
  posted.length = 0;
  await send({ type: 'use-sender-key', kid: formatKid(epochKid(mySid, 2)), key: new Uint8Array(31) });
  assert.deepEqual(posted.map((m) => [m.type, m.code]), [['error', 'bad-key']]);
});
