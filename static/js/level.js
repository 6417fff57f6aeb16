// Loudness of a MediaStream, 0..1, for level meters. One AnalyserNode per
// stream, never connected to the speakers (the <audio> element plays remote
// audio; our own voice must not come back at us).

const FLOOR_DB = -60; // quieter than this shows as an empty bar

export class LevelReader {
  #analyser;
  #source;
  #buf;

  constructor(ctx, stream) {
    this.#source = ctx.createMediaStreamSource(stream);
    this.#analyser = ctx.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#buf = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
  }

  /** level is the current RMS on a dB scale mapped to 0..1. */
  level() {
    this.#analyser.getFloatTimeDomainData(this.#buf);
    let sum = 0;
    for (const x of this.#buf) sum += x * x;
    const rms = Math.sqrt(sum / this.#buf.length);
    if (rms <= 0) return 0;
    const db = 20 * Math.log10(rms);
    return Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
  }

  close() {
    try {
      this.#source.disconnect();
    } catch {
      // already disconnected
    }
  }
}

/** showLevel sets --level on an element, which the CSS turns into a bar. */
export function showLevel(el, value) {
  el?.style.setProperty('--level', value.toFixed(3));
}
