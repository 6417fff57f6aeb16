// Runs static/js/e2ee/worker.js in Node with a stand-in for the worker's
// global scope, through both browser paths: posted encoded streams
// (Chromium) and the rtctransform event (Safari / Firefox).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { deriveRoomKeys, formatKid, newSecret, parseKid } from '../../static/js/e2ee/keys.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { encodedFrame, streams } from './framestreams.mjs';

const posted = [];
globalThis.postMessage = (m) => posted.push(m);
const timers = [];
globalThis.setInterval = (fn) => { timers.push(fn); return timers.length; };
await import('../../static/js/e2ee/worker.js');
const send = (data) => globalThis.onmessage({ data });

const waitFor = async (pred) => {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(pred(), 'condition not reached');
};

const keys = await deriveRoomKeys(newSecret());
let workerKid = null; // set by the first test, from the 'ready' message

test('legacy path: frames posted before init wait, then leave encrypted', async () => {
  const s = streams();
  send({ type: 'streams', side: 'send', readable: s.readable, writable: s.writable });
  const pts = [new Uint8Array([0xfc, 1, 2, 3]), new Uint8Array(0), new Uint8Array([0xfc])];
  for (const p of pts) s.push(encodedFrame(p));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.out.length, 0, 'nothing may leave before the keys exist');

  await send({ type: 'init', media: keys.media });
  const ready = posted.find((m) => m.type === 'ready');
  assert.match(ready.kid, /^[0-9a-f]{12}$/);
  workerKid = ready.kid;
  s.close();
  await s.finished;
  assert.equal(s.out.length, 3);
  assert.equal(s.out[1].length, 0, 'empty frame passed through');

  const rcv = new Receiver(keys.media);
  await rcv.addSender(parseKid(ready.kid));
  for (const i of [0, 2]) {
    assert.notDeepEqual(s.out[i], pts[i]);
    assert.deepEqual(await rcv.decrypt(s.out[i]), pts[i]);
  }
});

test('a second init is refused (one session, one KID per worker)', async () => {
  posted.length = 0;
  await send({ type: 'init', media: keys.media });
  assert.equal(posted[0].type, 'error');
  assert.equal(posted.filter((m) => m.type === 'ready').length, 0);
});

test('rtctransform path: decrypts known senders, drops the rest, reports', async () => {
  posted.length = 0;
  const member = await Sender.create(keys.media);
  const stranger = await Sender.create(keys.media);
  await send({ type: 'add-sender', kid: formatKid(member.kid) });

  const s = streams();
  globalThis.onrtctransform({ transformer: { options: { side: 'recv' }, readable: s.readable, writable: s.writable } });
  const good = await member.encrypt(new Uint8Array([0xfc, 7, 7]));
  const tampered = await member.encrypt(new Uint8Array([0xfc, 8, 8]));
  tampered[tampered.length - 1] ^= 1;
  const plaintext = new Uint8Array([0xfc, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  s.push(encodedFrame(good));
  s.push(encodedFrame(tampered));
  s.push(encodedFrame(await stranger.encrypt(new Uint8Array([0xfc, 9]))));
  s.push(encodedFrame(plaintext)); // parses as KID 0, CTR 1: unknown too
  s.push(encodedFrame(good)); // replay
  s.close();
  await s.finished;
  assert.deepEqual(s.out, [new Uint8Array([0xfc, 7, 7])], 'only the authentic frame, once');
  assert.ok(posted.some((m) => m.type === 'cant-decrypt' && m.count === 1));
  assert.ok(posted.some((m) => m.type === 'unknown-sender' && m.kids[0] === formatKid(stranger.kid)));

  for (const t of timers) t(); // the worker's flush timer
  await send({ type: 'stats', id: 7 });
  const st = posted.find((m) => m.type === 'stats' && m.id === 7);
  assert.deepEqual(st.recv, { decrypted: 1, passed: 0, dropped: 4 });
  assert.deepEqual(st.send, { encrypted: 2, passed: 1, dropped: 0 });
});

test('remove-sender and bad KIDs', async () => {
  posted.length = 0;
  const member = await Sender.create(keys.media);
  await send({ type: 'add-sender', kid: formatKid(member.kid) });
  await send({ type: 'remove-sender', kid: formatKid(member.kid) });
  await send({ type: 'add-sender', kid: 'not-a-kid' });
  assert.deepEqual(posted.map((m) => [m.type, m.code]), [['error', 'bad-kid']]);

  const s = streams();
  send({ type: 'streams', side: 'recv', readable: s.readable, writable: s.writable });
  s.push(encodedFrame(await member.encrypt(new Uint8Array([0xfc, 1]))));
  s.close();
  await s.finished;
  assert.equal(s.out.length, 0, 'a removed sender is not played');
});

test('an unknown side is refused and nothing flows', async () => {
  posted.length = 0;
  const s = streams();
  globalThis.onrtctransform({ transformer: { options: {}, readable: s.readable, writable: s.writable } });
  assert.equal(posted[0]?.code, 'side');
  s.push(encodedFrame(new Uint8Array([0xfc, 1, 2])));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.out.length, 0);
});

test('a frame whose data cannot be read is dropped, the stream goes on', async () => {
  const s = streams();
  send({ type: 'streams', side: 'send', readable: s.readable, writable: s.writable });
  s.push({ get data() { throw new Error('detached'); } });
  s.push(encodedFrame(new Uint8Array([0xfc, 3])));
  s.close();
  await waitFor(() => s.out.length === 1);
  await s.finished;
  const rcv = new Receiver(keys.media);
  await rcv.addSender(parseKid(workerKid));
  assert.deepEqual(await rcv.decrypt(s.out[0]), new Uint8Array([0xfc, 3]));
});
