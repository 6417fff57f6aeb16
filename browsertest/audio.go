package browsertest

// Listening the way a test can: the page records what reaches its speaker
// (Recorder, below), and these functions compare it with what the fake
// microphone played. design.md §4 has the numbers: speech heard through the
// whole path correlates at 0.76-0.98 in 0.25 s windows; not heard is < 0.3.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
)

// AnalysisRate is the sample rate (Hz) recordings are reduced to in the page
// before they are handed to Go: 8 kHz keeps speech and keeps the data small.
const AnalysisRate = 8000

// ReadWAV reads a 16-bit PCM WAV file's first channel as samples in [-1, 1].
func ReadWAV(path string) (samples []float32, rate int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	var channels, bits int
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			return nil, 0, io.ErrUnexpectedEOF
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(body) != 1 {
				return nil, 0, errors.New("not PCM")
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("want 16-bit PCM, got %d bits, %d channels", bits, channels)
			}
			frame := 2 * channels
			for i := 0; i+frame <= len(body); i += frame {
				samples = append(samples, float32(int16(binary.LittleEndian.Uint16(body[i:])))/32768)
			}
			return samples, rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, errors.New("no data chunk")
}

// decimateTaps is the length of the low-pass filter Decimate applies.
const decimateTaps = 127

// highPassTaps is the length of the high-pass filter WindowedCorrelation
// applies before comparing.
const highPassTaps = 255

// HighPassHz is where WindowedCorrelation cuts off low frequencies. The
// browser's voice processing (its high-pass filter above all) shifts the
// phase of the lowest frequencies, which costs waveform correlation without
// changing what a person hears; speech intelligibility lives above it.
const HighPassHz = 300

// highPass filters x (at AnalysisRate) with a windowed-sinc high-pass at
// HighPassHz: the input minus its low-passed self.
func highPass(x []float32) []float32 {
	h := lowPass(float64(HighPassHz)/AnalysisRate, highPassTaps)
	out := make([]float32, len(x))
	for c := range x {
		out[c] = x[c] - float32(convolveAt(x, h, c))
	}
	return out
}

// HighPass is highPass for tests that compare spans of their own the way
// WindowedCorrelation compares windows.
func HighPass(x []float32) []float32 { return highPass(x) }

