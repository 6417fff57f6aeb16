// Home: "Create room", and "Join" by a typed room code. The code's
// password part never leaves this page: codejoin.js turns the code into the
// room's secret through a PAKE with a member of the room.

import { secretFromCode } from '../codejoin.js';
import { $, showAlert } from './dom.js';

const MESSAGES = {
  'bad-code': 'That is not a room code. A code is the digits shown under "Room code" in the room, like 482-719-3528.',
  no_such_room: 'No room has this code right now. Check the first digits; a room ends when everyone has left.',
  'wrong-code': 'That code is wrong. Check it with the person who shared it. (After a few wrong tries the room gets a new code.)',
  try_later: 'Too many codes were tried just now. Wait a few seconds and try again.',
  timeout: 'Nobody in the room answered in time. Try again.',
  gone: 'The person who was letting you in left. Try again.',
  refused: 'Nobody in the room can let you in by code right now (too many wrong codes were tried). Ask for the invite link.',
  failed: 'Joining by code did not work. Try again, or open the invite link.',
};

let busy = false;

export function initHome({ onCreate, onCodeJoined }) {
  $('create').addEventListener('click', () => {
    showAlert($('home-error'), '');
    onCreate();
  });
  $('join-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const code = $('code').value.trim();
    if (!code) {
      say('Type the room code first.', true);
      return;
    }
    busy = true;
    $('join').disabled = true;
    say('Checking the code with the room…', false);
    try {
      const secret = await secretFromCode(code);
      say('', false);
      $('code').value = '';
      onCodeJoined(secret);
    } catch (err) {
      say(MESSAGES[err?.code] ?? MESSAGES.failed, true);
    } finally {
      busy = false;
      $('join').disabled = false;
    }
  });
}

// The note is a polite live region: re-setting the text announces it again.
function say(text, emph) {
  const note = $('code-note');
  note.textContent = '';
  note.textContent = text;
  note.classList.toggle('emph', emph);
}

/** homeError shows why we came back home (a bad link, a closed room). */
export function homeError(message) {
  showAlert($('home-error'), message);
}
