package browsertest

import (
	"math"
	"math/rand/v2"
	"testing"
)

func sine(hz, amp float64, seconds float64) []float32 {
	x := make([]float32, int(seconds*AnalysisRate))
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/AnalysisRate+0.3))
	}
	return x
}

func TestToneWindowsTellToneFromOtherSound(t *testing.T) {
	// The tone, slightly off frequency as a resampling jitter buffer plays it.
	for _, hz := range []float64{1000, 1003} {
		got := ToneWindows(sine(hz, 0.3, 2), 1000, 0.01)
		if len(got) != 8 || Median(got) < 0.9 || Median(got) > 1.05 {
			t.Errorf("a %.0f Hz tone: %d windows, median share %.2f; want 8 near 1", hz, len(got), Median(got))
		}
	}
	// Another tone, and noise: loud, but not the tone.
	if got := ToneWindows(sine(440, 0.3, 2), 1000, 0.01); Median(got) > 0.05 {
		t.Errorf("a 440 Hz tone has a 1 kHz share of %.2f", Median(got))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, 2*AnalysisRate)
	for i := range noise {
		noise[i] = float32(rng.NormFloat64() * 0.3)
	}
	if got := ToneWindows(noise, 1000, 0.01); len(got) != 8 || Median(got) > 0.1 {
		t.Errorf("white noise: %d windows, 1 kHz share %.2f", len(got), Median(got))
	}
	// Silence: no window at all.
	if got := ToneWindows(make([]float32, 2*AnalysisRate), 1000, 0.01); len(got) != 0 {
		t.Errorf("silence gave %d windows", len(got))
	}
}
