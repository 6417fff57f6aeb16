// "Say again": the last turns this listener heard, kept as decoded audio so
// one can be played again on this device alone. Pure: no Web Audio, no DOM,
// no clock; sayagaintap.js feeds it samples and floor changes, ui/room.js
// shows its list. The audio lives in typed arrays in page memory only (never
// a Blob, which a browser may put on disk), and wipe() zeroes every sample
// before it lets go of it, so nothing of a turn outlives a Leave or a re-key
// in memory waiting to be collected.

// About two minutes in all: a few turns of a radio conversation, the stretch
// one might ask to hear again, and small in memory (16-bit samples at the
// page's audio rate: 120 s × 48 kHz × 2 B = 11.5 MB at most).
export const KEEP_SECONDS = 120;
// A turn shorter than this is a tap of the button, not a message: not kept.
export const MIN_TURN_MS = 300;
// Audio is stored in fixed blocks of this many samples (0.5 s at 48 kHz):
// appending never copies what is already stored, and dropping old audio
// frees whole blocks.
export const CHUNK_FRAMES = 24000;
// An outage shorter than this lost at most a word or two of jitter buffer:
// not worth a line in the list.
export const MIN_GAP_MS = 1000;
// Gap marks kept at most: a flapping network with nobody talking must not
// grow the list without end.
export const MAX_GAPS = 10;

// Full scale of a stored sample: symmetric, so -1 and 1 both come back exact.
const FULL = 32767;

/** ReplayTurn is one turn heard: who, when, and its samples in blocks. */
export class ReplayTurn {
  constructor({ id, talker, name, at }) {
    this.id = id;
    this.talker = talker; // member id
    this.name = name;
    this.at = at; // wall-clock ms of its first kept sample
    this.chunks = []; // Int16Array blocks of CHUNK_FRAMES, the last one filled to `fill`
    this.fill = 0;
    this.frames = 0;
  }
}

export class TurnStore {
  #rate;
  #maxFrames;
  #chunkFrames;
  #alloc;
  #entries = []; // oldest first: ReplayTurn or { gap: true, at, ms }
  #current = null; // the ReplayTurn being recorded
  #frames = 0; // in all stored turns
  #nextId = 1;

  /**
   * rate: samples per second of what append() gets. keepSeconds and
   * chunkFrames are for tests; alloc(n) makes a block (the browser test
   * watches the blocks it hands out).
   */
  constructor({ rate, keepSeconds = KEEP_SECONDS, chunkFrames = CHUNK_FRAMES, alloc = (n) => new Int16Array(n) }) {
    if (!(rate > 0)) throw new Error('sayagain: a sample rate is needed');
    this.#rate = rate;
    this.#maxFrames = Math.round(keepSeconds * rate);
    this.#chunkFrames = chunkFrames;
    this.#alloc = alloc;
  }

  get rate() {
    return this.#rate;
  }

  /** recording: a turn is being recorded now. */
  get recording() {
    return this.#current !== null;
  }

  /** turns is how many turns are kept (the one being recorded too). */
  get turns() {
    return this.#entries.filter((e) => e instanceof ReplayTurn).length;
  }

