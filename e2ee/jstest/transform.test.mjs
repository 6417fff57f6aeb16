import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fail } from '../../static/js/e2ee/errors.js';
import { deriveRoomKeys, newSecret, formatKid } from '../../static/js/e2ee/keys.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { decryptTransform, encryptTransform, EVENT_INTERVAL_MS, MAX_EVENT_DETAILS, Throttle } from '../../static/js/e2ee/transform.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test('Throttle lets out at most one event per interval, with the count', () => {
  const c = clock();
  const th = new Throttle(1000, c.now);
  assert.deepEqual(th.hit('a'), { count: 1, details: ['a'] }, 'first hit reports at once');
  for (let i = 0; i < 49; i++) assert.equal(th.hit('b'), null);
  c.advance(999);
  assert.equal(th.hit('c'), null);
  assert.equal(th.flush(), null);
  c.advance(1);
  assert.deepEqual(th.flush(), { count: 50, details: ['b', 'c'] });
  assert.equal(th.flush(), null, 'nothing pending');
  c.advance(1000);
  assert.deepEqual(th.hit('k0'), { count: 1, details: ['k0'] });
  for (let i = 1; i < 20; i++) th.hit(`k${i}`);
  c.advance(1000);
  const ev = th.flush();
  assert.equal(ev.count, 19);
  assert.equal(ev.details.length, MAX_EVENT_DETAILS, 'details are capped');
});

test('encrypt transform: encrypts, passes empty frames, counts', async () => {
  const k = await deriveRoomKeys(newSecret());
  const snd = await Sender.create(k.media);
  const rcv = new Receiver(k.media);
  await rcv.addSender(snd.kid);
  const t = encryptTransform(snd);
  const pt = new Uint8Array([0xfc, 1, 2, 3]);
  const ct = await t.transform(pt);
  assert.notDeepEqual(ct, pt);
  assert.deepEqual(await rcv.decrypt(ct), pt);
  const empty = new Uint8Array(0);
  assert.equal(await t.transform(empty), empty);
  assert.deepEqual(t.stats(), { encrypted: 1, passed: 1, dropped: 0 });
});

test('encrypt transform: a failing sender drops the frame, never passes plaintext, never throws', async () => {
  const c = clock();
  const events = [];
  const broken = { encrypt: async () => { throw fail('ctr-exhausted'); } };
  const weird = { encrypt: async () => { throw new TypeError('boom'); } };
  const t = encryptTransform(broken, (e) => events.push(e), c.now);
  for (let i = 0; i < 100; i++) assert.equal(await t.transform(new Uint8Array([0xfc, 9, 9])), null);
  assert.deepEqual(events, [{ type: 'cant-encrypt', count: 1, codes: ['ctr-exhausted'] }]);
  c.advance(EVENT_INTERVAL_MS);
  t.flush();
  assert.deepEqual(events[1], { type: 'cant-encrypt', count: 99, codes: ['ctr-exhausted'] });
  assert.deepEqual(t.stats(), { encrypted: 0, passed: 0, dropped: 100 });
  const t2 = encryptTransform(weird, () => { throw new Error('listener bug'); });
  assert.equal(await t2.transform(new Uint8Array([1])), null);
});

test('decrypt transform: drops failures with throttled cant-decrypt and unknown-sender events', async () => {
  const c = clock();
  const events = [];
  const k = await deriveRoomKeys(newSecret());
  const snd = await Sender.create(k.media);
  const stranger = await Sender.create(k.media);
  const rcv = new Receiver(k.media);
  await rcv.addSender(snd.kid);
  const t = decryptTransform(rcv, (e) => events.push(e), c.now);

  const good = await snd.encrypt(new Uint8Array([0xfc, 5, 6]));
  assert.deepEqual(await t.transform(good), new Uint8Array([0xfc, 5, 6]));
  // The same frame again (replay), then tampered frames: all dropped.
  assert.equal(await t.transform(good), null);
  for (let i = 0; i < 60; i++) {
    const f = await snd.encrypt(new Uint8Array([0xfc, 5, 6]));
    f[f.length - 1] ^= 1;
    assert.equal(await t.transform(f), null);
  }
  for (let i = 0; i < 3; i++) assert.equal(await t.transform(await stranger.encrypt(new Uint8Array([0xfc]))), null);
  assert.deepEqual(events, [
    { type: 'cant-decrypt', count: 1, codes: ['replay'] },
    { type: 'unknown-sender', count: 1, kids: [formatKid(stranger.kid)] },
  ]);
  c.advance(EVENT_INTERVAL_MS);
  t.flush();
  assert.deepEqual(events.slice(2), [
    { type: 'cant-decrypt', count: 60, codes: ['auth'] },
    { type: 'unknown-sender', count: 2, kids: [formatKid(stranger.kid)] },
  ]);
  assert.deepEqual(t.stats(), { decrypted: 1, passed: 0, dropped: 64 });
});

test('decrypt transform with the wrong room key plays nothing', async () => {
  const a = await deriveRoomKeys(newSecret());
  const b = await deriveRoomKeys(newSecret());
  const snd = await Sender.create(a.media);
  const rcv = new Receiver(b.media);
  await rcv.addSender(snd.kid); // the KID is known, the key is not the sender's
  const t = decryptTransform(rcv);
  for (let i = 0; i < 20; i++) assert.equal(await t.transform(await snd.encrypt(new Uint8Array([0xfc, 1, 2, 3]))), null);
  assert.equal(t.stats().decrypted, 0);
});
