package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// recorderTemplate (recorderJS) installs window.__sottoRec in a page: it records what plays in
// the page's <audio> element (the remote stream) at 48 kHz, and notes when sound first starts after being armed. It is injected by the
// test, never shipped with the app. A ScriptProcessorNode needs no module
// file, so the page's CSP does not stand in its way.
const recorderTemplate = `(() => {
  if (window.__sottoRec) return true;
  const el = [...document.querySelectorAll('audio')].find((a) => a.srcObject);
  if (!el) return false;
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(el.srcObject);
  const proc = ctx.createScriptProcessor(%d, 1, 1);
  const rec = { chunks: [], recording: false, armed: false, onsetAt: 0, threshold: 0.01 };
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
    if (rec.recording) rec.chunks.push(Float32Array.from(x));
  };
  src.connect(proc);
  proc.connect(ctx.destination); // a ScriptProcessor runs only while connected; it outputs silence
  ctx.resume();
  window.__sottoRec = rec;
  return true;
})()`

// recorderBlock is the recorder's block, in samples (5.3 ms at 48 kHz):
// onsets to within a few milliseconds. steadyRecorderBlock (85 ms) is for
// a hidden page, whose main thread Chromium runs at a lower priority: on a
// loaded machine the short blocks' callbacks come late and blocks are lost
// from the recording (measured: a hidden page's speech correlated 0.3-0.5
// with 256-sample blocks, 0.85 with 4096, on the same audio).
const (
	recorderBlock       = 256
	steadyRecorderBlock = 4096
)

var recorderJS = fmt.Sprintf(recorderTemplate, recorderBlock)

// InstallRecorder starts listening to the page's remote audio. It reports
// false while the page has no remote stream yet.
func InstallRecorder(page context.Context) (bool, error) {
	return Eval[bool](page, recorderJS)
}

// InstallSteadyRecorder is InstallRecorder with long blocks, for a page
// that will be hidden (see steadyRecorderBlock); onsets are then late by up
// to one block, 85 ms.
func InstallSteadyRecorder(page context.Context) (bool, error) {
	return Eval[bool](page, fmt.Sprintf(recorderTemplate, steadyRecorderBlock))
}

// startRecordingJS discards what was recorded and starts again.
const startRecordingJS = `(() => { const r = window.__sottoRec; r.chunks = []; r.recording = true; return true; })()`

// StartRecording discards what was recorded and starts again.
func StartRecording(page context.Context) error {
	_, err := Eval[bool](page, startRecordingJS)
	return err
}

// RecordRate is the rate (Hz) the page records at.
const RecordRate = 48000

// stopRecordingJS stops recording and returns the samples as 16-bit PCM in
// base64 (a JSON array of floats would be ten times larger).
const stopRecordingJS = `(() => {
		const r = window.__sottoRec;
		r.recording = false;
		const n = r.chunks.reduce((s, c) => s + c.length, 0);
		const pcm = new Int16Array(n);
		let i = 0;
		for (const c of r.chunks) for (const v of c) pcm[i++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
		r.chunks = [];
		let bin = '';
		const bytes = new Uint8Array(pcm.buffer);
		for (let j = 0; j < bytes.length; j += 0x8000) bin += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
		return btoa(bin);
	})()`

// StopRecording stops and returns the samples, at AnalysisRate.
func StopRecording(page context.Context) ([]float32, error) {
	b64, err := Eval[string](page, stopRecordingJS)
	if err != nil {
		return nil, err
	}
	return decodeRecording(b64)
}

// decodeRecording turns what stopRecordingJS returns into samples at
// AnalysisRate (filtered and decimated here, not in the page).
func decodeRecording(b64 string) ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	x := make([]float32, len(raw)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	return Decimate(x, RecordRate/AnalysisRate), nil
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
