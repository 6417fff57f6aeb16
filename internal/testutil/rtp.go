package testutil

import (
	"errors"
	"fmt"
	"time"
)

// The audio every Sotto sender makes: Opus at 48 kHz in 20 ms frames.
const (
	rtpClockRate    = 48000
	samplesPerFrame = 960
	frameDuration   = 20 * time.Millisecond
)

// RTPFrame is one packet as a listener got it: the sender's own frame
// counter and the RTP header the SFU rewrote, with its arrival time.
type RTPFrame struct {
	N      uint32 // the sender's counter
	Seq    uint16
	TS     uint32
	SSRC   uint32
	Marker bool
	At     time.Time
}

// Runs splits items into runs of consecutive items with the same key: a
// listener's packets into turns, one a sender.
func Runs[T any, K comparable](items []T, key func(T) K) [][]T {
	var out [][]T
	for i, it := range items {
		if i == 0 || key(items[i-1]) != key(it) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], it)
	}
	return out
}

// CheckRun verifies one sender's run as a listener got it: counters
// strictly increasing, and the rewritten header moving in step with them
// (sequence number +1 and timestamp +960 per frame, one SSRC).
func CheckRun(frames []RTPFrame) error {
	for i := 1; i < len(frames); i++ {
		p, q := frames[i], frames[i-1]
		if p.N <= q.N {
			return fmt.Errorf("frame %d after frame %d: out of order", p.N, q.N)
		}
		dn := p.N - q.N
		if p.Seq-q.Seq != uint16(dn) {
			return fmt.Errorf("frame %d: seq %d after %d, want +%d", p.N, p.Seq, q.Seq, dn)
		}
		if p.TS-q.TS != samplesPerFrame*dn {
			return fmt.Errorf("frame %d: timestamp +%d, want +%d", p.N, p.TS-q.TS, samplesPerFrame*dn)
		}
		if p.SSRC != q.SSRC {
			return fmt.Errorf("frame %d: SSRC changed within a turn", p.N)
		}
	}
	return nil
}

// CheckHandover verifies the boundary between two talkers at one listener:
// one stream (same SSRC, seq +1), the marker bit on the new talker's first
// packet, and a timestamp step of at least one frame that matches the time
// between the two packets within tolerance. It returns the step.
func CheckHandover(last, first RTPFrame, tolerance time.Duration) (step time.Duration, err error) {
	step = time.Duration(first.TS-last.TS) * time.Second / rtpClockRate
	wall := first.At.Sub(last.At)
	switch {
	case first.SSRC != last.SSRC:
		return step, fmt.Errorf("SSRC %x then %x at the handover", last.SSRC, first.SSRC)
	case first.Seq != last.Seq+1:
		return step, fmt.Errorf("seq %d then %d at the handover, want +1", last.Seq, first.Seq)
	case !first.Marker:
		return step, errors.New("no marker bit on the new talker's first packet")
	case step < frameDuration:
		return step, fmt.Errorf("timestamp step %v at the handover, want at least one frame", step)
	case step-wall > tolerance || wall-step > tolerance:
		return step, fmt.Errorf("timestamp step %v but %v passed between the packets", step, wall)
	}
	return step, nil
}
