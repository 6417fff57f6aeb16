// The talk key: which keyboard key talks (Space unless the user learned
// another, e.g. a Bluetooth clicker's key or F8), and what a key pressed
// while learning means. Pure: ui/talkkey.js feeds it key events and shows
// the outcome; prefs.js keeps the learned key on this device only.
//
// A key is named by KeyboardEvent.code (where it sits on the keyboard), not
// .key (what it types), so the talk key stays put across keyboard layouts
// and Shift.

export const DEFAULT_TALK_KEY = 'Space';

// The longest code we keep: real codes are short ("MediaPlayPause" is one
// of the longest); a stored value beyond this is not one of ours.
export const MAX_CODE_LENGTH = 32;

// Keys that cannot talk, and why (shown while learning). Tab and Enter
// are how keyboard users reach and press every other control; Escape is
// how learning is cancelled.
export const REFUSED = Object.freeze({
  Tab: 'Tab moves between controls, so it cannot be the talk key.',
  Enter: 'Enter presses buttons, so it cannot be the talk key.',
  NumpadEnter: 'Enter presses buttons, so it cannot be the talk key.',
});

// Modifier keys: their own keydown carries their modifier flag, which the
// talk input ignores (talkinput.js), and they belong to shortcuts.
const MODIFIERS = new Set([
  'ShiftLeft', 'ShiftRight', 'ControlLeft', 'ControlRight', 'AltLeft', 'AltRight',
  'MetaLeft', 'MetaRight', 'OSLeft', 'OSRight', 'CapsLock', 'Fn', 'FnLock',
]);
const MODIFIER_REASON = 'Shift, Ctrl, Alt and the system key make shortcuts, so they cannot be the talk key.';
const COMBO_REASON = 'Press one key on its own: keys held with Ctrl, Alt or the system key are shortcuts.';
const UNKNOWN_REASON = 'This key does not say which key it is, so it cannot be the talk key.';

const CODE_SHAPE = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * learnKey says what a keydown means while learning: { kind: 'learned',
 * code }, { kind: 'cancel' } (Escape), or { kind: 'refused', reason }.
 * ev: { code, ctrlKey, metaKey, altKey }.
 */
export function learnKey({ code, ctrlKey = false, metaKey = false, altKey = false }) {
  if (code === 'Escape') return { kind: 'cancel' };
  if (Object.hasOwn(REFUSED, code)) return { kind: 'refused', reason: REFUSED[code] };
  if (MODIFIERS.has(code)) return { kind: 'refused', reason: MODIFIER_REASON };
  if (ctrlKey || metaKey || altKey) return { kind: 'refused', reason: COMBO_REASON };
  if (!isCode(code)) return { kind: 'refused', reason: UNKNOWN_REASON };
  return { kind: 'learned', code };
}

/** storedTalkKey reads a remembered value: a learnable code, else the default. */
export function storedTalkKey(value) {
  if (!isCode(value)) return DEFAULT_TALK_KEY;
  return learnKey({ code: value }).kind === 'learned' ? value : DEFAULT_TALK_KEY;
}

/** keyLabel is how a code is shown: "KeyT" is T, "Digit5" is 5, "F8" is F8. */
export function keyLabel(code) {
  const m = /^(?:Key|Digit)(.)$/.exec(code);
  if (m) return m[1];
  if (code.startsWith('Numpad')) return `Numpad ${code.slice('Numpad'.length)}`;
  return code.replace(/([a-z])([A-Z0-9])/g, '$1 $2'); // "MediaPlayPause": "Media Play Pause"
}

function isCode(v) {
  return typeof v === 'string' && v.length <= MAX_CODE_LENGTH && CODE_SHAPE.test(v);
}
