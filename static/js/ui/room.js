// The room screen: connection state, who is talking (a role="status" live
// region) with a level bar, the hold-to-talk button and its countdown, the
// member list, the safety code and any notice. It renders from the store;
// input goes to the callbacks app.js passes in.

import * as store from '../store.js';
import { showLevel } from '../level.js';
import { $, setText, showAlert } from './dom.js';
import { bindTalk } from './talk.js';
import { loadHandsFree, saveHandsFree } from '../prefs.js';
import { RELEASE_TAIL_CHOICES_MS, loadReleaseTail, saveReleaseTail } from '../prefs.js';
import { WARN_BEFORE_MS } from '../talkturn.js';
import { initShare } from './share.js';
import { bindTalkKey } from './talkkey.js';
import { keyLabel } from '../talkkey.js';
import { bindMediaSession } from '../mediasession.js';
import { bindBluetoothButton } from './bluetoothptt.js';

const CONNECTION_TEXT = {
  idle: '',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Waiting for network…',
  closed: 'Disconnected',
};

// The countdown turns red when the warning sounds, so nobody is cut off by surprise.
const LOW_SECONDS = WARN_BEFORE_MS / 1000;

let levels = { mic: null, remote: null }; // LevelReaders, set by app.js
let frame = 0;
let ticker = 0;
let talkInput = null;
let removeMember = () => {};
let sayAgain = () => {}; // (turn id, 0 for the latest): plays it, or stops what plays
let talkKey = null; // the Talk key control (ui/talkkey.js)
let headset = null; // headset buttons and the lock screen (mediasession.js)
let bluetooth = null; // a Bluetooth push-to-talk button (ui/bluetoothptt.js)

export function initRoom({ onDown, onUp, onLeave, onRemove, onSayAgain }) {
  removeMember = onRemove;
  sayAgain = onSayAgain;
  $('say-again').addEventListener('click', () => sayAgain(0));
  talkInput = bindTalk($('talk'), {
    isActive: () => store.get().screen === 'room',
    handsFree,
    talkKey: () => talkKey.current(),
    onDown,
    onUp,
  });
  const box = $('hands-free');
  box.checked = loadHandsFree();
  box.addEventListener('change', () => {
    saveHandsFree(box.checked);
    // Lets go (a switch of mode never leaves the mic on) and focuses the
    // talk button, so the next Space talks (talkinput.js modeSwitched).
    talkInput.modeSwitched();
    render(store.get());
  });
  // Learning a key lets go first (the key held may be the one replaced);
  // after it, the focus goes to the talk button, as after Hands-free, so the
  // next Space talks rather than pressing the Talk key button again.
  talkKey = bindTalkKey($('talk-key'), $('talk-key-note'), {
    onStart: () => talkInput.release(),
    onChanged: () => {
      talkInput.modeSwitched();
      render(store.get());
    },
  });
  headset = bindMediaSession({ onTap: () => talkInput.tap() });
  bluetooth = bindBluetoothButton($('bt-button'), $('bt-note'), {
    onPress: () => talkInput.bluetoothDown(),
    onRelease: () => talkInput.bluetoothUp(),
  });
  initReleaseTail();
  $('leave').addEventListener('click', () => {
    talkInput.release();
    onLeave();
  });
  initShare();
  store.subscribe(render);
}

// The release tail's choice (talkturn.js): read by the session at each
// release, so a change counts from the next one.
function initReleaseTail() {
  const select = $('release-tail');
  select.replaceChildren(...RELEASE_TAIL_CHOICES_MS.map((ms) => {
    const o = document.createElement('option');
    o.value = String(ms);
    o.textContent = ms ? `${ms / 1000} s` : 'Off';
    return o;
  }));
  select.value = String(loadReleaseTail());
  select.addEventListener('change', () => saveReleaseTail(Number(select.value)));
}

/** handsFree: the Hands-free box is ticked (a tap toggles; see talk.js). */
const handsFree = () => $('hands-free').checked;

/** setLevelSources tells the meter where our voice and the room's come from. */
export function setLevelSources(next) {
  levels = { ...levels, ...next };
}

/** releaseTalk lets go of the button from outside (leaving, screen change). */
export function releaseTalk() {
  talkInput?.release();
}

function nameOf(s, id) {
  if (id === s.self) return 'You';
  const m = s.members.find((x) => x.id === id);
  return m?.name || 'Someone';
}

function render(s) {
  if (s.screen !== 'room') {
    stopLoops();
    talkKey.cancel();
    headset.clear();
    bluetooth.stop();
    return;
  }
  startLoops();
  bluetooth.start();

  const conn = $('conn');
  conn.dataset.state = s.connection;
  setText($('conn-text'), CONNECTION_TEXT[s.connection] ?? '');

  const holder = s.floor.holder;
  // The warning's time left goes in the same live region, so a screen reader says it too.
  const you = s.talkWarning ? `You are talking. ${s.talkWarning}` : 'You are talking';
  const talker = !holder ? 'Nobody is talking' : holder === s.self ? you : `${nameOf(s, holder)} is talking`;
  setText($('talker'), talker);
  headset.show({ talker, count: s.members.length, mine: s.floor.mine });

  // Hands-free (or a headset tap): the session ends a turn the user did not
  // end (refused, out of time, taken away, a lost connection; see session.js
  // #latched); the button follows, so the next tap starts a turn instead of
  // ending a dead one.
  const free = handsFree();
  if (talkInput.isLatched() && !s.latched) talkInput.release();

  const talk = $('talk');
  talk.dataset.state = s.talk;
  setText(talk.querySelector('.talk-label'), free ? 'Tap to talk' : 'Hold to talk');
  const fine = matchMedia('(pointer: fine)').matches;
  const key = keyLabel(talkKey.current());
  const sub = {
    idle: free ? (fine ? `or press ${key}` : 'Tap to start') : fine ? `or hold ${key}` : 'Press and hold',
    requesting: 'Getting the floor…',
    talking: free ? 'Talking · tap to stop' : 'Talking · let go to stop',
    busy: `Busy: ${holder ? nameOf(s, holder) : 'someone'} is talking`,
    offline: s.connection === 'closed' ? 'Not connected' : CONNECTION_TEXT[s.connection] || 'Not connected',
  }[s.talk];
  setText($('talk-sub'), sub ?? '');

  showAlert($('room-notice'), s.notice);
  renderMembers(s);
  renderSayAgain(s);
  setText($('sas'), s.safetyCode);
  renderCountdown();
}

