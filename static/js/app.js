// Sotto's entry point: decides which screen to show, and hands a room from
// one stage to the next:
//   Home --Create room--> Lobby (intent create) --Enter room--> Room
//   a link's #fragment --> Lobby (intent join)  --Enter room--> Room
//   a typed room code --(PAKE, codejoin.js)--> Lobby (intent join)
//   Room --Leave--> Home
// Modules: store.js (state), secret.js (where S lives), session.js (one stay
// in a room: signaling, E2EE, media, floor), ui/*.js (one screen each).

import { newSecret } from './e2ee/keys.js';
import { audioContext } from './chirps.js';
import { keepAwake, voiceAudioSession } from './device.js';
import { isAppleMobile } from './pocket.js';
import { LevelReader } from './level.js';
import { stopMic } from './mic.js';
import { RoomSession } from './session.js';
import { SayAgain } from './sayagaintap.js';
import * as secrets from './secret.js';
import * as store from './store.js';
import { $, showScreen } from './ui/dom.js';
import { homeError, initHome } from './ui/home.js';
import { closeLobby, initLobby, openLobby } from './ui/lobby.js';
import { initRoom, releaseTalk, setLevelSources } from './ui/room.js';
import { initTheme } from './ui/theme.js';

const LINK_ERRORS = {
  'link-version': 'This invite link is from a newer version of Sotto. Reload the page, then open the link again.',
  default: 'This invite link is damaged: part of it is missing or was changed. Ask for the link again.',
};

let current = null; // { secret, intent, session, mic, wake, remoteLevel }

// The lead's browser tests read this; it holds nothing secret (store.snapshot).
window.sottoState = () => store.snapshot();

function goHome(error = '') {
  secrets.forget();
  showScreen('home');
  homeError(error);
}

function goLobby(secret, intent) {
  current = { secret, intent, token: secrets.takeToken() };
  openLobby({ intent });
}

function createRoom() {
  const secret = newSecret();
  secrets.remember(secret);
  // Ask for the AudioContext inside this click, so the lobby's meter runs.
  audioContext();
  goLobby(secret, 'create');
}

async function enterRoom({ name, mic, api }) {
  const room = current;
  room.mic = mic;
  store.update({ inviteLink: secrets.inviteLink(room.secret), notice: '', connection: 'connecting' });
  showScreen('room');
  voiceAudioSession(true, mic);
  $('pocket-note').hidden = !isAppleMobile(navigator);
  room.wake = keepAwake();
  const ctx = audioContext();
  setLevelSources({ mic: ctx ? new LevelReader(ctx, mic) : null, remote: null });
  room.sayAgain = new SayAgain(ctx);
  room.session = new RoomSession({
    secret: room.secret,
    intent: room.intent,
    token: room.token,
    name,
    mic,
    api,
    onRemote: (stream) => playRemote(room, stream),
    onSecret: (next) => {
      // Remove and re-key moved the room: the old link is dead, share the new one.
      room.secret = next;
      secrets.remember(next);
      // What was heard under the old keys is not kept under the new ones.
      room.sayAgain.wipe();
      store.update({ inviteLink: secrets.inviteLink(next) });
    },
  });
  try {
    await room.session.start();
  } catch {
    leaveRoom('The room could not be opened. Try again.');
  }
}

// The floor track plays through the one <audio> element. It must stay
// attached and playing (and unmuted) for WebAudio to see its samples, which
// the talker's level bar needs.
function playRemote(room, stream) {
  const audio = $('remote');
  room.sayAgain?.attach(stream);
  room.remoteLevel?.close();
  room.remoteLevel = null;
  if (!stream) {
    audio.srcObject = null;
    setLevelSources({ remote: null });
    return;
  }
  audio.srcObject = stream;
  audio.muted = false;
  audio.play().catch(() => {
    // Autoplay refused (no gesture yet): the next tap anywhere starts it.
    addEventListener('pointerdown', () => audio.play().catch(() => {}), { once: true });
  });
  const ctx = audioContext();
  if (ctx) {
    room.remoteLevel = new LevelReader(ctx, stream);
    setLevelSources({ remote: room.remoteLevel });
  }
}

function leaveRoom(error = '') {
  const room = current;
  current = null;
  releaseTalk();
  if (room) {
    room.session?.leave();
    room.sayAgain?.close();
    room.wake?.();
    playRemote(room, null);
    stopMic(room.mic);
  }
  setLevelSources({ mic: null, remote: null });
  voiceAudioSession(false);
  store.update({ inviteLink: '' });
  goHome(error);
}

// A link opened while the app is already showing (pasted into the address
// bar: only the fragment changes, so the page does not reload).
function onHashChange() {
  const got = secrets.takeFragment();
  if (!got) return;
  if (got.error) {
    if (!current?.session) goHome(LINK_ERRORS[got.error] ?? LINK_ERRORS.default);
    return;
  }
  if (current && secrets.sameSecret(current.secret, got.secret)) return;
  if (current?.session) leaveRoom();
  else closeLobby(true);
  secrets.remember(got.secret);
  goLobby(got.secret, 'join');
}

function start() {
  initTheme();
  initHome({
    onCreate: createRoom,
    onCodeJoined: (secret) => {
      secrets.remember(secret);
      goLobby(secret, 'join');
    },
  });
  initLobby({
    onEnter: enterRoom,
    onBack: () => {
      current = null;
      goHome();
    },
  });
  initRoom({
    onDown: (o) => current?.session?.press(o),
    onUp: () => current?.session?.release(),
    onLeave: () => leaveRoom(),
    onRemove: (id) => current?.session?.removeAndRekey(id),
    onSayAgain: (id) => current?.sayAgain?.toggle(id),
  });
  addEventListener('hashchange', onHashChange);
  // Pocket mode: a page back in sight plays the room again if the browser
  // paused the <audio> while it was away (iOS may; not verified on a
  // device). The session, not this, resumes the connection (pocket.js).
  document.addEventListener('visibilitychange', () => {
    const audio = $('remote');
    if (document.visibilityState === 'visible' && current?.session && audio.srcObject && audio.paused) audio.play().catch(() => {});
  });
  // Leaving the page leaves the room at once, rather than when the server
  // notices the closed socket. A page restored from the back/forward cache
  // has no session any more: start over (the secret is still in this tab).
  addEventListener('pagehide', () => {
    current?.session?.leave();
    current?.sayAgain?.close(); // the turns heard go with the page
  });
  addEventListener('pageshow', (ev) => {
    if (ev.persisted && store.get().screen === 'room') location.reload();
  });

  const got = secrets.takeFragment();
  if (got?.error) {
    goHome(LINK_ERRORS[got.error] ?? LINK_ERRORS.default);
  } else if (got) {
    goLobby(got.secret, 'join');
  } else {
    // A reload of a tab that was in a room: back to the lobby of that room.
    const kept = secrets.stored();
    if (kept) goLobby(kept, 'join');
    else showScreen('home');
  }

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      // No offline page then; the app works the same.
    });
  }
}

start();
