package client

// Synthetic Opus frames. Each is what an Opus encoder might emit for 20 ms
// of speech, in size and first byte:
//
//	TOC byte | frame counter (4 bytes, big-endian) | filler
//
// 80 to 160 bytes in all before encryption, the size and filler derived
// from the sender's sid and the counter (not the epoch: the counter runs on
// across rotations), so a listener that decrypts a frame can tell whether
// it is bit for bit what its sender made.

import "encoding/binary"

const (
	// frameTOC is an Opus TOC byte: configuration 15 (hybrid, full band,
	// 20 ms), mono, one frame. What browsers send for speech.
	frameTOC     = 15 << 3
	minFrameSize = 80
	maxFrameSize = 160
)

func frameSize(n uint32) int { return minFrameSize + int(n*37%(maxFrameSize-minFrameSize+1)) }

// appendFrame appends frame n of sender sid to dst.
func appendFrame(dst []byte, sid uint32, n uint32) []byte {
	size := frameSize(n)
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	fill(dst[start:], sid, n)
	return dst
}

func fill(b []byte, sid uint32, n uint32) {
	b[0] = frameTOC
	binary.BigEndian.PutUint32(b[1:], n)
	x := uint64(sid)*0x9E3779B97F4A7C15 ^ uint64(n)*0xBF58476D1CE4E5B9 ^ uint64(len(b))
	for i := 5; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
}

// checkFrame returns the counter of a decrypted frame from sender sid and
// whether the frame is exactly what that sender made as frame n.
func checkFrame(sid uint32, frame []byte) (n uint32, intact bool) {
	if len(frame) < 5 {
		return 0, false
	}
	n = binary.BigEndian.Uint32(frame[1:])
	if len(frame) != frameSize(n) {
		return n, false
	}
	var want [maxFrameSize]byte
	fill(want[:len(frame)], sid, n)
	return n, string(want[:len(frame)]) == string(frame)
}
