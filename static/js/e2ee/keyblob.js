// Key blobs (docs/keys.md, "Key agreement and key wrap"), identical to
// e2ee/keyblob.go: one sender key from one member to another.
//
//   header   = version 0x02 (1 B) || from sid (4 B) || to sid (4 B) || epoch (2 B)    (big-endian)
//   wrap_key = HKDF-SHA256(ikm = X25519 shared, salt = "sotto/v2",
//                          info = "sotto/v2 key wrap" || room id (16 B) || from || to || epoch, L = 32)
//   blob     = header || nonce (12 B, random) || AES-256-GCM(wrap_key, nonce, sender key, AAD = header) || tag
//            = 71 bytes
//
// A header is { from, to, epoch } (Numbers). The blob travels as
// {"key": base64url(blob)} inside a signal-key sealed blob.

import { fail } from './errors.js';
import { bytes, concat } from './encoding.js';
import { checkSid } from './sid.js';
import { checkEpoch } from './epoch.js';

export const KEY_BLOB_VERSION = 2;
export const KEY_BLOB_HEADER_SIZE = 11;
export const SENDER_KEY_SIZE = 32;
export const KEY_BLOB_SIZE = KEY_BLOB_HEADER_SIZE + 12 + SENDER_KEY_SIZE + 16; // 71
export const ROOM_ID_SIZE = 16;
const NONCE_SIZE = 12;

const utf8 = new TextEncoder();
export const V2_SALT = utf8.encode('sotto/v2');
const WRAP_INFO = utf8.encode('sotto/v2 key wrap');

/** newSenderKey returns a fresh random 32-byte sender key, for one epoch. */
export function newSenderKey() {
  return crypto.getRandomValues(new Uint8Array(SENDER_KEY_SIZE));
}

/** encodeKeyBlobHeader returns the 11 header bytes of { from, to, epoch }. */
export function encodeKeyBlobHeader({ from, to, epoch }) {
  checkSid(from);
  checkSid(to);
  checkEpoch(epoch);
  const b = new Uint8Array(KEY_BLOB_HEADER_SIZE);
  const view = new DataView(b.buffer);
  b[0] = KEY_BLOB_VERSION;
  view.setUint32(1, from);
  view.setUint32(5, to);
  view.setUint16(9, epoch);
  return b;
}

/** wrapInfo is the wrap key's HKDF info: label || room id || from || to || epoch. */
export function wrapInfo(roomId, header) {
  return concat(WRAP_INFO, roomId, encodeKeyBlobHeader(header).subarray(1));
}

function checkRoomId(roomId) {
  roomId = bytes(roomId);
  if (roomId.length !== ROOM_ID_SIZE) throw fail('bad-key');
  return roomId;
}

// hkdfParams are the wrap key's HKDF parameters.
function hkdfParams(roomId, header) {
  return { name: 'HKDF', hash: 'SHA-256', salt: V2_SALT, info: wrapInfo(roomId, header) };
}

/** wrapKeyBytes derives the wrap key as bytes: for the test vectors only. */
export async function wrapKeyBytes(shared, roomId, header) {
  shared = bytes(shared);
  if (shared.length !== 32) throw fail('bad-key');
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(hkdfParams(checkRoomId(roomId), header), ikm, 256));
}

// wrapAead derives the blob's wrap key straight into a non-extractable
// AES-GCM key; the shared secret's bytes are zeroed once imported.
async function wrapAead(own, peerPublic, roomId, header) {
  roomId = checkRoomId(roomId);
  const shared = await own.agree(peerPublic);
  try {
    const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return await crypto.subtle.deriveKey(hkdfParams(roomId, header), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  } finally {
    shared.fill(0);
  }
}

/** sealKeyBlob wraps senderKey for the member with peerPublic, under a random nonce; returns 71 bytes. */
export async function sealKeyBlob(own, peerPublic, roomId, header, senderKey) {
  return sealKeyBlobWithNonce(own, peerPublic, roomId, header, senderKey, crypto.getRandomValues(new Uint8Array(NONCE_SIZE)));
}

/** sealKeyBlobWithNonce is for test vectors only: a key blob's nonce must be random. */
export async function sealKeyBlobWithNonce(own, peerPublic, roomId, header, senderKey, nonce) {
  senderKey = bytes(senderKey);
  if (senderKey.length !== SENDER_KEY_SIZE) throw fail('bad-key');
  const hdr = encodeKeyBlobHeader(header);
  const key = await wrapAead(own, peerPublic, roomId, header);
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: hdr, tagLength: 128 }, key, senderKey);
  return concat(hdr, bytes(nonce), new Uint8Array(ct));
}

/**
 * parseKeyBlobHeader reads { from, to, epoch } from a key blob, checking its
 * length ('key-blob-format') and version ('key-blob-version'). It proves
 * nothing until the blob opens.
 */
export function parseKeyBlobHeader(blob) {
  blob = bytes(blob);
  if (blob.length !== KEY_BLOB_SIZE) throw fail('key-blob-format');
  if (blob[0] !== KEY_BLOB_VERSION) throw fail('key-blob-version');
  const view = new DataView(blob.buffer, blob.byteOffset, KEY_BLOB_HEADER_SIZE);
  return { from: view.getUint32(1), to: view.getUint32(5), epoch: view.getUint16(9) };
}

/**
 * openKeyBlob unwraps a key blob with our pair and the sender's public key:
 * { header, senderKey } (32 bytes; the caller owns them and should zero
 * them). 'key-unwrap' for a wrong pair, a tampered blob or an edited header.
 * Whether it is addressed to us, or from a member, is the KeyRing's check.
 */
export async function openKeyBlob(own, peerPublic, roomId, blob) {
  blob = bytes(blob);
  const header = parseKeyBlobHeader(blob);
  const key = await wrapAead(own, peerPublic, roomId, header);
  try {
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: blob.subarray(KEY_BLOB_HEADER_SIZE, KEY_BLOB_HEADER_SIZE + NONCE_SIZE), additionalData: blob.subarray(0, KEY_BLOB_HEADER_SIZE), tagLength: 128 },
      key, blob.subarray(KEY_BLOB_HEADER_SIZE + NONCE_SIZE));
    return { header, senderKey: new Uint8Array(pt) };
  } catch {
    throw fail('key-unwrap');
  }
}
