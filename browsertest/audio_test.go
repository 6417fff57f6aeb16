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

// A loaded machine's audio skips ahead and stalls: the tracked offset is
// lost at each jump, and each window must be placed afresh. Noise, however
// placed, must still not pass for speech.
func TestWindowedCorrelationFollowsSkips(t *testing.T) {
	x, rate, err := ReadWAV(SpeechWAV(t, "The quick brown fox jumps over the lazy dog. Push to talk."))
	if err != nil {
		t.Fatal(err)
	}
	source := Decimate(x, rate/AnalysisRate)
	rng := rand.New(rand.NewPCG(3, 4))
	// 4 s of the source with a jump every 0.6 s: ahead by 150-400 ms, or
	// back by 100 ms (a stall replays), as an underrun does.
	var rec []float32
	pos := len(source) / 5
	for len(rec) < 4*AnalysisRate {
		for i := 0; i < 6*AnalysisRate/10; i++ {
			rec = append(rec, 0.5*source[pos%len(source)]+0.01*float32(rng.NormFloat64()))
			pos++
		}
		if rng.IntN(3) == 0 {
			pos -= AnalysisRate / 10
		} else {
			pos += AnalysisRate * (150 + rng.IntN(250)) / 1000
		}
		pos = (pos + len(source)) % len(source)
	}
	c := WindowedCorrelation(source, rec)
	if len(c) < 8 || Median(c) < 0.8 {
		t.Fatalf("a copy with skips: median %.2f over %d windows: %.2f", Median(c), len(c), c)
	}
	noise := make([]float32, 3*AnalysisRate)
	for i := range noise {
		noise[i] = 0.3 * float32(rng.NormFloat64())
	}
	if c := WindowedCorrelation(source, noise); len(c) == 0 || Median(c) > 0.3 {
		t.Fatalf("white noise: median %.2f over %d windows", Median(c), len(c))
	}
}
