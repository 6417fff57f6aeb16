package browsertest

import (
	"context"
	"fmt"
)

// recorderJS installs window.__sottoRec in a page: it records what plays in
// the page's <audio> element (the remote stream), reduced to AnalysisRate,
// and notes when sound first starts after being armed. It is injected by the
// test, never shipped with the app. A ScriptProcessorNode needs no module
// file, so the page's CSP does not stand in its way.
const recorderJS = `(() => {
  if (window.__sottoRec) return true;
  const el = [...document.querySelectorAll('audio')].find((a) => a.srcObject);
  if (!el) return false;
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(el.srcObject);
  const proc = ctx.createScriptProcessor(256, 1, 1);
  const factor = 48000 / %d;
  const rec = { samples: [], recording: false, armed: false, onsetAt: 0, threshold: 0.01, acc: 0, n: 0 };
  proc.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0);
    if (rec.armed) {
      let s = 0;
      for (const v of x) s += v * v;
      if (Math.sqrt(s / x.length) > rec.threshold) {
        rec.onsetAt = performance.timeOrigin + performance.now();
        rec.armed = false;
      }
    }
    if (!rec.recording) return;
    for (const v of x) {
      rec.acc += v; rec.n++;
      if (rec.n === factor) { rec.samples.push(rec.acc / factor); rec.acc = 0; rec.n = 0; }
    }
  };
  src.connect(proc);
  proc.connect(ctx.destination); // a ScriptProcessor runs only while connected; it outputs silence
  ctx.resume();
  window.__sottoRec = rec;
  return true;
})()`

// InstallRecorder starts listening to the page's remote audio. It reports
// false while the page has no remote stream yet.
func InstallRecorder(page context.Context) (bool, error) {
	return Eval[bool](page, fmt.Sprintf(recorderJS, AnalysisRate))
}

// StartRecording discards what was recorded and starts again.
func StartRecording(page context.Context) error {
	_, err := Eval[bool](page, `(() => { const r = window.__sottoRec; r.samples = []; r.acc = 0; r.n = 0; r.recording = true; return true; })()`)
	return err
}

// StopRecording stops and returns the samples, at AnalysisRate.
func StopRecording(page context.Context) ([]float32, error) {
	return Eval[[]float32](page, `(() => { const r = window.__sottoRec; r.recording = false; return r.samples; })()`)
}

// ArmOnset makes the recorder note the wall-clock time (Unix ms) at which
// sound above threshold (RMS) next starts; read it with Onset.
func ArmOnset(page context.Context, threshold float64) error {
	_, err := Eval[bool](page, fmt.Sprintf(`(() => { const r = window.__sottoRec; r.onsetAt = 0; r.threshold = %g; r.armed = true; return true; })()`, threshold))
	return err
}

// Onset returns the Unix time in ms at which sound started after ArmOnset,
// or 0 if it has not yet.
func Onset(page context.Context) (float64, error) {
	return Eval[float64](page, `window.__sottoRec.onsetAt`)
}
