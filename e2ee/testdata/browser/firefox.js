// The E2EE loopback of loopback.js, for Firefox. Firefox has no CDP, so
// nothing drives this page: it runs every scenario by itself on load and
// POSTs the results as JSON to /result (progress lines go to /log). The Go
// test (e2ee/firefox_test.go) serves it and checks the numbers.
//
// A scenario: one RTCPeerConnection sends Firefox's fake microphone (a
// 1 kHz tone) through the encrypt transform, another receives it through
// the decrypt transform (or a spy that only looks at the frames), and the
// page measures what reaches the speaker. The watchdogs run as they do in
// the app (media.js), so one that misreads Firefox's stats shows up as a
// 'watchdog' event.

import { chooseApi, peerConnectionConfig, startE2EE } from '/js/e2ee/attach.js';
import { deriveRoomKeys } from '/js/e2ee/keys.js';
import { epochKid } from '/js/e2ee/epoch.js';
import { newSenderKey } from '/js/e2ee/keyblob.js';
import { KeySwitchDelay, OldKeyGrace } from '/js/e2ee/keyring.js';
import { tuneOpus } from '/js/media.js';

const LISTEN_MS = 2000;
const SCENARIO_TIMEOUT_MS = 15000;

const secretOf = (fill) => new Uint8Array(32).fill(fill);
const post = (path, body) => fetch(path, { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => {
  console.log(`[firefox.js] ${msg}`);
  post('/log', { msg }).catch(() => {});
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// connect negotiates pcA (offerer) with pcB. munge rewrites both SDPs, as
// the app does with tuneOpus.
async function connect(pcA, pcB, munge = (sdp) => sdp) {
  pcA.onicecandidate = (e) => e.candidate && pcB.addIceCandidate(e.candidate);
  pcB.onicecandidate = (e) => e.candidate && pcA.addIceCandidate(e.candidate);
  const offer = await pcA.createOffer();
  await pcA.setLocalDescription({ type: 'offer', sdp: munge(offer.sdp) });
  await pcB.setRemoteDescription(pcA.localDescription);
  const answer = await pcB.createAnswer();
  await pcB.setLocalDescription({ type: 'answer', sdp: munge(answer.sdp) });
  await pcA.setRemoteDescription(pcB.localDescription);
}

// rmsOf measures the loudness of a remote stream through WebAudio for ms
// milliseconds: the largest RMS of any 2048-sample window. The stream also
// plays in an <audio> element, as in the app.
async function rmsOf(stream, ms) {
  const el = document.createElement('audio');
  el.autoplay = true;
  document.body.append(el);
  el.srcObject = stream;
  await withTimeout(el.play(), 1000, 'audio.play').catch(() => {});
  const ctx = new AudioContext();
  await withTimeout(ctx.resume(), 2000, 'AudioContext.resume');
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let max = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await sleep(50);
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    max = Math.max(max, Math.sqrt(sum / buf.length));
  }
  const state = ctx.state;
  await ctx.close();
  el.remove();
  return { rms: max, audioContext: state };
}

// rtpCounts sums a stat over an RTCRtpSender's or RTCRtpReceiver's report.
async function rtpCount(target, type, name) {
  let n = null;
  (await target.getStats()).forEach((s) => {
    if (s.type === type && Number.isFinite(s[name])) n = (n ?? 0) + s[name];
  });
  return n;
}

// The spy: a receive transform that reads each frame as the network
// delivered it, checks for the sender's SFrame header and drops it.
// 'mark' snapshots the counts (atMark), 'stats' asks for them.
const SPY_WORKER = `
const s = { frames: 0, empty: 0, nonEmpty: 0, kidMatches: 0, firstBytes: [] };
onmessage = ({ data }) => {
  if (data === 'mark') s.atMark = { ...s, firstBytes: undefined };
  else postMessage(s);
};
onrtctransform = async ({ transformer: t }) => {
  const kid = t.options.kid;
  const reader = t.readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const b = new Uint8Array(value.data);
    s.frames++;
    if (b.length === 0) s.empty++;
    if (b.length > 1) {
      s.nonEmpty++;
      // [TOC][config byte |X|K|Y|C|][KID]...: the KID is in its shortest form
      // (RFC 9605 §4.3), so a random 48-bit KID whose top byte is zero takes
      // 5 bytes, not 6 (1 run in 256); read the length from the config byte.
      const x = b[1] >> 7, k = (b[1] >> 4) & 7;
      let wireKid = x ? 0n : BigInt(k);
      if (x) for (const v of b.subarray(2, 3 + k)) wireKid = (wireKid << 8n) | BigInt(v);
      if (b.length >= 3 + (x ? k + 1 : 0) && wireKid.toString(16).padStart(12, '0') === kid) s.kidMatches++;
      if (s.firstBytes.length < 3) s.firstBytes.push(Array.from(b.subarray(0, 10)));
    }
  }
};`;

function spyWorker() {
  return new Worker(URL.createObjectURL(new Blob([SPY_WORKER], { type: 'text/javascript' })));
}

// dyingWorkerUrl is worker.js wrapped so that it can be made to stop the
// way a crashed worker does: self.close() when told to accept the KID DEAD_KID.
const DEAD_KID = 'dead00000000';
function dyingWorkerUrl() {
  const src = `import ${JSON.stringify(new URL('/js/e2ee/worker.js', location.href).href)};
addEventListener('message', ({ data }) => { if (data?.type === 'add-sender' && data.kid === '${DEAD_KID}') close(); });`;
  return URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
}

const askWorker = (w) => new Promise((resolve) => {
  w.onmessage = ({ data }) => resolve(data);
  w.postMessage('stats');
});

// loopback runs one direction, A sends to B. Options:
//   receiverSecret: the byte the receiver's secret is filled with (the sender uses 1)
//   registerKid: whether the receiver accepts the sender's KID
//   spy: B does not decrypt; a spy transform inspects the frames as they arrive
//   workerDiesAfterMs: the sender's worker stops (as if it crashed) this
//     long after the track arrives; B is a spy (set spy too)
//   idleMs: as in the app between talk turns, Opus with DTX (tuneOpus) and
//     the microphone track disabled for idleMs before it is enabled
//   v2, rotateAtMs: keys from sender keys and a rotation mid-stream (see below)
const SENDER_SID = 0x0a11ce00;
const RECEIVER_SID = 0x0b0b0000;
async function loopback(api, o = {}) {
  const events = [];
  const sendKeys = await deriveRoomKeys(secretOf(1));
  const recvKeys = await deriveRoomKeys(secretOf(o.receiverSecret ?? 1));
  const pcA = new RTCPeerConnection(peerConnectionConfig(api));
  const pcB = new RTCPeerConnection(peerConnectionConfig(api));
  let eA;
  let eB;
  if (o.v2) {
    // v2 (docs/keys.md): keys from sender keys, the sender on epoch 0 of SENDER_SID.
    const k0 = newSenderKey();
    const k0ForReceiver = k0.slice();
    eA = await startE2EE({ senderKey: k0, kid: epochKid(SENDER_SID, 0), api, onEvent: (e) => events.push({ side: 'send', ...e }) });
    eB = await startE2EE({ senderKey: newSenderKey(), kid: epochKid(RECEIVER_SID, 0), api, onEvent: (e) => events.push({ side: 'recv', ...e }) });
    eB.setSenderKey(epochKid(SENDER_SID, 0), k0ForReceiver);
  } else {
    eA = await startE2EE({
      media: sendKeys.media, api, onEvent: (e) => events.push({ side: 'send', ...e }),
      ...(o.workerDiesAfterMs ? { workerUrl: dyingWorkerUrl() } : {}),
    });
    eB = await startE2EE({ media: recvKeys.media, api, onEvent: (e) => events.push({ side: 'recv', ...e }) });
    if (o.registerKid ?? true) eB.addSender(eA.kid);
  }
  const spy = o.spy ? spyWorker() : null;
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  try {
    const sender = pcA.addTrack(mic.getAudioTracks()[0], mic);
    eA.attachSender(sender);
    eA.watchSender(sender);
    let receiver;
    const gotTrack = new Promise((resolve) => {
      pcB.ontrack = (ev) => {
        receiver = ev.receiver;
        if (spy) {
          ev.receiver.transform = new RTCRtpScriptTransform(spy, { kid: eA.kid });
        } else {
          eB.attachReceiver(ev.receiver);
          eB.watchReceiver(ev.receiver);
        }
        resolve(ev.streams[0] ?? new MediaStream([ev.track]));
      };
    });
    let idle = null;
    if (o.idleMs) mic.getAudioTracks()[0].enabled = false;
    await connect(pcA, pcB, o.idleMs ? tuneOpus : undefined);
    const stream = await withTimeout(gotTrack, 5000, 'ontrack');
    if (o.idleMs) {
      const { rms } = await rmsOf(stream, o.idleMs);
      const [sa, sb, packetsSent, packetsReceived] = await Promise.all([eA.stats(), eB.stats(),
        rtpCount(sender, 'outbound-rtp', 'packetsSent'), rtpCount(receiver, 'inbound-rtp', 'packetsReceived')]);
      idle = { rms, send: sa.send, recv: sb.recv, packetsSent, packetsReceived, events: events.length };
      mic.getAudioTracks()[0].enabled = true;
    }
    let death = null;
    if (o.workerDiesAfterMs) {
      await sleep(o.workerDiesAfterMs);
      const before = await eA.stats();
      eA.addSender(DEAD_KID);
      spy.postMessage('mark');
      death = { encrypted: before.send.encrypted, packetsSent: await rtpCount(sender, 'outbound-rtp', 'packetsSent') };
    }
    // rotateAtMs (v2): the receiver gets epoch 1's key, the sender switches
    // KeySwitchDelay later, the receiver erases epoch 0 OldKeyGrace after
    // that; then the page listens again (late).
    let rotation = null;
    if (o.v2 && o.rotateAtMs !== undefined) {
      rotation = (async () => {
        await sleep(o.rotateAtMs);
        const k1 = newSenderKey();
        eB.setSenderKey(epochKid(SENDER_SID, 1), k1.slice());
        await sleep(KeySwitchDelay);
        eA.useSenderKey(epochKid(SENDER_SID, 1), k1);
        await sleep(OldKeyGrace);
        eB.removeSender(epochKid(SENDER_SID, 0));
      })();
    }
    const heard = await rmsOf(stream, LISTEN_MS);
    let late = null;
    if (rotation) {
      await rotation;
      late = await rmsOf(stream, LISTEN_MS / 2);
    }
    if (death) {
      death.workerAnswers = await withTimeout(eA.stats(), 1000, 'stats').then(() => true, () => false);
    }
    const [sendStats, recvStats, spied, packetsSent, packetsReceived] = await Promise.all([
      death ? { send: null } : eA.stats(), eB.stats(), spy ? askWorker(spy) : null,
      rtpCount(sender, 'outbound-rtp', 'packetsSent'), rtpCount(receiver, 'inbound-rtp', 'packetsReceived'),
    ]);
    return {
      ...heard, rmsLate: late?.rms, send: sendStats.send, recv: recvStats.recv, events, spied, idle, death, kid: eA.kid,
      packetsSent, packetsReceived, senderTrack: sender.track ? 'live' : 'removed',
    };
  } finally {
    eA.close();
    eB.close();
    spy?.terminate();
    pcA.close();
    pcB.close();
    mic.getTracks().forEach((t) => t.stop());
  }
}

// duplex is the app's own shape: each side has one worker with both a send
// and a receive transform, on one RTCPeerConnection, both directions on one
// transceiver (Chromium's RTCRtpScriptTransform failed exactly this way).
async function duplex(api) {
  const keys = await deriveRoomKeys(secretOf(1));
  const side = async (name) => {
    const events = [];
    const pc = new RTCPeerConnection(peerConnectionConfig(api));
    const e2ee = await startE2EE({ media: keys.media, api, onEvent: (e) => events.push({ side: name, ...e }) });
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const sender = pc.addTrack(mic.getAudioTracks()[0], mic);
    e2ee.attachSender(sender);
    e2ee.watchSender(sender);
    const gotTrack = new Promise((resolve) => {
      pc.ontrack = (ev) => {
        e2ee.attachReceiver(ev.receiver);
        e2ee.watchReceiver(ev.receiver);
        resolve(ev.streams[0] ?? new MediaStream([ev.track]));
      };
    });
    return { name, pc, e2ee, mic, events, gotTrack };
  };
  const a = await side('a');
  const b = await side('b');
  a.e2ee.addSender(b.e2ee.kid);
  b.e2ee.addSender(a.e2ee.kid);
  try {
    await connect(a.pc, b.pc);
    const streams = await withTimeout(Promise.all([a.gotTrack, b.gotTrack]), 5000, 'ontrack');
    const heard = await Promise.all(streams.map((s) => rmsOf(s, LISTEN_MS)));
    const out = {};
    for (const [i, p] of [a, b].entries()) {
      const st = await p.e2ee.stats();
      out[p.name] = {
        rms: heard[i].rms, send: st.send, recv: st.recv, events: p.events,
        transceivers: p.pc.getTransceivers().map((t) => t.currentDirection),
      };
    }
    return out;
  } finally {
    for (const p of [a, b]) {
      p.e2ee.close();
      p.pc.close();
      p.mic.getTracks().forEach((t) => t.stop());
    }
  }
}

async function main() {
  const result = {
    userAgent: navigator.userAgent,
    hasScriptTransform: typeof globalThis.RTCRtpScriptTransform === 'function',
    hasEncodedStreams: typeof globalThis.RTCRtpSender?.prototype?.createEncodedStreams === 'function',
    scenarios: {},
  };
  try {
    result.api = chooseApi();
  } catch (err) {
    result.error = `chooseApi: ${err.code ?? ''} ${err.message}`;
    return result;
  }
  log(`${result.userAgent}: chooseApi() = ${result.api}`);
  const scenarios = {
    'right key': () => loopback(result.api),
    'wrong key': () => loopback(result.api, { receiverSecret: 2 }),
    'unannounced kid': () => loopback(result.api, { registerKid: false }),
    spy: () => loopback(result.api, { spy: true }),
    'worker dies': () => loopback(result.api, { spy: true, workerDiesAfterMs: 1500 }),
    'idle then talk': () => loopback(result.api, { idleMs: 2000 }),
    'v2 rotation': () => loopback(result.api, { v2: true, rotateAtMs: 1000 }),
    duplex: () => duplex(result.api),
  };
  for (const [name, run] of Object.entries(scenarios)) {
    const t0 = performance.now();
    try {
      result.scenarios[name] = await withTimeout(run(), SCENARIO_TIMEOUT_MS, name);
    } catch (err) {
      result.scenarios[name] = { error: `${err?.name}: ${err?.message}` };
    }
    const err = result.scenarios[name].error;
    log(`${name}: ${Math.round(performance.now() - t0)} ms${err ? `, failed: ${err}` : ''}`);
  }
  return result;
}

main()
  .catch((err) => ({ error: `${err?.name}: ${err?.message}\n${err?.stack}` }))
  .then((res) => post('/result', res));
