package browsertest

import (
	"math/rand/v2"
	"testing"
)

// TestWindowedCorrelationSeparatesHeardFromNot checks the analysis on known
// inputs: a delayed, noisy, quieter copy of the source correlates high; other
// speech correlates low; silence has no speech windows at all.
func TestWindowedCorrelationSeparatesHeardFromNot(t *testing.T) {
	load := func(text string) []float32 {
		x, rate, err := ReadWAV(SpeechWAV(t, text))
		if err != nil {
			t.Fatal(err)
		}
		if rate != 48000 {
			t.Fatalf("rate %d", rate)
		}
		return Decimate(x, rate/AnalysisRate)
	}
	source := load("The quick brown fox jumps over the lazy dog.")
	other := load("Seven silver swans swam silently southward at noon.")

	rng := rand.New(rand.NewPCG(1, 2))
	offset := len(source) / 3
	heard := make([]float32, 3*AnalysisRate)
	for i := range heard {
		heard[i] = 0.5*source[(offset+i)%len(source)] + 0.01*float32(rng.NormFloat64())
	}
	c := WindowedCorrelation(source, heard)
	if len(c) < 4 || Median(c) < 0.9 {
		t.Fatalf("a copy of the source: median %.2f over %d windows", Median(c), len(c))
	}
	notHeard := WindowedCorrelation(source, other[:min(len(other), 3*AnalysisRate)])
	if len(notHeard) == 0 || Median(notHeard) > 0.3 {
		t.Fatalf("other speech: median %.2f over %d windows", Median(notHeard), len(notHeard))
	}
	if c := WindowedCorrelation(source, make([]float32, 2*AnalysisRate)); len(c) != 0 {
		t.Fatalf("silence produced %d speech windows", len(c))
	}
	if RMS(make([]float32, 100)) != 0 {
		t.Fatal("RMS of silence")
	}
}
