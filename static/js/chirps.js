// Short tones that say what happened without looking: a rising chirp when
// the floor is ours, a falling one when we let go, two low beeps when someone
// else has it, three quick high pips when the talk limit is near. WebAudio oscillators: nothing to download.

let ctx = null;

/** audioContext returns the app's one AudioContext; call first from a user gesture. */
export function audioContext() {
  if (!ctx) {
    const AC = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC({ latencyHint: 'interactive' });
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

function tone(at, from, to, dur, gain = 0.12) {
  const osc = ctx.createOscillator();
  const g = ctx.createGain();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(from, at);
  osc.frequency.exponentialRampToValueAtTime(to, at + dur);
  // Fast attack and release: no click, and short enough not to cover speech.
  g.gain.setValueAtTime(0.0001, at);
  g.gain.exponentialRampToValueAtTime(gain, at + 0.01);
  g.gain.exponentialRampToValueAtTime(0.0001, at + dur);
  osc.connect(g).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + dur + 0.02);
}

/** chirp plays 'start', 'end', 'busy' or 'warn'. Silent if audio is unavailable. */
export function chirp(kind) {
  if (!audioContext()) return;
  const t = ctx.currentTime + 0.005;
  if (kind === 'start') tone(t, 660, 990, 0.09);
  else if (kind === 'end') tone(t, 880, 520, 0.09);
  else if (kind === 'busy') {
    tone(t, 330, 320, 0.08, 0.1);
    tone(t + 0.13, 330, 320, 0.08, 0.1);
  } else if (kind === 'warn') {
    // Higher and quicker than anything else here: heard over one's own
    // voice, and not mistaken for the end of the turn.
    for (let i = 0; i < 3; i++) tone(t + i * 0.1, 1320, 1400, 0.05);
  }
}
