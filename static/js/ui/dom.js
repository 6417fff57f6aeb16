// Tiny DOM helpers shared by the screens.

import * as store from '../store.js';

export const $ = (id) => document.getElementById(id);

const SCREENS = ['home', 'lobby', 'room'];

/**
 * showScreen shows one screen, hides the others (hidden removes them from
 * the accessibility tree too), records it in the store and moves focus to
 * its heading so a screen reader starts reading the new screen.
 */
export function showScreen(name) {
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  store.update({ screen: name });
  const h = $(`screen-${name}`).querySelector('h1');
  if (h) {
    h.tabIndex = -1;
    h.focus({ preventScroll: true });
  }
  scrollTo(0, 0);
}

/** setText sets text only when it changed (live regions announce every change). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** showAlert shows or hides (empty message) an element with role="alert". */
export function showAlert(el, message) {
  setText(el, message || '');
  el.hidden = !message;
}
