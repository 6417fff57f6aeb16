// Main-thread side of E2EE: chooses the browser API, starts the worker,
// attaches the transforms to RTCRtpSenders and RTCRtpReceivers, relays the
// worker's events and runs the sender watchdog.
//
//   const api = chooseApi();                    // throws 'unsupported': refuse to join
//   const pc = new RTCPeerConnection(peerConnectionConfig(api, {...}));
//   v1: const e2ee = await startE2EE({ media: keys.media, api, onEvent });
//       announce e2ee.kid in a sealed hello; e2ee.addSender(kid) for each hello received
//   v2 (docs/keys.md, the app's): const e2ee = await startE2EE({ senderKey, kid, api, onEvent });
//       a KeyRing with e2ee as its sink; e2ee.useSenderKey(kid, key) on each switch of ours
//   const sender = pc.addTrack(track, stream); e2ee.attachSender(sender); e2ee.watchSender(sender);
//   pc.ontrack = (ev) => { e2ee.attachReceiver(ev.receiver); e2ee.watchReceiver(ev.receiver); };
//
// There is no plaintext fallback: without one of the two APIs, chooseApi throws.

import { fail } from './errors.js';
import { bytes } from './encoding.js';
import { formatKid } from './keys.js';
import { decideWatchdog, WATCHDOG_INTERVAL_MS } from './watchdog.js';

export { decideWatchdog, WATCHDOG_INTERVAL_MS, WATCHDOG_SLACK_PACKETS } from './watchdog.js';

export const API_ENCODED_STREAMS = 'encoded-streams'; // Chromium: createEncodedStreams()
export const API_SCRIPT_TRANSFORM = 'script-transform'; // Safari 15.4+, Firefox 117+
// How long the worker may take to derive keys and report its KID.
export const WORKER_READY_TIMEOUT_MS = 5000;
// How long stats() waits for the worker by default.
export const STATS_TIMEOUT_MS = 2000;
// After this many watchdog samples in a row without an answer, the worker is
// taken for dead and the watchdog stops the sender (or mutes the receiver).
export const WORKER_SILENT_LIMIT = 2;

/**
 * chooseApi picks the encoded-transform API of this browser. Chromium has
 * both; it gets createEncodedStreams, which fails closed (no frame is sent
 * without a transform) and worked where Chromium's RTCRtpScriptTransform did
 * not (design.md §2). Throws E2EEError 'unsupported' when neither exists.
 */
export function chooseApi(env = globalThis) {
  if (typeof env.Worker !== 'function') throw fail('unsupported', 'no Web Workers');
  const legacy = (C) => typeof C?.prototype?.createEncodedStreams === 'function';
  if (legacy(env.RTCRtpSender) && legacy(env.RTCRtpReceiver)) return API_ENCODED_STREAMS;
  if (typeof env.RTCRtpScriptTransform === 'function') return API_SCRIPT_TRANSFORM;
  throw fail('unsupported', 'it needs RTCRtpScriptTransform (Safari 15.4+, Firefox 117+) or Chromium encoded streams');
}

/** peerConnectionConfig adds what the chosen API needs to an RTCPeerConnection config. */
export function peerConnectionConfig(api, config = {}) {
  return api === API_ENCODED_STREAMS ? { ...config, encodedInsertableStreams: true } : { ...config };
}

/**
 * startE2EE starts the worker and resolves, once the worker has derived
 * its keys, to an E2EE handle. v1: { media } (the room's media key). v2
 * (docs/keys.md): { senderKey, kid }, our first epoch's sender key (its
 * bytes are transferred to the worker) and KID (epochKid(sid, 0), a
 * BigInt); then setSenderKey/removeSender make the handle a KeyRing's sink
 * and useSenderKey rotates our own key. onEvent gets the worker's events
 * ('cant-decrypt', 'unknown-sender', 'cant-encrypt', 'error') and the
 * watchdogs' ({ type: 'watchdog', side, reason }).
 */
