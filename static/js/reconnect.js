// When to try again after the signaling connection is lost. Pure: the
// session keeps the count of failed tries and owns the timer; the random
// number comes in as an argument.

// Reconnect delays: quick at first (a blip), then every 2 s, with jitter so
// a room that lost the server together does not return together. The cap
// bounds the wait after a restarted server is back (2.5 s at most, so the
// room is whole again within 5 s); a dead network costs no more for it: an
// attempt there waits out signaling.js's OPEN_WITHIN_MS, and offline waits
// for 'online'.
export const RETRY_MS = [300, 1000, 2000];
// Each delay is scaled by a factor drawn from [1 - JITTER, 1 + JITTER).
export const JITTER = 0.25;

/**
 * retryDelay is the wait in ms before the next try, after `retries` failed
 * ones in a row (0 after a connection that had joined). atLeastMs raises the
 * base for a refusal that clears slowly (too_many_rooms); it is jittered
 * too. random() is Math.random or a fake.
 */
export function retryDelay(retries, atLeastMs = 0, random = Math.random) {
  const base = RETRY_MS[Math.min(retries, RETRY_MS.length - 1)];
  return Math.max(atLeastMs, base) * (1 - JITTER + random() * 2 * JITTER);
}
