// One stay in a room: derive the keys, connect, create or join, trade sealed
// hellos, run the media link, take and give back the floor, and reconnect
// from scratch (new WebSocket, new E2EE worker and KID, new PeerConnection)
// whenever the signaling connection is lost. Everything the UI shows goes
// through store.js; the secret and the keys stay inside this object.

import { startE2EE } from './e2ee/attach.js';
import { SECRET_SIZE, deriveRoomKeys, newSecret } from './e2ee/keys.js';
import { openJSON, sealJSON } from './e2ee/blob.js';
import { fromBase64url, toBase64url } from './e2ee/encoding.js';
import { CLOSE_GAVE_UP, CLOSE_REMOVED, CLOSE_UNSUPPORTED_VERSION, Signaling, socketURL } from './signaling.js';
import { MediaLink } from './media.js';
import { KnockAnswerer, roomCode } from './codejoin.js';
import { BlobResender, blobsMessages } from './blobretry.js';
import { chirp } from './chirps.js';
import { buzz } from './device.js';
import { cleanName, loadReleaseTail } from './prefs.js';
import { TalkTurn } from './talkturn.js';
import { retryDelay } from './reconnect.js';
import { NO_VOICE_AFTER_MS, NO_VOICE_NOTICE, connectionState } from './connstate.js';
import { backAction } from './pocket.js';
import * as store from './store.js';

const KID_RE = /^[0-9a-f]{12}$/;

// Server error codes after which trying again cannot help.
const FATAL = {
  bad_auth: 'This link does not open this room. Ask for a new invite link.',
  // Operator mode (docs/tokens.md): the embedding app vouches for us with a one-use token.
  token_missing: 'This server lets people in only from the app that runs it. Open the room from there.',
  token_invalid: 'The app\u2019s pass for this room is not valid. Open the room again from the app.',
  token_expired: 'The app\u2019s pass for this room has expired. Open the room again from the app.',
  token_replayed: 'The app\u2019s pass for this room was already used. Open the room again from the app.',
  role_not_allowed: 'The app lets you listen to this room, not talk.',
  removed: 'You were removed from this room.',
  room_full: 'This room is full.',
  server_full: 'The server has no room for another conversation right now. Try again later.',
};

// too_many_rooms: our address (everyone behind our network's address) is in
// as many rooms as the server allows one address, counting members whose
// connection dropped a moment ago (docs/protocol.md). It clears by itself,
// so it is not fatal: say so and try again, less often than after a blip.
const TOO_MANY_ROOMS = 'You are in too many rooms from this network. Leave one, or wait: trying again in a few seconds.';
const TOO_MANY_ROOMS_RETRY_MS = 10000;

export class RoomSession {
  #secret;
  #token; // operator mode: admits one create or join (the first; a failed try gives it back)
  #keys = null;
  #api;
  #intent; // 'create' for a brand-new secret, 'join' otherwise
  #name;
  #track;
  #stream;
  #onRemote;
  #onSecret;

  #gen = 0; // numbers connection attempts; late callbacks of an old one are ignored
  #sig = null;
  #e2ee = null;
  #media = null;
  #self = null;
  #members = new Map(); // id -> { id, name, kid }
  #joined = false; // in the room on the current connection
  #everConnected = false; // once in the room with voice up: a loss after it is "Reconnecting…" (connstate.js)
  #voiceTimer = 0; // from a join until voice is up: then NO_VOICE_NOTICE
  #mediaState = 'new';
  #noMedia = false; // the server answered media_unavailable
  #offline = false;
  #fatal = false;
  #left = false;
  #retries = 0;
  #retryTimer = 0;

  // The talk turn (talkturn.js): this object feeds it events and performs
  // the effects it returns. Request ids come from the current connection.
  #turn = new TalkTurn({ nextId: () => this.#sig.nextId() });
  #turnTimers = new Set(); // the turn's timer effects (tail, warning): cleared on leave
  #moveNotice = ''; // shown once the room of a new secret is joined
  #knocks = null; // answers code joiners' knocks on the current connection
  #blobs = null; // sends our hellos on the current connection, again if refused (blobretry.js)
  #resume = ''; // the server's resume token for our membership: a reconnect resumes it
  // A spare E2EE worker ({ starting, owner, keys }, #newWorker), started when the
  // page goes out of sight, for the connection made when it comes back
  // (after a freeze, always): starting a worker is most of a return's time
  // (measured: 1.3 s of 1.6 s on a loaded machine, TestPocketModeInBrowser).
  // Same media key, its own KID; closed on Leave, re-key and failure.
  #spare = null;
  #attempting = false; // a #connect is under way
  // Failed code exchanges this member answered, over every connection: by
  // nameplate, and in all (see codejoin.js MAX_ANSWERED_*).
  #knockFailures = { byPlate: new Map(), total: 0 };

