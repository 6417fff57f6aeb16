// The talk button's input as a pure state machine: which pointer and key
// events make the button go down and up, in hold or hands-free mode. It
// touches no DOM: ui/talk.js describes each event (the key's target reduced
// to a kind, see below) and performs the effects returned. What the button
// going down means is talkturn.js's business.
//
// Effects out (arrays of):
//   { type: 'prevent' }         preventDefault on the event
//   { type: 'capture', id }     capture the pointer; then captured(id), or
//                               pointerUp(id) if the browser refused
//   { type: 'uncapture', id }   let the pointer go
//   { type: 'down', latch }     the button went down (latch: a hands-free tap)
//   { type: 'up' }              the button came up
//   { type: 'focus' }           move the focus to the talk button
//
// Key targets: 'button' (the talk button itself), 'field' (something typed
// into, a checkbox too: Space is its own there, and a learned letter key is
// typing), 'control' (another button, link or summary: Space activates it;
// a learned key such as F8 does nothing there, so it talks), 'page'
// (anything else).
//
// The talk key is Space unless the user learned another (talkkey.js); the
// key held is remembered by its code, so its keyup ends the turn even if the
// talk key changed meanwhile.

import { DEFAULT_TALK_KEY } from './talkkey.js';

const PREVENT = Object.freeze({ type: 'prevent' });

export class TalkInput {
  #pointerId = null; // the one pointer that holds the button
  #key = null; // the code of the talk key held, or null
  #latched = false; // hands-free: tapped on, not yet tapped off
  #bluetooth = false; // a Bluetooth button held (bluetoothptt.js)
  #down = false;

  get isDown() {
    return this.#down;
  }

  /** isLatched: down by a tap that nothing holds (hands-free, or a headset button). */
  get isLatched() {
    return this.#latched;
  }

  /** pointerDown: { id, isMouse, mouseButton, active, handsFree }. */
  pointerDown({ id, isMouse, mouseButton, active, handsFree }) {
    if (this.#pointerId !== null || !active) return [];
    if (isMouse && mouseButton !== 0) return [];
    const out = [PREVENT]; // no focus-steal scroll, no emulated mouse events
    if (handsFree) return this.#toggle(out);
    this.#pointerId = id;
    out.push({ type: 'capture', id });
    return out;
  }

  /** captured: the browser took the capture of pointer id; the button goes down. */
  captured(id) {
    return id === this.#pointerId ? this.#sync([]) : [];
  }

  /** pointerUp: pointerup, pointercancel or lostpointercapture (or a refused capture). */
  pointerUp(id) {
    if (id !== this.#pointerId) return [];
    this.#pointerId = null;
    return this.#sync([]);
  }

  /** keyDown: { code, talkKey, ctrlKey, metaKey, altKey, repeat, target, active, handsFree }. */
  keyDown({ code, talkKey = DEFAULT_TALK_KEY, ctrlKey, metaKey, altKey, repeat, target, active, handsFree }) {
    if (code !== talkKey || ctrlKey || metaKey || altKey || !active) return [];
    if (target === 'field') return []; // typing a name, or ticking a box: not talking
    if (target === 'control' && code === 'Space') return []; // Space on another button or link activates it
    const out = [PREVENT]; // no page scroll, and no click on the talk button
    if (repeat || this.#key !== null) return out; // held keys repeat: one press is one turn
    if (handsFree) return this.#toggle(out);
    this.#key = code;
    return this.#sync(out);
  }

  /** keyUp: { code }. */
  keyUp({ code }) {
    if (code !== this.#key) return [];
    this.#key = null;
    return this.#sync([PREVENT]);
  }

  /**
   * headsetTap: a headset or lock-screen button (mediasession.js). It is a
   * tap whatever the Hands-free box says, since nothing can be held on it:
   * it starts a turn, or ends the one going on however it was started.
   */
  headsetTap({ active }) {
    if (!active) return [];
    return this.#down ? this.release() : this.#toggle([]);
  }

  /**
   * bluetoothDown: a Bluetooth push-to-talk button went down. It is a finger
   * on the talk button: held until bluetoothUp in hold mode, a tap in
   * hands-free mode (its release then means nothing).
   */
  bluetoothDown({ active, handsFree }) {
    if (!active || this.#bluetooth) return [];
    if (handsFree) return this.#toggle([]);
    this.#bluetooth = true;
    return this.#sync([]);
  }

  /** bluetoothUp: the Bluetooth button came up, or went away while held. */
  bluetoothUp() {
    if (!this.#bluetooth) return [];
    this.#bluetooth = false;
    return this.#sync([]);
  }

  /**
   * blur: the window lost focus. A held key's keyup goes elsewhere now; a
   * latch has no up to lose, so hands-free talking survives a click elsewhere.
   */
  blur() {
    return this.#latched ? [] : this.release();
  }

  /** release lets go of everything: a hidden page, Leave, the session ending a turn. */
  release() {
    const out = [];
    if (this.#pointerId !== null) out.push({ type: 'uncapture', id: this.#pointerId });
    this.#pointerId = null;
    this.#key = null;
    this.#latched = false;
    this.#bluetooth = false;
    return this.#sync(out);
  }

  /**
   * modeSwitched: the Hands-free box changed. A switch of mode never leaves
   * the mic on, and the focus goes to the talk button: Space on the focused
   * box would toggle it again rather than talk.
   */
  modeSwitched() {
    return [...this.release(), { type: 'focus' }];
  }

  #toggle(out) {
    this.#latched = !this.#latched;
    return this.#sync(out);
  }

  #sync(out) {
    const now = this.#pointerId !== null || this.#key !== null || this.#latched || this.#bluetooth;
    if (now === this.#down) return out;
    this.#down = now;
    out.push(now ? { type: 'down', latch: this.#latched } : { type: 'up' });
    return out;
  }
}
