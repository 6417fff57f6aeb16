// Byte helpers: hex, strict base64url (no padding), concatenation.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** bytes returns a Uint8Array view of an ArrayBuffer or any ArrayBufferView. */
export function bytes(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError('expected bytes');
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s) {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError('bad hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** isBase64url reports whether every character is in the base64url alphabet. */
export function isBase64url(s) {
  for (const c of s) if (!B64URL_INDEX.has(c)) return false;
  return true;
}

export function toBase64url(b) {
  let s = '';
  let i = 0;
  for (; i + 3 <= b.length; i += 3) {
    const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64URL[v >> 18] + B64URL[(v >> 12) & 63] + B64URL[(v >> 6) & 63] + B64URL[v & 63];
  }
  if (b.length - i === 1) {
    const v = b[i] << 16;
    s += B64URL[v >> 18] + B64URL[(v >> 12) & 63];
  } else if (b.length - i === 2) {
    const v = (b[i] << 16) | (b[i + 1] << 8);
    s += B64URL[v >> 18] + B64URL[(v >> 12) & 63] + B64URL[(v >> 6) & 63];
  }
  return s;
}

/**
 * fromBase64url decodes unpadded base64url strictly, like Go's
 * base64.RawURLEncoding.Strict(): it returns null for any character outside
 * the alphabet, for padding, for an impossible length, and for set unused
 * bits (a second spelling of the same bytes).
 */
export function fromBase64url(s) {
  if (typeof s !== 'string' || s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let nbits = 0;
  let o = 0;
  for (const c of s) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) return null;
    acc = ((acc << 6) | v) & 0xffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out[o++] = (acc >> nbits) & 0xff;
    }
  }
  if ((acc & ((1 << nbits) - 1)) !== 0) return null;
  return out;
}
