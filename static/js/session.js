// One stay in a room: derive the keys, connect, create or join, trade sealed
// hellos and media keys (docs/keys.md, v2), run the media link, take and
// give back the floor, and reconnect from scratch (new WebSocket, new
// PeerConnection) whenever the signaling connection is lost. The E2EE
// worker is the membership's: a resume keeps it, with its sid, its keys,
// its epochs and its frame counter (a new worker would start the same
// epoch's CTR at 0 again: a nonce used twice); a new membership (a join, a
// re-key) has a new worker, sid, pair and keys.
// Everything the UI shows goes through store.js; the secret and the keys
// stay inside this object.

import { startE2EE } from './e2ee/attach.js';
import { SECRET_SIZE, deriveRoomKeys, newSecret } from './e2ee/keys.js';
import { openJSON, sealJSON } from './e2ee/blob.js';
import { fromBase64url, toBase64url } from './e2ee/encoding.js';
import { MemberKeys, parseHello } from './memberkeys.js';
import { KeyRotation } from './keyrotation.js';
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
  #members = new Map(); // id -> { id, name, sid (null until its hello), later (joined after us), priority }
  // The membership's media keys (memberkeys.js) and when ours move on
  // (keyrotation.js): made before a join, kept by a resume, erased on
  // Leave, re-key, failure and page unload.
  #mk = null;
  #mkUsed = false; // #mk got into the room: a join after it is a new membership
  #rot = null;
  #rotTimers = new Set();
  #expiryTimer = 0;
  // Our hellos and key blobs go out in order (a member must hold our hello
  // before our key), and blobs from others are handled in order (their
  // hello before their key): each through one promise chain.
  #out = Promise.resolve();
  #in = Promise.resolve();
  #e2eeCounts = { cantDecrypt: 0, unknownSender: 0 }; // frames dropped, for the test view (store.js keys)
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
  // The membership's E2EE worker ({ mk, starting }): started with its
  // first sender key, kept over resumes, so the connection made when a page
  // comes back (after a freeze, always) starts none: starting a worker was
  // most of a return's time (measured: 1.3 s of 1.6 s on a loaded machine,
  // TestPocketModeInBrowser). Closed when the membership ends.
  #worker = null;
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
    // A resume keeps the membership's keys; anything else starts a new one
    // (but a membership that never got into the room is still new).
    if (!this.#mk || (!this.#resume && this.#mkUsed)) {
      try {
        await this.#newMembership(gen);
      } catch {
        if (gen === this.#gen) this.#fail('This browser cannot encrypt audio end to end, so Sotto will not send any. Try a current Chrome, Edge, Safari or Firefox.');
        return;
      }
      if (gen !== this.#gen) return;
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
    // A new membership's worker derives its keys while the socket opens.
    const e2eeStarting = this.#worker.starting;
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
      if (stale()) return;
      this.#e2ee = e2ee;
      const joined = await this.#enter(sig, gen);
      if (stale()) return;
      this.#onJoined(joined);
      await this.#greet(joined.resumed);
      if (stale()) return;
      await this.#startMedia(gen);
      if (stale()) return;
      // A button still held on the new connection asks again.
      this.#do({ type: 'ready', open: sig.isOpen });
      this.#render();
    } catch (err) {
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

  // resume our membership if we had one (a blip: the others see no leave
  // and join), else create or join, falling back to the other: rooms vanish
  // when empty, but links stay valid, so a join that finds no room makes it
  // again.
  async #enter(sig, gen) {
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
        // A new membership: new sid, pair, keys and worker.
        await this.#newMembership(gen);
        if (gen !== this.#gen) throw Object.assign(new Error('stale'), { code: 'stale' });
        this.#e2ee = await this.#worker.starting;
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
    this.#mkUsed = true;
    this.#resume = typeof m.resume === 'string' ? m.resume : '';
    // On a resume, keep the names and sids we knew (no "Joining…" flash);
    // the others' keys come again with the hellos member_back makes them
    // send. A member we did not know came while we were away: after us.
    const known = m.resumed ? this.#members : new Map();
    this.#members = new Map();
    for (const mem of m.members ?? []) {
      const k = known.get(mem.id);
      this.#members.set(mem.id, {
        id: mem.id, name: k?.name ?? null, sid: k?.sid ?? null, later: m.resumed ? (k?.later ?? true) : false, priority: mem.role === 'priority',
      });
    }
    const me = this.#members.get(m.self) ?? { id: m.self };
    Object.assign(me, { name: this.#name, sid: this.#mk.sid, later: false });
    this.#members.set(m.self, me);
    // Members that left while we were away: as member_left would have.
    let gone = false;
    for (const [id, k] of known) {
      if (this.#members.has(id)) continue;
      if (k.sid !== null && id !== m.self) this.#mk.removeMember(k.sid);
      gone = true;
    }
    if (gone) this.#rotate('left');
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
    this.#e2ee = null; // the membership's worker stays, for a resume
    this.#sig?.close(closeCode);
    this.#sig = null;
    this.#onRemote(null);
  }

  #fail(message) {
    this.#fatal = true;
    this.#endMembership();
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
  // play on wherever the browser lets them.
  #pageBack = (ev) => {
    if (ev.type === 'visibilitychange' && document.visibilityState !== 'visible') return;
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
        // It came after us: its hello makes us rotate (docs/keys.md).
        this.#members.set(id, { id, name: null, sid: null, later: true, priority: m.member.role === 'priority' });
        this.#hello(id);
        this.#render();
        return;
      }
      case 'member_back': {
        // A member resumed on a new connection, and may have missed a
        // rotation while away (or have a new worker, as a Go member may):
        // the hello and the keys we use again, never new ones.
        const mem = this.#members.get(m.member);
        if (mem && m.member !== this.#self) {
          this.#hello(m.member);
          this.#sendKeys([mem]);
        }
        return;
      }
      case 'member_left': {
        const mem = this.#members.get(m.member);
        if (!mem) return;
        this.#members.delete(m.member);
        // Its epochs are erased at once, and it gets none of our next key.
        if (mem.sid !== null) this.#mk?.removeMember(mem.sid);
        this.#rotate('left');
        this.#do({ type: 'left', member: m.member });
        this.#render();
        return;
      }
      case 'blob': {
        const gen = this.#gen;
        this.#in = this.#in.then(() => this.#onBlob(m.from, m.data, gen)).catch(() => {});
        return;
      }
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

  // A hello is { name, sid, dh } sealed with the room's signal key
  // (docs/keys.md): the only place names come from, and the public key our
  // key blobs are wrapped for. to: one member, or (null) everyone.
  #hello(to) {
    if (!to && this.#members.size < 2) return; // nobody to tell
    const mk = this.#mk;
    const hello = mk?.hello(this.#name);
    this.#send(async () => {
      if (!hello || mk !== this.#mk) return [];
      const data = await sealJSON(this.#keys.signal, hello);
      return [to ? { type: 'blob', to, data } : { type: 'blob', data }];
    });
  }

  // send queues messages made by make() (async) after everything queued
  // before, and sends them through the resender of the connection then
  // current: a hello leaves before a key blob made after it.
  #send(make) {
    const p = this.#out.then(async () => {
      for (const msg of await make()) this.#blobs?.send(msg);
    });
    this.#out = p.catch(() => {});
    return p;
  }

  // greet follows a join: our hello to everyone; after a resume, also the
  // keys we use to every member whose hello we hold (a rotation may have
  // been lost with the connection; the same key again changes nothing).
  async #greet(resumed) {
    this.#hello(null);
    if (resumed) this.#sendKeys([...this.#members.values()]);
    await this.#out;
  }

  // sendKeys sends members (whose hellos we hold) the keys we would send a
  // member now: the current one, and a pending one, one blobs batch per
  // epoch (a batch holds one item per member).
  #sendKeys(members) {
    const mk = this.#mk;
    if (!mk) return;
    for (const epoch of mk.epochs()) this.#sendKey(mk, epoch, members);
  }

  // sendKey wraps our key of epoch for each of members and sends the blobs
  // as one blobs batch (blobsMessages splits past 49 members).
  #sendKey(mk, epoch, members) {
    return this.#send(async () => {
      if (mk !== this.#mk) return [];
      const ids = new Map();
      for (const mem of members) if (mem.sid !== null && mem.id !== this.#self && this.#members.get(mem.id) === mem) ids.set(mem.sid, mem.id);
      const blobs = await mk.keyBlobs(epoch, [...ids.keys()]);
      if (mk !== this.#mk) return [];
      return blobsMessages(blobs.map((b) => ({ to: ids.get(b.sid), data: b.data })));
    });
  }

  async #onBlob(from, data, gen) {
    let msg;
    try {
      msg = await openJSON(this.#keys.signal, data);
    } catch {
      return; // not sealed with this room's key: not from a member who has the link
    }
    if (gen !== this.#gen) return;
    const mem = this.#members.get(from);
    const mk = this.#mk;
    if (!mem || from === this.#self || !mk) return;
    if (typeof msg?.rekey === 'string') {
      this.#onRekey(mem, msg);
      return;
    }
    if (typeof msg?.key === 'string') {
      // A key before its sender's hello (the hello was refused for a
      // while, too_many_blobs, and comes again later): the newest such key
      // waits for the hello, then goes through every rule.
      if (mem.sid === null) {
        mem.keyBeforeHello = msg;
        return;
      }
      await this.#acceptKey(mk, msg);
      return;
    }
    const hello = parseHello(msg);
    if (!hello) return; // a v1 hello ({ name, kid }), or nothing we know
    if (mem.sid !== null && mem.sid !== hello.sid) return; // a member's sid is for its membership
    let isNew;
    try {
      isNew = await mk.addMember(hello);
    } catch {
      return; // a sid another member announced, or a bad public key
    }
    if (gen !== this.#gen || mk !== this.#mk || this.#members.get(from) !== mem) {
      if (isNew) mk.removeMember(hello.sid);
      return;
    }
    mem.sid = hello.sid;
    mem.name = cleanName(msg.name) || 'Guest';
    const early = mem.keyBeforeHello;
    mem.keyBeforeHello = null;
    if (early) await this.#acceptKey(mk, early);
    if (isNew) {
      // A member that came after us gets only a new key (it cannot decrypt
      // what was said before it came); one that was here before us gets
      // the key we use, which was never used before we came.
      if (mem.later) this.#rotate('joined');
      else this.#sendKeys([mem]);
    }
    this.#render();
  }

  // acceptKey gives a member's key to the ring (and so to the worker).
  async #acceptKey(mk, msg) {
    try {
      await mk.acceptKey(msg, performance.now());
    } catch {
      return; // refused by the ring's rules (docs/keys.md): a replay, a non-member, a wrong pair
    }
    this.#scheduleExpiry();
    this.#render();
  }

  // ---- our sender key ---------------------------------------------------------

  // newMembership replaces the membership's keys (erasing the old ones) by
  // new ones, unless connection attempt gen was overtaken meanwhile.
  async #newMembership(gen) {
    const mk = await MemberKeys.create({ roomId: this.#keys.roomId, signal: this.#keys.signal });
    if (gen !== this.#gen || this.#left || this.#fatal) {
      mk.erase();
      return;
    }
    this.#endMembership();
    this.#mk = mk;
    this.#mkUsed = false;
    this.#rot = new KeyRotation();
    const { kid, key } = mk.current();
    const starting = startE2EE({ senderKey: key, kid, api: this.#api, onEvent: (e) => this.#mk === mk && this.#onE2EE(e) })
      // The ring drives this worker's receiver: it holds no one's key yet.
      .then(async (e2ee) => {
        await mk.attach(e2ee);
        return e2ee;
      });
    starting.catch(() => {}); // seen by the connection that waits for it
    this.#worker = { mk, starting };
    this.#doRot(this.#rot.step({ type: 'start' }));
  }

  // endMembership erases the membership's keys: the ring's epochs leave
  // the worker, the pair and our sender keys are dropped, timers stop.
  #endMembership() {
    this.#rot?.step({ type: 'stop' });
    this.#rot = null;
    for (const t of this.#rotTimers) clearTimeout(t);
    this.#rotTimers.clear();
    clearTimeout(this.#expiryTimer);
    const erased = this.#mk?.erase().catch(() => {});
    this.#mk = null;
    // After the ring's last messages to it (which drop every epoch), the
    // worker goes, with our sender key and every frame key.
    const worker = this.#worker;
    this.#worker = null;
    worker?.starting.then(async (e) => {
      await erased;
      e.close();
    }, () => {});
  }

  #rotate(reason) {
    if (this.#rot) this.#doRot(this.#rot.step({ type: 'trigger', reason }));
  }

  // doRot performs the effects of the key rotation (keyrotation.js).
  #doRot(effects) {
    const mk = this.#mk;
    const rot = this.#rot;
    for (const fx of effects) {
      switch (fx.type) {
        case 'rotate':
          // The new key goes to every member whose hello we hold (a leaver
          // is out of #members already); the switch waits until it is out.
          mk.newKey(fx.epoch);
          this.#sendKey(mk, fx.epoch, [...this.#members.values()]).catch(() => {}).then(() => {
            if (rot === this.#rot) this.#doRot(rot.step({ type: 'sent', epoch: fx.epoch }));
          });
          break;
        case 'use': {
          const cur = mk.use(fx.epoch);
          if (!cur) break;
          this.#worker.starting.then((e) => e.useSenderKey(cur.kid, cur.key), () => cur.key.fill(0));
          this.#render();
          break;
        }
        case 'timer': {
          const id = setTimeout(() => {
            this.#rotTimers.delete(id);
            if (rot === this.#rot) this.#doRot(rot.step(fx.event));
          }, fx.ms);
          this.#rotTimers.add(id);
          break;
        }
        default:
          throw new Error(`session: unknown key rotation effect ${fx.type}`);
      }
    }
  }

  // scheduleExpiry erases the others' old epochs when their grace ends
  // (the ring's timer: docs/keys.md OldKeyGrace).
  #scheduleExpiry() {
    clearTimeout(this.#expiryTimer);
    const mk = this.#mk;
    const next = mk?.nextExpiry();
    if (next === null || next === undefined) return;
    this.#expiryTimer = setTimeout(async () => {
      if (mk !== this.#mk) return;
      await mk.expire(performance.now());
      if (mk === this.#mk) {
        this.#scheduleExpiry();
        this.#render();
      }
    }, Math.max(0, next - performance.now()));
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
    this.#endMembership(); // the old room's keys and worker
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
        this.#e2eeCounts.cantDecrypt += e.count ?? 1;
        store.update({ notice: 'Some audio could not be decrypted. Does everyone have the same safety code?' });
        this.#render();
        return;
      case 'unknown-sender':
        // A talker whose key is still on its way (or an epoch erased): its
        // frames are dropped, never played; no words needed.
        this.#e2eeCounts.unknownSender += e.count ?? 1;
        this.#render();
        return;
      case 'cant-encrypt':
        store.update({ notice: 'Your audio could not be encrypted, so it was not sent.' });
        return;
      default:
        // Pipe errors of a closing connection need no words.
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
    // The keys go first: the ring tells the worker to drop every epoch,
    // then the worker goes (with our sender key).
    this.#endMembership();
    this.#teardown();
    removeEventListener('online', this.#online);
    removeEventListener('offline', this.#wentOffline);
    document.removeEventListener('resume', this.#pageBack);
    document.removeEventListener('visibilitychange', this.#pageBack);
    store.update({
      connection: 'idle', self: null, members: [], floor: { holder: null, mine: false, deadline: 0 },
      nameplate: '', roomCode: '', talkLimitMs: 0, safetyCode: '', talk: 'idle', talkWarning: '', notice: '',
      keys: { epoch: null, held: {}, cantDecrypt: 0, unknownSender: 0 },
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
      keys: this.#keysView(),
    });
  }

  // keysView is what the test view shows of the media keys: epoch numbers
  // and counts of dropped frames, never a key, a sid or a public key.
  #keysView() {
    const held = {};
    for (const m of this.#members.values()) {
      if (m.id !== this.#self && m.sid !== null) held[m.id] = this.#mk?.heldEpoch(m.sid) ?? null;
    }
    return { epoch: this.#mk?.epoch ?? null, held, ...this.#e2eeCounts };
  }
}
