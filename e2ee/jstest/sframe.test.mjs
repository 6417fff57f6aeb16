import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import { encodeHeader, parseHeader } from '../../static/js/e2ee/header.js';
import { deriveRoomKeys, MAX_KID, newKid, newSecret, parseKid, safetyCode } from '../../static/js/e2ee/keys.js';
import { frameKeyFor, MAX_CTR, MAX_SENDERS, Receiver, Sender, TAG_SIZE } from '../../static/js/e2ee/sframe.js';

async function pair() {
  const k = await deriveRoomKeys(newSecret());
  const snd = await Sender.create(k.media);
  const rcv = new Receiver(k.media);
  await rcv.addSender(snd.kid);
  return { k, snd, rcv };
}

function frame(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

async function code(promise) {
  try {
    await promise;
    return '';
  } catch (err) {
    return codeOf(err) || `non-e2ee error: ${err}`;
  }
}

test('round trip across 1- and 2-byte CTR encodings', async () => {
  const { snd, rcv } = await pair();
  for (let i = 0; i < 600; i++) {
    const pt = frame(1 + (i % 120));
    const ct = await snd.encrypt(pt);
    assert.equal(ct.length, pt.length + encodeHeader(snd.kid, BigInt(i)).length + TAG_SIZE);
    assert.equal(ct[0], pt[0], 'TOC in clear');
    assert.deepEqual(await rcv.decrypt(ct), pt);
  }
});

test('empty frames pass through and use no CTR', async () => {
  const { snd, rcv } = await pair();
  assert.equal((await snd.encrypt(new Uint8Array(0))).length, 0);
  assert.equal((await rcv.decrypt(new Uint8Array(0))).length, 0);
  const ct = await snd.encrypt(new Uint8Array([0xfc]));
  assert.equal(parseHeader(ct, 1).ctr, 0n);
  assert.equal(ct.length, 1 + encodeHeader(snd.kid, 0n).length + TAG_SIZE, 'TOC-only frame still tagged');
  assert.deepEqual(await rcv.decrypt(ct), new Uint8Array([0xfc]));
});

test('ArrayBuffer input is accepted', async () => {
  const { snd, rcv } = await pair();
  const ct = await snd.encrypt(frame(40).buffer);
  assert.deepEqual(await rcv.decrypt(ct.slice().buffer), frame(40));
});

test('concurrent encrypts never share a CTR', async () => {
  const { snd, rcv } = await pair();
  const cts = await Promise.all(Array.from({ length: 300 }, () => snd.encrypt(frame(20))));
  const ctrs = new Set(cts.map((c) => parseHeader(c, 1).ctr));
  assert.equal(ctrs.size, 300);
  // Concurrent decrypts of one frame: exactly one wins.
  const same = await snd.encrypt(frame(20));
  const results = await Promise.allSettled([rcv.decrypt(same), rcv.decrypt(same), rcv.decrypt(same)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results.filter((r) => r.status === 'rejected')) assert.equal(codeOf(r.reason), 'replay');
});

test('sender refuses past MAX_CTR', async () => {
  const k = await deriveRoomKeys(newSecret());
  const kid = newKid();
  const snd = new Sender(kid, await frameKeyFor(k.media, kid), MAX_CTR);
  const rcv = new Receiver(k.media);
  await rcv.addSender(kid);
  const last = await snd.encrypt(frame(10));
  assert.equal(parseHeader(last, 1).ctr, MAX_CTR);
  assert.deepEqual(await rcv.decrypt(last), frame(10));
  assert.equal(await code(snd.encrypt(frame(10))), 'ctr-exhausted');
  assert.equal(await code(snd.encrypt(frame(10))), 'ctr-exhausted');
});

test('sender registration: idempotent, removable, capped', async () => {
  const { snd, rcv } = await pair();
  const ct = await snd.encrypt(frame(30));
  await rcv.decrypt(ct);
  await rcv.addSender(snd.kid); // must not reset the replay window
  assert.equal(await code(rcv.decrypt(ct)), 'replay');
  rcv.removeSender(snd.kid);
  assert.equal(await code(rcv.decrypt(await snd.encrypt(frame(30)))), 'unknown-kid');
  assert.equal(await code(rcv.addSender(MAX_KID + 1n)), 'bad-kid');
  assert.equal(await code(rcv.addSender(5)), 'bad-kid', 'a Number is not a KID');
  for (let kid = 1n; rcv.size < MAX_SENDERS; kid++) await rcv.addSender(kid);
  assert.equal(await code(rcv.addSender(MAX_KID)), 'too-many-senders');
  rcv.removeSender(1n);
  await rcv.addSender(MAX_KID);
});

test('removing a sender while its frame decrypts drops the frame', async () => {
  const { snd, rcv } = await pair();
  const p = rcv.decrypt(await snd.encrypt(frame(30)));
  rcv.removeSender(snd.kid);
  assert.equal(await code(p), 'unknown-kid');
});

test('wrong-length keys and secrets are refused', async () => {
  assert.equal(await code(deriveRoomKeys(new Uint8Array(31))), 'bad-secret');
  assert.equal(await code(Sender.create(new Uint8Array(16))), 'bad-key');
  assert.throws(() => new Receiver(new Uint8Array(33)), (e) => codeOf(e) === 'bad-key');
});

test('safety code shape and edges', () => {
  assert.equal(safetyCode(new Uint8Array(6)), '0000 0000 0000');
  assert.equal(safetyCode(new Uint8Array([0, 0, 0, 0, 0, 1])), '0000 0000 0001');
  assert.equal(safetyCode(new Uint8Array(6).fill(0xff)), '4749 7671 0655');
});

test('KIDs are 48 bits, fresh, and text round-trips', () => {
  const seen = new Set();
  for (let i = 0; i < 1000; i++) {
    const kid = newKid();
    assert.ok(kid >= 0n && kid <= MAX_KID);
    seen.add(kid);
  }
  assert.equal(seen.size, 1000);
  for (const bad of ['', '0123456789a', '0123456789AB', '0123456789ag', 12]) {
    assert.throws(() => parseKid(bad), (e) => codeOf(e) === 'bad-kid');
  }
});

test('header parser rejects short and non-minimal input', () => {
  const cases = [
    [[], 'truncated'],
    [[0x90, 0x01], 'truncated'],
    [[0x0a, 0x01, 0x02], 'truncated'],
    [[0x80, 0x05], 'bad-header'],
    [[0x08, 0x07], 'bad-header'],
    [[0x90, 0x00, 0xff], 'bad-header'],
  ];
  for (const [b, want] of cases) {
    assert.throws(() => parseHeader(new Uint8Array(b)), (e) => codeOf(e) === want, JSON.stringify(b));
  }
});

test('decrypt never throws anything but an E2EEError on random input', async () => {
  const { snd, rcv } = await pair();
  const good = await snd.encrypt(frame(80));
  for (let i = 0; i < 3000; i++) {
    const b = i % 2 ? crypto.getRandomValues(new Uint8Array(i % 60)) : good.slice(0, (i * 7) % (good.length + 1));
    if (i % 2 === 0 && b.length > 0) b[(i * 13) % b.length] ^= 1 << (i % 8);
    try {
      await rcv.decrypt(b);
    } catch (err) {
      assert.ok(codeOf(err), `non-e2ee error ${err}`);
    }
  }
});