// lowPass returns a Hamming-windowed sinc low-pass filter with cutoff in
// cycles per sample, its taps summing to 1 (unit gain at DC).
func lowPass(cutoff float64, taps int) []float64 {
	h := make([]float64, taps)
	mid := taps / 2
	var sum float64
	for i := range h {
		n := float64(i - mid)
		v := 2 * cutoff
		if n != 0 {
			v = math.Sin(2*math.Pi*cutoff*n) / (math.Pi * n)
		}
		v *= 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(taps-1))
		h[i] = v
		sum += v
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

// convolveAt is the filter h centred on sample c of x (zeros beyond x's ends).
func convolveAt(x []float32, h []float64, c int) float64 {
	mid := len(h) / 2
	var acc float64
	for i, hv := range h {
		if j := c + i - mid; j >= 0 && j < len(x) {
			acc += hv * float64(x[j])
		}
	}
	return acc
}

// Decimate reduces x by an integer factor after a windowed-sinc low-pass at
// 90% of the new Nyquist frequency. Without a real low-pass, what lies above
// it folds down differently in the source (espeak's full band) and in the
// recording (band-limited by Opus), and costs correlation.
func Decimate(x []float32, factor int) []float32 {
	if factor <= 1 {
		return append([]float32(nil), x...)
	}
	h := lowPass(0.45/float64(factor), decimateTaps) // cutoff in cycles per input sample
	out := make([]float32, 0, len(x)/factor)
	for c := 0; c < len(x); c += factor {
		out = append(out, float32(convolveAt(x, h, c)))
	}
	return out
}

// RMS is the root mean square of x.
func RMS(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// Correlation settings.
const (
	corrWindow    = AnalysisRate / 4   // 0.25 s windows
	envFrame      = AnalysisRate / 100 // 10 ms envelope frames
	lagSearch     = AnalysisRate / 25  // ±40 ms around the tracked lag
	speechRMSFrac = 0.1                // a window is speech if its RMS is over 10% of the loudest window's
	// A window correlating less than relockBelow at the tracked offset is
	// searched for again around the relockCandidates best places of its
	// loudness envelope: the tracked offset is lost after a skip.
	relockBelow      = 0.5
	relockCandidates = 3
)

// WindowedCorrelation compares a recording with the source it should contain.
// The fake microphone loops the source and the recording starts at an
// unknown point of the loop, so the source is treated as cyclic. It finds the
// offset by matching loudness envelopes, then, for each 0.25 s window of the
// recording that holds speech, the best normalized correlation within ±40 ms
// of the offset tracked from window to window (the receiver's jitter buffer
// stretches and squeezes time a little); a window that matches poorly there
// is placed afresh, since a loaded machine's audio can skip (see
// relockBelow). Both inputs are at AnalysisRate and are compared above
// HighPassHz.
func WindowedCorrelation(source, rec []float32) []float64 {
	if len(source) < corrWindow || len(rec) < corrWindow {
		return nil
	}
	source, rec = highPass(source), highPass(rec)
	sourceEnv := envelope(source)
	lag := envelopeLags(sourceEnv, envelope(rec), 1)[0]
	var loudest float64
	for w := 0; w+corrWindow <= len(rec); w += corrWindow {
		loudest = math.Max(loudest, RMS(rec[w:w+corrWindow]))
	}
	var out []float64
	for w := 0; w+corrWindow <= len(rec); w += corrWindow {
		win := rec[w : w+corrWindow]
		if loudest == 0 || RMS(win) < speechRMSFrac*loudest {
			continue
		}
		best, off := bestNear(win, source, w+lag)
		if best < relockBelow {
			// Lost: a starved machine's audio skips or stalls by more than
			// the tracked search allows. Find this window's place afresh
			// from its own envelope.
			for _, cand := range envelopeLags(sourceEnv, envelope(win), relockCandidates) {
				if c, o := bestNear(win, source, cand); c > best {
					best, off = c, o
				}
			}
		}
		lag = off - w
		out = append(out, best)
	}
	return out
}

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// envelope is x's loudness in envFrame steps.
func envelope(x []float32) []float64 {
	var e []float64
	for i := 0; i+envFrame <= len(x); i += envFrame {
		e = append(e, RMS(x[i:i+envFrame]))
	}
	return e
}

// envelopeLags returns the k offsets (in samples) into the cyclic source
// envelope es at which the envelope er matches best, best first.
func envelopeLags(es, er []float64, k int) []int {
	n := len(es)
	type match struct {
		c     float64
		shift int
	}
	var top []match
	for shift := 0; shift < n; shift++ {
		var dot, ns, nr float64
		for i, r := range er {
			s := es[(i+shift)%n]
			dot += s * r
			ns += s * s
			nr += r * r
		}
		if ns == 0 || nr == 0 {
			continue
		}
		m := match{dot / math.Sqrt(ns*nr), shift}
		i := sort.Search(len(top), func(i int) bool { return top[i].c < m.c })
		if i < k {
			top = slices.Insert(top, i, m)
			if len(top) > k {
				top = top[:k]
			}
		}
	}
	if len(top) == 0 {
		return []int{0}
	}
	out := make([]int, len(top))
	for i, m := range top {
		out[i] = m.shift * envFrame
	}
	return out
}

// bestNear is the best normalized correlation of win with the cyclic source
// at offsets within lagSearch of off, and that offset.
func bestNear(win, source []float32, off int) (float64, int) {
	best, bestOff := -1.0, off
	for d := -lagSearch; d <= lagSearch; d++ {
		if c := normCorr(win, source, off+d); c > best {
			best, bestOff = c, off+d
		}
	}
	return best, bestOff
}

// normCorr is the normalized correlation of win with the cyclic source
// starting at off.
func normCorr(win, source []float32, off int) float64 {
	n := len(source)
	off = ((off % n) + n) % n
	var dot, nw, ns float64
	for i, w := range win {
		s := float64(source[(off+i)%n])
		dot += float64(w) * s
		nw += float64(w) * float64(w)
		ns += s * s
	}
	if nw == 0 || ns == 0 {
		return 0
	}
	return dot / math.Sqrt(nw*ns)
}

// Locate finds where x (at AnalysisRate, already through HighPass, cut
// from a longer recording so that the filter's edges fall outside it)
// matches the cyclic source best: the offset in source of x's first
// sample, and the normalized correlation there. It places x by its
// loudness envelope, as WindowedCorrelation places a window that lost its
// track.
func Locate(source, x []float32) (off int, corr float64) {
	if len(source) == 0 || len(x) < envFrame {
		return 0, 0
	}
	source = highPass(source)
	corr = -1
	for _, cand := range envelopeLags(envelope(source), envelope(x), relockCandidates) {
		if c, o := bestNear(x, source, cand); c > corr {
			corr, off = c, o
		}
	}
	n := len(source)
	return ((off % n) + n) % n, corr
}

// CorrelationNear is the best normalized correlation of x (as for
// Locate) with the cyclic source at offsets within ±within samples of off,
// and the offset it was found at.
func CorrelationNear(source, x []float32, off, within int) (corr float64, at int) {
	if len(source) == 0 || len(x) == 0 {
		return 0, off
	}
	source = highPass(source)
	corr, at = -1, off
	for d := -within; d <= within; d++ {
		if c := normCorr(x, source, off+d); c > corr {
			corr, at = c, off+d
		}
	}
	n := len(source)
	return corr, ((at % n) + n) % n
}
