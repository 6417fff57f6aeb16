// Two RTCPeerConnections in one page, a sender with the encrypt transform and
// a receiver with the decrypt transform (or a spy that only looks at frames).
// The Go test (e2ee/browser_test.go) calls window.loopback(options) and checks
// what came out of the speaker.

import { peerConnectionConfig, startE2EE, API_ENCODED_STREAMS } from '/js/e2ee/attach.js';
import { deriveRoomKeys } from '/js/e2ee/keys.js';
import { epochKid } from '/js/e2ee/epoch.js';
import { newSenderKey } from '/js/e2ee/keyblob.js';
import { KeySwitchDelay, OldKeyGrace } from '/js/e2ee/keyring.js';

const secretOf = (fill) => new Uint8Array(32).fill(fill);

async function connect(pcA, pcB) {
  pcA.onicecandidate = (e) => e.candidate && pcB.addIceCandidate(e.candidate);
  pcB.onicecandidate = (e) => e.candidate && pcA.addIceCandidate(e.candidate);
  await pcA.setLocalDescription(await pcA.createOffer());
  await pcB.setRemoteDescription(pcA.localDescription);
  await pcB.setLocalDescription(await pcB.createAnswer());
  await pcA.setRemoteDescription(pcB.localDescription);
}

// rmsOf measures the loudness of a remote stream through WebAudio for ms
// milliseconds. The stream must also play in an <audio> element, or Chromium
// never feeds it to WebAudio.
async function rmsOf(stream, ms) {
  const el = document.getElementById('out');
  el.srcObject = stream;
  await el.play().catch(() => {});
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let max = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    max = Math.max(max, Math.sqrt(sum / buf.length));
  }
  await ctx.close();
  return max;
}

// loopback options:
//   senderApi, receiverApi: 'encoded-streams' | 'script-transform'
//   receiverSecret: the byte the receiver's secret is filled with (the sender uses 1)
//   registerKid: whether the receiver accepts the sender's KID
//   spy: the receiver does not decrypt; it inspects the frames as they arrive
//   listenMs: how long to listen
//   v2: keys from sender keys (docs/keys.md): the sender starts on epoch 0
//     of SENDER_SID and the receiver is given that epoch's key
//   rotateAtMs (v2): this long after the track arrives the receiver gets
//     epoch 1's key, the sender switches to it KeySwitchDelay later (as a
//     member does), and the receiver erases epoch 0 OldKeyGrace after that;
//     then the page listens again for lateMs (rmsLate)
const SENDER_SID = 0x0a11ce00;
const RECEIVER_SID = 0x0b0b0000;
window.loopback = async (o) => {
  const events = [];
  const sendKeys = await deriveRoomKeys(secretOf(1));
  const recvKeys = await deriveRoomKeys(secretOf(o.receiverSecret ?? 1));
  const pcA = new RTCPeerConnection(peerConnectionConfig(o.senderApi));
  const pcB = new RTCPeerConnection(peerConnectionConfig(o.spy ? API_ENCODED_STREAMS : o.receiverApi));
  const onSend = (e) => events.push({ side: 'send', ...e });
  const onRecv = (e) => events.push({ side: 'recv', ...e });
  let eA;
  let eB;
  if (o.v2) {
    const k0 = newSenderKey();
    const k0ForReceiver = k0.slice();
    eA = await startE2EE({ senderKey: k0, kid: epochKid(SENDER_SID, 0), api: o.senderApi, onEvent: onSend });
    eB = await startE2EE({ senderKey: newSenderKey(), kid: epochKid(RECEIVER_SID, 0), api: o.receiverApi, onEvent: onRecv });
    if (o.registerKid ?? true) eB.setSenderKey(epochKid(SENDER_SID, 0), k0ForReceiver);
  } else {
    eA = await startE2EE({ media: sendKeys.media, api: o.senderApi, onEvent: onSend });
    eB = await startE2EE({ media: recvKeys.media, api: o.receiverApi, onEvent: onRecv });
    if (o.registerKid ?? true) eB.addSender(eA.kid);
  }

  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const sender = pcA.addTrack(mic.getAudioTracks()[0], mic);
  eA.attachSender(sender);

  const spied = { frames: 0, nonEmpty: 0, kidMatches: 0, firstBytes: [] };
  const gotTrack = new Promise((resolve) => {
    pcB.ontrack = (ev) => {
      if (o.spy) {
        // Read the frames as the network delivered them, and drop them all.
        const { readable, writable } = ev.receiver.createEncodedStreams();
        writable.getWriter(); // keep the pipeline open
        const reader = readable.getReader();
        (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            const b = new Uint8Array(value.data);
            spied.frames++;
            if (b.length > 1) {
              spied.nonEmpty++;
              // [TOC][config byte |X|K|Y|C|][KID]...: the KID is in its shortest form
              // (RFC 9605 §4.3), so a random 48-bit KID whose top byte is zero takes
              // 5 bytes, not 6 (1 run in 256); read the length from the config byte.
              const x = b[1] >> 7, k = (b[1] >> 4) & 7;
              let wireKid = x ? 0n : BigInt(k);
              if (x) for (const v of b.subarray(2, 3 + k)) wireKid = (wireKid << 8n) | BigInt(v);
              if (b.length >= 3 + (x ? k + 1 : 0) && wireKid.toString(16).padStart(12, '0') === eA.kid) spied.kidMatches++;
              if (spied.firstBytes.length < 3) spied.firstBytes.push(Array.from(b.subarray(0, 10)));
            }
          }
        })();
      } else {
        eB.attachReceiver(ev.receiver);
      }
      resolve(ev.streams[0] ?? new MediaStream([ev.track]));
    };
  });
  await connect(pcA, pcB);
  const stream = await gotTrack;
  const rotation = {};
  if (o.v2 && o.rotateAtMs !== undefined) {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    rotation.done = (async () => {
      await sleep(o.rotateAtMs);
      const k1 = newSenderKey();
      eB.setSenderKey(epochKid(SENDER_SID, 1), k1.slice());
      await sleep(KeySwitchDelay);
      eA.useSenderKey(epochKid(SENDER_SID, 1), k1);
      rotation.switchedAt = performance.now();
      await sleep(OldKeyGrace);
      eB.removeSender(epochKid(SENDER_SID, 0));
      rotation.erasedAt = performance.now();
    })();
  }
  const rms = await rmsOf(stream, o.listenMs ?? 3000);
  let rmsLate;
  if (rotation.done) {
    await rotation.done;
    rmsLate = await rmsOf(stream, o.lateMs ?? 1000);
  }
  const [sendStats, recvStats] = await Promise.all([eA.stats(), eB.stats()]);
  eA.close();
  eB.close();
  pcA.close();
  pcB.close();
  mic.getTracks().forEach((t) => t.stop());
  return { rms, rmsLate, send: sendStats.send, recv: recvStats.recv, events, spied, kid: eA.kid };
};
window.loopbackReady = true;
