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

// Turn is a run of consecutive packets from one sender, as a listener got
// them: From names the sender (a key id, a tag byte).
type Turn[T any, K comparable] struct {
	From K
	Pkts []T
}

// Turns splits a listener's packets into turns, a new one wherever from
// (which sender a packet is from) changes.
func Turns[T any, K comparable](pkts []T, from func(T) K) []Turn[T, K] {
	var out []Turn[T, K]
	for _, p := range pkts {
		if k := from(p); len(out) == 0 || out[len(out)-1].From != k {
			out = append(out, Turn[T, K]{From: k})
		}
		out[len(out)-1].Pkts = append(out[len(out)-1].Pkts, p)
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

// CheckRunOf is CheckRun over a run of any packet type: frame says what
// CheckRun reads of a packet, or why the packet itself is wrong (it did
// not decrypt, its payload changed on the way), which ends the check.
func CheckRunOf[T any](pkts []T, frame func(T) (RTPFrame, error)) error {
	frames := make([]RTPFrame, len(pkts))
	for i, p := range pkts {
		f, err := frame(p)
		if err != nil {
			return err
		}
		frames[i] = f
	}
	return CheckRun(frames)
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
