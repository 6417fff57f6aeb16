// The per-frame logic the worker runs, kept free of browser APIs so Node can
// test it. A transform takes a frame's bytes and returns the bytes to send
// on, or null to drop the frame. It never throws and never returns
// plaintext for a frame that failed: in Chromium one exception inside a
// transform stopped the sender for good, and a frame passed on undecrypted
// reaches the decoder as loud noise.

import { codeOf } from './errors.js';
import { formatKid, MAX_KID } from './keys.js';
import { parseHeader } from './header.js';

// At most one "cant-decrypt" (and one "unknown-sender", one "cant-encrypt")
// event per second: a wrong key fails on every frame, 50 times a second.
export const EVENT_INTERVAL_MS = 1000;

// An event names at most this many distinct codes or KIDs.
export const MAX_EVENT_DETAILS = 8;

/**
 * Throttle counts hits and lets an event out at most once per interval,
 * carrying the count since the last event and the distinct details (error
 * codes, KIDs) seen, up to MAX_EVENT_DETAILS. flush() lets out what is
 * pending once the interval has passed (call it from a timer).
 */
export class Throttle {
  #interval;
  #now;
  #last = -Infinity;
  #pending = 0;
  #details = new Set();

  constructor(intervalMs = EVENT_INTERVAL_MS, now = () => Date.now()) {
    this.#interval = intervalMs;
    this.#now = now;
  }

  /** hit records one occurrence; it returns { count, details } when an event is due, else null. */
  hit(detail) {
    this.#pending++;
    if (this.#details.size < MAX_EVENT_DETAILS) this.#details.add(detail);
    return this.flush();
  }

  flush() {
    if (this.#pending === 0 || this.#now() - this.#last < this.#interval) return null;
    const ev = { count: this.#pending, details: [...this.#details] };
    this.#last = this.#now();
    this.#pending = 0;
    this.#details.clear();
    return ev;
  }
}

/**
 * encryptTransform wraps a Sender. emit(event) receives throttled
 * { type: 'cant-encrypt', count, codes } events. stats() returns
 * { encrypted, passed, dropped }; framesOut = encrypted + passed is what the
 * watchdog compares with packetsSent.
 */
export function encryptTransform(sender, emit = () => {}, now) {
  const stats = { encrypted: 0, passed: 0, dropped: 0 };
  const failures = new Throttle(EVENT_INTERVAL_MS, now);
  async function transform(data) {
    try {
      if (data.length === 0) {
        stats.passed++;
        return data;
      }
      const out = await sender.encrypt(data);
      stats.encrypted++;
      return out;
    } catch (err) {
      stats.dropped++;
      const ev = failures.hit(codeOf(err) || 'internal');
      if (ev) safeEmit(emit, { type: 'cant-encrypt', count: ev.count, codes: ev.details });
      return null;
    }
  }
  function flush() {
    const ev = failures.flush();
    if (ev) safeEmit(emit, { type: 'cant-encrypt', count: ev.count, codes: ev.details });
  }
  return { transform, flush, stats: () => ({ ...stats }) };
}

/**
 * decryptTransform wraps a Receiver. emit receives throttled
 * { type: 'cant-decrypt', count, codes } and
 * { type: 'unknown-sender', count, kids } events (KIDs as 12 hex digits, so
 * the app can ask those members for their hellos).
 */
export function decryptTransform(receiver, emit = () => {}, now) {
  const stats = { decrypted: 0, passed: 0, dropped: 0 };
  const failures = new Throttle(EVENT_INTERVAL_MS, now);
  const unknown = new Throttle(EVENT_INTERVAL_MS, now);
  const report = (type, ev) => {
    if (!ev) return;
    if (type === 'unknown-sender') safeEmit(emit, { type, count: ev.count, kids: ev.details });
    else safeEmit(emit, { type, count: ev.count, codes: ev.details });
  };
  async function transform(data) {
    try {
      if (data.length === 0) {
        stats.passed++;
        return data;
      }
      const out = await receiver.decrypt(data);
      stats.decrypted++;
      return out;
    } catch (err) {
      stats.dropped++;
      if (codeOf(err) === 'unknown-kid') report('unknown-sender', unknown.hit(kidOf(data)));
      else report('cant-decrypt', failures.hit(codeOf(err) || 'internal'));
      return null;
    }
  }
  function flush() {
    report('cant-decrypt', failures.flush());
    report('unknown-sender', unknown.flush());
  }
  return { transform, flush, stats: () => ({ ...stats }) };
}

// kidOf names the sender of a frame that failed as unknown-kid (so its
// header parsed), for the event only.
function kidOf(data) {
  try {
    const { kid } = parseHeader(data, 1);
    return kid <= MAX_KID ? formatKid(kid) : '';
  } catch {
    return '';
  }
}

function safeEmit(emit, ev) {
  try {
    emit(ev);
  } catch {
    // A broken listener must not break the media path.
  }
}
