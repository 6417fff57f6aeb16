// The per-KID replay window, identical to e2ee/replay.go: the highest CTR
// that authenticated and a 128-bit bitmap of the CTRs just below it.

import { fail } from './errors.js';

export const REPLAY_WINDOW = 128n;
const MASK = (1n << REPLAY_WINDOW) - 1n;

export class ReplayWindow {
  #started = false;
  #top = 0n;
  #seen = 0n; // bit i: CTR top-i was seen

  /** check throws 'replay' or 'too-old'; it never changes the window. */
  check(ctr) {
    if (!this.#started || ctr > this.#top) return;
    const d = this.#top - ctr;
    if (d >= REPLAY_WINDOW) throw fail('too-old');
    if ((this.#seen >> d) & 1n) throw fail('replay');
  }

  /** accept records a CTR whose frame authenticated. Call check first. */
  accept(ctr) {
    if (!this.#started) {
      this.#started = true;
      this.#top = ctr;
      this.#seen = 1n;
    } else if (ctr > this.#top) {
      const n = ctr - this.#top;
      this.#seen = n >= REPLAY_WINDOW ? 1n : ((this.#seen << n) | 1n) & MASK;
      this.#top = ctr;
    } else {
      this.#seen |= 1n << (this.#top - ctr);
    }
  }
}
