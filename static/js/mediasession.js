// Headset and lock-screen buttons, through the Media Session API: the
// headset's play/pause button and the browser's microphone toggle are a
// tap on the talk button (talkinput.js headsetTap), and the lock screen
// shows the room and who is talking. Only where the browser has the API;
// nothing here throws where it has not, or has only part of it.
//
// What the lock screen shows is never secret to the room's members and
// never the room's link or code: the words "Sotto room", how many are in
// it, and who talks, by the display name members already see.

// Every action that means "tap the talk button". A headset's one button
// sends play or pause depending on whether the browser thinks our media is
// playing (the room's audio always is), so both, and playpause, toggle.
export const TAP_ACTIONS = Object.freeze(['togglemicrophone', 'play', 'pause', 'playpause']);

export const TITLE = 'Sotto room';
export const ARTWORK = Object.freeze([{ src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' }]);

/**
 * metadataFor is the lock screen's text: { title, artist, album }.
 * talker: the room screen's line ("Nobody is talking", "Ana is talking");
 * count: members in the room.
 */
export function metadataFor({ talker, count }) {
  return {
    title: talker,
    artist: `${TITLE} · ${count === 1 ? '1 person' : `${count} people`}`,
    album: TITLE,
  };
}

/**
 * bindMediaSession returns { show({ talker, count, mine }), clear() }.
 * show registers the tap handlers (once) and updates the lock screen;
 * clear (on leaving the room) takes both away, so a headset button does
 * nothing outside a room. session and Metadata are the browser's by
 * default (parameters for the tests).
 */
export function bindMediaSession({ onTap, session = globalThis.navigator?.mediaSession, Metadata = globalThis.MediaMetadata }) {
  let bound = false;
  let shown = ''; // the text last shown: a new MediaMetadata only on a change
  let mic = null; // the microphone state last told

  const handlers = (handler) => {
    for (const action of TAP_ACTIONS) {
      try {
        session.setActionHandler(action, handler);
      } catch {
        // an action this browser does not know (TypeError): the others still work
      }
    }
  };

  const setMic = (on) => {
    if (mic === on || typeof session.setMicrophoneActive !== 'function') return;
    mic = on;
    try {
      Promise.resolve(session.setMicrophoneActive(on)).catch(() => {});
    } catch {
      // refused: the browser's own microphone indicator is what it is
    }
  };

  const setMetadata = (meta) => {
    try {
      session.metadata = meta && typeof Metadata === 'function' ? new Metadata({ ...meta, artwork: [...ARTWORK] }) : null;
    } catch {
      // no MediaMetadata, or one that refuses our artwork: no lock-screen text
    }
  };

  return {
    show({ talker, count, mine }) {
      if (!session) return;
      if (!bound) {
        handlers(() => onTap());
        bound = true;
      }
      setMic(Boolean(mine));
      const meta = metadataFor({ talker, count });
      const key = JSON.stringify(meta);
      if (key === shown) return;
      shown = key;
      setMetadata(meta);
    },
    clear() {
      if (!session || !bound) return;
      handlers(null);
      bound = false;
      shown = '';
      setMic(false);
      mic = null;
      setMetadata(null);
    },
  };
}
