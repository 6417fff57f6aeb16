package browsertest

// Hearing a steady tone: Firefox's fake microphone plays one (design.md §9),
// so what a page hears from a Firefox talker is checked for that tone
// rather than correlated with speech.

import "math"

// toneSearchHz is how far from the expected frequency the tone is looked
// for, and toneStepHz the step: a receiver's jitter buffer resamples a
// little, and a 0.25 s window tells frequencies apart only 4 Hz wide.
const (
	toneSearchHz = 20
	toneStepHz   = 1
)

// ToneWindows returns, for each 0.25 s window of x (at AnalysisRate) whose
// RMS is at least minRMS, the share of the window's energy in a tone within
// toneSearchHz of hz (0 to 1; a pure tone gives about 1, silence and other
// sounds about 0). Quiet windows are left out, so no windows at all means
// nothing was heard.
func ToneWindows(x []float32, hz, minRMS float64) []float64 {
	var out []float64
	for w := 0; w+corrWindow <= len(x); w += corrWindow {
		win := x[w : w+corrWindow]
		if RMS(win) < minRMS {
			continue
		}
		var best float64
		for f := hz - toneSearchHz; f <= hz+toneSearchHz; f += toneStepHz {
			best = math.Max(best, toneShare(win, f))
		}
		out = append(out, best)
	}
	return out
}

// toneShare is the energy of x at hz (a Goertzel filter over a Hann window)
// over x's whole energy, scaled so that a pure tone at hz gives 1.
func toneShare(x []float32, hz float64) float64 {
	n := len(x)
	coeff := 2 * math.Cos(2*math.Pi*hz/AnalysisRate)
	var s1, s2, energy, sumHann, sumHann2 float64
	for i, v := range x {
		hann := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		y := float64(v) * hann
		s1, s2 = y+coeff*s1-s2, s1
		energy += y * y
		sumHann += hann
		sumHann2 += hann * hann
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2 // |X(hz)|^2
	// A tone A·sin at hz has |X|^2 = (A/2·Σhann)^2 and windowed energy
	// A^2/2·Σhann^2: their ratio is (Σhann)^2/(2·Σhann^2) at full share.
	return power / energy / (sumHann * sumHann / (2 * sumHann2))
}
