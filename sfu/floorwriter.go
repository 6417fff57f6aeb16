package sfu

// The SFU's own write path for the floor track (issue 19).
//
// pion's TrackLocalStaticRTP.WriteRTP takes one packet for one listener
// through its binding lookup, the interceptor chain, the SRTP session's
// locks and buffer pool, the ICE connection, the UDP mux's address map and
// finally one sendto: 81% of forwarding CPU, 41% the system call alone
// (BENCHMARKS.md). For a push-to-talk room that is the whole job, done once
// per listener per packet. So for a listener connected over UDP the SFU
// writes the floor track itself:
//
//   - SRTP: a context of its own (pion's srtp package) made from the
//     connection's DTLS keys (dtlskeys.go). pion keeps doing ICE, DTLS,
//     SRTCP and everything it receives;
//   - a fan-out (fanout.go) rewrites the header, encrypts each listener's copy
//     into one reused arena, and hands all copies to the socket in one
//     sendmmsg, gated by consent as pion's writes are (consentbatch.go);
//   - the destination is the ICE pair pion selected, followed on every change
//     (ICE restart, a consent move to a new address).
//
// One key, one sequence of packet indices. Once a connection's floor track
// has been written here, pion never writes it again: two SRTP contexts over
// one SSRC would each count the rollover on their own, and one could encrypt
// a different packet under an index the other already used, which for
// AES-GCM gives away the keystream. So the choice is made once, when the
// connection first comes up: over UDP, ours for good; over ICE-TCP (which
// pion's TCP mux frames and paces), pion's for good. A connection that
// moves from UDP to ICE-TCP afterwards (an ICE restart onto a network that
// blocks UDP) is ended, and the member's client reconnects as it does after
// any failure (a new connection, new keys, pion's path).
//
// What listeners no longer get: RTCP sender reports for the floor track
// (reports.go builds them from what passes pion's RTP writer, which these
// packets do not). An audio-only receiver needs none: they serve lip sync
// and round-trip estimates, and browsers play without them.

import (
	"net"
	"net/netip"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// floorWriter is one listener's floor track as the SFU writes it. Guarded
// by room.mu (its only writers are the room's fan-out and resends).
type floorWriter struct {
	srtp *srtp.Context
	ssrc uint32
	pt   uint8

	// The path: the selected pair's remote address and the socket that
	// talks with it. conn is nil while there is none (the packets of that
	// moment are dropped, as pion drops them without a selected pair).
	to   netip.AddrPort
	addr *net.UDPAddr
	conn *consentConn
}

// newFloorWriter makes p's writer once its connection is up, over pair,
// with the floor track's negotiated payload type pt, or returns nil if its
// floor track stays with pion: no DTLS keys seen (pion's path was never ours
// to leave), or not connected over UDP.
func (p *peer) newFloorWriter(pair *webrtc.ICECandidatePair, pt uint8) *floorWriter {
	if p.keys == nil || pair == nil || pair.Remote == nil || pair.Remote.Protocol != webrtc.ICEProtocolUDP {
		return nil
	}
	ssrc := p.floorSSRC.Load()
	if ssrc == 0 || pt == 0 {
		return nil
	}
	ctx, err := p.keys.localContext()
	if err != nil {
		return nil
	}
	w := &floorWriter{srtp: ctx, ssrc: ssrc, pt: pt}
	w.follow(p.sfu.net.consent, pair)
	return w
}

// follow points w at pair's remote address. It reports false if pair is
// not a UDP pair, which w cannot follow.
func (w *floorWriter) follow(g *consentGuard, pair *webrtc.ICECandidatePair) bool {
	if pair == nil || pair.Remote == nil || pair.Remote.Protocol != webrtc.ICEProtocolUDP {
		w.conn = nil
		return false
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		w.conn = nil
		return true
	}
	w.to = netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
	w.addr = net.UDPAddrFromAddrPort(w.to)
	w.conn = g.connFor(w.to)
	return true
}

// write sends out on dst's floor track: queued in the lane's fan-out if the
// SFU writes dst's track (sent by flush), else through pion at once. It
// reports whether pion took the packet; queued copies are counted by flush.
// Called with the room's mu held (by this goroutine or the one that started
// the lane).
func (l *lane) write(dst *peer, out *rtp.Packet) bool {
	if dst.fw != nil {
		l.fan.add(dst.fw, &out.Header, out.Payload)
		return false
	}
	// pion's for good (connected chose so). WriteRTP copies the header,
	// sets SSRC and payload type from the listener's negotiation, encrypts
	// (SRTP) and sends, without blocking.
	return dst.floor.WriteRTP(out) == nil
}

// flush sends what write queued and returns how many copies went out.
func (l *lane) flush(s *SFU) int {
	sent, calls := l.fan.flush()
	s.ownWrites.Add(uint64(sent))
	s.writeCalls.Add(uint64(calls))
	return sent
}

// connected marks p's media path up and, the first time, chooses who
// writes its floor track (see the top of this file).
func (r *room) connected(p *peer, pc *webrtc.PeerConnection) {
	var pair *webrtc.ICECandidatePair
	var pt uint8
	if p.keys != nil {
		// Read outside r.mu: pion's handlers may wait on the room.
		pair, _ = pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if p.sender != nil {
			for _, c := range p.sender.GetParameters().Codecs {
				if strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) {
					pt = uint8(c.PayloadType)
					break
				}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.fwChosen {
		p.fwChosen = true
		p.fw = p.newFloorWriter(pair, pt)
	}
	p.ready = true
}

// pathChanged follows a new selected pair of p's connection. A writer that
// cannot follow it (the pair is ICE-TCP) ends p's session.
func (r *room) pathChanged(p *peer, pair *webrtc.ICECandidatePair) {
	r.mu.Lock()
	lost := p.fw != nil && !p.fw.follow(p.sfu.net.consent, pair)
	if lost {
		p.fw = nil // fwChosen stays: pion must not take the track over
		p.ready = false
	}
	r.mu.Unlock()
	if lost {
		go p.sfu.end(p)
	}
}
