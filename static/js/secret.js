// Where the room secret S lives in this tab. It arrives in the link's
// fragment (never sent to any server by the browser), is kept in
// sessionStorage so a reload of this tab stays in the room, and is taken out
// of the address bar at once so it does not linger on screen, in screenshots
// or in the history entry. It is never written to localStorage, a cookie, a
// URL path or query, a log, or any message to the server.

import { formatFragment, formatLink, parseFragment } from './e2ee/link.js';
import { codeOf } from './e2ee/errors.js';

const KEY = 'sotto.room';
// An operator token (docs/tokens.md) an embedding app appended to the link
// as "&token=...". It admits one create or join; it is kept in memory only.
const TOKEN_MARK = '&token=';
let token = '';

/** takeToken returns the operator token that came with the link, once. */
export function takeToken() {
  const t = token;
  token = '';
  return t;
}

/**
 * takeFragment reads a secret from location.hash, if there is one, keeps it
 * for this tab and strips the fragment from the address bar. Returns
 * { secret } or { error: code } (codes from link.js, never the input), or
 * null when there is no fragment.
 */
export function takeFragment(loc = location) {
  if (!loc.hash || loc.hash === '#') return null;
  let frag = loc.hash;
  const at = frag.indexOf(TOKEN_MARK);
  if (at >= 0) {
    token = frag.slice(at + TOKEN_MARK.length);
    frag = frag.slice(0, at);
  }
  // Strip first, whatever the fragment holds: a bad link is still a secret-ish string.
  history.replaceState(history.state, '', loc.pathname + loc.search);
  try {
    const secret = parseFragment(frag);
    remember(secret);
    return { secret };
  } catch (err) {
    return { error: codeOf(err) || 'link-format' };
  }
}

/** remember keeps S for this tab only. */
export function remember(secret) {
  try {
    sessionStorage.setItem(KEY, formatFragment(secret));
  } catch {
    // sessionStorage blocked: a reload will simply lose the room
  }
}

/** stored returns the secret kept for this tab, or null. */
export function stored() {
  try {
    const frag = sessionStorage.getItem(KEY);
    return frag ? parseFragment(frag) : null;
  } catch {
    return null;
  }
}

export function forget() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing to forget
  }
}

/** inviteLink is the link to share: this origin, path "/", S in the fragment. */
export function inviteLink(secret, origin = location.origin) {
  return formatLink(`${origin}/`, secret);
}

/** sameSecret compares two secrets. Timing does not matter: both are already in this tab. */
export function sameSecret(a, b) {
  return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}
