package sfu

// One packet's copies for every listener the SFU writes itself
// (floorwriter.go), collected and sent together. A room has one, used under
// room.mu, so its buffers are reused from packet to packet: after the first
// few packets a fan-out allocates nothing.

import (
	"net/netip"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
)

// srtpOverhead is the most SRTP adds to a packet: AES-GCM's 16-byte tag
// (the HMAC-SHA1-80 profile adds 10). No MKI is ever negotiated.
const srtpOverhead = 16

type fanout struct {
	plain []byte // one listener's packet before encryption

	// arena holds every encrypted copy; span[i] is copy i's place in it.
	arena []byte
	span  [][2]int
	to    []netip.AddrPort
	conns []*consentConn
	msgs  []ipv4.Message
	bufs  [][]byte // msgs[i].Buffers is bufs[i:i+1]
}

// add encrypts h and payload for w's listener and queues the copy. It
// reports false if the copy cannot go (no path now, or SRTP refused it).
func (f *fanout) add(w *floorWriter, h *rtp.Header, payload []byte) bool {
	if w.conn == nil {
		return false
	}
	h.SSRC, h.PayloadType = w.ssrc, w.pt
	size := h.MarshalSize() + len(payload)
	if cap(f.plain) < size {
		f.plain = make([]byte, size)
	}
	plain := f.plain[:size]
	n, err := h.MarshalTo(plain)
	if err != nil {
		return false
	}
	copy(plain[n:], payload)

	start := len(f.arena)
	if cap(f.arena)-start < size+srtpOverhead {
		grown := make([]byte, start, 2*cap(f.arena)+size+srtpOverhead)
		copy(grown, f.arena)
		f.arena = grown
	}
	dst := f.arena[start:start:cap(f.arena)]
	out, err := w.srtp.EncryptRTP(dst, plain, h)
	if err != nil || len(out) == 0 || &out[:1][0] != &dst[:1][0] {
		// EncryptRTP writes elsewhere only if dst lacks room, which the
		// growth above rules out; never send what the arena does not hold.
		return false
	}
	f.arena = f.arena[:start+len(out)]
	f.span = append(f.span, [2]int{start, start + len(out)})
	f.to = append(f.to, w.to)
	f.conns = append(f.conns, w.conn)
	f.addrs(w)
	return true
}

// addrs keeps the copy's address for its message; flush builds the rest.
func (f *fanout) addrs(w *floorWriter) {
	i := len(f.span) - 1
	for len(f.msgs) <= i {
		f.msgs = append(f.msgs, ipv4.Message{})
		f.bufs = append(f.bufs, nil)
	}
	f.msgs[i].Addr = w.addr
}

// flush sends every queued copy, a batch per socket, and empties the
// fan-out. It returns how many copies went out and in how many system calls.
func (f *fanout) flush() (sent, calls int) {
	n := len(f.span)
	for i := range n {
		f.bufs[i] = f.arena[f.span[i][0]:f.span[i][1]]
		f.msgs[i].Buffers = f.bufs[i : i+1]
	}
	// Runs of copies on one socket: with one socket per address family
	// (the usual case), one run.
	for i := 0; i < n; {
		j := i + 1
		for j < n && f.conns[j] == f.conns[i] {
			j++
		}
		s, c := f.conns[i].writeBatch(f.msgs[i:j], f.to[i:j])
		sent, calls = sent+s, calls+c
		i = j
	}
	for i := range n { // let go of what the next packet does not overwrite
		f.msgs[i].Buffers, f.msgs[i].Addr, f.bufs[i], f.conns[i] = nil, nil, nil, nil
	}
	f.arena, f.span, f.to, f.conns = f.arena[:0], f.span[:0], f.to[:0], f.conns[:0]
	return sent, calls
}
