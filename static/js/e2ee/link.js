// Join links, identical to e2ee/link.go: https://host/#1.<base64url(S), 43 characters>.
// S lives only in the fragment, which browsers never send to a server.

import { fail } from './errors.js';
import { bytes, fromBase64url, isBase64url, toBase64url } from './encoding.js';
import { SECRET_SIZE } from './keys.js';

export const LINK_VERSION = '1';
const SECRET_CHARS = Math.ceil((SECRET_SIZE * 8) / 6); // 43

/** formatFragment returns "1.<base64url(S)>", the part after '#'. */
export function formatFragment(secret) {
  secret = bytes(secret);
  if (secret.length !== SECRET_SIZE) throw fail('bad-secret');
  return `${LINK_VERSION}.${toBase64url(secret)}`;
}

/** formatLink returns base + "#" + formatFragment(secret); base must have no fragment. */
export function formatLink(base, secret) {
  if (typeof base !== 'string' || base.includes('#')) throw fail('link-format');
  return `${base}#${formatFragment(secret)}`;
}

/** parseLink returns S from a full link "https://host/#1.…". */
export function parseLink(link) {
  if (typeof link !== 'string') throw fail('link-format');
  const i = link.indexOf('#');
  if (i < 0) throw fail('link-format');
  return parseFragment(link.slice(i + 1));
}

/** parseFragment returns S from "1.…" or "#1.…" (location.hash). Errors never echo the input. */
export function parseFragment(frag) {
  if (typeof frag !== 'string') throw fail('link-format');
  if (frag.startsWith('#')) frag = frag.slice(1);
  const dot = frag.indexOf('.');
  if (dot < 0) throw fail('link-format');
  if (frag.slice(0, dot) !== LINK_VERSION) throw fail('link-version');
  const enc = frag.slice(dot + 1);
  if (!isBase64url(enc)) throw fail('link-chars');
  if (enc.length !== SECRET_CHARS) throw fail('link-length');
  const secret = fromBase64url(enc);
  if (secret === null) throw fail('link-chars'); // unused low bits set: not canonical
  return secret;
}
