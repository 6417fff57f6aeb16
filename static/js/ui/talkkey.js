// The "Talk key" control: press it, then the key to talk with (talkkey.js
// decides what a key means; this wires the DOM). While learning, every
// keydown goes here first (a capturing listener on window) and no further,
// so the key being learned neither talks nor presses the focused control.

import { DEFAULT_TALK_KEY, keyLabel, learnKey } from '../talkkey.js';
import { loadTalkKey, saveTalkKey } from '../prefs.js';
import { setText } from './dom.js';

const IDLE_NOTE = 'Press it, then the key to talk with. Only this device keeps it.';
const LEARNING_NOTE = 'Press the key to talk with, or Escape to keep the one you have.';

/**
 * bindTalkKey wires the button and its note. onStart() runs as learning
 * begins (let go of a held turn: the key may change under it); onChanged()
 * after a key is learned or learning ends (the room re-renders its hints
 * and moves the focus to the talk button). Returns { current, cancel }.
 */
export function bindTalkKey(button, note, { onStart, onChanged }) {
  let key = loadTalkKey();
  let learning = false;
  let swallowUp = null; // the code whose keydown ended learning: its keyup is ours too

  const show = (text) => {
    setText(button, learning ? 'Talk key: press a key…' : `Talk key: ${keyLabel(key)}`);
    button.setAttribute('aria-pressed', String(learning));
    setText(note, text);
  };

  const stop = (text) => {
    learning = false;
    removeEventListener('keydown', onKey, true);
    show(text);
    onChanged();
  };

  const onKey = (ev) => {
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (ev.repeat) return;
    const got = learnKey(ev);
    if (got.kind === 'refused') {
      setText(note, `${got.reason} ${LEARNING_NOTE}`);
      return;
    }
    swallowUp = ev.code;
    if (got.kind === 'learned') {
      key = got.code;
      saveTalkKey(key);
      stop(key === DEFAULT_TALK_KEY ? 'Space talks, as it does by default.' : `${keyLabel(key)} talks now, instead of Space.`);
    } else {
      stop(IDLE_NOTE);
    }
  };

  addEventListener('keyup', (ev) => {
    if (ev.code !== swallowUp) return;
    swallowUp = null;
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }, true);

  button.addEventListener('click', () => {
    if (learning) {
      stop(IDLE_NOTE);
      return;
    }
    onStart();
    learning = true;
    addEventListener('keydown', onKey, true);
    show(LEARNING_NOTE);
  });

  show(IDLE_NOTE);
  return {
    current: () => key,
    cancel: () => {
      if (learning) stop(IDLE_NOTE);
    },
  };
}