  /** bytes is the memory the kept audio takes, in whole blocks. */
  get bytes() {
    let n = 0;
    for (const e of this.#entries) if (e instanceof ReplayTurn) for (const c of e.chunks) n += c.byteLength;
    return n;
  }

  /** begin starts recording a turn of talker (id and name) at wall-clock ms; a turn being recorded ends first. */
  begin({ talker, name, at }) {
    this.end();
    this.#current = new ReplayTurn({ id: this.#nextId++, talker, name, at });
    this.#entries.push(this.#current);
  }

  /** append adds samples (floats in -1..1) to the turn being recorded; without one they are ignored. */
  append(samples) {
    const t = this.#current;
    if (!t) return;
    let i = 0;
    while (i < samples.length) {
      if (t.chunks.length === 0 || t.fill === this.#chunkFrames) {
        t.chunks.push(this.#alloc(this.#chunkFrames));
        t.fill = 0;
      }
      const chunk = t.chunks[t.chunks.length - 1];
      const n = Math.min(samples.length - i, this.#chunkFrames - t.fill);
      for (let k = 0; k < n; k++) {
        const v = samples[i + k];
        chunk[t.fill + k] = v >= 1 ? FULL : v <= -1 ? -FULL : Math.round(v * FULL);
      }
      t.fill += n;
      t.frames += n;
      this.#frames += n;
      i += n;
    }
    this.#bound();
  }

  /** end stops recording; a turn shorter than MIN_TURN_MS is dropped. */
  end() {
    const t = this.#current;
    if (!t) return;
    this.#current = null;
    if (this.#ms(t) < MIN_TURN_MS) this.#drop(t);
  }

  /** gap marks an outage: ms of audio this listener could not hear, from wall-clock `at`. */
  gap({ at, ms }) {
    if (!(ms >= MIN_GAP_MS)) return;
    this.#entries.push({ gap: true, at, ms });
    const gaps = this.#entries.filter((e) => e.gap);
    for (const g of gaps.slice(0, Math.max(0, gaps.length - MAX_GAPS))) this.#entries.splice(this.#entries.indexOf(g), 1);
  }

  /**
   * list is what the UI shows, newest first: { id, name, at, ms } for a
   * finished turn, { gap: true, at, ms } for an outage. The turn being
   * recorded is not there yet.
   */
  list() {
    const out = [];
    for (const e of this.#entries) {
      if (e.gap) out.push({ gap: true, at: e.at, ms: e.ms });
      else if (e !== this.#current) out.push({ id: e.id, name: e.name, at: e.at, ms: this.#ms(e) });
    }
    return out.reverse();
  }

  /** latest is the id of the newest finished turn, or 0. */
  latest() {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i];
      if (e instanceof ReplayTurn && e !== this.#current) return e.id;
    }
    return 0;
  }

  /** read copies turn id's samples into out(frames) (a Float32Array of that length, made by the caller); null if it is gone. */
  read(id, out) {
    const t = this.#entries.find((e) => e instanceof ReplayTurn && e.id === id && e !== this.#current);
    if (!t) return null;
    const dst = out(t.frames);
    let at = 0;
    for (const [i, c] of t.chunks.entries()) {
      const n = i === t.chunks.length - 1 ? t.fill : c.length;
      for (let k = 0; k < n; k++) dst[at + k] = c[k] / FULL;
      at += n;
    }
    return dst;
  }

  /** wipe zeroes every stored sample and forgets every turn and gap. */
  wipe() {
    for (const e of this.#entries) if (e instanceof ReplayTurn) this.#zero(e);
    this.#entries = [];
    this.#current = null;
    this.#frames = 0;
  }

  #ms(t) {
    return (t.frames / this.#rate) * 1000;
  }

  #zero(t) {
    for (const c of t.chunks) c.fill(0);
    t.chunks = [];
    t.fill = 0;
    t.frames = 0;
  }

  #drop(t) {
    this.#frames -= t.frames;
    this.#zero(t);
    const i = this.#entries.indexOf(t);
    if (i >= 0) this.#entries.splice(i, 1);
  }

  // Over the budget: the oldest turns go first (and the gap marks before
  // them, which would mark nothing left); a turn that alone is longer than
  // the budget loses its oldest blocks, so what is kept is its latest part.
  #bound() {
    while (this.#frames > this.#maxFrames) {
      const oldest = this.#entries.find((e) => e instanceof ReplayTurn);
      if (oldest !== this.#current) {
        while (this.#entries[0] !== oldest) this.#entries.shift();
        this.#drop(oldest);
        continue;
      }
      const t = this.#current;
      if (t.chunks.length < 2) return; // a block smaller than the budget cannot be: keepSeconds is tiny
      const first = t.chunks.shift();
      first.fill(0);
      t.frames -= first.length;
      this.#frames -= first.length;
      t.at += (first.length / this.#rate) * 1000;
    }
  }
}

/**
 * GapWatch turns the room's connection states (store.js 'connection') into
 * outages to mark: lost when 'connected' gives way to 'reconnecting' or
 * 'offline', back at the next 'connected'. A re-key's reconnect is a move
 * to new keys, not an outage: moving() makes the watch ignore the loss
 * under way or next to come, until connected again.
 */
export class GapWatch {
  #state = 'idle';
  #lostAt = 0;
  #moving = false;

  /** see takes the state at wall-clock now; it returns { at, ms } when an outage ended, else null. */
  see(state, now) {
    if (state === this.#state) return null;
    const was = this.#state;
    this.#state = state;
    if (was === 'connected' && (state === 'reconnecting' || state === 'offline')) {
      if (!this.#moving) this.#lostAt = now;
      return null;
    }
    if (state !== 'connected') return null;
    const lostAt = this.#lostAt;
    this.#lostAt = 0;
    this.#moving = false;
    return lostAt ? { at: lostAt, ms: now - lostAt } : null;
  }

  /** lost: the connection is down now (a turn being recorded ends). */
  get lost() {
    return this.#state === 'reconnecting' || this.#state === 'offline';
  }

  moving() {
    this.#lostAt = 0;
    this.#moving = true;
  }
}
