// A member's sender id in v2 (docs/keys.md), identical to e2ee/sid.go: 32
// random bits per membership, written as 8 lowercase hex digits in the
// "sid" field of a hello. A sid is a Number (it fits exactly).

import { fail } from './errors.js';

export const SID_BITS = 32;
export const MAX_SID = 0xffffffff;

/** newSid returns a fresh random sid; call it on every join (a resume keeps it). */
export function newSid() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** checkSid throws 'bad-sid' unless sid is an integer in [0, 2^32). */
export function checkSid(sid) {
  if (!Number.isInteger(sid) || sid < 0 || sid > MAX_SID) throw fail('bad-sid');
}

/** formatSid writes a sid as 8 lowercase hex digits. */
export function formatSid(sid) {
  checkSid(sid);
  return sid.toString(16).padStart(8, '0');
}

/** parseSid reads exactly 8 lowercase hex digits, so each sid has one spelling. */
export function parseSid(s) {
  if (typeof s !== 'string' || !/^[0-9a-f]{8}$/.test(s)) throw fail('bad-sid');
  return parseInt(s, 16);
}
