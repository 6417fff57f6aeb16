// The E2EE worker: a dedicated module Worker that runs the frame transforms
// for both browser APIs.
//
//   Chromium (legacy): the main thread calls createEncodedStreams() and posts
//     { type: 'streams', side: 'send' | 'recv', readable, writable } here.
//   Safari / Firefox: RTCRtpScriptTransform(worker, { side }) fires
//     'rtctransform' here with event.transformer.
//
// Messages in:  { type: 'init', media }           once (v1); makes a Sender with a fresh KID
//               { type: 'init-v2', kid, key }     once (v2, docs/keys.md); our first epoch's KID
//                                                 (12 hex digits) and sender key (32 bytes, transferred)
//               { type: 'use-sender-key', kid, key }  v2: encrypt under a new epoch from now on
//               { type: 'add-sender', kid }       v1: kid as 12 hex digits, from a sealed hello
//               { type: 'set-sender-key', kid, key }  v2: a member's epoch, from its key blob (the KeyRing's sink)
//               { type: 'remove-sender', kid }
//               { type: 'stats', id }
// Messages out: { type: 'ready', kid }            this session's KID, to announce
//               { type: 'stats', id, send, recv } counters (see transform.js)
//               { type: 'cant-decrypt' | 'unknown-sender' | 'cant-encrypt', count, ... } throttled
//               { type: 'error', code, message }
//
// Frames that arrive before 'init' wait for it: nothing leaves unencrypted.
// A frame whose transform fails is dropped, never passed on.

import { codeOf } from './errors.js';
import { formatKid, parseKid } from './keys.js';
import { Receiver, Sender } from './sframe.js';
import { bytes } from './encoding.js';
import { decryptTransform, encryptTransform, EVENT_INTERVAL_MS } from './transform.js';

const scope = globalThis; // the worker's global scope ("self")
const post = (msg) => scope.postMessage(msg);

let resolveReady;
const ready = new Promise((resolve) => { resolveReady = resolve; });
let started = false;

// own is the sender the encrypt transform uses: v2 swaps the Sender inside
// it on every rotation (use-sender-key) while the transform and its
// counters stay.
function ownSender(sender) {
  const own = { current: sender, encrypt: (data) => own.current.encrypt(data) };
  return own;
}

// init starts the session: v1 with the room's media key (msg.media), v2
// with our first epoch's KID and sender key (msg.kid, msg.key).
async function init(msg) {
  if (started) {
    post({ type: 'error', code: 'init', message: 'already initialized: start a new worker for a new session' });
    return;
  }
  started = true;
  try {
    const v2 = msg.type === 'init-v2';
    const receiver = v2 ? Receiver.epochOnly() : new Receiver(msg.media);
    const sender = v2 ? await Sender.fromSenderKey(bytes(msg.key), parseKid(msg.kid)) : await Sender.create(msg.media);
    const own = ownSender(sender);
    const s = { sender: own, receiver, enc: encryptTransform(own, post), dec: decryptTransform(receiver, post) };
    setInterval(() => { s.enc.flush(); s.dec.flush(); }, EVENT_INTERVAL_MS);
    resolveReady(s);
    post({ type: 'ready', kid: formatKid(sender.kid) });
  } catch (err) {
    post({ type: 'error', code: codeOf(err) || 'init', message: 'could not set up encryption' });
  }
}

function pipe(side, readable, writable) {
  if (side !== 'send' && side !== 'recv') {
    // Not piping means no frame flows: failing closed.
    post({ type: 'error', code: 'side', message: 'transform side must be "send" or "recv"' });
    return;
  }
  const stream = new TransformStream({
    async transform(frame, controller) {
      try {
        const s = await ready;
        const data = new Uint8Array(frame.data);
        const out = await (side === 'send' ? s.enc : s.dec).transform(data);
        if (out === null) return; // dropped
        if (out !== data) {
          frame.data = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out.buffer : out.slice().buffer;
        }
        controller.enqueue(frame);
      } catch {
        // Never throw out of a transform (it can stop the stream for good);
        // the frame is dropped.
      }
    },
  });
  readable.pipeThrough(stream).pipeTo(writable).catch((err) => {
    post({ type: 'error', code: 'pipe', message: `${side} pipe closed: ${err?.name ?? 'error'}` });
  });
}

scope.onmessage = async ({ data: msg }) => {
  switch (msg?.type) {
    case 'init':
    case 'init-v2':
      await init(msg);
      break;
    case 'use-sender-key': {
      const s = await ready;
      try {
        s.sender.current = await Sender.fromSenderKey(bytes(msg.key), parseKid(msg.kid));
      } catch (err) {
        post({ type: 'error', code: codeOf(err) || 'use-sender-key', message: 'could not use the new sender key', kid: String(msg.kid) });
      }
      break;
    }
    case 'set-sender-key': {
      const s = await ready;
      try {
        await s.receiver.setSenderKey(parseKid(msg.kid), bytes(msg.key));
      } catch (err) {
        post({ type: 'error', code: codeOf(err) || 'set-sender-key', message: 'could not set sender key', kid: String(msg.kid) });
      }
      break;
    }
    case 'streams':
      pipe(msg.side, msg.readable, msg.writable);
      break;
    case 'add-sender': {
      const s = await ready;
      try {
        await s.receiver.addSender(parseKid(msg.kid));
      } catch (err) {
        post({ type: 'error', code: codeOf(err) || 'add-sender', message: 'could not add sender', kid: String(msg.kid) });
      }
      break;
    }
    case 'remove-sender': {
      const s = await ready;
      try {
        s.receiver.removeSender(parseKid(msg.kid));
      } catch {
        // A malformed KID was never registered: nothing to remove.
      }
      break;
    }
    case 'stats': {
      const s = await ready;
      post({ type: 'stats', id: msg.id, send: s.enc.stats(), recv: s.dec.stats() });
      break;
    }
    default:
      post({ type: 'error', code: 'message', message: 'unknown message type' });
  }
};

scope.onrtctransform = (event) => {
  const t = event.transformer;
  pipe(t.options?.side, t.readable, t.writable);
};
