package floorbench

// What goes on the wire inside SRTP: a plain 12-byte RTP header and a payload
// the receivers can check without being told what was sent.

import (
	"encoding/binary"
)

const (
	// rtpHeaderLen is an RTP header with no CSRC and no extension: all an
	// SFU must write per listener.
	rtpHeaderLen = 12
	// rtpVersion2 is the first header byte: version 2, no padding, no
	// extension, no CSRC.
	rtpVersion2 = 0x80
	// opusPayloadType is the dynamic payload type browsers give Opus.
	opusPayloadType = 111
	// rtpClockRate is Opus's RTP clock; a talker's timestamp moves by
	// rtpClockRate/pps a packet.
	rtpClockRate = 48000
)

// putHeader writes a listener's RTP header for one packet into b.
func putHeader(b []byte, seq uint16, ts, ssrc uint32) {
	b[0] = rtpVersion2
	b[1] = opusPayloadType
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// fillPayload writes frame n of room's talker into b: the counter, then bytes
// derived from room, n and len(b), so that any change on the way, or a packet
// of another room, shows.
func fillPayload(b []byte, room int, n uint32) {
	binary.BigEndian.PutUint32(b, n)
	x := uint32(room)*0x9E3779B9 ^ n*0x85EBCA6B ^ uint32(len(b)) | 1 // xorshift needs a nonzero state
	for i := minPayload; i < len(b); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
}

// checkPayload returns p's frame counter and whether p is exactly frame n
// of room's talker at this size. want is scratch of at least len(p) bytes.
func checkPayload(p []byte, room int, want []byte) (n uint32, intact bool) {
	if len(p) < minPayload || len(p) > len(want) {
		return 0, false
	}
	n = binary.BigEndian.Uint32(p)
	want = want[:len(p)]
	fillPayload(want, room, n)
	return n, string(want) == string(p)
}
