// Room codes for joining by a typed code, identical to pake/code.go.
//
// A code is digits only: a nameplate the server assigns (3 to 12 digits)
// and a 7-digit password part that every member derives from the room
// secret S, so any member can answer a knock. Shown as "482-719-3528".
//
//   password = HKDF-SHA256(ikm = S, salt = "sotto/v1", info = "code " || nameplate, 8 bytes)
//              as a big-endian integer mod 10^7, 7 digits with leading zeros
//
// This module needs only WebCrypto: showing or reading a code does not load
// the PAKE's curve library.

import { fail } from './errors.js';
import { bytes } from '../e2ee/encoding.js';

export const SECRET_SIZE = 32;
export const PASSWORD_DIGITS = 7;
export const MIN_NAMEPLATE_DIGITS = 3;
export const MAX_NAMEPLATE_DIGITS = 12;
// What parseCode reads at most, in characters (code points).
const MAX_TYPED = 64;

const utf8 = new TextEncoder();
const SCHEDULE_SALT = utf8.encode('sotto/v1');
// 10^7: log2(10^7) ≈ 23.25 bits per code. The modulo bias is below
// 10^7 / 2^64 ≈ 5.4e-13 per value: no password is measurably likelier.
const PASSWORD_MODULUS = 10_000_000n;

/** asBytes returns a Uint8Array view of any byte buffer, or null. */
export function asBytes(x) {
  try {
    return bytes(x);
  } catch {
    return null;
  }
}

const isDigits = (s) => /^[0-9]*$/.test(s);

/** validNameplate reports whether s is 3 to 12 ASCII digits. */
export function validNameplate(s) {
  return typeof s === 'string' && s.length >= MIN_NAMEPLATE_DIGITS && s.length <= MAX_NAMEPLATE_DIGITS && isDigits(s);
}

/** validPassword reports whether s is 7 ASCII digits. */
export function validPassword(s) {
  return typeof s === 'string' && s.length === PASSWORD_DIGITS && isDigits(s);
}

/** codePassword derives the 7-digit password part from S (32 bytes) and the nameplate. */
export async function codePassword(secret, nameplate) {
  secret = asBytes(secret);
  if (secret === null || secret.length !== SECRET_SIZE) throw fail('bad-secret');
  if (!validNameplate(nameplate)) throw fail('bad-nameplate');
  const key = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: SCHEDULE_SALT, info: utf8.encode(`code ${nameplate}`) }, key, 64);
  const n = new DataView(bits).getBigUint64(0, false);
  return String(n % PASSWORD_MODULUS).padStart(PASSWORD_DIGITS, '0');
}

/** formatCode writes nameplate-ddd-dddd, e.g. "482-719-3528". */
export function formatCode(nameplate, password) {
  if (!validNameplate(nameplate)) throw fail('bad-nameplate');
  if (!validPassword(password)) throw fail('bad-password');
  return `${nameplate}-${password.slice(0, 3)}-${password.slice(3)}`;
}

// The characters parseCode drops: spaces (ASCII, tab, no-break, thin,
// narrow no-break), dashes (hyphen-minus, Unicode hyphens and dashes, the
// minus sign) and the full stop: what phone keyboards and copy-paste
// produce. pake/code.go drops exactly the same set.
const SEPARATORS = new Set([' ', '\t', '\u00a0', '\u2009', '\u202f',
  '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '.']);

/**
 * parseCode reads a typed code and returns { nameplate, password }. After
 * the separators are dropped, what is left must be ASCII digits: the last 7
 * are the password, the rest (3 to 12) the nameplate. Anything else throws
 * a PakeError with code 'bad-code'.
 */
export function parseCode(typed) {
  if (typeof typed !== 'string') throw fail('bad-code', 'not text');
  let digits = '';
  let n = 0;
  for (const ch of typed) {
    if (++n > MAX_TYPED) throw fail('bad-code', 'too long');
    if (ch.length === 1 && ch >= '0' && ch <= '9') digits += ch;
    else if (!SEPARATORS.has(ch)) throw fail('bad-code', 'only digits, spaces, dashes and dots are allowed');
  }
  if (digits.length < MIN_NAMEPLATE_DIGITS + PASSWORD_DIGITS) throw fail('bad-code', 'too few digits');
  if (digits.length > MAX_NAMEPLATE_DIGITS + PASSWORD_DIGITS) throw fail('bad-code', 'too many digits');
  const cut = digits.length - PASSWORD_DIGITS;
  return { nameplate: digits.slice(0, cut), password: digits.slice(cut) };
}
