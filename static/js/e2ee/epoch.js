// Epoch KIDs (docs/keys.md), identical to e2ee/epoch.go. An epoch is a
// sender's own 16-bit key counter (a Number); the SFrame KID (a BigInt, as
// in v1) is sid << 16 | epoch, so it names sender and epoch and a receiver
// picks the key, or drops the frame before any crypto, from the header.

import { fail } from './errors.js';
import { checkSid } from './sid.js';
import { MAX_KID } from './keys.js';

export const EPOCH_BITS = 16;
export const MAX_EPOCH = 0xffff;

export function checkEpoch(epoch) {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw fail('bad-kid', 'epoch out of range');
}

/** epochKid returns the KID (BigInt) of a sender's epoch. */
export function epochKid(sid, epoch) {
  checkSid(sid);
  checkEpoch(epoch);
  return (BigInt(sid) << 16n) | BigInt(epoch);
}

/** splitKid is the inverse of epochKid: { sid, epoch }; 'bad-kid' past 48 bits. */
export function splitKid(kid) {
  if (typeof kid !== 'bigint' || kid < 0n || kid > MAX_KID) throw fail('bad-kid');
  return { sid: Number(kid >> 16n), epoch: Number(kid & 0xffffn) };
}

/**
 * epochNewer reports whether epoch b is newer than epoch a:
 * 0 < (b - a) mod 2^16 < 2^15, so the counter may wrap from 65535 to 0.
 */
export function epochNewer(b, a) {
  const d = (b - a) & MAX_EPOCH;
  return d !== 0 && d < 0x8000;
}
