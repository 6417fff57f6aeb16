// Sotto frames, identical to e2ee/sender.go and e2ee/receiver.go:
//
//   Opus TOC byte (clear) || SFrame header || AES-256-GCM(rest of frame) || 16-byte tag
//   AAD = SFrame header || TOC byte; nonce = sframe_salt XOR CTR (RFC 9605 §4.4.3)
//
// Empty frames (Opus DTX) pass through unchanged. A TOC-only frame is
// encrypted with an empty plaintext. Every failure throws an E2EEError and
// never yields plaintext.

import { fail } from './errors.js';
import { bytes, concat } from './encoding.js';
import { encodeHeader, parseHeader } from './header.js';
import { ReplayWindow } from './replay.js';
import { checkKid, deriveKeySalt, newKid, senderBaseKey, KEY_SIZE, MEDIA_KEY_SIZE, NONCE_SIZE } from './keys.js';
import { epochFrameKey, importSenderKey } from './epochkeys.js';
import { SENDER_KEY_SIZE } from './keyblob.js';

export const TAG_SIZE = 16;
// Past MAX_CTR a sender refuses to encrypt: a (KID, CTR) pair must never
// repeat. 2^32 frames is 2.7 years of talk at 50 frames/s.
export const MAX_CTR = (1n << 32n) - 1n;
// How many KIDs one Receiver tracks; see MaxSenders in e2ee/receiver.go.
export const MAX_SENDERS = 256;

/** importFrameKey turns raw sframe_key and sframe_salt into { key: CryptoKey, salt }. */
export async function importFrameKey(key, salt) {
  key = bytes(key);
  salt = bytes(salt);
  if (key.length !== KEY_SIZE || salt.length !== NONCE_SIZE) throw fail('bad-key');
  const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { key: k, salt: salt.slice() };
}

/** frameKeyFor derives and imports the frame key of one sender session. */
export async function frameKeyFor(media, kid) {
  const base = await senderBaseKey(media, kid);
  const { key, salt } = await deriveKeySalt(base, kid);
  return importFrameKey(key, salt);
}

/** nonceFor is sframe_salt XOR CTR, the CTR as a 12-byte big-endian integer. */
export function nonceFor(salt, ctr) {
  const n = salt.slice();
  const view = new DataView(n.buffer);
  view.setUint32(4, view.getUint32(4) ^ Number((ctr >> 32n) & 0xffffffffn));
  view.setUint32(8, view.getUint32(8) ^ Number(ctr & 0xffffffffn));
  return n;
}

/** sealSFrame is RFC 9605 encryption: header || AEAD(key, nonce, header || metadata, plaintext). */
export async function sealSFrame(fk, kid, ctr, metadata, plaintext) {
  const header = encodeHeader(kid, ctr);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonceFor(fk.salt, ctr), additionalData: concat(header, metadata), tagLength: 128 },
    fk.key, plaintext);
  return concat(header, new Uint8Array(ct));
}

/** openSFrame is RFC 9605 decryption of a ciphertext whose header was parsed. */
export async function openSFrame(fk, header, ctr, metadata, ciphertext) {
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonceFor(fk.salt, ctr), additionalData: concat(header, metadata), tagLength: 128 },
      fk.key, ciphertext);
    return new Uint8Array(pt);
  } catch {
    throw fail('auth');
  }
}

/** Sender encrypts one sender session's frames. */
export class Sender {
  #kid;
  #fk;
  #ctr = 0n; // next CTR; taken synchronously, so concurrent calls never share one

  // Use Sender.create. firstCtr is for tests only: a real sender starts at
  // CTR 0 with a fresh KID.
  constructor(kid, fk, firstCtr = 0n) {
    this.#kid = kid;
    this.#fk = fk;
    this.#ctr = firstCtr;
  }

  /** create makes a sender under the room's media key, with a fresh KID unless given. */
  static async create(media, kid = newKid()) {
    media = bytes(media);
    if (media.length !== MEDIA_KEY_SIZE) throw fail('bad-key');
    checkKid(kid);
    return new Sender(kid, await frameKeyFor(media, kid));
  }

  /**
   * fromSenderKey makes a v2 sender for one epoch: kid = epochKid(own sid,
   * epoch), under that epoch's sender key (32 bytes, zeroed here once
   * imported). A new epoch is a new Sender; its CTR starts at 0, safe
   * because the KID, and so the key, is new.
   */
  static async fromSenderKey(senderKey, kid) {
    checkKid(kid);
    const sk = await importSenderKey(senderKey);
    return new Sender(kid, await epochFrameKey(sk, kid));
  }

  /** kid is the session id (BigInt) to announce in a sealed hello. */
  get kid() {
    return this.#kid;
  }

