// Home: "Create room", and the "Room code" field that will join by typed code
// once that exists (its own issue: a code alone must first be turned into the
// room's key by a PAKE between two browsers, so for now the link is the way in).

import { $, showAlert } from './dom.js';

export function initHome({ onCreate }) {
  $('create').addEventListener('click', () => {
    showAlert($('home-error'), '');
    onCreate();
  });
  $('join-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('code').value.trim();
    // The note is a polite live region: re-setting the text announces it again.
    const note = $('code-note');
    note.textContent = '';
    note.textContent = code
      ? `Joining room ${code} by its code is not possible yet. Ask for the invite link instead: it carries the room\u2019s key, and opening it takes you straight in.`
      : 'Type the room code first. (Joining by code is coming soon; for now, open the invite link.)';
    note.classList.add('emph');
  });
}

/** homeError shows why we came back home (a bad link, a closed room). */
export function homeError(message) {
  showAlert($('home-error'), message);
}
