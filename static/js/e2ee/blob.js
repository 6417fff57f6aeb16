// Sealed blobs under the room's signal key, identical to e2ee/blob.go:
//   base64url-no-padding( version (1 B) || nonce (12 B, random) || AES-256-GCM(plaintext) || tag (16 B) )
// with the version byte as AAD.

import { fail } from './errors.js';
import { bytes, concat, fromBase64url, toBase64url } from './encoding.js';
import { SIGNAL_KEY_SIZE } from './keys.js';

export const BLOB_VERSION = 1;
export const MAX_BLOB_ENCODED = 8192; // the signaling server's cap, in characters
export const MAX_BLOB_PLAINTEXT = 6000; // 6000 + 29 bytes encode to 8039 characters
const NONCE_SIZE = 12;
const OVERHEAD = 1 + NONCE_SIZE + 16;
const VERSION_AAD = new Uint8Array([BLOB_VERSION]);

async function importKey(signalKey) {
  signalKey = bytes(signalKey);
  if (signalKey.length !== SIGNAL_KEY_SIZE) throw fail('bad-key');
  return crypto.subtle.importKey('raw', signalKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

function toPlainBytes(plaintext) {
  return typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : bytes(plaintext);
}

/** sealBlob encrypts plaintext (bytes or a string, as UTF-8) with a fresh random nonce. */
export async function sealBlob(signalKey, plaintext) {
  return sealBlobWithNonce(signalKey, crypto.getRandomValues(new Uint8Array(NONCE_SIZE)), plaintext);
}

/** sealBlobWithNonce is for tests only: a blob's nonce must be random. */
export async function sealBlobWithNonce(signalKey, nonce, plaintext) {
  const pt = toPlainBytes(plaintext);
  if (pt.length > MAX_BLOB_PLAINTEXT) throw fail('blob-too-large');
  const key = await importKey(signalKey);
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: VERSION_AAD, tagLength: 128 }, key, pt);
  return toBase64url(concat(VERSION_AAD, nonce, new Uint8Array(ct)));
}

/** openBlob checks and decrypts a sealed blob, returning the plaintext bytes. */
export async function openBlob(signalKey, blob) {
  if (typeof blob !== 'string') throw fail('blob-malformed');
  if (blob.length > MAX_BLOB_ENCODED) throw fail('blob-too-large');
  const key = await importKey(signalKey);
  const raw = fromBase64url(blob);
  if (raw === null || raw.length < OVERHEAD) throw fail('blob-malformed');
  if (raw[0] !== BLOB_VERSION) throw fail('blob-version');
  if (raw.length - OVERHEAD > MAX_BLOB_PLAINTEXT) throw fail('blob-too-large');
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: raw.subarray(1, 1 + NONCE_SIZE), additionalData: VERSION_AAD, tagLength: 128 },
      key, raw.subarray(1 + NONCE_SIZE));
    return new Uint8Array(pt);
  } catch {
    throw fail('blob-auth');
  }
}

/** sealJSON seals JSON.stringify(value). */
export async function sealJSON(signalKey, value) {
  return sealBlob(signalKey, JSON.stringify(value));
}

/** openJSON opens a blob and parses it as JSON ('blob-malformed' if it is not). */
export async function openJSON(signalKey, blob) {
  const pt = await openBlob(signalKey, blob);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(pt));
  } catch {
    throw fail('blob-malformed', 'not JSON');
  }
}
