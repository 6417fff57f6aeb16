// Before entering: the name others will see, a live microphone level so a
// person can tell it works, and plain words when it does not (denied,
// missing, busy) or when this browser cannot encrypt audio (no plaintext
// fallback: we refuse to enter).

import { chooseApi } from '../e2ee/attach.js';
import { audioContext } from '../chirps.js';
import { LevelReader, showLevel } from '../level.js';
import { openMic, stopMic } from '../mic.js';
import { cleanName, loadName, saveName } from '../prefs.js';
import { $, setText, showAlert, showScreen } from './dom.js';

let mic = null; // the MediaStream, handed to the room on Enter
let api = null;
let reader = null;
let frame = 0;
let opening = null;
let handlers = null;

export function initLobby({ onEnter, onBack }) {
  handlers = { onEnter, onBack };
  $('enter').addEventListener('click', enter);
  $('name').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !$('enter').disabled) enter();
  });
  $('back').addEventListener('click', () => {
    closeLobby(true);
    handlers.onBack();
  });
  $('mic-retry').addEventListener('click', startMic);
  // Browsers start an AudioContext suspended until a gesture; a link opened
  // from a chat has had none. The first tap or key here lets the meter move.
  $('screen-lobby').addEventListener('pointerdown', wake);
  $('screen-lobby').addEventListener('keydown', wake);
}

function wake() {
  const ctx = audioContext();
  if (ctx && mic && !reader) attachMeter();
}

/** openLobby shows the screen for a room about to be created or joined. */
export function openLobby({ intent }) {
  showScreen('lobby');
  setText($('lobby-intro'), intent === 'create'
    ? 'Your new room is ready. Check your microphone, then enter.'
    : 'You were invited to a room. Check your microphone, then enter.');
  const name = $('name');
  if (!name.value) name.value = loadName();
  showAlert($('lobby-error'), '');
  try {
    api = chooseApi();
  } catch {
    api = null;
    showAlert($('lobby-error'), 'This browser cannot encrypt audio end to end, so Sotto will not use it. Try a current version of Chrome, Edge, Safari or Firefox.');
  }
  updateEnter();
  startMic();
}

async function startMic() {
  if (opening) return opening;
  $('mic-retry').hidden = true;
  setText($('mic-state'), 'Asking for the microphone…');
  opening = (async () => {
    try {
      if (!mic || mic.getAudioTracks().every((t) => t.readyState === 'ended')) mic = await openMic();
      mic.getAudioTracks()[0].enabled = true; // the meter must hear it
      setText($('mic-state'), 'Speak to test it');
      attachMeter();
      if (api) showAlert($('lobby-error'), '');
    } catch (err) {
      mic = null;
      setText($('mic-state'), err.code === 'denied' ? 'Blocked' : 'Not available');
      if (api) showAlert($('lobby-error'), err.message);
      $('mic-retry').hidden = false;
    } finally {
      opening = null;
      updateEnter();
    }
  })();
  return opening;
}

function attachMeter() {
  const ctx = audioContext();
  if (!ctx || !mic) return;
  reader?.close();
  reader = new LevelReader(ctx, mic);
  cancelAnimationFrame(frame);
  const el = $('mic-level');
  const tick = () => {
    showLevel(el, ctx.state === 'running' ? reader.level() : 0);
    frame = requestAnimationFrame(tick);
  };
  tick();
  if (ctx.state !== 'running') setText($('mic-state'), 'Tap here to see its level');
  ctx.onstatechange = () => {
    if (ctx.state === 'running' && mic && !$('screen-lobby').hidden) setText($('mic-state'), 'Speak to test it');
  };
}

function updateEnter() {
  $('enter').disabled = !(api && mic);
}

function enter() {
  if (!api || !mic) return;
  // This click is the gesture that lets audio play in the room.
  audioContext();
  const name = cleanName($('name').value);
  saveName(name);
  const handed = mic;
  closeLobby(false);
  handlers.onEnter({ name, mic: handed, api });
}

/** closeLobby stops the meter; stopMic ends the microphone too (Back). */
export function closeLobby(stop) {
  cancelAnimationFrame(frame);
  reader?.close();
  reader = null;
  if (stop) stopMic(mic);
  mic = null;
}
