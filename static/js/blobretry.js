// Sending blobs the server may refuse for a while: a blob (or a blobs
// batch) over the client address's relay budget gets too_many_blobs and
// goes to nobody
// (docs/protocol.md). A lost hello leaves its sender's audio impossible to
// decrypt for everyone it missed, so a refused blob is sent again after a
// backoff, a bounded number of times. Each blob carries an id so that the
// refusal names it; success has no reply, so a blob the server has not
// refused within FORGET_MS is taken as sent.

/**
 * Most items one blobs message carries (docs/protocol.md): one per other
 * member of a room of 50, so a key rotation or a re-key is one message,
 * where 49 single blobs would be over the server's message burst of 40.
 */
export const MAX_BLOBS_ITEMS = 49;

/**
 * blobsMessages turns items [{ to, data }] (each a blob for one member) into
 * blobs messages of at most MAX_BLOBS_ITEMS items: one, unless the room is
 * larger than 50. None for no items (the server refuses an empty batch).
 */
export function blobsMessages(items) {
  const msgs = [];
  for (let i = 0; i < items.length; i += MAX_BLOBS_ITEMS) {
    msgs.push({ type: 'blobs', items: items.slice(i, i + MAX_BLOBS_ITEMS).map(({ to, data }) => ({ to, data })) });
  }
  return msgs;
}

/** Delays before each new try of a refused blob; its length bounds the tries. */
export const BLOB_RETRY_MS = [1000, 2000, 4000, 8000];
/** How long a sent blob's id is remembered for a refusal (errors come back in one round trip). */
export const FORGET_MS = 10000;

export class BlobResender {
  #send;
  #nextId;
  #timers;
  #pending = new Map(); // id -> { msg, tries, forget }
  #retries = new Set(); // timers of tries to come
  #closed = false;

  /**
   * send(msg) sends a message object and returns false if it could not;
   * nextId() reserves a request id (Signaling.nextId). timers is
   * { setTimeout, clearTimeout, random } (tests pass fakes).
   */
  constructor({ send, nextId, timers = globalThis }) {
    this.#send = send;
    this.#nextId = nextId;
    this.#timers = timers;
  }

  /**
   * send sends blob message msg ({ type: 'blob', data, to? }, or a blobs
   * batch, which a refusal sends again whole: it went to nobody); false if
   * the socket is closed.
   */
  send(msg, tries = 0) {
    if (this.#closed) return false;
    const id = this.#nextId();
    if (!this.#send({ ...msg, id })) return false;
    const forget = this.#timers.setTimeout(() => this.#pending.delete(id), FORGET_MS);
    this.#pending.set(id, { msg, tries, forget });
    return true;
  }

  /**
   * onError takes a server error message; it reports whether it was the
   * refusal of one of our blobs (then handled: sent again later, or given
   * up after BLOB_RETRY_MS.length tries).
   */
  onError(m) {
    const p = m?.id ? this.#pending.get(m.id) : undefined;
    if (!p) return false;
    this.#pending.delete(m.id);
    this.#timers.clearTimeout(p.forget);
    if (m.code !== 'too_many_blobs' || p.tries >= BLOB_RETRY_MS.length || this.#closed) return true;
    const rnd = this.#timers.random ?? Math.random;
    const delay = BLOB_RETRY_MS[p.tries] * (0.75 + rnd() * 0.5);
    const t = this.#timers.setTimeout(() => {
      this.#retries.delete(t);
      this.send(p.msg, p.tries + 1);
    }, delay);
    this.#retries.add(t);
    return true;
  }

  /** close drops every pending try: the connection is gone. */
  close() {
    this.#closed = true;
    for (const p of this.#pending.values()) this.#timers.clearTimeout(p.forget);
    for (const t of this.#retries) this.#timers.clearTimeout(t);
    this.#pending.clear();
    this.#retries.clear();
  }
}