export async function startE2EE({ media, senderKey, kid, api = chooseApi(), onEvent = () => {}, workerUrl = new URL('./worker.js', import.meta.url) }) {
  const worker = new Worker(workerUrl, { type: 'module', name: 'sotto-e2ee' });
  const e2ee = new E2EE(worker, api, onEvent);
  if (senderKey !== undefined) {
    // v2 (docs/keys.md): our first epoch's KID (BigInt) and sender key, whose
    // bytes move to the worker (transferred: none stay here).
    postKey(worker, 'init-v2', kid, senderKey);
  } else {
    worker.postMessage({ type: 'init', media: bytes(media).slice() });
  }
  try {
    await e2ee.ready;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  return e2ee;
}

// postKey sends a KID and a 32-byte sender key to the worker, transferring
// the key's buffer so no copy stays on this thread (a key that shares its
// buffer with other data is copied, and the copy's source zeroed).
function postKey(worker, type, kid, key) {
  key = bytes(key);
  let own = key;
  if (key.byteOffset !== 0 || key.byteLength !== key.buffer.byteLength) {
    own = key.slice();
    key.fill(0);
  }
  worker.postMessage({ type, kid: typeof kid === 'bigint' ? formatKid(kid) : kid, key: own }, [own.buffer]);
}

export class E2EE {
  #worker;
  #onEvent;
  #pending = new Map(); // stats request id -> resolve
  #nextId = 1;
  #attached = new WeakSet();
  #timers = new Set();

  constructor(worker, api, onEvent) {
    this.#worker = worker;
    this.api = api;
    this.kid = null; // this session's KID, 12 hex digits, once ready
    this.#onEvent = onEvent;
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(fail('unsupported', 'the encryption worker did not start')), WORKER_READY_TIMEOUT_MS);
      worker.onmessage = ({ data }) => {
        if (data?.type === 'ready') {
          clearTimeout(timer);
          this.kid = data.kid;
          resolve();
        } else if (data?.type === 'stats') {
          this.#pending.get(data.id)?.(data);
          this.#pending.delete(data.id);
        } else {
          if (data?.type === 'error' && this.kid === null) {
            clearTimeout(timer);
            reject(fail('unsupported', 'the encryption worker failed to start'));
          }
          this.#emit(data);
        }
      };
      worker.onerror = () => {
        clearTimeout(timer);
        reject(fail('unsupported', 'the encryption worker could not load'));
        this.#emit({ type: 'error', code: 'worker', message: 'worker error' });
      };
    });
  }

  #emit(ev) {
    try {
      this.#onEvent(ev);
    } catch {
      // a listener's bug must not stop media
    }
  }

  #attach(target, side) {
    if (this.#attached.has(target)) return;
    if (this.api === API_ENCODED_STREAMS) {
      // Throws if the RTCPeerConnection lacks encodedInsertableStreams: true,
      // which is what we want: no silent plaintext.
      const { readable, writable } = target.createEncodedStreams();
      this.#worker.postMessage({ type: 'streams', side, readable, writable }, [readable, writable]);
    } else {
      target.transform = new RTCRtpScriptTransform(this.#worker, { side });
    }
    this.#attached.add(target);
  }

  /** attachSender encrypts everything an RTCRtpSender sends. Call before negotiation. */
  attachSender(rtpSender) {
    this.#attach(rtpSender, 'send');
  }

  /** attachReceiver decrypts everything an RTCRtpReceiver gets (call it in ontrack). */
  attachReceiver(rtpReceiver) {
    this.#attach(rtpReceiver, 'recv');
  }

  /** addSender accepts frames from a KID announced in a sealed hello (12 hex digits). */
  addSender(kid) {
    this.#worker.postMessage({ type: 'add-sender', kid });
  }

  /** removeSender stops accepting frames from a KID (12 hex digits, or a BigInt from a KeyRing). */
  removeSender(kid) {
    this.#worker.postMessage({ type: 'remove-sender', kid: typeof kid === 'bigint' ? formatKid(kid) : kid });
  }

  /**
   * setSenderKey (v2) accepts frames from a member's epoch KID (BigInt)
   * under its sender key, whose bytes are transferred to the worker. With
   * removeSender it makes this handle a KeyRing's sink.
   */
  setSenderKey(kid, senderKey) {
    postKey(this.#worker, 'set-sender-key', kid, senderKey);
  }

  /** useSenderKey (v2) makes the worker encrypt under a new epoch of ours from now on. */
  useSenderKey(kid, senderKey) {
    postKey(this.#worker, 'use-sender-key', kid, senderKey);
  }

  /**
   * stats resolves to the worker's counters { send: {...}, recv: {...} }, or
   * rejects with E2EEError 'worker' when the worker has not answered within
   * timeoutMs: a worker that died or closed itself never answers, and must
   * not leave a caller waiting for ever.
   */
  stats({ timeoutMs = STATS_TIMEOUT_MS } = {}) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(fail('worker', 'the encryption worker did not answer'));
      }, timeoutMs);
      this.#pending.set(id, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      this.#worker.postMessage({ type: 'stats', id });
    });
  }

  /**
   * watchSender samples the sender's outbound-rtp packetsSent and the
   * frames the worker emitted every intervalMs. If packets go out while the
   * transform emits no frame, it stops the sender (replaceTrack(null)) and
   * emits { type: 'watchdog', side: 'send', reason }. Returns a function
   * that stops watching.
   */
  watchSender(rtpSender, { intervalMs = WATCHDOG_INTERVAL_MS, onStop = () => {} } = {}) {
    return this.#watch(rtpSender, 'outbound-rtp', 'packetsSent', (st) => st.send.encrypted + st.send.passed, intervalMs, async (reason) => {
      await rtpSender.replaceTrack(null).catch(() => {});
      this.#emit({ type: 'watchdog', side: 'send', reason });
      onStop(reason);
    });
  }

  /**
   * watchReceiver does the same for an RTCRtpReceiver: if packets arrive
   * while the transform sees no frame, undecrypted frames are reaching the
   * decoder, so it mutes the track (track.enabled = false) and emits
   * { type: 'watchdog', side: 'recv', reason }.
   */
  watchReceiver(rtpReceiver, { intervalMs = WATCHDOG_INTERVAL_MS, onStop = () => {} } = {}) {
    return this.#watch(rtpReceiver, 'inbound-rtp', 'packetsReceived',
      (st) => st.recv.decrypted + st.recv.dropped + st.recv.passed, intervalMs, async (reason) => {
        if (rtpReceiver.track) rtpReceiver.track.enabled = false;
        this.#emit({ type: 'watchdog', side: 'recv', reason });
        onStop(reason);
      });
  }

  #watch(target, statType, statName, framesOf, intervalMs, stop) {
    let prev = null;
    let busy = false;
    let unanswered = 0; // stats requests in a row the worker left unanswered
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        let st;
        try {
          st = await this.stats({ timeoutMs: intervalMs });
          unanswered = 0;
        } catch {
          // The worker is gone: the transforms with it. Media then fails
          // closed (nothing is sent, nothing is played), and the person must
          // be told rather than left talking into silence.
          if (++unanswered >= WORKER_SILENT_LIMIT) {
            this.#stopTimer(timer);
            this.#emit({ type: 'error', code: 'worker', message: 'the encryption worker stopped' });
            await stop('the encryption worker stopped answering');
          }
          return;
        }
        const report = await target.getStats();
        let packets = null;
        report.forEach((s) => {
          if (s.type === statType && Number.isFinite(s[statName])) packets = (packets ?? 0) + s[statName];
        });
        if (packets === null) return; // no RTP yet
        const cur = { packets, frames: framesOf(st) };
        const verdict = decideWatchdog(prev, cur);
        prev = cur;
        if (verdict.stop) {
          this.#stopTimer(timer);
          await stop(verdict.reason);
        }
      } catch {
        // getStats can fail while the connection closes; try next time.
      } finally {
        busy = false;
      }
    }, intervalMs);
    this.#timers.add(timer);
    return () => this.#stopTimer(timer);
  }

  #stopTimer(timer) {
    clearInterval(timer);
    this.#timers.delete(timer);
  }

  /** close stops the watchdogs and the worker; the transforms stop with it. */
  close() {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    this.#worker.terminate();
  }
}
