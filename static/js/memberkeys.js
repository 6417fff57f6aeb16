// One membership's media keys (docs/keys.md, v2): our sid, our ephemeral
// X25519 pair, our own sender keys (the one in use and the one sent but not
// yet switched to), and the key ring of the other members' epochs, which
// drives the E2EE worker's receiver. Made on every join (a resume keeps it,
// and the worker with it), erased on Leave, re-key and page unload; nothing
// is stored.
//
// Our own sender keys are the only sender keys kept as bytes on the page:
// a member that resumes is sent the current key again (docs/keys.md), and a
// member whose hello comes after our join is sent the key we use. Each is
// zeroed as soon as it is replaced. The worker gets copies, transferred.
//
// It does no signaling and keeps no timer: session.js sends what it seals,
// and calls expire() when nextExpiry() says.

import { KeyPair } from './e2ee/agree.js';
import { sealJSON } from './e2ee/blob.js';
import { fromBase64url, toBase64url } from './e2ee/encoding.js';
import { epochKid } from './e2ee/epoch.js';
import { fail } from './e2ee/errors.js';
import { newSenderKey } from './e2ee/keyblob.js';
import { KeyRing } from './e2ee/keyring.js';
import { formatSid, newSid, parseSid } from './e2ee/sid.js';

// A hello's fields (docs/keys.md, "Hello"): a v1 hello ({ name, kid }) has
// neither sid nor dh and is ignored.
const HELLO_DH_CHARS = 43; // base64url of 32 bytes, no padding

/**
 * parseHello reads { sid, dh } from an opened hello: { sid (Number),
 * publicKey (32 bytes) }, or null for anything else (a v1 hello, a re-key,
 * a key blob, a malformed one).
 */
export function parseHello(msg) {
  if (typeof msg?.sid !== 'string' || typeof msg?.dh !== 'string' || msg.dh.length !== HELLO_DH_CHARS) return null;
  let sid;
  try {
    sid = parseSid(msg.sid);
  } catch {
    return null;
  }
  const publicKey = fromBase64url(msg.dh);
  if (publicKey === null || publicKey.length !== 32) return null;
  return { sid, publicKey };
}

export class MemberKeys {
  #roomId;
  #signal;
  #sid;
  #pair;
  #own; // { epoch, key }: the sender key we encrypt under
  #pending = null; // { epoch, key }: sent, not yet switched to
  #known = new Set(); // the sids whose hellos the ring holds
  #ring = null;
  #erased = false;

  constructor({ roomId, signal, sid, pair }) {
    this.#roomId = roomId;
    this.#signal = signal;
    this.#sid = sid;
    this.#pair = pair;
    this.#own = { epoch: 0, key: newSenderKey() };
  }

  /** create makes a membership: a fresh sid, a non-extractable X25519 pair, a first sender key (epoch 0). */
  static async create({ roomId, signal }) {
    return new MemberKeys({ roomId, signal, sid: newSid(), pair: await KeyPair.generate() });
  }

  get sid() {
    return this.#sid;
  }

  /** epoch is the epoch we encrypt under. */
  get epoch() {
    return this.#own.epoch;
  }

  /** hello is what our sealed hello says. */
  hello(name) {
    return { name, sid: formatSid(this.#sid), dh: toBase64url(this.#pair.publicKey) };
  }

  /** current is the KID and a copy of the key we encrypt under: for a new worker's init-v2. */
  current() {
    return { kid: epochKid(this.#sid, this.#own.epoch), key: this.#own.key.slice() };
  }

  /**
   * attach starts the key ring, whose sink is the membership's E2EE handle
   * (its worker's receiver): call it once, before any hello.
   */
  attach(sink) {
    if (this.#erased) throw fail('key-pair-erased');
    if (this.#ring) throw fail('bad-key', 'the ring is attached already');
    this.#ring = new KeyRing({ roomId: this.#roomId, self: this.#sid, pair: this.#pair, sink });
  }

  /**
   * addMember records a member's hello ({ sid, publicKey }, parseHello's)
   * and resolves to true if it was new, false for the same hello again (a
   * resume). It rejects as KeyRing.addMember does ('duplicate-sid',
   * 'bad-public-key').
   */
  async addMember({ sid, publicKey }) {
    const isNew = !this.#known.has(sid);
    await this.#ring.addMember(sid, publicKey);
    this.#known.add(sid);
    return isNew;
  }

  /** removeMember forgets a member that left: its epochs are erased at once. */
  removeMember(sid) {
    this.#known.delete(sid);
    return this.#ring?.removeMember(sid);
  }

  /** has says whether we hold the hello of sid (so it can get our keys). */
  has(sid) {
    return this.#known.has(sid);
  }

  /**
   * acceptKey takes an opened key message ({ key: base64url }) from a
   * member and gives its sender key to the worker by the ring's rules:
   * { from, epoch, isNew }, or rejects with their error codes.
   */
  acceptKey(msg, nowMs) {
    const blob = typeof msg?.key === 'string' ? fromBase64url(msg.key) : null;
    if (blob === null) return Promise.reject(fail('key-blob-format'));
    return this.#ring.acceptBlob(blob, nowMs);
  }

  /** newKey makes the sender key of epoch, pending until use(epoch). */
  newKey(epoch) {
    this.#pending?.key.fill(0);
    this.#pending = { epoch, key: newSenderKey() };
  }

  /**
   * use makes the pending key of epoch the one we encrypt under, zeroes the
   * previous one, and returns the KID and a copy of the key for the worker
   * (null if epoch is not pending).
   */
  use(epoch) {
    if (this.#pending?.epoch !== epoch) return null;
    this.#own.key.fill(0);
    this.#own = this.#pending;
    this.#pending = null;
    return this.current();
  }

  /** epochs lists the epochs we would send a member now: the current one, and a pending one. */
  epochs() {
    return this.#pending ? [this.#own.epoch, this.#pending.epoch] : [this.#own.epoch];
  }

  /**
   * keyBlobs wraps our key of epoch (the current or the pending one) for
   * each sid, each sealed under the signal key as {"key": ...}: [{ sid,
   * data }], leaving out sids whose hello we do not hold.
   */
  async keyBlobs(epoch, sids) {
    const own = [this.#own, this.#pending].find((k) => k?.epoch === epoch);
    if (!own || this.#erased) return [];
    // A copy: a switch while we seal zeroes the key it replaces.
    const key = own.key.slice();
    const ring = this.#ring;
    try {
      const out = [];
      for (const sid of sids) {
        if (!this.#known.has(sid)) continue;
        const blob = await ring.sealFor(sid, epoch, key);
        out.push({ sid, data: await sealJSON(this.#signal, { key: toBase64url(blob) }) });
      }
      return out;
    } finally {
      key.fill(0);
    }
  }

  /** heldEpoch is the epoch of sid we decrypt as current, or null. */
  heldEpoch(sid) {
    return this.#ring?.current(sid) ?? null;
  }

  expire(nowMs) {
    return this.#ring?.expire(nowMs);
  }

  nextExpiry() {
    return this.#ring?.nextExpiry() ?? null;
  }

  /** erase ends the membership: the ring's epochs leave the worker, the pair and our keys are gone. */
  erase() {
    if (this.#erased) return Promise.resolve();
    this.#erased = true;
    this.#own.key.fill(0);
    this.#pending?.key.fill(0);
    this.#pending = null;
    this.#known.clear();
    const ring = this.#ring;
    this.#ring = null;
    if (ring) return ring.close();
    this.#pair.erase();
    return Promise.resolve();
  }
}
