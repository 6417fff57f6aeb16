// CPace (draft-irtf-cfrg-cpace-21) for CPACE-RISTR255-SHA512: the
// primitives, identical to pake/cpace/cpace.go, so that the draft's
// published ristretto255 vectors (its Appendix B.3) reproduce byte for
// byte. ristretto255 and SHA-512 come from the vendored, audited noble
// libraries (static/vendor/noble-curves, static/vendor/noble-hashes).
//
// Scalars are BigInts; encoded elements and every other value are
// Uint8Arrays. Everything here is synchronous.

import { ristretto255, ristretto255_hasher } from '../../vendor/noble-curves/ed25519.js';
import { sha512 } from '../../vendor/noble-hashes/sha2.js';
import { concat } from '../e2ee/encoding.js';

const utf8 = new TextEncoder();
const Point = ristretto255.Point;

/** DSI is G_Ristretto255.DSI. */
export const DSI = utf8.encode('CPaceRistretto255');
const DSI_ISK = utf8.encode('CPaceRistretto255_ISK');
const SID_OUTPUT = utf8.encode('CPaceSidOutput');
const OC = utf8.encode('oc');
export const SCALAR_SIZE = 32;
export const ELEMENT_SIZE = 32;
// SHA-512's input block, H.s_in_bytes.
export const S_IN_BYTES = 128;
// The order of ristretto255, 2^252 + 27742317777372353535851937790883648493.
export const GROUP_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
/** IDENTITY is G.I, the encoding of the neutral element: 32 zero bytes. */
export const IDENTITY = new Uint8Array(ELEMENT_SIZE);

/** prependLen is prepend_len: the LEB128 encoding of b's length, then b. */
export function prependLen(b) {
  const len = [];
  let n = b.length;
  for (;;) {
    len.push(n < 128 ? n : (n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
    if (n === 0) break;
  }
  return concat(Uint8Array.from(len), b);
}

/** lvCat is lv_cat: the concatenation of prependLen of each argument. */
export function lvCat(...parts) {
  return concat(...parts.map(prependLen));
}

/** generatorString is generator_string(DSI, PRS, CI, sid, s_in_bytes). */
export function generatorString(dsi, prs, ci, sid, sInBytes) {
  const zpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}

/** generatorHash is SHA-512 of the generator string (64 bytes). */
export function generatorHash(prs, ci, sid) {
  return sha512(generatorString(DSI, prs, ci, sid, S_IN_BYTES));
}

/**
 * calculateGenerator is G.calculate_generator(H, PRS, CI, sid): RFC 9496
 * element derivation of generatorHash. Returns a ristretto255 point.
 */
export function calculateGenerator(prs, ci, sid) {
  return ristretto255_hasher.deriveToCurve(generatorHash(prs, ci, sid));
}

/**
 * sampleScalar is G.sample_scalar() as the draft recommends: 32 bytes from
 * random(n) with the bits above 252 cleared (so below the group order).
 * Zero is drawn again. Returns the 32-byte little-endian scalar.
 */
export function sampleScalar(random) {
  for (;;) {
    const b = Uint8Array.from(random(SCALAR_SIZE));
    if (b.length !== SCALAR_SIZE) throw new Error('random source gave the wrong length');
    b[31] &= 0x0f;
    if (b.some((x) => x !== 0)) return b;
  }
}

/** scalarFromBytes reads a canonical little-endian scalar; it throws for one ≥ the order, or zero. */
export function scalarFromBytes(b) {
  if (b.length !== SCALAR_SIZE) throw new RangeError('scalar must be 32 bytes');
  let s = 0n;
  for (let i = SCALAR_SIZE - 1; i >= 0; i--) s = (s << 8n) | BigInt(b[i]);
  if (s === 0n || s >= GROUP_ORDER) throw new RangeError('not a canonical non-zero scalar');
  return s;
}

/** scalarMult is G.scalar_mult(y, g): the encoding of y*g. */
export function scalarMult(y, g) {
  return g.multiply(y).toBytes();
}

/**
 * scalarMultVfy is G.scalar_mult_vfy(y, X): the encoding of y*decode(X),
 * or IDENTITY when X does not decode. The caller must abort on IDENTITY.
 */
export function scalarMultVfy(y, x) {
  let p;
  try {
    p = Point.fromBytes(x);
  } catch {
    return IDENTITY.slice();
  }
  if (p.is0()) return IDENTITY.slice();
  return p.multiply(y).toBytes();
}

/** decodes reports whether x is the canonical encoding of an element. */
export function decodes(x) {
  try {
    Point.fromBytes(x);
    return true;
  } catch {
    return false;
  }
}

/** isIdentity reports whether an encoded element is G.I. */
export function isIdentity(k) {
  return k.length === ELEMENT_SIZE && k.every((x) => x === 0);
}

/** transcriptIR is transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb). */
export function transcriptIR(ya, ada, yb, adb) {
  return concat(lvCat(ya, ada), lvCat(yb, adb));
}

/** lexicographicallyLarger is the draft's lexiographically_larger. */
export function lexicographicallyLarger(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return a.length > b.length;
}

/** oCat is o_cat: "oc", then the larger of a and b, then the other. */
export function oCat(a, b) {
  return lexicographicallyLarger(a, b) ? concat(OC, a, b) : concat(OC, b, a);
}

/** transcriptOC is transcript_oc(Ya, ADa, Yb, ADb), for the draft's vectors. */
export function transcriptOC(ya, ada, yb, adb) {
  return oCat(lvCat(ya, ada), lvCat(yb, adb));
}

/** iskInput is lv_cat(DSI || "_ISK", sid, K) || transcript. */
export function iskInput(sid, k, transcript) {
  return concat(lvCat(DSI_ISK, sid, k), transcript);
}

/** isk is the intermediate session key SHA-512(iskInput(sid, K, transcript)). */
export function isk(sid, k, transcript) {
  return sha512(iskInput(sid, k, transcript));
}

/** sidOutput is SHA-512("CPaceSidOutput" || transcript). */
export function sidOutput(transcript) {
  return sha512(concat(SID_OUTPUT, transcript));
}
