// Home: "Create room", and "Join" by a typed room code. The code's
// password part never leaves this page: codejoin.js turns the code into the
// room's secret through a PAKE with a member of the room.

import { secretFromCode } from '../codejoin.js';
import { messageOf } from '../codeoutcome.js';
import { $, showAlert } from './dom.js';

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
      say(messageOf(err?.code), true);
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