function renderMembers(s) {
  setText($('member-count'), s.members.length ? `(${s.members.length})` : '');
  const list = $('members');
  // Small lists: rebuilding is simpler than diffing and costs nothing.
  const items = s.members.map((m) => {
    const li = document.createElement('li');
    li.dataset.id = m.id;
    if (m.talking) li.classList.add('talking');
    if (!m.name) li.classList.add('pending');
    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const name = m.name || '';
    avatar.textContent = name ? [...name][0].toUpperCase() : '·';
    const who = document.createElement('span');
    who.className = 'who';
    // Names come from other people: textContent only, never markup.
    who.textContent = name || 'Joining…';
    li.append(avatar, who);
    const tags = [];
    if (m.self) tags.push('you');
    if (m.priority) tags.push('priority'); // an operator's token lets them take the floor (issue 17)
    if (m.talking) tags.push('talking');
    if (tags.length) {
      const tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = tags.join(', ');
      li.append(tag);
    }
    if (!m.self && s.connection === 'connected') {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', `Remove ${name || 'this member'} and re-key`);
      remove.addEventListener('click', () => {
        const who = name || 'this member';
        if (confirm(`Remove ${who}? Everyone else moves to new keys; ${who}'s link stops working.`)) removeMember(m.id);
      });
      li.append(remove);
    }
    return li;
  });
  list.replaceChildren(...items);
}

// "Say again" (sayagaintap.js): one button for the latest turn heard, a
// list to pick another, and a note that says why the button is off.
function renderSayAgain(s) {
  const v = s.sayAgain;
  const turns = v.turns.filter((t) => !t.gap);
  const playing = turns.find((t) => t.id === v.playing);
  const live = Boolean(s.floor.holder);
  const button = $('say-again');
  button.disabled = !playing && (!v.available || turns.length === 0 || live);
  setText(button, playing ? 'Stop' : 'Say again');
  button.setAttribute('aria-label', playing ? 'Stop playing again' : 'Say again');
  let note;
  if (playing) note = `Playing again: ${describeTurn(playing)}.`;
  else if (!v.available) note = 'This browser cannot keep what you hear to play it again.';
  else if (turns.length === 0) note = 'Nothing to play again yet. What others say is kept here for two minutes.';
  else if (live) note = 'Wait until nobody is talking.';
  else note = `Plays ${describeTurn(turns[0])}.`;
  setText($('say-again-note'), note);

  const items = v.turns.map((t) => {
    const li = document.createElement('li');
    if (t.gap) {
      li.className = 'gap';
      li.textContent = `${clock(t.at)} · missed about ${seconds(t.ms)} (connection lost)`;
      return li;
    }
    const b = document.createElement('button');
    b.type = 'button';
    // Names come from other people: textContent only, never markup.
    b.textContent = `${t.name} · ${clock(t.at)} · ${seconds(t.ms)}`;
    b.setAttribute('aria-pressed', String(t.id === v.playing));
    b.setAttribute('aria-label', `${t.id === v.playing ? 'Stop' : 'Play'} ${describeTurn(t)}`);
    b.disabled = live && t.id !== v.playing;
    b.addEventListener('click', () => sayAgain(t.id));
    li.append(b);
    return li;
  });
  $('heard').replaceChildren(...items);
}

function describeTurn(t) {
  return `${t.name}, ${clock(t.at)}, ${seconds(t.ms)}`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function seconds(ms) {
  const total = Math.max(1, Math.round(ms / 1000));
  return total < 60 ? `${total} s` : `${Math.floor(total / 60)} min ${total % 60} s`;
}

function renderCountdown() {
  const s = store.get();
  const el = $('countdown');
  if (!s.floor.holder || !s.floor.deadline) {
    setText(el, '');
    el.classList.remove('low');
    return;
  }
  const left = Math.max(0, Math.ceil((s.floor.deadline - performance.now()) / 1000));
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, '0');
  setText(el, `${mm}:${ss} left`);
  el.classList.toggle('low', s.floor.mine && left <= LOW_SECONDS);
}

function startLoops() {
  if (!ticker) ticker = setInterval(renderCountdown, 250);
  if (frame) return;
  const bar = $('talk-level');
  const talk = $('talk');
  const tick = () => {
    const s = store.get();
    let v = 0;
    if (s.floor.mine && levels.mic) v = levels.mic.level();
    else if (s.floor.holder && levels.remote) v = levels.remote.level();
    showLevel(bar, v);
    showLevel(talk, s.floor.mine ? v : 0);
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
}

function stopLoops() {
  cancelAnimationFrame(frame);
  frame = 0;
  clearInterval(ticker);
  ticker = 0;
}
