// Two RTCPeerConnections in one page, a sender with the encrypt transform and
// a receiver with the decrypt transform (or a spy that only looks at frames).
// The Go test (e2ee/browser_test.go) calls window.loopback(options) and checks
// what came out of the speaker.

import { peerConnectionConfig, startE2EE, API_ENCODED_STREAMS } from '/js/e2ee/attach.js';
import { deriveRoomKeys } from '/js/e2ee/keys.js';

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
window.loopback = async (o) => {
  const events = [];
  const sendKeys = await deriveRoomKeys(secretOf(1));
  const recvKeys = await deriveRoomKeys(secretOf(o.receiverSecret ?? 1));
  const pcA = new RTCPeerConnection(peerConnectionConfig(o.senderApi));
  const pcB = new RTCPeerConnection(peerConnectionConfig(o.spy ? API_ENCODED_STREAMS : o.receiverApi));
  const eA = await startE2EE({ media: sendKeys.media, api: o.senderApi, onEvent: (e) => events.push({ side: 'send', ...e }) });
  const eB = await startE2EE({ media: recvKeys.media, api: o.receiverApi, onEvent: (e) => events.push({ side: 'recv', ...e }) });
  if (o.registerKid ?? true) eB.addSender(eA.kid);

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
  const rms = await rmsOf(stream, o.listenMs ?? 3000);
  const [sendStats, recvStats] = await Promise.all([eA.stats(), eB.stats()]);
  eA.close();
  eB.close();
  pcA.close();
  pcB.close();
  mic.getTracks().forEach((t) => t.stop());
  return { rms, send: sendStats.send, recv: recvStats.recv, events, spied, kid: eA.kid };
};
window.loopbackReady = true;
