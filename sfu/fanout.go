package sfu

// One packet's copies for every listener the SFU writes itself
// (floorwriter.go), collected and sent together. A room has one, used under
// room.mu, so its buffers are reused from packet to packet: after the first
// few packets a fan-out allocates nothing.

import (
	"net"
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
	addr  []*net.UDPAddr // to, as the system call takes it (the writer's, reused)
	conns []*consentConn

	// What flush hands the kernel, rebuilt from the above each time.
	msgs []ipv4.Message
	bufs [][]byte // msgs[i].Buffers is bufs[i:i+1]
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
	f.addr = append(f.addr, w.addr)
	f.conns = append(f.conns, w.conn)
	return true
}

// flush sends every queued copy, a batch per socket, and empties the
// fan-out. It returns how many copies went out and in how many system calls.
func (f *fanout) flush() (sent, calls int) {
	n := len(f.span)
	for len(f.msgs) < n {
		f.msgs = append(f.msgs, ipv4.Message{})
		f.bufs = append(f.bufs, nil)
	}
	for i := range n {
		f.bufs[i] = f.arena[f.span[i][0]:f.span[i][1]]
		f.msgs[i].Buffers, f.msgs[i].Addr = f.bufs[i:i+1], f.addr[i]
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
		f.msgs[i].Buffers, f.msgs[i].Addr, f.bufs[i] = nil, nil, nil
	}
	clear(f.addr)
	clear(f.conns)
	f.arena, f.span, f.to, f.addr, f.conns = f.arena[:0], f.span[:0], f.to[:0], f.addr[:0], f.conns[:0]
	return sent, calls
}
