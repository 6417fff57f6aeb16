// One RTCPeerConnection to the server's SFU. Our microphone goes up on it,
// encrypted frame by frame by the E2EE worker; the one "floor" track comes
// down on the same audio transceiver and is decrypted the same way. The
// client always makes the offer: first to connect, later to restart ICE
// after a network change. Talk turns never renegotiate (the server switches
// who feeds the floor track).

import { peerConnectionConfig } from './e2ee/attach.js';

// How long ICE may stay "disconnected" (Wi-Fi to cellular, a tunnel) before
// we restart it rather than wait for it to come back by itself.
const DISCONNECTED_GRACE_MS = 3000;

/**
 * preferOpus keeps only Opus on the transceiver: no RED (the E2EE transform
 * would see the RED wrapper, not Opus frames), no CN, no DTMF. The server
 * offers only Opus anyway; this makes the offer say so too.
 */
export function preferOpus(transceiver) {
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.('audio');
  if (!caps || typeof transceiver.setCodecPreferences !== 'function') return;
  const opus = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'audio/opus');
  if (opus.length === 0) return;
  try {
    transceiver.setCodecPreferences(opus);
  } catch {
    // An implementation that refuses: the server's Opus-only answer decides.
  }
}

/**
 * tuneOpus asks for in-band FEC (a lost packet is rebuilt from the next) and
 * DTX (silence costs almost nothing) on every Opus payload type of an SDP,
 * and for NACK: browsers do not offer it for audio, but with it a listener
 * asks the server to resend what its downlink lost, and plays it if it comes
 * in time (sfu/nack.go). The line goes into our own offer, so our receiver
 * sends NACKs; the server's answer carries it back, so our sender keeps its
 * packets for the server's NACKs.
 */
export function tuneOpus(sdp) {
  const pts = [...sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000/gim)].map((m) => m[1]);
  let out = sdp;
  for (const pt of pts) {
    const re = new RegExp(`^(a=fmtp:${pt} )(.*)$`, 'm');
    if (re.test(out)) {
      out = out.replace(re, (_, head, params) => {
        const kept = params.split(';').map((p) => p.trim()).filter((p) => p && !/^(useinbandfec|usedtx)=/i.test(p));
        return head + [...kept, 'useinbandfec=1', 'usedtx=1'].join(';');
      });
    } else {
      out = out.replace(new RegExp(`^(a=rtpmap:${pt} opus/48000[^\\r\\n]*)(\\r?\\n)`, 'im'),
        `$1$2a=fmtp:${pt} useinbandfec=1;usedtx=1$2`);
    }
    if (!new RegExp(`^a=rtcp-fb:${pt} nack\\r?$`, 'm').test(out)) {
      out = out.replace(new RegExp(`^(a=rtpmap:${pt} opus/48000[^\\r\\n]*)(\\r?\\n)`, 'im'),
        `$1$2a=rtcp-fb:${pt} nack$2`);
    }
  }
  return out;
}

export class MediaLink {
  #pc = null;
  #e2ee;
  #signaling;
  #offerSent = false;
  #localCandidates = []; // found before our offer went out
  #remoteCandidates = []; // arrived before the answer was applied
  #negotiating = null;
  #disconnectTimer = 0;
  #stopWatch = [];
  #closed = false;

  /**
   * api: the chosen E2EE API; e2ee: a started E2EE handle; track/stream:
   * the microphone; signaling: a connected Signaling; onRemote(stream) when
   * the floor track arrives; onState(state) with the connection state.
   * (The E2EE watchdogs report through startE2EE's onEvent.)
   */
  constructor({ api, e2ee, track, stream, signaling, onRemote, onState }) {
    this.api = api;
    this.#e2ee = e2ee;
    this.track = track;
    this.stream = stream;
    this.#signaling = signaling;
    this.onRemote = onRemote;
    this.onState = onState;
  }

