// The key ring (docs/keys.md, "Receiving a key blob"), identical to
// e2ee/keyring.go: the other members' public keys (from their hellos) and
// the epochs of their sender keys, with the same five rules, in the same
// order, and the same timings and bounds.
//
// It does no I/O and reads no clock: times are milliseconds passed in
// (e.g. performance.now() or Date.now(), one clock throughout). It drives a
// sink, { setSenderKey(kid, senderKey), removeSender(kid) }, so that the
// receiver holds exactly the epochs the ring holds: a Receiver (sframe.js)
// is one; the E2EE handle of attach.js, which posts to the worker, is
// another. It never keeps a sender key: the key goes to the sink (which
// zeroes or transfers the bytes) and the ring keeps a SHA-256 digest of
// each sender's current key, to tell a resend from a replay.
//
// Calls that change the ring run one at a time, in call order, so two key
// blobs from one sender can never interleave between check and update.

import { fail } from './errors.js';
import { bytes } from './encoding.js';
import { checkSid } from './sid.js';
import { checkEpoch, epochKid, epochNewer } from './epoch.js';
import { openKeyBlob, parseKeyBlobHeader, sealKeyBlob, ROOM_ID_SIZE, SENDER_KEY_SIZE } from './keyblob.js';
import { MAX_SENDERS } from './sframe.js';

// The same names as the Go constants (docs/keys.md's table), in milliseconds.
/** A member also rotates on this timer: bounds what one captured sender key decrypts. */
export const RotationInterval = 10 * 60 * 1000;
/** Keep encrypting under the previous key this long after sending a new one (above a bad mobile round trip). */
export const KeySwitchDelay = 500;
/** An epoch that stopped being current still decrypts this long (jitter buffer, NACK resends). */
export const OldKeyGrace = 3000;
/** Epochs held per sender, current included: back-to-back rotations, bounded memory. */
export const MaxHeldEpochs = 3;
/** Members one ring tracks, so every member's held epochs fit in one Receiver. */
export const MaxRingMembers = Math.floor(MAX_SENDERS / MaxHeldEpochs);

