// "Say again" in the page: taps the decoded floor track (after the E2EE
// transform and the Opus decoder, so plain audio) with an AudioWorklet while
// someone else holds the floor, keeps the turns in a TurnStore
// (sayagain.js), and plays one back through Web Audio on this device only:
// nothing of it is sent anywhere. The store's view (the list, what plays)
// goes to store.js for ui/room.js; what starts and ends a turn comes from
// store.js too (the floor holder the session shows), so the session needs
// no part in it.
//
// Live speech wins over a replay: when anyone takes the floor, or we press
// to talk, the replay stops. A radio is for what is said now, two voices at
// once are hard to follow (ducking still leaves two), and a replay still
// sounding while we talk could reach our own microphone. The live audio
// itself is never paused or delayed for a replay: it is what the room hears
// now.

import * as store from './store.js';
import { GapWatch, TurnStore } from './sayagain.js';

// The floor is released when the talker's last packet is sent; the jitter
// buffer still plays about this long after (tens to a few hundred ms), so a
// turn's recording runs this much past the release.
export const POST_ROLL_MS = 400;

const WORKLET_URL = new URL('./sayagain-worklet.js', import.meta.url);

export class SayAgain {
  #ctx;
  #turns = null; // TurnStore, at the context's rate
  #node = null; // the AudioWorkletNode
  #source = null; // MediaStreamAudioSourceNode of the current floor stream
  #loading = null;
  #attachGen = 0;
  #closed = false;
  #unavailable = false;
  #holder = null; // the floor holder last seen
  #talker = null; // whose turn is being recorded (someone else's, heard now)
  #endTimer = 0;
  #gaps = new GapWatch();
  #playing = null; // { id, src, buffer }
  #view = '';
  #unsubscribe;

