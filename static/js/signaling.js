// The WebSocket to /ws (protocol sotto.v1, docs/protocol.md). This module
// only moves JSON: it numbers requests so replies and errors can be matched,
// keeps the connection honest with pings, and says when it closed. What the
// messages mean is session.js's job.
//
// Nothing secret ever goes through here in clear: the room id and auth token
// are one-way derivations of the secret, and names travel as sealed blobs.

export const SUBPROTOCOL = 'sotto.v1';
// Close codes the server uses (signal/conn.go).
export const CLOSE_UNSUPPORTED_VERSION = 4001;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_REMOVED = 4003; // the operator removed us (after a "removed" message)
// The close code we send for a connection we give up on (no pong, or a
// page back from a freeze): the server takes it as a network drop and
// keeps our membership for a resume, where any other close would be a leave.
export const CLOSE_GAVE_UP = 4000;

// A phone that changed networks can keep a dead TCP connection for minutes;
// a ping the server must answer finds out in PING_EVERY + PONG_WITHIN.
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 8000;
const OPEN_WITHIN_MS = 10000;
const REQUEST_WITHIN_MS = 15000;

/** SignalError is an error message from the server: { code, message }. */
export class SignalError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'SignalError';
    this.code = code;
  }
}

// Routing keys (docs/cluster.md): a load balancer in front of several nodes
// sends each connection to the node that holds its room by the URL alone,
// because the room travels only inside messages it cannot read. The server
// sees the room id in create/join/resume and the nameplate in knock anyway,
// and refuses a message naming another room than the URL did.
export const ROUTE_ROOM = 'r'; // the room id, base64url: create, join, resume
export const ROUTE_NAMEPLATE = 'np'; // a typed code's nameplate: knock

/**
 * socketURL is the signaling endpoint of the page's own origin, with one
 * routing key when given: { room } (base64url room id) or { nameplate }.
 */
export function socketURL(loc = location, { room = '', nameplate = '' } = {}) {
  const base = `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
  if (room) return `${base}?${ROUTE_ROOM}=${encodeURIComponent(room)}`;
  if (nameplate) return `${base}?${ROUTE_NAMEPLATE}=${encodeURIComponent(nameplate)}`;
  return base;
}

export class Signaling {
  #ws = null;
  #nextId = 1;
  #pending = new Map(); // id -> { resolve, reject, timer }
  #pinger = 0;
  #closed = false;

  /**
   * onMessage(msg) gets every server message (replies too, after their
   * request has been settled); onClose({ code, clean }) is called once, when
   * the socket is gone for any reason other than close().
   */
  constructor({ url = socketURL(), onMessage = () => {}, onClose = () => {} } = {}) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
  }

  /** open connects; it rejects if the socket does not open in time. */
  open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url, SUBPROTOCOL);
      } catch (err) {
        reject(err);
        return;
      }
      this.#ws = ws;
      const timer = setTimeout(() => {
        reject(new Error('timeout'));
        ws.close();
      }, OPEN_WITHIN_MS);
      let opened = false;
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        this.#startPings();
        resolve();
      };
      ws.onmessage = (ev) => this.#receive(ev.data);
      ws.onclose = (ev) => {
        clearTimeout(timer);
        if (!opened) {
          // The caller hears of it through the rejection, not onClose.
          this.#closed = true;
          reject(new Error('closed'));
          return;
        }
        this.#gone(ev.code);
      };
      // onerror is always followed by onclose, which does the work.
      ws.onerror = () => {};
    });
  }

  get isOpen() {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** send sends one message without waiting for an answer. */
  send(msg) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * request sends msg with a fresh id and resolves with the server's reply
   * carrying that id, or rejects with a SignalError if the reply is an error.
   */
  request(msg, timeoutMs = REQUEST_WITHIN_MS) {
    const id = this.#nextId++;
    if (this.#nextId > 0xffffffff) this.#nextId = 1;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...msg, id })) {
        reject(new SignalError('closed', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalError('timeout', 'no answer from the server'));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  /** nextId reserves an id, for messages whose answer comes as an event (floor_request). */
  nextId() {
    const id = this.#nextId++;
    if (this.#nextId > 0xffffffff) this.#nextId = 1;
    return id;
  }

  /** close ends the connection on purpose: onClose is not called. */
  close(code = 1000) {
    this.#closed = true;
    this.#stopPings();
    this.#failPending('closed');
    try {
      this.#ws?.close(code);
    } catch {
      // already closing
    }
  }

  #receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // the server sends JSON only; ignore anything else
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.id) {
      const p = this.#pending.get(msg.id);
      if (p) {
        this.#pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type === 'error') p.reject(new SignalError(msg.code, msg.message));
        else p.resolve(msg);
      }
    }
    try {
      this.onMessage(msg);
    } catch (err) {
      console.error('handling a server message failed', err?.name);
    }
  }

  #startPings() {
    this.#pinger = setInterval(() => this.check(), PING_EVERY_MS);
  }

  /**
   * check pings the server now (the pinger does every PING_EVERY_MS): a
   * page back from the background asks at once whether the socket it slept
   * on still works. No pong within PONG_WITHIN_MS closes it with 4000.
   */
  check() {
    this.request({ type: 'ping' }, PONG_WITHIN_MS).catch((err) => {
      // No pong: the connection is dead even if the socket has not noticed.
      if (err.code === 'timeout') this.#ws?.close(CLOSE_GAVE_UP);
    });
  }

  #stopPings() {
    clearInterval(this.#pinger);
    this.#pinger = 0;
  }

  #failPending(code) {
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new SignalError(code, 'connection closed'));
    }
    this.#pending.clear();
  }

  #gone(code) {
    this.#stopPings();
    this.#failPending('closed');
    if (this.#closed) return;
    this.#closed = true;
    this.onClose({ code });
  }
}