  get state() {
    return this.#pc?.connectionState ?? 'new';
  }

  async start() {
    // No ICE servers: the SFU is reachable directly and answers with its
    // own host candidates.
    const pc = new RTCPeerConnection(peerConnectionConfig(this.api, {
      iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    }));
    this.#pc = pc;

    const sender = pc.addTrack(this.track, this.stream);
    // Before negotiation, so not one frame can leave unencrypted.
    this.#e2ee.attachSender(sender);
    this.#stopWatch.push(this.#e2ee.watchSender(sender));
    const transceiver = pc.getTransceivers().find((t) => t.sender === sender);
    if (transceiver) preferOpus(transceiver);

    pc.ontrack = (ev) => {
      this.#e2ee.attachReceiver(ev.receiver);
      this.#stopWatch.push(this.#e2ee.watchReceiver(ev.receiver));
      this.onRemote(ev.streams[0] ?? new MediaStream([ev.track]));
    };
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return; // end of gathering
      const c = ev.candidate.toJSON();
      if (this.#offerSent) this.#signaling.send({ type: 'ice', candidate: c });
      else this.#localCandidates.push(c);
    };
    pc.onconnectionstatechange = () => this.#stateChanged();
    pc.oniceconnectionstatechange = () => this.#iceChanged();

    await this.negotiate(false);
  }

  /** negotiate sends an offer (with fresh ICE credentials if iceRestart) and applies the answer. */
  negotiate(iceRestart) {
    if (this.#negotiating) return this.#negotiating;
    this.#negotiating = (async () => {
      const pc = this.#pc;
      const offer = await pc.createOffer({ iceRestart });
      await pc.setLocalDescription({ type: 'offer', sdp: tuneOpus(offer.sdp) });
      // Sent in this same microtask, so before any candidate event of this
      // description: the server must see the offer before its candidates.
      const answered = this.#signaling.request({ type: 'offer', sdp: pc.localDescription.sdp });
      this.#offerSent = true;
      for (const c of this.#localCandidates.splice(0)) this.#signaling.send({ type: 'ice', candidate: c });
      const reply = await answered;
      if (this.#closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      for (const c of this.#remoteCandidates.splice(0)) await this.#addCandidate(c);
    })().finally(() => {
      this.#negotiating = null;
    });
    return this.#negotiating;
  }

  /** addRemoteCandidate takes one of the server's trickled ICE candidates. */
  async addRemoteCandidate(candidate) {
    if (!this.#pc?.remoteDescription) {
      this.#remoteCandidates.push(candidate);
      return;
    }
    await this.#addCandidate(candidate);
  }

  async #addCandidate(c) {
    try {
      await this.#pc.addIceCandidate(c);
    } catch {
      // A candidate for an old ICE generation: harmless.
    }
  }

  /** restartIce renegotiates with new ICE credentials (after a network change). */
  restartIce() {
    if (this.#closed || !this.#pc || !this.#signaling.isOpen) return;
    this.negotiate(true).catch(() => {
      // The signaling connection will notice and reconnect from scratch.
    });
  }

  #stateChanged() {
    const s = this.#pc.connectionState;
    this.onState(s);
    if (s === 'failed') this.restartIce();
  }

  #iceChanged() {
    const s = this.#pc.iceConnectionState;
    clearTimeout(this.#disconnectTimer);
    if (s === 'disconnected') {
      this.#disconnectTimer = setTimeout(() => {
        if (this.#pc?.iceConnectionState === 'disconnected') this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    }
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#disconnectTimer);
    for (const stop of this.#stopWatch) stop();
    this.#stopWatch = [];
    if (this.#pc) {
      this.#pc.ontrack = this.#pc.onicecandidate = this.#pc.onconnectionstatechange = this.#pc.oniceconnectionstatechange = null;
      // The sender's track is the shared microphone: keep it, only detach it.
      this.#pc.close();
    }
    this.#pc = null;
  }
}
