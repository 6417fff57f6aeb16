// The join-by-code exchange, identical to pake/exchange.go (the flow and
// what each message holds are in pake/doc.go):
//
//   joiner                                   member (holds S)
//   msg1 = 0x11 || sid || Ya          ->
//                                     <-     msg2 = 0x12 || Yb || tagM
//   msg3 = 0x13 || tagJ               ->     (only if tagM verified)
//                                     <-     msg4 = 0x14 || nonce || AES-256-GCM(S)
//                                                    (only if tagJ verified)
//
// CPace over ristretto255 with PRS = the 7 password digits (ASCII),
// CI = "sotto/v1 knock " || nameplate, sid = 16 random bytes from the
// joiner, ADa = ADb = "", the initiator-responder transcript. From ISK,
// HKDF-SHA256 (salt "sotto/v1") derives kc_member ("knock confirm member"),
// kc_joiner ("knock confirm joiner") and the seal key ("knock seal");
// th = SHA-256(msg1 || 0x12 || Yb); tagM = HMAC-SHA256(kc_member, th),
// tagJ = HMAC-SHA256(kc_joiner, th); msg4's AAD is th.
//
// Every method is one-shot and in order: a second call, a call out of
// order, or any call after an error throws 'state'. Nothing here keeps S
// longer than the exchange needs it.

import { fail } from './errors.js';
import { asBytes, codePassword, validNameplate, validPassword, SECRET_SIZE } from './code.js';
import {
  ELEMENT_SIZE, calculateGenerator, decodes, isIdentity, isk as computeISK, sampleScalar, scalarFromBytes,
  scalarMult, scalarMultVfy, transcriptIR,
} from './cpace.js';
import { concat } from '../e2ee/encoding.js';

export const VERSION = 1;
const TYPE_KNOCK = (VERSION << 4) | 1;
const TYPE_ANSWER = (VERSION << 4) | 2;
const TYPE_PROOF = (VERSION << 4) | 3;
const TYPE_SECRET = (VERSION << 4) | 4;

export const SID_SIZE = 16;
export const TAG_SIZE = 32;
export const NONCE_SIZE = 12;
const GCM_TAG = 16;
export const MSG1_SIZE = 1 + SID_SIZE + ELEMENT_SIZE;
export const MSG2_SIZE = 1 + ELEMENT_SIZE + TAG_SIZE;
export const MSG3_SIZE = 1 + TAG_SIZE;
export const MSG4_SIZE = 1 + NONCE_SIZE + SECRET_SIZE + GCM_TAG;

const utf8 = new TextEncoder();
const SALT = utf8.encode('sotto/v1');
const CI_PREFIX = 'sotto/v1 knock ';
const EMPTY = new Uint8Array(0);

const defaultRandom = (n) => crypto.getRandomValues(new Uint8Array(n));

// States, as in Go.
const START = 0;
const WAITING = 1;
const CONFIRMED = 2;
const DONE = 3;

/** check reads a message's type byte and length, as pake/messages.go does. */
function check(msg, type, size) {
  const b = asBytes(msg);
  if (b === null || b.length === 0) throw fail('malformed', `empty, want ${size} bytes`);
  if (b[0] >> 4 !== VERSION) throw fail('version', `version ${b[0] >> 4}, want ${VERSION}`);
  if (b[0] !== type) throw fail('message-type', `message ${b[0] & 0x0f}, want ${type & 0x0f}`);
  if (b.length !== size) throw fail('malformed', `message ${type & 0x0f}: ${b.length} bytes, want ${size}`);
  return b;
}

function draw(random, n) {
  let b;
  try {
    b = random(n);
  } catch (err) {
    throw fail('random', String(err));
  }
  if (!(b instanceof Uint8Array) || b.length !== n) throw fail('random', 'wrong length');
  return Uint8Array.from(b);
}

function scalar(random) {
  try {
    return scalarFromBytes(sampleScalar(random));
  } catch (err) {
    throw fail('random', String(err));
  }
}