  /**
   * secret: S; intent: 'create' | 'join'; name: our display name; mic: the
   * MediaStream from the lobby; api: chooseApi()'s answer; onRemote(stream)
   * gets the floor track's stream (null when it goes); onSecret(S') is told
   * when the room moves to a new secret (Remove and re-key), so the invite
   * link can follow.
   */
  constructor({ secret, intent, name, mic, api, onRemote, onSecret = () => {}, token = '' }) {
    this.#secret = secret;
    this.#token = token;
    this.#intent = intent;
    this.#name = cleanName(name);
    this.#stream = mic;
    this.#track = mic.getAudioTracks()[0];
    this.#api = api;
    this.#onRemote = onRemote;
    this.#onSecret = onSecret;
    this.#track.enabled = false; // nothing audible leaves until the floor is ours
  }

  async start() {
    this.#keys = await deriveRoomKeys(this.#secret);
    store.update({ safetyCode: this.#keys.safetyCode, selfName: this.#name });
    addEventListener('online', this.#online);
    addEventListener('offline', this.#wentOffline);
    document.addEventListener('resume', this.#pageBack);
    document.addEventListener('visibilitychange', this.#pageBack);
    this.#offline = navigator.onLine === false;
    this.#render();
    this.#connect();
  }

  // ---- connecting -------------------------------------------------------

  async #connect() {
    clearTimeout(this.#retryTimer);
    if (this.#left || this.#fatal) return;
    const gen = ++this.#gen;
    if (navigator.onLine === false) {
      this.#offline = true; // the online event brings us back
      this.#render();
      return;
    }
    const sig = new Signaling({
      // The room id routes this connection to the room's node in a cluster.
      url: socketURL(location, { room: toBase64url(this.#keys.roomId) }),
      onMessage: (m) => gen === this.#gen && this.#onMessage(m),
      onClose: (ev) => gen === this.#gen && this.#lost(ev.code),
    });
    this.#sig = sig;
    this.#blobs?.close();
    this.#blobs = new BlobResender({ send: (m) => sig.send(m), nextId: () => sig.nextId() });
    // The worker derives its keys while the socket opens, unless a spare is ready.
    if (this.#spare?.keys !== this.#keys) this.#dropSpare(); // made for a room we have left
    const worker = this.#spare ?? this.#newWorker();
    this.#spare = null;
    worker.owner.gen = gen;
    const e2eeStarting = worker.starting;
    // An attempt overtaken by a newer one (gen moved on) closes what it
    // opened; teardown closes only the current attempt's.
    const stale = () => {
      if (gen === this.#gen) return false;
      sig.close();
      return true;
    };
    this.#attempting = true;
    try {
      await sig.open();
      const e2ee = await e2eeStarting;
      if (stale()) {
        e2ee.close();
        return;
      }
      this.#e2ee = e2ee;
      const joined = await this.#enter(sig);
      if (stale()) return;
      this.#onJoined(joined);
      await this.#hello(null);
      if (stale()) return;
      await this.#startMedia(gen);
      if (stale()) return;
      // A button still held on the new connection asks again.
      this.#do({ type: 'ready', open: sig.isOpen });
      this.#render();
    } catch (err) {
      e2eeStarting.then((e) => e !== this.#e2ee && e.close(), () => {});
      if (stale()) return;
      if (err?.code === 'unsupported') return this.#fail('This browser cannot encrypt audio end to end, so Sotto will not send any. Try a current Chrome, Edge, Safari or Firefox.');
      if (Object.hasOwn(FATAL, err?.code)) return this.#fail(FATAL[err.code]);
      if (err?.code === 'too_many_rooms') {
        store.update({ notice: TOO_MANY_ROOMS });
        return this.#lost(0, TOO_MANY_ROOMS_RETRY_MS);
      }
      this.#lost(0);
    } finally {
      if (gen === this.#gen) this.#attempting = false;
    }
  }

  // newWorker starts an E2EE worker for the current keys; its events count
  // once owner.gen names the connection that took it.
  #newWorker() {
    const owner = { gen: -1 };
    const starting = startE2EE({ media: this.#keys.media, api: this.#api, onEvent: (e) => owner.gen === this.#gen && this.#onE2EE(e) });
    starting.catch(() => {}); // a spare's failure is seen by the connection that takes it
    return { starting, owner, keys: this.#keys };
  }

  #dropSpare() {
    this.#spare?.starting.then((e) => e.close(), () => {});
    this.#spare = null;
  }

  // resume our membership if we had one (a blip: the others see no leave
  // and join), else create or join, falling back to the other: rooms vanish
  // when empty, but links stay valid, so a join that finds no room makes it
  // again.
  async #enter(sig) {
    const room = toBase64url(this.#keys.roomId);
    if (this.#resume) {
      try {
        const m = await sig.request({ type: 'resume', room, resume: this.#resume });
        m.resumed = true;
        return m;
      } catch (err) {
        // bad_resume: the grace ran out, or the server restarted: join
        // anew. Anything else (the socket died on the way): keep the token
        // and try again on the next connection.
        if (!['bad_resume', 'no_such_room'].includes(err?.code)) throw err;
        this.#resume = '';
      }
    }
    const token = this.#token ? { token: this.#token } : {};
    const join = () => sig.request({ type: 'join', room, auth: toBase64url(this.#keys.roomAuth), ...token });
    const create = () => sig.request({ type: 'create', room, verifier: toBase64url(this.#keys.verifier), ...token });
    const [first, second, firstMiss] = this.#intent === 'create' ? [create, join, 'room_exists'] : [join, create, 'no_such_room'];
    try {
      return await first();
    } catch (err) {
      if (err?.code !== firstMiss) throw err;
    }
    try {
      return await second();
    } catch (err) {
      // Two people opened the same empty room's link at once: one created it.
      if (err?.code === 'room_exists' || err?.code === 'no_such_room') return first();
      throw err;
    }
  }

  #onJoined(m) {
    // Say so if the voice connection does not come (connstate.js).
    const gen = this.#gen;
    clearTimeout(this.#voiceTimer);
    this.#voiceTimer = setTimeout(() => {
      if (gen === this.#gen && !this.#left && !this.#fatal && !this.#mediaUp()) {
        store.update({ notice: NO_VOICE_NOTICE });
      }
    }, NO_VOICE_AFTER_MS);
    this.#intent = 'join'; // a reconnect joins the room we made
    this.#joined = true;
    this.#retries = 0;
    this.#self = m.self;
    this.#resume = typeof m.resume === 'string' ? m.resume : '';
    // On a resume, keep the names we knew (no "Joining…" flash); the KIDs
    // come again in the hellos member_back makes the others send.
    const known = m.resumed ? this.#members : new Map();
    this.#members = new Map();
    for (const mem of m.members ?? []) this.#members.set(mem.id, { id: mem.id, name: known.get(mem.id)?.name ?? null, kid: null, priority: mem.role === 'priority' });
    const me = this.#members.get(m.self) ?? { id: m.self };
    Object.assign(me, { name: this.#name, kid: this.#e2ee.kid });
    this.#members.set(m.self, me);
    this.#do({ type: 'joined', self: m.self, floor: m.floor, holdMs: m.floor_hold_ms ?? 0, now: performance.now() });
    const sig = this.#sig;
    this.#knocks = new KnockAnswerer(this.#secret, m.nameplate ?? '', (msg) => sig?.send(msg), this.#knockFailures);
    this.#showCode(m.nameplate ?? '');
    // A reconnect clears stale notices, but not why we just moved (a re-key).
    const notice = this.#turn.blocked ? store.get().notice : this.#moveNotice;
    this.#moveNotice = '';
    store.update({ nameplate: m.nameplate ?? '', talkLimitMs: m.talk_limit_ms ?? 0, notice });
    this.#render();
  }

  async #startMedia(gen) {
    const media = new MediaLink({
      api: this.#api,
      e2ee: this.#e2ee,
      track: this.#track,
      stream: this.#stream,
      signaling: this.#sig,
      onRemote: (s) => gen === this.#gen && this.#onRemote(s),
      onState: (s) => {
        if (gen !== this.#gen) return;
        this.#mediaState = s;
        if (s === 'connected') {
          clearTimeout(this.#voiceTimer);
          if (store.get().notice === NO_VOICE_NOTICE) store.update({ notice: '' });
        }
        this.#render();
      },
    });
    this.#media = media;
    try {
      await media.start();
    } catch (err) {
      if (gen !== this.#gen) return;
      if (err?.code === 'media_unavailable') {
        // A server without the SFU: the room works, minus audio.
        this.#noMedia = true;
        store.update({ notice: 'This server carries no audio yet: you can see who is here, but not talk.' });
        this.#render();
        return;
      }
      throw err;
    }
  }

  // The connection is gone: drop everything tied to it and try again.
  #lost(code, atLeastMs = 0) {
    if (this.#left || this.#fatal) return;
    this.#teardown();
    if (code === CLOSE_UNSUPPORTED_VERSION) {
      this.#fail('Sotto was updated. Reload the page to continue.');
      return;
    }
    if (code === CLOSE_REMOVED) {
      this.#fail(FATAL.removed);
      return;
    }
    const delay = retryDelay(this.#retries, atLeastMs);
    this.#retries++;
    this.#render();
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  // closeCode: CLOSE_GAVE_UP for a socket that may still be alive at the
  // server, whose membership we are about to resume on a new one.
  #teardown(closeCode = 1000) {
    clearTimeout(this.#voiceTimer);
    this.#gen++;
    this.#attempting = false; // an attempt still running is stale now
    this.#do({ type: 'lost' });
    this.#joined = false;
    this.#mediaState = 'new';
    this.#media?.close();
    this.#media = null;
    this.#knocks = null;
    this.#blobs?.close();
    this.#blobs = null;
    this.#e2ee?.close();
    this.#e2ee = null;
    this.#sig?.close(closeCode);
    this.#sig = null;
    this.#onRemote(null);
  }

  #fail(message) {
    this.#fatal = true;
    this.#dropSpare();
    this.#teardown();
    store.update({ notice: message });
    this.#render();
  }

  #online = () => {
    this.#offline = false;
    if (this.#joined && this.#sig?.isOpen) {
      // The socket survived the change of network; the media path may not have.
      this.#media?.restartIce();
      this.#render();
    } else if (this.#attempting) {
      // An attempt is under way: it connects, or fails into a retry.
      this.#render();
    } else if (!this.#left && !this.#fatal) {
      // Waiting to retry, or a socket that has not yet noticed it is dead:
      // drop what is left of it, keeping our membership, and go now.
      this.#teardown(CLOSE_GAVE_UP);
      this.#retries = 0;
      this.#connect();
    }
  };

  // Pocket mode (pocket.js): a page back from a freeze or from the
  // background resumes its membership now, or checks the socket it slept
  // on. Going hidden stops nothing: the socket, the media and the <audio>
  // play on wherever the browser lets them; it only readies a spare worker.
  #pageBack = (ev) => {
    if (ev.type === 'visibilitychange' && document.visibilityState !== 'visible') {
      if (!this.#spare && this.#keys && !this.#left && !this.#fatal) this.#spare = this.#newWorker();
      return;
    }
    switch (backAction({
      left: this.#left, fatal: this.#fatal, attempting: this.#attempting,
      joined: this.#joined, open: this.#sig?.isOpen ?? false, frozen: ev.type === 'resume',
    })) {
      case 'check':
        this.#sig.check();
        break;
      case 'reconnect':
        this.#teardown(CLOSE_GAVE_UP);
        this.#retries = 0;
        this.#connect();
        break;
      default:
    }
  };

  #wentOffline = () => {
    this.#offline = true;
    this.#render();
  };

  // ---- messages ---------------------------------------------------------

  #onMessage(m) {
    switch (m.type) {
      case 'member_joined': {
        const id = m.member?.id;
        if (!id || this.#members.has(id)) return;
        this.#members.set(id, { id, name: null, kid: null, priority: m.member.role === 'priority' });
        this.#hello(id).catch(() => {}); // sealing cannot fail with a valid key; if it did, they see "Joining…"
        this.#render();
        return;
      }
      case 'member_back': {
        // A member resumed on a new connection, with a new worker: greet it again.
        if (this.#members.has(m.member) && m.member !== this.#self) this.#hello(m.member).catch(() => {});
        return;
      }
      case 'member_left': {
        const mem = this.#members.get(m.member);
        if (!mem) return;
        if (mem.kid) this.#e2ee?.removeSender(mem.kid);
        this.#members.delete(m.member);
        this.#do({ type: 'left', member: m.member });
        this.#render();
        return;
      }
      case 'blob':
        this.#onBlob(m.from, m.data, this.#gen);
        return;
      case 'floor_granted':
        this.#do({ type: 'granted', member: m.member, id: m.id, deadlineMs: m.deadline_ms, now: performance.now() });
        this.#render();
        return;
      case 'floor_released':
        if (m.reason === 'preempted') {
          // A priority member took the floor (issue 17): the one it was taken from hears why.
          this.#do({ type: 'preempted', member: m.member, byName: this.#members.get(m.by)?.name ?? '' });
        } else {
          this.#do({ type: m.reason === 'timeout' ? 'limit' : 'released', member: m.member });
        }
        this.#render();
        return;
      case 'floor_busy':
        this.#do({ type: 'busy', id: m.id });
        this.#render();
        return;
      case 'ice':
        this.#media?.addRemoteCandidate(m.candidate);
        return;
      case 'knock':
      case 'knock_data':
      case 'knock_done':
        this.#knocks?.onMessage(m);
        return;
      case 'member_role': {
        // The operator changed someone's role; ours matters to us.
        const mem = this.#members.get(m.member?.id);
        const hadPriority = !!mem?.priority;
        if (mem) mem.priority = m.member.role === 'priority';
        this.#render();
        if (m.member?.id === this.#self) {
          // The operator can take priority away (talk), never give it.
          const talkText = hadPriority ? 'You can still talk, but no longer take the floor from others.' : 'You can talk in this room again.';
          store.update({ notice: m.member.role === 'listen' ? 'You can listen in this room, not talk.' : talkText });
        }
        return;
      }
      case 'knock_failed':
        store.update({ notice: 'Someone tried a wrong room code.' });
        return;
      case 'nameplate':
        // Too many wrong tries: the server retired the code.
        this.#knocks?.setNameplate(m.nameplate);
        this.#showCode(m.nameplate, 'The room code was changed after too many wrong tries. Share the new one.');
        return;
      case 'error':
        // A hello over our address's relay budget: sent again later.
        if (this.#blobs?.onError(m)) return;
        // Errors of requests someone waits for are theirs (signaling.js).
        // A refused floor_request must not leave the button "requesting".
        this.#do({ type: 'refused', id: m.id });
        this.#render();
        return;
      default:
        // joined, answer, pong, left: answers to requests, handled there.
    }
  }

  // A hello is { name, kid } sealed with the room's signal key. It is the
  // only place names come from, and announcing a KID is what lets its
  // frames be decrypted.
  async #hello(to) {
    if (!this.#e2ee || !this.#sig) return;
    if (!to && this.#members.size < 2) return; // nobody to tell
    const data = await sealJSON(this.#keys.signal, { name: this.#name, kid: this.#e2ee.kid });
    this.#blobs?.send(to ? { type: 'blob', to, data } : { type: 'blob', data });
  }

  async #onBlob(from, data, gen) {
    let hello;
    try {
      hello = await openJSON(this.#keys.signal, data);
    } catch {
      return; // not sealed with this room's key: not from a member who has the link
    }
    if (gen !== this.#gen) return;
    const mem = this.#members.get(from);
    if (!mem || from === this.#self) return;
    if (typeof hello?.rekey === 'string') {
      this.#onRekey(mem, hello);
      return;
    }
    if (typeof hello?.kid !== 'string' || !KID_RE.test(hello.kid)) return;
    // A replayed or repeated hello re-registers the same KID, which changes nothing.
    if (mem.kid && mem.kid !== hello.kid) this.#e2ee?.removeSender(mem.kid);
    mem.kid = hello.kid;
    mem.name = cleanName(hello.name) || 'Guest';
    this.#e2ee?.addSender(hello.kid);
    this.#render();
  }

  // The room code is the nameplate plus a password part only members can
  // derive (from S); it is worked out here and shown, never sent.
  async #showCode(nameplate, notice) {
    store.update({ nameplate, ...(notice ? { notice } : {}) });
    let code = '';
    try {
      if (nameplate) code = await roomCode(this.#secret, nameplate);
    } catch {
      // a nameplate the code format cannot hold: show none
    }
    if (store.get().nameplate === nameplate) store.update({ roomCode: code });
  }

  // ---- remove and re-key ----------------------------------------------------
  // In an open room anyone may remove anyone: the remover makes a new
  // secret S', sends it sealed to each remaining member alone (never to the
  // removed one), and everyone moves to the room of S'. The removed
  // member's link now opens an empty room. (A server colluding with the
  // removed member could hand it the blobs: docs/security.md.)

  /** removeAndRekey moves everyone but the member `id` to a new secret. */
  async removeAndRekey(id) {
    if (!this.#joined || !this.#sig?.isOpen || id === this.#self || !this.#members.has(id)) return false;
    const next = newSecret();
    const removedName = this.#members.get(id)?.name || 'someone';
    const msg = { rekey: toBase64url(next), removed: [id] };
    const sig = this.#sig;
    // Seal first (once per recipient: each blob has its own nonce), then
    // send them as one blobs message, so a connection lost meanwhile sends
    // none rather than some, and a room of 50 is not 49 messages over the
    // server's burst.
    const items = [];
    for (const other of this.#members.keys()) {
      if (other === this.#self || other === id) continue;
      items.push({ to: other, data: await sealJSON(this.#keys.signal, msg) });
    }
    if (sig !== this.#sig || !sig?.isOpen) return false;
    for (const b of blobsMessages(items)) sig.send(b);
    await this.#moveTo(next, `You removed ${removedName}. The room has new keys: compare the new safety code.`);
    return true;
  }

  #onRekey(from, msg) {
    let next;
    try {
      next = fromBase64url(msg.rekey);
    } catch {
      return;
    }
    if (next.length !== SECRET_SIZE) return;
    const removed = Array.isArray(msg.removed) ? msg.removed : [];
    if (removed.includes(this.#self)) return; // never sent by a correct app
    const names = removed.map((r) => this.#members.get(r)?.name || 'someone').join(', ') || 'someone';
    this.#moveTo(next, `${from.name || 'A member'} removed ${names}. The room has new keys: compare the new safety code.`);
  }

  // moveTo leaves this room and enters the room of a new secret, like a
  // reconnect with other keys.
  async #moveTo(next, notice) {
    this.#sig?.send({ type: 'leave' }); // after the re-key blobs, on the same socket
    this.#teardown();
    this.#dropSpare(); // it holds the old room's key
    this.#resume = ''; // that membership is behind us
    this.#secret = next;
    this.#keys = await deriveRoomKeys(next);
    this.#intent = 'join'; // join, or create if nobody has arrived yet
    this.#members = new Map();
    this.#onSecret(next);
    this.#moveNotice = notice;
    store.update({ safetyCode: this.#keys.safetyCode, notice });
    this.#retries = 0;
    this.#render();
    this.#connect();
  }

  // ---- the button ---------------------------------------------------------

  /** press: the button went down; latch: by a hands-free tap (talkturn.js). */
  press({ latch = false } = {}) {
    // A press dismisses a notice, but not the one saying voice is still down.
    if (store.get().notice && store.get().notice !== NO_VOICE_NOTICE && !this.#fatal && !this.#turn.blocked && !this.#noMedia) store.update({ notice: '' });
    this.#do({ type: latch ? 'latch' : 'press', open: this.#sig?.isOpen ?? false });
    this.#render();
  }

  /** release: the button came up (or the page lost focus); the mic goes on for the tail chosen on this device. */
  release() {
    this.#do({ type: 'release', tailMs: loadReleaseTail() });
    this.#render();
  }

  // do feeds one event to the talk turn and performs what it returns.
  #do(event) {
    for (const fx of this.#turn.step(event)) {
      switch (fx.type) {
        case 'send':
          this.#sig?.send(fx.message);
          break;
        case 'mic':
          // Nothing audible leaves unless the floor is ours, or asked for
          // from a server that holds it until the grant (talkturn.js).
          this.#track.enabled = fx.on;
          break;
        case 'chirp':
          chirp(fx.sound);
          break;
        case 'buzz':
          buzz(fx.ms);
          break;
        case 'announce':
          store.update({ notice: fx.text });
          break;
        case 'timer': {
          // The turn's clock (talkturn.js keeps no timers): its event comes
          // back with the time, a stale one is the turn's to ignore.
          const id = setTimeout(() => {
            this.#turnTimers.delete(id);
            if (this.#left) return;
            this.#do({ ...fx.event, now: performance.now() });
            this.#render();
          }, fx.ms);
          this.#turnTimers.add(id);
          break;
        }
        default:
          throw new Error(`session: unknown talk effect ${fx.type}`);
      }
    }
  }

  // ---- E2EE events --------------------------------------------------------

  #onE2EE(e) {
    switch (e?.type) {
      case 'watchdog':
        if (e.side === 'send') {
          this.#do({ type: 'blocked' });
          store.update({ notice: 'Your microphone was switched off because its audio could not be encrypted. Leave and enter the room again.' });
        } else {
          store.update({ notice: 'Incoming audio could not be decrypted, so it was muted.' });
        }
        this.#render();
        return;
      case 'cant-decrypt':
        store.update({ notice: 'Some audio could not be decrypted. Does everyone have the same safety code?' });
        return;
      case 'cant-encrypt':
        store.update({ notice: 'Your audio could not be encrypted, so it was not sent.' });
        return;
      default:
        // 'unknown-sender' (a talker whose hello is still on its way) and
        // pipe errors of a closing connection need no words.
    }
  }

  // ---- leaving ------------------------------------------------------------

  /** leave says goodbye to the server and ends everything; the mic is the caller's. */
  leave() {
    if (this.#left) return;
    // Leave ends the turn now, a tail too: the floor goes with us.
    this.#do({ type: 'release', tailMs: 0 });
    for (const id of this.#turnTimers) clearTimeout(id);
    this.#turnTimers.clear();
    this.#left = true;
    clearTimeout(this.#retryTimer);
    // Sent before the close frame on the same socket, so the server takes us
    // out of the room at once rather than on noticing the closed socket.
    this.#sig?.send({ type: 'leave' });
    this.#teardown();
    this.#dropSpare();
    removeEventListener('online', this.#online);
    removeEventListener('offline', this.#wentOffline);
    document.removeEventListener('resume', this.#pageBack);
    document.removeEventListener('visibilitychange', this.#pageBack);
    store.update({
      connection: 'idle', self: null, members: [], floor: { holder: null, mine: false, deadline: 0 },
      nameplate: '', roomCode: '', talkLimitMs: 0, safetyCode: '', talk: 'idle', talkWarning: '', notice: '',
    });
  }

  // ---- state for the UI -----------------------------------------------------

  // The voice side is as good as it gets: connected, or a server without
  // the SFU (media_unavailable), where there is nothing to wait for.
  #mediaUp() {
    return this.#mediaState === 'connected' || this.#noMedia;
  }

  #connection() {
    const state = connectionState({
      fatal: this.#fatal, offline: this.#offline, joined: this.#joined,
      mediaUp: this.#mediaUp(), everConnected: this.#everConnected,
    });
    if (state === 'connected') this.#everConnected = true;
    return state;
  }

  #render() {
    if (this.#left) return;
    // A hiccup of the network or the media path shows on the button and
    // ends no turn (talkturn.js 'link').
    this.#do({ type: 'link', up: !this.#offline && this.#mediaUp() });
    const { talk, latched, holder, mine, deadline, warning } = this.#turn.view();
    store.update({
      connection: this.#connection(),
      self: this.#joined ? this.#self : null,
      members: [...this.#members.values()].map((m) => ({
        id: m.id, name: m.name, self: m.id === this.#self, talking: m.id === holder, priority: !!m.priority,
      })),
      floor: { holder, mine, deadline },
      talk,
      latched,
      talkWarning: warning,
    });
  }
}
