// static/js/memberkeys.js: one membership's v2 media keys (docs/keys.md),
// between members in one process: hellos, key blobs under the signal key,
// the receivers the rings drive, a rotation, a leave, and erasure.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MemberKeys, parseHello } from '../../static/js/memberkeys.js';
import { openJSON } from '../../static/js/e2ee/blob.js';
import { codeOf } from '../../static/js/e2ee/errors.js';
import { epochKid } from '../../static/js/e2ee/epoch.js';
import { Receiver, Sender } from '../../static/js/e2ee/sframe.js';
import { OldKeyGrace } from '../../static/js/e2ee/keyring.js';

const roomId = new Uint8Array(16).fill(3);
const signal = new Uint8Array(32).fill(9);
const FRAME = Uint8Array.of(0x78, 1, 2, 3, 4, 5, 6, 7, 8);

async function member() {
  const mk = await MemberKeys.create({ roomId, signal });
  const rcv = Receiver.epochOnly();
  mk.attach(rcv);
  return { mk, rcv };
}

// meet has each of ms take the others' hellos, as a JSON round trip.
async function meet(...ms) {
  for (const a of ms) {
    for (const b of ms) {
      if (a !== b) assert.equal(await a.mk.addMember(parseHello(JSON.parse(JSON.stringify(b.mk.hello('x'))))), true);
    }
  }
}

// give sends from's key of epoch to each of tos through the signal seal, as session.js does.
async function give(from, epoch, ...tos) {
  const blobs = await from.mk.keyBlobs(epoch, tos.map((t) => t.mk.sid));
  assert.equal(blobs.length, tos.length);
  const results = [];
  for (const { sid, data } of blobs) {
    const to = tos.find((t) => t.mk.sid === sid);
    results.push(await to.mk.acceptKey(await openJSON(signal, data), 0));
  }
  return results;
}

async function sender(m) {
  const { kid, key } = m.mk.current();
  return Sender.fromSenderKey(key, kid);
}

async function decrypts(rcv, frame) {
  try {
    await rcv.decrypt(frame);
    return '';
  } catch (err) {
    return codeOf(err) || String(err);
  }
}

test('a hello is { name, sid, dh }; a v1 hello and malformed ones are not hellos', async () => {
  const { mk } = await member();
  const h = mk.hello('Alice');
  assert.deepEqual(Object.keys(h).sort(), ['dh', 'name', 'sid']);
  assert.match(h.sid, /^[0-9a-f]{8}$/);
  assert.equal(parseHello(h).sid, mk.sid);
  assert.equal(parseHello(h).publicKey.length, 32);
  assert.equal(parseHello({ name: 'Old', kid: '0123456789ab' }), null);
  assert.equal(parseHello({ ...h, sid: h.sid.toUpperCase() }), null);
  assert.equal(parseHello({ ...h, dh: h.dh.slice(1) }), null);
  assert.equal(parseHello({ key: 'abc' }), null);
});

test('a key sent under the signal key lets the other decrypt; a rotation moves both with no gap', async () => {
  const a = await member();
  const b = await member();
  await meet(a, b);
  assert.deepEqual(await give(a, 0, b), [{ from: a.mk.sid, epoch: 0, isNew: true }]);
  const s0 = await sender(a);
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), '');
  assert.equal(b.mk.heldEpoch(a.mk.sid), 0);

  // Rotation: the new key goes out first, and frames under the old one
  // still decrypt until the switch and for OldKeyGrace after.
  a.mk.newKey(1);
  assert.deepEqual(a.mk.epochs(), [0, 1]);
  await give(a, 1, b);
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), '', 'an old-epoch frame in flight');
  const cur = a.mk.use(1);
  assert.equal(cur.kid, epochKid(a.mk.sid, 1));
  assert.equal(a.mk.epoch, 1);
  assert.deepEqual(a.mk.epochs(), [1]);
  const s1 = await Sender.fromSenderKey(cur.key, cur.kid);
  assert.equal(await decrypts(b.rcv, await s1.encrypt(FRAME)), '');
  assert.equal(b.mk.heldEpoch(a.mk.sid), 1);
  await b.mk.expire(OldKeyGrace);
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), 'unknown-kid', 'the old epoch outlived its grace');
  assert.equal(await decrypts(b.rcv, await s1.encrypt(FRAME)), '');
});

test('the same key again (after a resume) changes nothing; an older epoch is refused', async () => {
  const a = await member();
  const b = await member();
  await meet(a, b);
  const old = await a.mk.keyBlobs(0, [b.mk.sid]);
  await give(a, 0, b);
  assert.deepEqual(await give(a, 0, b), [{ from: a.mk.sid, epoch: 0, isNew: false }]);
  a.mk.newKey(1);
  await give(a, 1, b);
  a.mk.use(1);
  await assert.rejects(b.mk.acceptKey(await openJSON(signal, old[0].data), 0), (err) => codeOf(err) === 'stale-epoch');
});

test('a member that left gets none of the next key, and its epochs are erased at once', async () => {
  const a = await member();
  const b = await member();
  const c = await member();
  await meet(a, b, c);
  await give(a, 0, b, c);
  await give(c, 0, b);
  const s0 = await sender(c);
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), '');
  await a.mk.removeMember(c.mk.sid);
  await b.mk.removeMember(c.mk.sid);
  a.mk.newKey(1);
  const blobs = await a.mk.keyBlobs(1, [b.mk.sid, c.mk.sid]);
  assert.deepEqual(blobs.map((x) => x.sid), [b.mk.sid], 'the leaver got a key blob');
  assert.equal(a.mk.has(c.mk.sid), false);
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), 'unknown-kid');
});

test('a hello whose sid another member announced is refused; the same hello again is a resume', async () => {
  const a = await member();
  const b = await member();
  await meet(a, b);
  assert.equal(await a.mk.addMember(parseHello(b.mk.hello('b'))), false);
  const imposter = await member();
  const forged = parseHello({ ...imposter.mk.hello('i'), sid: b.mk.hello('b').sid });
  await assert.rejects(a.mk.addMember(forged), (err) => codeOf(err) === 'duplicate-sid');
});

test('a copy of our key is handed out: the worker and the sealing never share bytes', async () => {
  const a = await member();
  const one = a.mk.current();
  one.key.fill(0); // as a transfer to the worker would
  const two = a.mk.current();
  assert.ok(two.key.some((x) => x !== 0), 'zeroing a handed-out copy zeroed our key');
});

test('erase: the worker loses every epoch, no key blob can be made, the pair is gone', async () => {
  const a = await member();
  const b = await member();
  await meet(a, b);
  await give(a, 0, b);
  const s0 = await sender(a);
  await b.mk.erase();
  assert.equal(await decrypts(b.rcv, await s0.encrypt(FRAME)), 'unknown-kid');
  assert.deepEqual(await b.mk.keyBlobs(0, [a.mk.sid]), []);
  assert.equal(b.mk.has(a.mk.sid), false);
  assert.ok(b.mk.current().key.every((x) => x === 0), 'our sender key was not zeroed');
  await a.mk.erase();
  await assert.rejects(async () => a.mk.attach(Receiver.epochOnly()), (err) => codeOf(err) === 'key-pair-erased');
});
