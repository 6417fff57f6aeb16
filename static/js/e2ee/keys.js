// The key schedule (design.md §2), identical to e2ee/keys.go.
//
//   HKDF-SHA256(ikm = S, salt = "sotto/v1"):
//     room_id = "room-id" 16 B, room_auth = "room-auth" 32 B, signal = "signal" 32 B,
//     media = "media" 32 B, sas = "sas" 6 B; verifier = SHA-256(room_auth)
//   per sender session, KID = 48 random bits:
//     base_key = HKDF-SHA256(ikm = media, salt = "sotto/v1", info = "sotto/v1 sender" || KID (6 B BE), 32 B)
//     sframe_key, sframe_salt = RFC 9605 §4.4.2 with cipher suite 0x0005 (HKDF-SHA512)

import { fail } from './errors.js';
import { bytes, concat } from './encoding.js';

export const SECRET_SIZE = 32;
export const MEDIA_KEY_SIZE = 32;
export const SIGNAL_KEY_SIZE = 32;
export const SAS_SIZE = 6;
export const KID_BITS = 48;
export const MAX_KID = (1n << 48n) - 1n;
export const CIPHER_SUITE = 0x0005;
export const KEY_SIZE = 32;
export const NONCE_SIZE = 12;

const utf8 = new TextEncoder();
const SCHEDULE_SALT = utf8.encode('sotto/v1');
const SENDER_INFO = utf8.encode('sotto/v1 sender');
// 48 SAS bits mod 10^12 gives 12 digits (about 39.9 bits); see e2ee/keys.go.
const SAFETY_CODE_MODULUS = 1e12;

async function hkdf(hash, ikm, salt, info, length) {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash, salt, info }, key, length * 8);
  return new Uint8Array(bits);
}

/** newSecret returns a fresh random 32-byte room secret S. */
export function newSecret() {
  return crypto.getRandomValues(new Uint8Array(SECRET_SIZE));
}

/**
 * deriveRoomKeys runs the key schedule on S and returns
 * { roomId, roomAuth, verifier, signal, media, sas, safetyCode }.
 */
export async function deriveRoomKeys(secret) {
  secret = bytes(secret);
  if (secret.length !== SECRET_SIZE) throw fail('bad-secret', `got ${secret.length} bytes`);
  const d = (info, n) => hkdf('SHA-256', secret, SCHEDULE_SALT, utf8.encode(info), n);
  const [roomId, roomAuth, signal, media, sas] = await Promise.all([
    d('room-id', 16), d('room-auth', 32), d('signal', 32), d('media', 32), d('sas', SAS_SIZE),
  ]);
  const verifier = await verifierOf(roomAuth);
  return { roomId, roomAuth, verifier, signal, media, sas, safetyCode: safetyCode(sas) };
}

/** verifierOf is SHA-256(roomAuth), what the server stores for a room. */
export async function verifierOf(roomAuth) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes(roomAuth)));
}

/** safetyCode turns the 6 SAS bytes into "1234 5678 9012". */
export function safetyCode(sas) {
  sas = bytes(sas);
  if (sas.length !== SAS_SIZE) throw fail('bad-key', 'sas must be 6 bytes');
  let n = 0;
  for (const b of sas) n = n * 256 + b; // < 2^48: exact in a double
  const s = String(n % SAFETY_CODE_MODULUS).padStart(12, '0');
  return `${s.slice(0, 4)} ${s.slice(4, 8)} ${s.slice(8, 12)}`;
}

/** newKid returns a fresh random 48-bit sender id as a BigInt. */
export function newKid() {
  const b = crypto.getRandomValues(new Uint8Array(6));
  let kid = 0n;
  for (const x of b) kid = (kid << 8n) | BigInt(x);
  return kid;
}

/** formatKid writes a KID as 12 lowercase hex digits (the form used in hellos). */
export function formatKid(kid) {
  checkKid(kid);
  return kid.toString(16).padStart(12, '0');
}

/** parseKid reads a KID written by formatKid. */
export function parseKid(s) {
  if (typeof s !== 'string' || !/^[0-9a-f]{12}$/.test(s)) throw fail('bad-kid');
  return BigInt('0x' + s);
}

export function checkKid(kid) {
  if (typeof kid !== 'bigint' || kid < 0n || kid > MAX_KID) throw fail('bad-kid');
}

function bigEndian(v, n) {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** senderBaseKey derives a sender session's 32-byte base_key from media and KID. */
export async function senderBaseKey(media, kid) {
  media = bytes(media);
  if (media.length !== MEDIA_KEY_SIZE) throw fail('bad-key');
  checkKid(kid);
  return hkdf('SHA-256', media, SCHEDULE_SALT, concat(SENDER_INFO, bigEndian(kid, 6)), 32);
}

/** sframeLabel is "SFrame 1.0 Secret <kind> " || KID (8 B) || suite (2 B). */
export function sframeLabel(kind, kid) {
  return concat(utf8.encode(`SFrame 1.0 Secret ${kind} `), bigEndian(kid, 8), bigEndian(BigInt(CIPHER_SUITE), 2));
}

/**
 * deriveKeySalt is RFC 9605 §4.4.2 for suite 0x0005: HKDF-SHA512 with an
 * empty salt over base_key, expanded with the key and salt labels.
 * Returns { key (32 B), salt (12 B) }.
 */
export async function deriveKeySalt(baseKey, kid) {
  baseKey = bytes(baseKey);
  const none = new Uint8Array(0);
  const [key, salt] = await Promise.all([
    hkdf('SHA-512', baseKey, none, sframeLabel('key', kid), KEY_SIZE),
    hkdf('SHA-512', baseKey, none, sframeLabel('salt', kid), NONCE_SIZE),
  ]);
  return { key, salt };
}
