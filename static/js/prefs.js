// Small things remembered on this device in localStorage. Never the room
// secret: that lives in sessionStorage only (secret.js).

import { DEFAULT_TALK_KEY, storedTalkKey } from './talkkey.js';
import { DEFAULT_TAIL_MS } from './talkturn.js';

const NAME_KEY = 'sotto.name';
const THEME_KEY = 'sotto.theme';
const HANDS_FREE_KEY = 'sotto.handsFree';
export const MAX_NAME_LENGTH = 40;

function get(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage blocked: behave as a first visit
  }
}

function set(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage blocked or full: the preference is simply not kept
  }
}

/**
 * cleanName makes a display name safe to show and short: no control or
 * formatting characters (which could reorder text on screen), single spaces,
 * at most MAX_NAME_LENGTH characters. Used for our own name and for names
 * other members send, which are only ever shown with textContent.
 */
export function cleanName(s) {
  if (typeof s !== 'string') return '';
  return [...s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '').replace(/\s+/gu, ' ').trim()]
    .slice(0, MAX_NAME_LENGTH).join('').trim();
}

export const loadName = () => cleanName(get(NAME_KEY) ?? '');
export const saveName = (name) => set(NAME_KEY, cleanName(name) || null);

/** loadTheme returns 'light', 'dark' or 'auto'. */
export function loadTheme() {
  const t = get(THEME_KEY);
  return t === 'light' || t === 'dark' ? t : 'auto';
}
export const saveTheme = (t) => set(THEME_KEY, t === 'auto' ? null : t);

/** loadHandsFree says whether a tap toggles talking (see ui/talk.js). */
export const loadHandsFree = () => get(HANDS_FREE_KEY) === '1';
export const saveHandsFree = (on) => set(HANDS_FREE_KEY, on ? '1' : null);

// The talk key (talkkey.js): a KeyboardEvent.code, kept only when one other
// than Space was learned; a stored value that is not a learnable key reads
// as Space.
const TALK_KEY_KEY = 'sotto.talkKey';
export const loadTalkKey = () => storedTalkKey(get(TALK_KEY_KEY));
export const saveTalkKey = (code) => set(TALK_KEY_KEY, code === DEFAULT_TALK_KEY ? null : storedTalkKey(code));

// The release tail (talkturn.js): how long the mic goes on after the button
// comes up. Only these choices; anything else stored reads as the default.
const RELEASE_TAIL_KEY = 'sotto.releaseTail';
export const RELEASE_TAIL_CHOICES_MS = Object.freeze([0, 100, 200, 400]);

/** loadReleaseTail returns the tail in ms, DEFAULT_TAIL_MS unless chosen. */
export function loadReleaseTail() {
  const v = get(RELEASE_TAIL_KEY);
  const ms = /^[0-9]+$/.test(v ?? '') ? Number(v) : NaN; // not Number(''), which is 0: off
  return RELEASE_TAIL_CHOICES_MS.includes(ms) ? ms : DEFAULT_TAIL_MS;
}
export const saveReleaseTail = (ms) => set(RELEASE_TAIL_KEY, RELEASE_TAIL_CHOICES_MS.includes(ms) && ms !== DEFAULT_TAIL_MS ? String(ms) : null);
