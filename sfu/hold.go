package sfu

// The optimistic floor (issue 17): a talker's first words, sent before its
// floor_request was answered.
//
// A client that knows the server holds packets (joined.floor_hold_ms,
// docs/protocol.md) opens its microphone the moment the button goes down and
// sends floor_request at the same time, instead of waiting a round trip for
// floor_granted. Where the media path is faster than the signaling path, the
// first of those packets reach the SFU before the registry has granted
// anything. Each talker's mic reader keeps them, ciphertext as it came, in a
// small ring of its own (holdRing): on the grant they are forwarded first, in
// order, through the same fan-out (forward.go renumbers them into the floor
// track's continuous sequence numbers and timestamps; the NACK history sees
// them), and the live packets follow. Nothing held is ever forwarded to
// anyone but through a grant to the member that sent it.
//
// What may be held and what never goes out:
//   - Only packets that arrived within holdWindow before the grant, at most
//     holdPackets of them.
//   - Only the run the grant continues: the packets of one press follow one
//     another (sequence numbers in order, each timestamp at most a frame or
//     two after the last). A browser whose mic track is disabled sends
//     silence, which Opus DTX turns into one packet every 400 ms; those
//     stand apart from the press by their timestamp jump and are never
//     forwarded ahead of it, so a listener's first frame is the press's.
//   - Nothing of a run that was in progress when the member's request was
//     refused (busy or an error: SFU.FloorRefused), when it lost the floor,
//     or when the floor went to someone else (room.setHolder): that run is
//     spoiled, and everything that continues it, the refused press's packets
//     still on their way too, is dropped until the member pauses (a DTX gap:
//     its mic went off). So a busy presser's audio reaches no one, even when
//     it gets the floor right after.
//
// The ring belongs to the mic reader goroutine alone: holding costs no lock,
// and the flush happens in that goroutine when it reads the first packet
// after the grant, so held and live packets leave in order. (A grant with
// nothing more to read would leave the ring unflushed; a talker who was just
// granted keeps sending.) The grant's time and the count of spoiling events
// reach the reader through atomics (peer.grantAt, peer.turnEnds).

import (
	"time"

	"github.com/pion/rtp"
)

const (
	// holdWindow is how far ahead of its grant a talker's packet may reach
	// the SFU and still be heard: 300 ms, the bound, is more than
	// the extra time a floor_request on a WebSocket (TCP, TLS, a proxy) takes
	// over a UDP packet on any path we know, and short enough that a
	// listener's jitter buffer, which plays the held burst in real time,
	// does not fall far behind. Advertised to clients as floor_hold_ms.
	holdWindow = 300 * time.Millisecond
	// holdPackets bounds what one talker's ring keeps: holdWindow of 10 ms
	// frames (the shortest we allow, minptime=10) is 30 packets; two more
	// for a packet's worth of jitter at either end. At most 32 packets of at
	// most receiveMTU bytes: 48 KB per talker in the worst case, about 5 KB
	// with Opus frames of a browser.
	holdPackets = 32
	// maxFrameTicks is the largest timestamp step (in 48 kHz units) between
	// two packets of one run: 60 ms, the longest Opus frame a browser puts
	// in one packet. A DTX pause steps 400 ms.
	maxFrameTicks = clockRate * 60 / 1000
	// maxRunSeqGap is how many packets a run may lose on the way and still
	// be one run: 3 in a row is already a burst a listener hears.
	maxRunSeqGap = 3
)

// heldPacket is one packet kept while its sender did not hold the floor.
type heldPacket struct {
	at      int64 // when it was read, ns since epoch
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	pt      uint8
	payload []byte // the slot's own buffer, reused
}

// holdRing is one talker's packets since the start of its current run,
// the newest holdPackets of them. Only its mic reader uses it.
type holdRing struct {
	pkts     [holdPackets]heldPacket
	start, n int

	// The last packet read, held or forwarded, which the next continues
	// or not.
	have   bool
	ssrc   uint32
	last   uint16
	lastTS uint32

	spoiled bool   // the current run must never be forwarded
	ends    uint64 // peer.turnEnds as last seen
}

// next notes packet h, read when the member's turn-ending events numbered
// ends had happened, and reports whether it is late (not after the last
// one: neither held nor a new run). A packet that does not continue the
// last starts a new run: the ring is emptied of the old one, and the new
// run is clean. An event since the last packet spoils the run in progress.
func (g *holdRing) next(h *rtp.Header, ends uint64) (late bool) {
	if ends != g.ends {
		g.ends, g.spoiled, g.n = ends, true, 0
	}
	if g.have && h.SSRC == g.ssrc {
		d := int16(h.SequenceNumber - g.last)
		if d <= 0 {
			return true
		}
		if int(d) > maxRunSeqGap+1 || h.Timestamp-g.lastTS > uint32(d)*maxFrameTicks {
			g.n, g.spoiled = 0, false
		}
	} else {
		g.n, g.spoiled = 0, false
	}
	g.have, g.ssrc, g.last, g.lastTS = true, h.SSRC, h.SequenceNumber, h.Timestamp
	return false
}

// keep holds in (read at now) unless its run is spoiled; the oldest goes
// when the ring is full.
func (g *holdRing) keep(now int64, in *rtp.Packet) {
	if g.spoiled {
		return
	}
	if g.n == holdPackets {
		g.start = (g.start + 1) % holdPackets
		g.n--
	}
	s := &g.pkts[(g.start+g.n)%holdPackets]
	g.n++
	s.at, s.ssrc, s.seq, s.ts, s.marker, s.pt = now, in.SSRC, in.SequenceNumber, in.Timestamp, in.Marker, in.PayloadType
	s.payload = append(s.payload[:0], in.Payload...)
}

// flush forwards, in order, what p's ring holds from within holdWindow
// before grantAt, and empties it. pkt is the reader's scratch packet.
func (g *holdRing) flush(p *peer, grantAt int64, pkt *rtp.Packet) {
	from := grantAt - int64(holdWindow)
	for i := range g.n {
		s := &g.pkts[(g.start+i)%holdPackets]
		if s.at < from {
			continue
		}
		pkt.Header = rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq,
			Timestamp: s.ts, Marker: s.marker, SSRC: s.ssrc}
		pkt.Payload = s.payload
		p.room.forward(p, pkt)
		p.sfu.heldForwarded.Add(1)
	}
	pkt.Payload = nil
	g.start, g.n = 0, 0
}
