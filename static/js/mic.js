// The microphone: one getUserMedia for the whole visit (the lobby's level
// meter and the room share the track), with the processing a voice call
// wants, and errors turned into sentences a person can act on.

const CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  video: false,
};

/** openMic resolves to a MediaStream with one audio track, or rejects with { code, message }. */
export async function openMic() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw micError('insecure', 'This page cannot use a microphone here. Open it over https (or on this computer at 127.0.0.1).');
  }
  try {
    return await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
  } catch (err) {
    throw explain(err);
  }
}

function micError(code, message) {
  return Object.assign(new Error(message), { code });
}

function explain(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return micError('denied', 'Microphone access is blocked. Allow the microphone for this site in your browser\u2019s settings (the icon next to the address), then try again.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return micError('missing', 'No microphone was found. Connect one or check that your device has one, then try again.');
    case 'NotReadableError':
    case 'AbortError':
      return micError('busy', 'The microphone could not be started. Another app may be using it; close that app and try again.');
    default:
      return micError('failed', 'The microphone could not be started. Try again, or try another browser.');
  }
}

/** stopMic ends every track of a stream (the browser's "in use" indicator goes off). */
export function stopMic(stream) {
  for (const t of stream?.getTracks() ?? []) t.stop();
}
