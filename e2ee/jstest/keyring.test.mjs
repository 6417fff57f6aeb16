// The v2 key path of the browser module beyond the vectors: real key pairs,
// two rings talking, erasure, and calls that race.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { codeOf } from '../../static/js/e2ee/errors.js';
import { KeyPair } from '../../static/js/e2ee/agree.js';
import { newSenderKey, KEY_BLOB_SIZE } from '../../static/js/e2ee/keyblob.js';
import { epochKid } from '../../static/js/e2ee/epoch.js';
import { formatSid, newSid, parseSid } from '../../static/js/e2ee/sid.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { KeyRing, KeySwitchDelay, MaxHeldEpochs, OldKeyGrace, RotationInterval } from '../../static/js/e2ee/keyring.js';

async function codeOfRejection(p) {
  try {
    await p;
    return '';
  } catch (err) {
    return codeOf(err) || `non-e2ee error: ${err}`;
  }
}

const room = new Uint8Array(16).fill(7);

async function member(sid) {
  const pair = await KeyPair.generate();
  const rcv = Receiver.epochOnly();
  return { sid, pair, rcv, ring: new KeyRing({ roomId: room, self: sid, pair, sink: rcv }) };
}

test('constants are docs/keys.md table', () => {
  assert.equal(RotationInterval, 600000);
  assert.equal(KeySwitchDelay, 500);
  assert.equal(OldKeyGrace, 3000);
  assert.equal(MaxHeldEpochs, 3);
});

test('a generated private key is not extractable', async () => {
  const p = await KeyPair.generate();
  assert.equal(p.publicKey.length, 32);
  assert.equal(p.extractable, false);
  const q = await KeyPair.fromPrivate(new Uint8Array(32).fill(3));
  assert.equal(q.extractable, false);
});

test('sids are 8 lowercase hex digits', () => {
  for (let i = 0; i < 20; i++) {
    const sid = newSid();
    assert.equal(parseSid(formatSid(sid)), sid);
  }
});

test('two rings: a key goes across, frames decrypt, a rotation keeps the old epoch for its grace', async () => {
  const alice = await member(0x0a11ce00);
  const bob = await member(0x0b0b0000);
  await alice.ring.addMember(bob.sid, bob.pair.publicKey);
  await bob.ring.addMember(alice.sid, alice.pair.publicKey);

  const k0 = newSenderKey();
  const blob0 = await alice.ring.sealFor(bob.sid, 0, k0);
  assert.equal(blob0.length, KEY_BLOB_SIZE);
  assert.deepEqual(await bob.ring.acceptBlob(blob0, 0), { from: alice.sid, epoch: 0, isNew: true });
  const snd0 = await Sender.fromSenderKey(k0, epochKid(alice.sid, 0));
  assert.ok(k0.every((b) => b === 0), 'the sender key bytes are zeroed once imported');
  const frame = new Uint8Array([0xfc, 1, 2, 3]);
  assert.deepEqual(await bob.rcv.decrypt(await snd0.encrypt(frame)), frame);

  const k1 = newSenderKey();
  const blob1 = await alice.ring.sealFor(bob.sid, 1, k1);
  await bob.ring.acceptBlob(blob1, 1000);
  assert.deepEqual(bob.ring.held(alice.sid), [0, 1]);
  assert.equal(bob.ring.nextExpiry(), 1000 + OldKeyGrace);
  assert.equal(await codeOfRejection(bob.ring.acceptBlob(blob0, 1000)), 'stale-epoch');
  assert.deepEqual(await bob.rcv.decrypt(await snd0.encrypt(frame)), frame, 'epoch 0 plays during its grace');
  await bob.ring.expire(1000 + OldKeyGrace);
  assert.deepEqual(bob.ring.held(alice.sid), [1]);
  assert.equal(await codeOfRejection(bob.rcv.decrypt(await snd0.encrypt(frame))), 'unknown-kid');
  assert.equal(bob.ring.nextExpiry(), null);

  await bob.ring.close();
  assert.equal(bob.rcv.size, 0, 'close erases every epoch');
  assert.equal(await codeOfRejection(bob.pair.agree(alice.pair.publicKey)), 'key-pair-erased');
});

