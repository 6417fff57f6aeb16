// Pocket mode: what the room does when the page goes out of sight and comes
// back, and how it asks iOS to play. Pure: session.js and device.js pass in
// what they know and do what these answer.
//
// Measured in Chromium (TestPocketModeInBrowser): a hidden page keeps its
// socket, its PeerConnection and its <audio> playing, with timers held to
// one wake-up a second; nothing here stops any of it. A frozen page (a
// phone's background tab, DevTools lifecycle emulation) runs nothing, and
// Chromium closes its WebSocket with 1001, on the wire the moment the page
// runs again; the page learns of it only then. The server takes that 1001
// as a drop (docs/protocol.md), so the membership waits for our resume.

/**
 * backAction says what to do when the page comes back: after a freeze
 * (the document's 'resume' event, Chromium's; frozen), or into sight
 * ('visibilitychange' to visible):
 *  'none'      nothing to do: left, failed for good, or an attempt is under way;
 *  'check'     in the room on an open socket that may have died unseen
 *              while the page slept: ping it now rather than at the next
 *              15 s tick;
 *  'reconnect' the socket is gone (or closed while frozen, its close event
 *              not yet run) or a retry timer is waiting: connect now, with
 *              the resume token, rather than after a backoff, which on a
 *              page just back from the background waits for the next
 *              once-a-second timer wake-up too.
 */
export function backAction({ left = false, fatal = false, attempting = false, joined = false, open = false, frozen = false }) {
  if (left || fatal) return 'none';
  // Chromium has failed every WebSocket of a page it froze, even one that
  // still reads as open when 'resume' runs (its close event comes next),
  // and an attempt's under way too.
  if (frozen) return 'reconnect';
  if (attempting) return 'none';
  if (joined && open) return 'check';
  return 'reconnect';
}

/**
 * audioSessionType is the Audio Session API type (navigator.audioSession,
 * Safari 16.4+) the page asks for. In a room with the microphone open it
 * is 'play-and-record': WebKit maps it to AVAudioSessionCategoryPlayAndRecord
 * with DefaultToSpeaker among its options (WebCore AudioSessionIOS.mm), so
 * without a headset the room should play on the loudspeaker, not the
 * earpiece receiver; since WebKit bug 318784 (2026) it also always gets the
 * video-chat mode and its volume. 'playback' routes to the loudspeaker
 * too but cannot record, so it is no choice while the microphone is open.
 * With 'auto' WebKit picks from the APIs in use, and reports of quiet or
 * earpiece audio beside an open microphone go on (WebKit bugs 230902,
 * iOS 15; 295889, iOS 18.5). None of this is verified on a device here.
 * Out of a room, or with no live microphone, the page gives the choice
 * back: 'auto'.
 */
export function audioSessionType({ inRoom = false, micLive = false }) {
  return inRoom && micLive ? 'play-and-record' : 'auto';
}

/**
 * isAppleMobile tells iPhone and iPad (every browser there is WebKit, with
 * iOS's rules for background pages and audio routing) from the rest.
 * iPadOS asks for desktop pages as a Mac: a "Mac" with a touch screen is
 * an iPad.
 */
export function isAppleMobile({ userAgent = '', platform = '', maxTouchPoints = 0 } = {}) {
  if (/\b(iPhone|iPad|iPod)\b/.test(userAgent)) return true;
  return platform === 'MacIntel' && maxTouchPoints > 1;
}
