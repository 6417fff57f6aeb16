package sfu

// NACK for audio: a listener's lost packet, sent again.
//
// Opus in-band FEC rebuilds a lost packet from the next one, coarsely, and
// only single losses; a listener's downlink that drops 10% loses whole
// syllables to bursts. The SFU has just forwarded every packet, as
// ciphertext it cannot read but can send again byte for byte (the E2EE
// trailer is as valid as the first time, and SRTP protects the copy as it
// did the original). A browser asks for it with a NACK (RFC 4585) when the
// app's offer has "a=rtcp-fb:111 nack" (static/js/media.js; browsers do not
// offer it for audio by default), and its jitter buffer plays the packet if
// it arrives in time: on a link whose round trip is well under the
// buffer's depth, most losses are repaired before anyone hears them.
//
// Every listener of a room gets the same payloads, only renumbered
// (forward.go), so the room keeps the floor holder's last nackHistory
// packets once, and a NACK is answered by renumbering the kept packet for
// the listener that asked. (pion's NACK responder keeps a copy per
// listener: an allocation and a copy per listener per packet, which cost a
// quarter more CPU per forwarded packet in BenchmarkForward.) A member may
// ask for nackBudgetRate packets a second, so one that NACKs everything
// over and over gets its own stream at most twice over.

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// nackHistory is how many of the floor holder's packets a room keeps
	// for resending: 64 packets of 20 ms are 1.28 s, longer than any jitter
	// buffer waits for a packet, for about 16 KB per room that has had a
	// talker.
	nackHistory = 64
	// nackBudgetRate is how many resent packets a second one member may ask
	// for: the stream's own 50 packets a second. A listener losing 10%
	// asks for 5.
	nackBudgetRate = 50
	// nackBudgetBurst is how many it may ask for at once: a second's worth,
	// as after a short outage.
	nackBudgetBurst = 50

	nackInterval  = int64(time.Second) / nackBudgetRate
	nackTolerance = (nackBudgetBurst - 1) * nackInterval
)

// sentPacket is one of the floor holder's packets as the room forwarded
// it, before renumbering.
type sentPacket struct {
	src     uint64 // peer.num of its sender; 0: the slot is empty
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	pt      uint8
	payload []byte // the slot's own buffer, reused
}

// history is a room's last nackHistory forwarded packets, by sequence
// number. Guarded by room.mu.
type history [nackHistory]sentPacket

// keep stores the packet src just forwarded.
func (h *history) keep(src uint64, in *rtp.Packet) {
	s := &h[in.SequenceNumber%nackHistory]
	s.src, s.ssrc, s.seq, s.ts, s.marker, s.pt = src, in.SSRC, in.SequenceNumber, in.Timestamp, in.Marker, in.PayloadType
	s.payload = append(s.payload[:0], in.Payload...)
}

// resend sends dst again the packets of its floor track numbered seqs, if
// the room still holds them and they were sent with the offsets dst's
// stream has now (the talker and turn it is hearing, since its last
// anchoring: forward.go). It returns how many it sent.
func (r *room) resend(dst *peer, seqs []uint16) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hist == nil || !dst.ready || !dst.out.sent {
		return 0
	}
	o := &dst.out
	l := r.lane(0)
	out := &l.out
	n := 0
	for _, seq := range seqs {
		// Only what was sent: a NACK for a number ahead of the stream
		// names nothing.
		if int16(seq-o.last) > 0 || int16(seq-o.from) < 0 {
			continue
		}
		orig := seq - o.seqDelta
		s := &r.hist[orig%nackHistory]
		if s.src != o.src || s.ssrc != o.srcSSRC || s.seq != orig {
			continue
		}
		out.Header = rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: seq,
			Timestamp: s.ts + o.tsDelta, Marker: s.marker}
		out.Payload = s.payload
		if l.write(dst, out) {
			n++
		}
	}
	n += l.flush(dst.sfu)
	out.Payload = nil
	return n
}

// answerNACK resends what the member's NACK asks for, if its budget allows
// all of it (a NACK over budget is refused whole: a well-behaved browser
// asks for a few packets at a time). Only the member's floor track reader
// calls it.
func (p *peer) answerNACK(nk *rtcp.TransportLayerNack, pace *pacerOf) {
	var seqs []uint16
	for _, pair := range nk.Nacks {
		seqs = append(seqs, pair.PacketList()...)
	}
	if len(seqs) == 0 {
		return
	}
	if !pace.allowN(int64(time.Since(epoch)), len(seqs)) {
		p.sfu.nackRefused.Add(uint64(len(seqs)))
		return
	}
	p.sfu.resent.Add(uint64(p.room.resend(p, seqs)))
}

// pacerOf is a GCRA bucket for nackBudgetRate and nackBudgetBurst that
// takes several tokens at once.
type pacerOf struct{ tat int64 }

// allowN reports whether n more packets fit the budget at now, and if so
// counts them.
func (b *pacerOf) allowN(now int64, n int) bool {
	tat := max(b.tat, now)
	if tat-now+int64(n-1)*nackInterval > nackTolerance {
		return false
	}
	b.tat = tat + int64(n)*nackInterval
	return true
}

// The talker's uplink loses packets too, and then every listener misses
// them. Browsers keep their sent audio for NACKs when the answer carries
// "nack" (ours does), so the SFU asks the floor holder at once for what
// a gap in its sequence numbers says is missing, and forwards the resent
// packet like any other: a listener's jitter buffer takes it late.

// maxUplinkNackGap is the longest run of missing packets asked for: 10
// packets are 200 ms. A longer gap is an outage, whose packets would come
// back too late to play and all at once.
const maxUplinkNackGap = 10

// uplinkGaps follows one talker's sequence numbers. Only its mic reader
// uses it.
type uplinkGaps struct {
	last uint16
	ok   bool
	miss [maxUplinkNackGap]uint16
}

// next takes the sequence number of a packet just received and returns the
// ones it shows were skipped (valid until the next call): none for the
// next in order, a late or resent packet, or a gap longer than
// maxUplinkNackGap.
func (g *uplinkGaps) next(seq uint16) []uint16 {
	if !g.ok {
		g.last, g.ok = seq, true
		return nil
	}
	d := int16(seq - g.last)
	if d <= 0 { // late, resent or repeated: no news
		return nil
	}
	from := g.last + 1
	g.last = seq
	if d == 1 || d-1 > maxUplinkNackGap {
		return nil
	}
	out := g.miss[:0]
	for s := from; s != seq; s++ {
		out = append(out, s)
	}
	return out
}
