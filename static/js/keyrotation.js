// When a member moves its own sender key on (docs/keys.md, "Sending: when a
// member rotates"). A pure state machine, like talkturn.js: step(event)
// changes the state and returns effects for the caller (session.js) to
// perform; it makes no key, sends nothing, keeps no timer, and reads no
// clock. The keys themselves are the session's (memberkeys.js).
//
// A rotation goes in two steps so that a turn in progress has no gap: the
// new key is sent to every member first, and only KeySwitchDelay after it
// went out does the sender encrypt under it (receivers hold it by then).
// Triggers that come while a rotation waits for its switch are folded into
// one more rotation right after the switch: at most one rotation per
// KeySwitchDelay, and a leaver that received the pending key is covered by
// the next one.
//
// Events in (step({ type, ... })):
//   start                  the membership's first key (epoch 0) is in use:
//                          the RotationInterval timer starts
//   trigger { reason }     rotate: 'left' (member_left), 'joined' (the hello
//                          of a member that came after us), 'timer'
//   sent { epoch }         the new key of epoch went out to every member
//   switch { epoch }       KeySwitchDelay after sent (the timer effect)
//   interval { seq }       RotationInterval after the last switch (timer effect)
//   stop                   the membership ended: late timers do nothing
//
// Effects out (arrays of):
//   { type: 'rotate', epoch }   make the sender key of epoch and send it to
//                               every member whose hello we hold; then step
//                               sent { epoch }
//   { type: 'use', epoch }      encrypt under epoch from now on
//   { type: 'timer', ms, event } step(event) after ms; a late one is told
//                               apart (its epoch or seq) and ignored

import { KeySwitchDelay, RotationInterval } from './e2ee/keyring.js';
import { MAX_EPOCH } from './e2ee/epoch.js';

export { KeySwitchDelay, RotationInterval };

export class KeyRotation {
  #epoch = 0; // the epoch we encrypt under
  #pending = null; // the epoch sent (or being sent) and not yet switched to
  #folded = false; // a trigger came while #pending waited
  #seq = 0; // numbers the interval timers; only the newest counts
  #stopped = false;

  /** epoch is the epoch in use for sending. */
  get epoch() {
    return this.#epoch;
  }

  /** pending is the epoch sent but not yet in use, or null. */
  get pending() {
    return this.#pending;
  }

  step(ev) {
    if (this.#stopped) return [];
    switch (ev.type) {
      case 'start':
        return [this.#interval()];
      case 'trigger':
      case 'interval':
        if (ev.type === 'interval' && ev.seq !== this.#seq) return [];
        if (this.#pending !== null) {
          this.#folded = true;
          return [];
        }
        return this.#rotate();
      case 'sent':
        if (ev.epoch !== this.#pending) return [];
        return [{ type: 'timer', ms: KeySwitchDelay, event: { type: 'switch', epoch: ev.epoch } }];
      case 'switch': {
        if (ev.epoch !== this.#pending) return [];
        this.#epoch = this.#pending;
        this.#pending = null;
        const fx = [{ type: 'use', epoch: this.#epoch }, this.#interval()];
        if (this.#folded) {
          this.#folded = false;
          fx.push(...this.#rotate());
        }
        return fx;
      }
      case 'stop':
        this.#stopped = true;
        this.#pending = null;
        this.#folded = false;
        return [];
      default:
        throw new Error(`keyrotation: unknown event ${ev.type}`);
    }
  }

  #rotate() {
    // The interval timer of the key being replaced is void: the new key's
    // own starts at its switch.
    this.#seq++;
    this.#pending = (this.#epoch + 1) & MAX_EPOCH;
    return [{ type: 'rotate', epoch: this.#pending }];
  }

  // interval (re)starts the timer rotation: RotationInterval after the key
  // now in use, whatever made it (a new key for a join resets the clock).
  #interval() {
    return { type: 'timer', ms: RotationInterval, event: { type: 'interval', seq: ++this.#seq } };
  }
}
