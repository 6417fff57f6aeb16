// Phone niceties while in a room, each only where the browser has it:
// keep the screen on, route audio as a call, buzz when the floor is ours.

import { audioSessionType } from './pocket.js';

/**
 * keepAwake holds a screen wake lock and takes it again whenever the page
 * comes back into view (browsers drop it when the page is hidden). Returns a
 * function that lets go.
 */
export function keepAwake() {
  if (!navigator.wakeLock?.request) return () => {};
  let lock = null;
  let stopped = false;
  const take = async () => {
    if (stopped || document.visibilityState !== 'visible' || lock) return;
    try {
      lock = await navigator.wakeLock.request('screen');
      lock.addEventListener('release', () => { lock = null; });
      if (stopped) lock.release().catch(() => {});
    } catch {
      lock = null; // refused (battery saver, no permission): the screen may sleep
    }
  };
  document.addEventListener('visibilitychange', take);
  take();
  return () => {
    stopped = true;
    document.removeEventListener('visibilitychange', take);
    lock?.release().catch(() => {});
    lock = null;
  };
}

/**
 * voiceAudioSession asks iOS/Safari (navigator.audioSession) for the audio
 * session pocket.js chooses: in a room with a live microphone,
 * 'play-and-record', which WebKit routes to the loudspeaker rather than
 * the earpiece; out of it, 'auto'. A no-op where the API is missing.
 */
export function voiceAudioSession(inRoom = true, mic = null) {
  const micLive = mic?.getAudioTracks?.().some((t) => t.readyState === 'live') ?? false;
  try {
    if (navigator.audioSession) navigator.audioSession.type = audioSessionType({ inRoom, micLive });
  } catch {
    // an unknown type on an older implementation: keep the default
  }
}

export function buzz(ms = 30) {
  try {
    navigator.vibrate?.(ms);
  } catch {
    // not allowed without a gesture on some browsers
  }
}
