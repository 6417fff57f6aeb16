package browsertest

// The recorder (recorder.go) in a Firefox page driven over BiDi.

// InstallRecorderBiDi starts listening to the page's remote audio. It
// reports false while the page has no remote stream yet.
func InstallRecorderBiDi(p *BiDiPage) (bool, error) { return EvalBiDi[bool](p, recorderJS) }

// StartRecordingBiDi discards what was recorded and starts again.
func StartRecordingBiDi(p *BiDiPage) error {
	_, err := EvalBiDi[bool](p, startRecordingJS)
	return err
}

// StopRecordingBiDi stops and returns the samples, at AnalysisRate.
func StopRecordingBiDi(p *BiDiPage) ([]float32, error) {
	b64, err := EvalBiDi[string](p, stopRecordingJS)
	if err != nil {
		return nil, err
	}
	return decodeRecording(b64)
}
