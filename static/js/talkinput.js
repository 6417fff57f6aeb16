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
// into, a checkbox too: Space is its own there), 'control' (another button,
// link or summary: Space activates it), 'page' (anything else).

const PREVENT = Object.freeze({ type: 'prevent' });

export class TalkInput {
  #pointerId = null; // the one pointer that holds the button
  #space = false; // Space is held
  #latched = false; // hands-free: tapped on, not yet tapped off
  #down = false;

  get isDown() {
    return this.#down;
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

  /** keyDown: { code, ctrlKey, metaKey, altKey, repeat, target, active, handsFree }. */
  keyDown({ code, ctrlKey, metaKey, altKey, repeat, target, active, handsFree }) {
    if (code !== 'Space' || ctrlKey || metaKey || altKey || !active) return [];
    if (target === 'field') return []; // typing a name, or ticking a box: not talking
    if (target === 'control') return []; // Space on another button or link activates it
    const out = [PREVENT]; // no page scroll, and no click on the talk button
    if (repeat || this.#space) return out; // held keys repeat: one press is one turn
    if (handsFree) return this.#toggle(out);
    this.#space = true;
    return this.#sync(out);
  }

  /** keyUp: { code }. */
  keyUp({ code }) {
    if (code !== 'Space' || !this.#space) return [];
    this.#space = false;
    return this.#sync([PREVENT]);
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
    this.#space = false;
    this.#latched = false;
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
    const now = this.#pointerId !== null || this.#space || this.#latched;
    if (now === this.#down) return out;
    this.#down = now;
    out.push(now ? { type: 'down', latch: this.#latched } : { type: 'up' });
    return out;
  }
}
