// Sharing a room: the invite link in a read-only field, a copy button, the
// system share sheet where the browser has one, a QR code drawn here, and
// the short room code. The link is the room's key: it is shown, copied or
// handed to the share sheet on request, and never sent to our server.

import { qrSVG } from '../qr.js';
import * as store from '../store.js';
import { $, setText } from './dom.js';

let drawn = ''; // the link the QR code currently shows
let noteTimer = 0;

export function initShare() {
  $('copy').addEventListener('click', copy);
  $('invite').addEventListener('focus', (ev) => ev.target.select());
  const share = $('share');
  share.hidden = typeof navigator.share !== 'function';
  share.addEventListener('click', async () => {
    const url = store.get().inviteLink;
    try {
      await navigator.share({ title: 'Sotto room', text: 'Join my Sotto room (hold the button to talk):', url });
    } catch {
      // cancelled, or not allowed: the copy button still works
    }
  });
  store.subscribe(render);
}

function render(s) {
  const input = $('invite');
  if (input.value !== s.inviteLink) input.value = s.inviteLink;
  const plate = $('room-code');
  if (plate.value !== s.roomCode) plate.value = s.roomCode;
  if (s.inviteLink !== drawn) {
    drawn = s.inviteLink;
    drawQR(s.inviteLink);
  }
}

async function drawQR(link) {
  const box = $('qr');
  box.replaceChildren();
  if (!link) return;
  try {
    const svg = await qrSVG(link);
    if (drawn === link) box.replaceChildren(svg);
  } catch {
    setText(box, 'QR code unavailable');
  }
}

async function copy() {
  const link = store.get().inviteLink;
  let ok = false;
  try {
    await navigator.clipboard.writeText(link);
    ok = true;
  } catch {
    // No clipboard API (older browsers, some webviews): select the field so a
    // long-press or Ctrl+C copies it.
    const input = $('invite');
    input.focus();
    input.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  const note = $('copy-note');
  setText(note, ok ? 'Invite link copied.' : 'Select the link above and copy it.');
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => setText(note, ''), 4000);
}