async function hkdf32(isk, info) {
  const key = await crypto.subtle.importKey('raw', isk, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info: utf8.encode(info) }, key, 256));
}

const hmacKey = (raw) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);

/**
 * deriveSession: ISK from sid, K and the transcript of Ya and Yb, then
 * { confirmMember, confirmJoiner, seal } as WebCrypto keys and th.
 */
export async function deriveSession(msg1, sid, ya, yb, k) {
  const isk = computeISK(sid, k, transcriptIR(ya, EMPTY, yb, EMPTY));
  const [kcM, kcJ, seal, th] = await Promise.all([
    hkdf32(isk, 'knock confirm member'),
    hkdf32(isk, 'knock confirm joiner'),
    hkdf32(isk, 'knock seal'),
    crypto.subtle.digest('SHA-256', concat(msg1, Uint8Array.of(TYPE_ANSWER), yb)),
  ]);
  return {
    confirmMember: await hmacKey(kcM),
    confirmJoiner: await hmacKey(kcJ),
    seal: await crypto.subtle.importKey('raw', seal, 'AES-GCM', false, ['encrypt', 'decrypt']),
    th: new Uint8Array(th),
  };
}

const sign = async (key, th) => new Uint8Array(await crypto.subtle.sign('HMAC', key, th));

/**
 * newJoiner starts an exchange for a typed code (see parseCode) and
 * resolves to { joiner, msg1 }. opts.random(n) -> Uint8Array replaces
 * crypto.getRandomValues for test vectors only: 16 bytes of sid, then 32
 * for the scalar ya.
 */
export async function newJoiner(nameplate, password, opts = {}) {
  if (!validNameplate(nameplate)) throw fail('bad-nameplate');
  if (!validPassword(password)) throw fail('bad-password');
  const random = opts.random ?? defaultRandom;
  const sid = draw(random, SID_SIZE);
  const ya = scalar(random);
  const g = calculateGenerator(utf8.encode(password), utf8.encode(CI_PREFIX + nameplate), sid);
  const msg1 = concat(Uint8Array.of(TYPE_KNOCK), sid, scalarMult(ya, g));
  return { joiner: new Joiner(sid, ya, msg1), msg1: msg1.slice() };
}

/** Joiner is the side that typed the code. Make it with newJoiner. */
export class Joiner {
  #state = WAITING;
  #sid;
  #ya;
  #msg1;
  #keys = null;

  constructor(sid, ya, msg1) {
    this.#sid = sid;
    this.#ya = ya;
    this.#msg1 = msg1;
  }