  /** encrypt returns the encrypted frame (a new Uint8Array), or the same empty frame. */
  async encrypt(frame) {
    frame = bytes(frame);
    if (frame.length === 0) return frame;
    if (this.#ctr > MAX_CTR) throw fail('ctr-exhausted');
    const ctr = this.#ctr++;
    const toc = frame.subarray(0, 1);
    const body = await sealSFrame(this.#fk, this.#kid, ctr, toc, frame.subarray(1));
    return concat(toc, body);
  }
}

/** Receiver decrypts frames from the senders registered with addSender. */
export class Receiver {
  #media; // null: a v2 receiver (Receiver.epochOnly), whose keys all come from setSenderKey
  #senders = new Map(); // kid (BigInt) -> { ready: Promise<frameKey>, window }

  constructor(media, { epochOnly = false } = {}) {
    if (epochOnly) {
      this.#media = null;
      return;
    }
    media = bytes(media);
    if (media.length !== MEDIA_KEY_SIZE) throw fail('bad-key');
    this.#media = media.slice();
  }

  /** epochOnly makes a v2 receiver: addSender (v1) refuses with 'bad-key'. */
  static epochOnly() {
    return new Receiver(null, { epochOnly: true });
  }

  /**
   * addSender registers a KID announced in a sealed hello. It registers at
   * once (frames from it are no longer "unknown") and resolves when its key
   * is ready. Registering a known KID does nothing: resetting its replay
   * window would let old frames play again.
   */
  addSender(kid) {
    try {
      checkKid(kid);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#media === null) return Promise.reject(fail('bad-key', 'a v2 receiver takes sender keys only'));
    const known = this.#senders.get(kid);
    if (known) return known.ready.then(() => undefined);
    if (this.#senders.size >= MAX_SENDERS) return Promise.reject(fail('too-many-senders', `limit ${MAX_SENDERS}`));
    const entry = { ready: frameKeyFor(this.#media, kid), window: new ReplayWindow() };
    entry.ready.catch(() => {}); // the error is reported to the caller and to decrypt
    this.#senders.set(kid, entry);
    return entry.ready.then(() => undefined);
  }

  /**
   * setSenderKey registers a v2 KID (epochKid(sid, epoch)) with that
   * epoch's sender key, from an opened key blob. The 32 bytes are zeroed
   * once imported as a non-extractable key. Like addSender it registers at
   * once and resolves when the key is ready; a KID already registered keeps
   * its key and replay window (a KeyRing never gives one epoch two keys).
   * removeSender forgets the KID.
   */
  setSenderKey(kid, senderKey) {
    try {
      checkKid(kid);
      senderKey = bytes(senderKey);
      if (senderKey.length !== SENDER_KEY_SIZE) throw fail('bad-key');
    } catch (err) {
      if (senderKey instanceof Uint8Array) senderKey.fill(0);
      return Promise.reject(err);
    }
    const known = this.#senders.get(kid);
    if (known) {
      senderKey.fill(0);
      return known.ready.then(() => undefined);
    }
    if (this.#senders.size >= MAX_SENDERS) {
      senderKey.fill(0);
      return Promise.reject(fail('too-many-senders', `limit ${MAX_SENDERS}`));
    }
    const entry = { ready: importSenderKey(senderKey).then((sk) => epochFrameKey(sk, kid)), window: new ReplayWindow() };
    entry.ready.catch(() => {});
    this.#senders.set(kid, entry);
    return entry.ready.then(() => undefined);
  }

  /** removeSender forgets a KID; frames from it become "unknown-kid". */
  removeSender(kid) {
    this.#senders.delete(kid);
  }

  has(kid) {
    return this.#senders.has(kid);
  }

  get size() {
    return this.#senders.size;
  }

  /**
   * decrypt returns the plain frame (TOC byte, then the audio). Cheap checks
   * (shape, KID, replay window) come before any crypto; the replay window
   * only moves once the frame authenticates.
   */
  async decrypt(frame) {
    frame = bytes(frame);
    if (frame.length === 0) return frame;
    const { kid, ctr, size } = parseHeader(frame, 1);
    const header = frame.subarray(1, 1 + size);
    const ciphertext = frame.subarray(1 + size);
    if (ciphertext.length < TAG_SIZE) throw fail('truncated');
    const entry = this.#senders.get(kid);
    if (!entry) throw fail('unknown-kid');
    entry.window.check(ctr);
    const fk = await entry.ready;
    const toc = frame.subarray(0, 1);
    const pt = await openSFrame(fk, header, ctr, toc, ciphertext);
    // While we awaited, the sender may have been removed, or a copy of this
    // frame may have been accepted: check again before accepting.
    if (this.#senders.get(kid) !== entry) throw fail('unknown-kid');
    entry.window.check(ctr);
    entry.window.accept(ctr);
    return concat(toc, pt);
  }
}