async function digestOf(key) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', key));
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export class KeyRing {
  #room;
  #self;
  #pair;
  #sink;
  #members = new Map(); // sid -> { public, held: [{ epoch, graceUntil (null while current) }], current: digest | null }
  #closed = false;
  #queue = Promise.resolve();

  /** new KeyRing({ roomId (16 B), self (our sid), pair (KeyPair; erased on close), sink }) */
  constructor({ roomId, self, pair, sink }) {
    roomId = bytes(roomId);
    if (roomId.length !== ROOM_ID_SIZE || !pair || !sink) throw fail('bad-key');
    checkSid(self);
    this.#room = roomId.slice();
    this.#self = self;
    this.#pair = pair;
    this.#sink = sink;
  }

  get self() {
    return this.#self;
  }

  // #run chains op after every earlier change; a failure does not block the next.
  #run(op) {
    const p = this.#queue.then(op);
    this.#queue = p.catch(() => {});
    return p;
  }

  /**
   * addMember records a hello: 'bad-public-key' for a malformed or
   * low-order key; the same sid with the same key again (a resume) does
   * nothing; with another key, or our own sid, 'duplicate-sid'.
   */
  addMember(sid, publicKey) {
    return this.#run(async () => {
      checkSid(sid);
      publicKey = bytes(publicKey).slice();
      (await this.#pair.agree(publicKey)).fill(0);
      if (this.#closed) throw fail('key-pair-erased');
      if (sid === this.#self) throw fail('duplicate-sid');
      const m = this.#members.get(sid);
      if (m) {
        if (sameBytes(m.public, publicKey)) return;
        throw fail('duplicate-sid');
      }
      if (this.#members.size >= MaxRingMembers) throw fail('too-many-senders', `limit ${MaxRingMembers} members`);
      this.#members.set(sid, { public: publicKey, held: [], current: null });
    });
  }

  /** removeMember forgets a member that left: every epoch of it is erased at once. */
  removeMember(sid) {
    return this.#run(async () => {
      const m = this.#members.get(sid);
      if (!m) return;
      this.#eraseAll(sid, m);
      this.#members.delete(sid);
    });
  }

  /** members returns the sids whose hellos we hold, ascending: who gets our key blobs. */
  members() {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  /** sealFor wraps our sender key of epoch for member to: 71 bytes ('unknown-sender' if not a member). */
  async sealFor(to, epoch, senderKey) {
    const m = this.#members.get(to);
    if (!m) throw fail('unknown-sender');
    return sealKeyBlob(this.#pair, m.public, this.#room, { from: this.#self, to, epoch }, senderKey);
  }

  /**
   * acceptBlob takes a key blob (out of its signal-key seal: rule 1 is the
   * caller's) and applies rules 2 to 5 in order: 'key-blob-format',
   * 'key-blob-version', 'key-not-for-us', 'unknown-sender', 'key-unwrap',
   * then accept's. Resolves to { from, epoch, isNew }.
   */
  acceptBlob(blob, nowMs) {
    return this.#run(async () => {
      const h = parseKeyBlobHeader(blob);
      if (h.to !== this.#self) throw fail('key-not-for-us');
      const m = this.#members.get(h.from);
      if (!m) throw fail('unknown-sender');
      const { senderKey } = await openKeyBlob(this.#pair, m.public, this.#room, blob);
      try {
        return await this.#accept(h.from, h.epoch, senderKey, nowMs);
      } finally {
        // A sink that posts to a worker transfers the bytes (attach.js):
        // the buffer is detached then, nothing is left to zero, and fill
        // would throw, turning an accepted key into a rejection.
        if (senderKey.byteLength !== 0) senderKey.fill(0);
      }
    });
  }

  /**
   * accept applies rules 3 and 5 to an unwrapped sender key: 'unknown-sender'
   * unless from is a live member; its first key at any epoch; then a newer
   * epoch becomes current (the previous kept OldKeyGrace); the current epoch
   * with the same key is a no-op (isNew false); an older epoch, or the
   * current one with another key, 'stale-epoch'. More than MaxHeldEpochs:
   * the oldest is erased at once. senderKey goes to the sink (which zeroes it).
   */
  accept(from, epoch, senderKey, nowMs) {
    return this.#run(() => this.#accept(from, epoch, senderKey, nowMs));
  }

  async #accept(from, epoch, senderKey, nowMs) {
    senderKey = bytes(senderKey);
    if (senderKey.length !== SENDER_KEY_SIZE) throw fail('bad-key');
    checkEpoch(epoch);
    const digest = await digestOf(senderKey);
    const m = this.#members.get(from);
    if (!m || this.#closed) throw fail('unknown-sender');
    if (m.current) {
      const cur = m.held[m.held.length - 1].epoch;
      if (epoch === cur) {
        if (sameBytes(digest, m.current)) return { from, epoch, isNew: false };
        throw fail('stale-epoch');
      }
      if (!epochNewer(epoch, cur)) throw fail('stale-epoch');
    }
    await this.#sink.setSenderKey(epochKid(from, epoch), senderKey);
    // The member may have left while the sink worked.
    if (this.#members.get(from) !== m) {
      this.#sink.removeSender(epochKid(from, epoch));
      throw fail('unknown-sender');
    }
    if (m.current) m.held[m.held.length - 1].graceUntil = nowMs + OldKeyGrace;
    m.held.push({ epoch, graceUntil: null });
    m.current?.fill(0);
    m.current = digest;
    while (m.held.length > MaxHeldEpochs) this.#sink.removeSender(epochKid(from, m.held.shift().epoch));
    return { from, epoch, isNew: true };
  }

  /** expire erases every epoch whose grace ended at or before nowMs. */
  expire(nowMs) {
    return this.#run(async () => {
      for (const [sid, m] of this.#members) {
        m.held = m.held.filter((e) => {
          if (e.graceUntil !== null && e.graceUntil <= nowMs) {
            this.#sink.removeSender(epochKid(sid, e.epoch));
            return false;
          }
          return true;
        });
      }
    });
  }

  /** nextExpiry is the earliest end of a grace (ms), or null: when to call expire next. */
  nextExpiry() {
    let next = null;
    for (const m of this.#members.values()) {
      for (const e of m.held) if (e.graceUntil !== null && (next === null || e.graceUntil < next)) next = e.graceUntil;
    }
    return next;
  }

  /** current is a member's current epoch, or null before its first key. */
  current(sid) {
    const m = this.#members.get(sid);
    return m?.current ? m.held[m.held.length - 1].epoch : null;
  }

  /** held lists a member's epochs held, oldest first (the last is current). */
  held(sid) {
    return this.#members.get(sid)?.held.map((e) => e.epoch) ?? [];
  }

  /** close ends the membership: every epoch leaves the sink, the members are forgotten, the pair is erased. */
  close() {
    return this.#run(async () => {
      for (const [sid, m] of this.#members) this.#eraseAll(sid, m);
      this.#members.clear();
      this.#pair.erase();
      this.#closed = true;
    });
  }

  #eraseAll(sid, m) {
    for (const e of m.held) this.#sink.removeSender(epochKid(sid, e.epoch));
    m.held = [];
    m.current?.fill(0);
    m.current = null;
  }
}
