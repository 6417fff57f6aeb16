// The AudioWorklet side of "Say again" (sayagaintap.js): on the audio
// thread, it collects the decoded floor track's samples (mixed to mono) while
// the page says a turn is being heard, and hands them over in blocks. It
// keeps nothing between blocks: a block is transferred, not copied, and its
// partial successor is zeroed when told to wipe.

// Frames per message: about 85 ms at 48 kHz, so about 12 messages a second
// while someone talks, and a partial block lost at a turn's end is short.
const BLOCK_FRAMES = 4096;

class SayAgainTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.on = false;
    this.open = true;
    this.buf = new Float32Array(BLOCK_FRAMES);
    this.n = 0;
    this.port.onmessage = (e) => {
      switch (e.data) {
        case 'on':
          this.on = true;
          break;
        case 'off':
          this.flush();
          this.on = false;
          break;
        case 'wipe':
          this.on = false;
          this.buf.fill(0);
          this.n = 0;
          break;
        case 'close':
          this.on = false;
          this.buf.fill(0);
          this.n = 0;
          this.open = false;
          break;
        default:
      }
    };
  }

  flush() {
    if (this.n === 0) return;
    this.port.postMessage({ samples: this.buf, n: this.n }, [this.buf.buffer]);
    this.buf = new Float32Array(BLOCK_FRAMES);
    this.n = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!this.on || !input || input.length === 0) return this.open;
    // Mono: the first channel, or the mean of two (Opus decodes to stereo).
    const a = input[0];
    const b = input.length > 1 ? input[1] : null;
    for (let i = 0; i < a.length; i++) {
      this.buf[this.n++] = b ? (a[i] + b[i]) * 0.5 : a[i];
      if (this.n === BLOCK_FRAMES) this.flush();
    }
    return this.open;
  }
}

registerProcessor('sayagain-tap', SayAgainTap);
