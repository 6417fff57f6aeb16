// A member's ephemeral X25519 key pair (docs/keys.md), identical to
// e2ee/keypair.go. Made per membership, its public half announced in the
// sealed hello, erased on Leave, re-key and page unload. The private key
// is a non-extractable CryptoKey: script can use it, never read it.

import { fail } from './errors.js';
import { bytes } from './encoding.js';

export const PUBLIC_KEY_SIZE = 32;
export const SHARED_SIZE = 32;

const X25519 = { name: 'X25519' };
// The base point u = 9: X25519(private, 9) is the public key, which lets
// fromPrivate find it without ever making the private key extractable.
const BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31));
// PKCS #8 prefix of a raw X25519 private key (RFC 8410): importKey takes
// no "raw" private keys.
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

async function importPublic(pub) {
  pub = bytes(pub);
  if (pub.length !== PUBLIC_KEY_SIZE) throw fail('bad-public-key');
  try {
    return await crypto.subtle.importKey('raw', pub, X25519, true, []);
  } catch {
    throw fail('bad-public-key');
  }
}

async function x25519(privateKey, pub) {
  const peer = await importPublic(pub);
  let out;
  try {
    out = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: peer }, privateKey, 256));
  } catch {
    // WebCrypto refuses an all-zero result (a low-order public key).
    throw fail('bad-public-key');
  }
  // And so do we, in case an implementation does not.
  if (out.every((b) => b === 0)) throw fail('bad-public-key');
  return out;
}

export class KeyPair {
  #private; // CryptoKey, non-extractable; null once erased
  #public;

  // Use KeyPair.generate (or fromPrivate in tests).
  constructor(privateKey, publicKey) {
    this.#private = privateKey;
    this.#public = publicKey;
  }

  /** generate makes a fresh pair whose private key is non-extractable. */
  static async generate() {
    const kp = await crypto.subtle.generateKey(X25519, false, ['deriveBits']);
    const pub = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
    return new KeyPair(kp.privateKey, pub);
  }

  /** fromPrivate imports a given 32-byte private key: for test vectors only. */
  static async fromPrivate(priv) {
    priv = bytes(priv);
    if (priv.length !== 32) throw fail('bad-key');
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
    pkcs8.set(PKCS8_PREFIX);
    pkcs8.set(priv, PKCS8_PREFIX.length);
    let key;
    try {
      key = await crypto.subtle.importKey('pkcs8', pkcs8, X25519, false, ['deriveBits']);
    } finally {
      pkcs8.fill(0);
    }
    return new KeyPair(key, await x25519(key, BASE_POINT));
  }

  /** publicKey is the 32-byte public key (a copy), for the hello. It survives erase. */
  get publicKey() {
    return this.#public.slice();
  }

  /**
   * agree returns X25519(own private, peer public), 32 bytes. The caller
   * owns them and should zero them once used. 'bad-public-key' for a key of
   * the wrong length or of low order; 'key-pair-erased' after erase.
   */
  async agree(peerPublic) {
    const priv = this.#private;
    if (priv === null) {
      await importPublic(peerPublic); // the same order of checks as Go
      throw fail('key-pair-erased');
    }
    return x25519(priv, peerPublic);
  }

  /** extractable is whether the private key could be exported: false for generate's pairs (and fromPrivate's). */
  get extractable() {
    return this.#private?.extractable ?? false;
  }

  /** erase drops the private key: nothing can be sealed or opened with this pair afterwards. */
  erase() {
    this.#private = null;
  }
}
