// Frame keys from sender keys (docs/keys.md, "Frame keys"), identical to
// e2ee/epochkeys.go:
//
//   base_key = HKDF-SHA256(ikm = sender key, salt = "sotto/v2",
//                          info = "sotto/v2 sender" || KID (6 B big-endian), L = 32)
//
// then sframe_key and sframe_salt as in v1 (deriveKeySalt). A sender key is
// imported once as a non-extractable HKDF key and its bytes are zeroed;
// every intermediate byte array is zeroed once imported.

import { fail } from './errors.js';
import { bytes, concat } from './encoding.js';
import { checkKid, deriveKeySalt, KEY_SIZE, NONCE_SIZE } from './keys.js';
import { SENDER_KEY_SIZE, V2_SALT } from './keyblob.js';

const SENDER_INFO = new TextEncoder().encode('sotto/v2 sender');

function kidBytes(kid) {
  const out = new Uint8Array(6);
  for (let i = 5, v = kid; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * importSenderKey imports a 32-byte sender key as a non-extractable HKDF
 * key and zeroes the bytes it was given: after it, no byte copy is left
 * from that array.
 */
export async function importSenderKey(senderKey) {
  senderKey = bytes(senderKey);
  try {
    if (senderKey.length !== SENDER_KEY_SIZE) throw fail('bad-key');
    return await crypto.subtle.importKey('raw', senderKey, 'HKDF', false, ['deriveBits']);
  } finally {
    senderKey.fill(0);
  }
}

/** epochBaseKey derives an epoch's 32-byte base_key from an imported sender key (importSenderKey). */
export async function epochBaseKey(senderKey, kid) {
  checkKid(kid);
  if (!(senderKey instanceof CryptoKey)) throw fail('bad-key', 'import the sender key first');
  const info = concat(SENDER_INFO, kidBytes(kid));
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: V2_SALT, info }, senderKey, 256));
}

/**
 * epochFrameKey derives and imports the frame key of one epoch:
 * { key: CryptoKey (AES-GCM, non-extractable), salt }, the shape of
 * sframe.js's importFrameKey. base_key and sframe_key are zeroed.
 */
export async function epochFrameKey(senderKey, kid) {
  const base = await epochBaseKey(senderKey, kid);
  let key;
  let salt;
  try {
    ({ key, salt } = await deriveKeySalt(base, kid));
    if (key.length !== KEY_SIZE || salt.length !== NONCE_SIZE) throw fail('bad-key');
    const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
    return { key: k, salt };
  } finally {
    base.fill(0);
    key?.fill(0);
  }
}
