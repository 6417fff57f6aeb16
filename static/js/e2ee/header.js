// The SFrame header, RFC 9605 §4.3, identical to e2ee/header.go:
// a config byte |X|K K K|Y|C C C|, then KID and CTR in the fewest big-endian
// bytes; a value 0-7 lives in the config byte. KID and CTR are BigInts
// (up to 64 bits).

import { fail } from './errors.js';

export const MAX_HEADER_SIZE = 17;
const U64_MAX = (1n << 64n) - 1n;

function valueLen(v) {
  if (v < 8n) return 0;
  let n = 0;
  for (; v > 0n; v >>= 8n) n++;
  return n;
}

function check(v) {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RangeError('header value must be a 64-bit unsigned BigInt');
}

/** encodeHeader returns the header bytes for (kid, ctr). */
export function encodeHeader(kid, ctr) {
  check(kid);
  check(ctr);
  const kl = valueLen(kid);
  const cl = valueLen(ctr);
  const out = new Uint8Array(1 + kl + cl);
  let config = kl === 0 ? Number(kid) << 4 : 0x80 | ((kl - 1) << 4);
  config |= cl === 0 ? Number(ctr) : 0x08 | (cl - 1);
  out[0] = config;
  for (let i = 0, v = kid; i < kl; i++, v >>= 8n) out[kl - i] = Number(v & 0xffn);
  for (let i = 0, v = ctr; i < cl; i++, v >>= 8n) out[kl + cl - i] = Number(v & 0xffn);
  return out;
}

function readValue(b, off, extended, field) {
  if (!extended) return [BigInt(field), off];
  const size = field + 1;
  if (b.length - off < size) throw fail('truncated');
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(b[off + i]);
  // The RFC requires the shortest form; accepting one spelling per value
  // keeps the authenticated header canonical.
  if (valueLen(v) !== size) throw fail('bad-header');
  return [v, off + size];
}

/**
 * parseHeader reads a header from b starting at offset and returns
 * { kid, ctr, size }. It throws E2EEError 'truncated' or 'bad-header'.
 */
export function parseHeader(b, offset = 0) {
  if (b.length <= offset) throw fail('truncated');
  const config = b[offset];
  const [kid, off1] = readValue(b, offset + 1, (config & 0x80) !== 0, (config >> 4) & 7);
  const [ctr, off2] = readValue(b, off1, (config & 0x08) !== 0, config & 7);
  return { kid, ctr, size: off2 - offset };
}