test('blobs that race for one sender are taken one at a time', async () => {
  const alice = await member(1);
  const bob = await member(2);
  await alice.ring.addMember(2, bob.pair.publicKey);
  await bob.ring.addMember(1, alice.pair.publicKey);
  // Two different keys for epoch 5, sent at once: exactly one wins.
  const [a, b] = await Promise.all([alice.ring.sealFor(2, 5, newSenderKey()), alice.ring.sealFor(2, 5, newSenderKey())]);
  const codes = await Promise.all([codeOfRejection(bob.ring.acceptBlob(a, 0)), codeOfRejection(bob.ring.acceptBlob(b, 0))]);
  assert.deepEqual(codes, ['', 'stale-epoch']);
  // Four epochs at once: the ring holds the last three, and so does the receiver.
  const blobs = await Promise.all([6, 7, 8, 9].map((e) => alice.ring.sealFor(2, e, newSenderKey())));
  await Promise.all(blobs.map((x) => bob.ring.acceptBlob(x, 0)));
  assert.deepEqual(bob.ring.held(1), [7, 8, 9]);
  assert.equal(bob.rcv.size, 3);
});

test('a member that leaves while its key is being set does not stay in the receiver', async () => {
  const alice = await member(1);
  const bob = await member(2);
  await alice.ring.addMember(2, bob.pair.publicKey);
  await bob.ring.addMember(1, alice.pair.publicKey);
  const blob = await alice.ring.sealFor(2, 0, newSenderKey());
  const accepted = bob.ring.acceptBlob(blob, 0);
  const left = bob.ring.removeMember(1); // queued behind the accept
  await accepted;
  await left;
  assert.deepEqual(bob.ring.held(1), []);
  assert.equal(bob.rcv.size, 0);
});

test('hellos: resume, duplicate, own sid, low order, and non-members', async () => {
  const bob = await member(2);
  const alice = await KeyPair.generate();
  const carol = await KeyPair.generate();
  await bob.ring.addMember(1, alice.publicKey);
  await bob.ring.addMember(1, alice.publicKey); // a resume
  assert.equal(await codeOfRejection(bob.ring.addMember(1, carol.publicKey)), 'duplicate-sid');
  assert.equal(await codeOfRejection(bob.ring.addMember(2, carol.publicKey)), 'duplicate-sid');
  assert.equal(await codeOfRejection(bob.ring.addMember(3, new Uint8Array(32))), 'bad-public-key');
  assert.equal(await codeOfRejection(bob.ring.addMember(3, new Uint8Array(31))), 'bad-public-key');
  assert.deepEqual(bob.ring.members(), [1]);
  assert.equal(await codeOfRejection(bob.ring.sealFor(3, 0, newSenderKey())), 'unknown-sender');
  assert.equal(await codeOfRejection(bob.ring.accept(3, 0, newSenderKey(), 0)), 'unknown-sender');
});

test('Receiver.setSenderKey zeroes the key and keeps a known KID', async () => {
  const rcv = Receiver.epochOnly();
  assert.equal(await codeOfRejection(rcv.addSender(5n)), 'bad-key');
  const key = newSenderKey();
  const copy = key.slice();
  await rcv.setSenderKey(epochKid(9, 1), key);
  assert.ok(key.every((b) => b === 0));
  const snd = await Sender.fromSenderKey(copy, epochKid(9, 1));
  const f = await snd.encrypt(new Uint8Array([0xfc, 9]));
  await rcv.decrypt(f);
  await rcv.setSenderKey(epochKid(9, 1), newSenderKey()); // keeps the first key and window
  assert.equal(await codeOfRejection(rcv.decrypt(f)), 'replay');
  assert.equal(await codeOfRejection(rcv.setSenderKey(epochKid(9, 2), new Uint8Array(31))), 'bad-key');
});

test('a sink that transfers the key bytes (the E2EE handle posting to its worker) still gets an accepted key', async () => {
  const a = await member(newSid());
  const got = [];
  // As attach.js's postKey does: the key's buffer moves to the worker.
  const sink = {
    setSenderKey(kid, key) {
      got.push([kid, structuredClone(key, { transfer: [key.buffer] })]);
    },
    removeSender() {},
  };
  const pair = await KeyPair.generate();
  const self = newSid();
  const ring = new KeyRing({ roomId: room, self, pair, sink });
  await ring.addMember(a.sid, a.pair.publicKey);
  await a.ring.addMember(self, pair.publicKey);
  const key = newSenderKey();
  const want = key.slice();
  const blob = await a.ring.sealFor(self, 4, key);
  assert.deepEqual(await ring.acceptBlob(blob, 0), { from: a.sid, epoch: 4, isNew: true });
  assert.equal(got.length, 1);
  assert.equal(got[0][0], epochKid(a.sid, 4));
  assert.deepEqual(got[0][1], want);
  assert.equal(ring.current(a.sid), 4);
});