  /** ctx: the app's AudioContext (chirps.js audioContext()), or null where there is none. */
  constructor(ctx) {
    this.#ctx = ctx;
    if (ctx?.audioWorklet && typeof AudioWorkletNode === 'function') {
      this.#turns = new TurnStore({ rate: ctx.sampleRate });
      this.#ready().catch(() => {
        this.#unavailable = true;
        this.#publish();
      });
    } else {
      this.#unavailable = true;
    }
    this.#unsubscribe = store.subscribe((s) => this.#onState(s));
    this.#publish();
  }

  /** attach taps the floor track's stream (null when it goes: a reconnect brings a new one). */
  async attach(stream) {
    const gen = ++this.#attachGen;
    this.#detach();
    if (!stream || !this.#turns || this.#closed) return;
    try {
      await this.#ready();
    } catch {
      return;
    }
    if (gen !== this.#attachGen || this.#closed) return;
    this.#source = this.#ctx.createMediaStreamSource(stream);
    if (this.#turns?.recording) this.#tap(true);
  }

  /** toggle plays turn id (the latest when 0), or stops the replay that is playing. */
  toggle(id = 0) {
    if (this.#playing && (!id || id === this.#playing.id)) {
      this.stop();
      return;
    }
    this.play(id);
  }

  /** play plays turn id (the latest when 0) on this device's speaker; false if there is none. */
  play(id = 0) {
    this.stop();
    const s = store.get();
    if (!this.#turns || this.#closed || s.floor.holder) return false;
    const ctx = this.#ctx;
    const which = id || this.#turns.latest();
    let buffer = null;
    const got = this.#turns.read(which, (n) => {
      buffer = ctx.createBuffer(1, n, ctx.sampleRate);
      return buffer.getChannelData(0);
    });
    if (!got) return false;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(ctx.destination);
    const playing = { id: which, src, buffer };
    src.onended = () => {
      if (this.#playing === playing) this.stop();
    };
    this.#playing = playing;
    src.start();
    this.#publish();
    return true;
  }

  /** stop ends a replay and zeroes the copy it played from. */
  stop() {
    const p = this.#playing;
    if (!p) return;
    this.#playing = null;
    p.src.onended = null;
    try {
      p.src.stop();
    } catch {
      // never started
    }
    p.src.disconnect();
    // The copy made for playing: zeroed as far as the page can reach it.
    p.buffer.getChannelData(0).fill(0);
    this.#publish();
  }

  /** wipe forgets every turn heard (zeroed first): a re-key. Recording goes on for the next turns. */
  wipe() {
    this.stop();
    clearTimeout(this.#endTimer);
    this.#node?.port.postMessage('wipe');
    try {
      if (this.#node) this.#source?.disconnect(this.#node);
    } catch {
      // not connected
    }
    this.#turns?.wipe();
    this.#gaps.moving(); // a re-key's reconnect follows: not an outage
    // A turn under way when the keys changed is not recorded on: the next
    // talker (in the room of the new keys) starts a new one.
    this.#publish();
  }

  /** close wipes and lets go of the audio graph: Leave, or the page going away. */
  close() {
    if (this.#closed) return;
    this.wipe();
    this.#closed = true;
    this.#unsubscribe();
    this.#detach();
    if (this.#node) {
      this.#node.port.postMessage('close');
      this.#node.port.onmessage = null;
      this.#node = null;
    }
    this.#turns = null;
    store.update({ sayAgain: EMPTY_VIEW });
  }

  #ready() {
    this.#loading ??= this.#ctx.audioWorklet.addModule(WORKLET_URL).then(() => {
      // No outputs: it only listens, and never sounds.
      const node = new AudioWorkletNode(this.#ctx, 'sayagain-tap', { numberOfInputs: 1, numberOfOutputs: 0 });
      node.port.onmessage = (e) => this.#onSamples(e.data);
      if (this.#closed) {
        node.port.postMessage('close');
        return;
      }
      this.#node = node;
      if (this.#turns?.recording) this.#tap(true);
    });
    return this.#loading;
  }

  #onSamples({ samples, n }) {
    if (this.#turns?.recording) this.#turns.append(samples.subarray(0, n));
    samples.fill(0);
  }

  // The floor track feeds the worklet only while a turn is recorded: between
  // turns the audio thread does nothing for Say again.
  #tap(on) {
    if (!this.#node) return;
    this.#node.port.postMessage(on ? 'on' : 'off');
    try {
      if (on) this.#source?.connect(this.#node);
      else this.#source?.disconnect(this.#node);
    } catch {
      // not connected
    }
  }

  #detach() {
    try {
      this.#source?.disconnect();
    } catch {
      // already disconnected
    }
    this.#source = null;
  }

  #onState(s) {
    if (this.#closed) return;
    const gap = this.#gaps.see(s.connection, Date.now());
    if (gap) {
      this.#turns?.gap(gap);
      this.#publish();
    }
    const holder = s.floor.holder;
    if (holder && holder !== this.#holder) this.stop(); // live speech wins
    this.#holder = holder;
    // Whose voice comes in now: nobody's while the connection is down, so
    // a turn that goes on after a resume is a new entry, after the gap's.
    const talker = holder && holder !== s.self && !this.#gaps.lost ? holder : null;
    if (talker !== this.#talker) {
      const was = this.#talker;
      this.#talker = talker;
      if (talker) {
        this.#endTurn();
        const name = s.members.find((m) => m.id === talker)?.name || 'Someone';
        this.#turns?.begin({ talker, name, at: Date.now() });
        this.#tap(true);
      } else if (was && !this.#gaps.lost) {
        clearTimeout(this.#endTimer);
        this.#endTimer = setTimeout(() => this.#endTurn(), POST_ROLL_MS);
      } else {
        this.#endTurn();
      }
      this.#publish();
    }
    if (s.talk === 'requesting' || s.talk === 'talking') this.stop();
  }

  #endTurn() {
    clearTimeout(this.#endTimer);
    if (!this.#turns?.recording) return;
    this.#tap(false);
    this.#turns.end();
    this.#publish();
  }

  #publish() {
    const t = this.#turns;
    const view = {
      available: !this.#unavailable && !!t,
      turns: t ? t.list() : [],
      count: t ? t.turns : 0,
      bytes: t ? t.bytes : 0,
      playing: this.#playing?.id ?? 0,
    };
    const key = JSON.stringify(view);
    if (key === this.#view) return;
    this.#view = key;
    store.update({ sayAgain: view });
  }
}

/** EMPTY_VIEW is store.js's sayAgain outside a room. */
export const EMPTY_VIEW = Object.freeze({ available: false, turns: [], count: 0, bytes: 0, playing: 0 });