  /**
   * confirm reads msg2 (Yb || tagM) and resolves to msg3 (tagJ). A tagM
   * that does not verify throws 'wrong-code': the code is wrong or the
   * relay changed a message; nothing is sent back.
   */
  async confirm(msg2) {
    if (this.#state !== WAITING) throw fail('state');
    this.#state = DONE;
    const m = check(msg2, TYPE_ANSWER, MSG2_SIZE);
    const yb = m.slice(1, 1 + ELEMENT_SIZE);
    const tagM = m.slice(1 + ELEMENT_SIZE);
    const k = scalarMultVfy(this.#ya, yb);
    this.#ya = null;
    if (isIdentity(k)) throw fail('bad-point');
    const keys = await deriveSession(this.#msg1, this.#sid, this.#msg1.subarray(1 + SID_SIZE), yb, k);
    if (!(await crypto.subtle.verify('HMAC', keys.confirmMember, tagM, keys.th))) throw fail('wrong-code');
    this.#keys = keys;
    this.#state = CONFIRMED;
    return concat(Uint8Array.of(TYPE_PROOF), await sign(keys.confirmJoiner, keys.th));
  }

  /** open reads msg4 and resolves to the room secret S (32 bytes). */
  async open(msg4) {
    if (this.#state !== CONFIRMED) throw fail('state');
    this.#state = DONE;
    const keys = this.#keys;
    this.#keys = null;
    const m = check(msg4, TYPE_SECRET, MSG4_SIZE);
    let secret;
    try {
      secret = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: m.slice(1, 1 + NONCE_SIZE), additionalData: keys.th }, keys.seal, m.slice(1 + NONCE_SIZE)));
    } catch {
      throw fail('bad-seal');
    }
    if (secret.length !== SECRET_SIZE) throw fail('bad-seal');
    return secret;
  }
}

/**
 * newMember prepares a member of the room with secret S to answer one
 * knock at nameplate; it rejects only a malformed secret or nameplate.
 * opts.random is for test vectors only: 32 bytes for yb, then the 12-byte
 * nonce.
 */
export async function newMember(secret, nameplate, opts = {}) {
  const password = await codePassword(secret, nameplate);
  return new Member(asBytes(secret).slice(), utf8.encode(password), utf8.encode(CI_PREFIX + nameplate), opts.random ?? defaultRandom);
}

/**
 * Member answers a knock. Once respond has resolved to msg2, the exchange
 * is one password guess: count it as failed unless finish resolves to
 * msg4 ('bad-confirm' from finish, and abort()'s 'abandoned', both count).
 */
export class Member {
  #state = START;
  #secret;
  #prs;
  #ci;
  #random;
  #keys = null;

  constructor(secret, prs, ci, random) {
    this.#secret = secret;
    this.#prs = prs;
    this.#ci = ci;
    this.#random = random;
  }

  #forget() {
    this.#secret = null;
    this.#prs = null;
    this.#keys = null;
  }

  /** respond reads msg1 (sid || Ya) and resolves to msg2 (Yb || tagM). */
  async respond(msg1) {
    if (this.#state !== START) throw fail('state');
    this.#state = DONE;
    const prs = this.#prs;
    try {
      const m = check(msg1, TYPE_KNOCK, MSG1_SIZE);
      const sid = m.slice(1, 1 + SID_SIZE);
      const ya = m.slice(1 + SID_SIZE);
      if (!decodes(ya)) throw fail('bad-point');
      const y = scalar(this.#random);
      const yb = scalarMult(y, calculateGenerator(prs, this.#ci, sid));
      const k = scalarMultVfy(y, ya);
      if (isIdentity(k)) throw fail('bad-point');
      const keys = await deriveSession(m, sid, ya, yb, k);
      this.#prs = null;
      this.#keys = keys;
      this.#state = WAITING;
      return concat(Uint8Array.of(TYPE_ANSWER), yb, await sign(keys.confirmMember, keys.th));
    } catch (err) {
      this.#forget();
      throw err;
    }
  }

  /**
   * finish reads msg3 (tagJ). If it proves the code, it resolves to msg4:
   * S sealed under the session's seal key. Otherwise it throws
   * 'bad-confirm' (or a decoding error) and sends nothing.
   */
  async finish(msg3) {
    if (this.#state !== WAITING) throw fail('state');
    this.#state = DONE;
    const keys = this.#keys;
    const secret = this.#secret;
    this.#forget();
    const m = check(msg3, TYPE_PROOF, MSG3_SIZE);
    if (!(await crypto.subtle.verify('HMAC', keys.confirmJoiner, m.slice(1), keys.th))) throw fail('bad-confirm');
    const nonce = draw(this.#random, NONCE_SIZE);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: keys.th }, keys.seal, secret));
    return concat(Uint8Array.of(TYPE_SECRET), nonce, ct);
  }

  /**
   * abort ends an exchange that will not be finished. It returns (does not
   * throw) the 'abandoned' PakeError if msg2 had been sent and no msg3
   * read, so the caller counts the guess; otherwise null.
   */
  abort() {
    const was = this.#state;
    this.#state = DONE;
    this.#forget();
    return was === WAITING ? fail('abandoned') : null;
  }
}
