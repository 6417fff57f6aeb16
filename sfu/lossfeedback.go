package sfu

// Loss feedback: the talker's encoder hears about its listeners' loss.
//
// A browser's Opus encoder spends bits on in-band FEC (each packet carrying a
// coarse copy of the one before) only when told its packets get lost, and it
// learns that only from the receiver reports about its own stream. The SFU
// terminates RTCP: its reports to the talker describe the talker's uplink
// alone, so a listener losing 10% on its downlink leaves the talker's FEC
// off and the listener concealing every lost packet (issue 16 measured 0
// FEC-carrying packets and 11% of samples concealed).
//
// So every member's receiver reports about its floor track are read for
// their fraction lost, and each report the SFU sends a member about that
// member's own stream says the worse of the SFU's own loss and a high
// percentile of the room's listeners' recent loss. The cumulative count
// stays the SFU's own (the talker's stats then show how much was really lost
// on its uplink); only the fraction, which is what the encoder acts on,
// speaks for the room. mediasoup's "worst remote fraction lost" does the
// same for the same reason.

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

const (
	// listenerLossFresh is how long a listener's last report speaks for it.
	// Browsers report about an audio stream every ~5 s while it flows, and
	// stop when it does; three intervals keep a listener counted through one
	// lost or late report, and forget it soon after it stops hearing anyone.
	listenerLossFresh = 15 * time.Second
	// listenerLossPercentile picks which listener the talker's encoder
	// serves: the 90th percentile. In a small room that is the worst
	// listener; in a big one a single listener on a hopeless link does not
	// make every talker spend its bits on FEC for everybody else.
	listenerLossPercentile = 90
)

// lossReport is one listener's last reported fraction lost (RFC 3550: the
// fraction of its floor track's packets lost since its previous report, in
// 256ths) and when it came, in one word so readers need no lock.
type lossReport struct{ v atomic.Uint64 }

// set records fraction, reported at now (ns since epoch).
func (l *lossReport) set(fraction uint8, now int64) {
	l.v.Store(uint64(now)<<8 | uint64(fraction))
}

// fresh returns the fraction if it was reported within listenerLossFresh
// of now.
func (l *lossReport) fresh(now int64) (uint8, bool) {
	v := l.v.Load()
	if v == 0 || now-int64(v>>8) > int64(listenerLossFresh) {
		return 0, false
	}
	return uint8(v), true
}

// listenerLoss returns the listenerLossPercentile-th percentile of the
// fresh losses reported by the members other than talker, 0 if none
// reported. Called once per receiver report the SFU sends a member, that is
// once per report interval per sending member, never per packet.
func (r *room) listenerLoss(talker *peer, now int64) uint8 {
	var buf [64]uint8
	losses := buf[:0]
	r.mu.Lock()
	for _, p := range r.order {
		if p == talker {
			continue
		}
		if f, ok := p.downLoss.fresh(now); ok {
			losses = append(losses, f)
		}
	}
	r.mu.Unlock()
	if len(losses) == 0 {
		return 0
	}
	slices.Sort(losses)
	// Nearest rank: the smallest value at least listenerLossPercentile% of
	// the reports are at or below.
	rank := (len(losses)*listenerLossPercentile + 99) / 100
	return losses[rank-1]
}

// readFloorReports reads the member's RTCP about its floor track (what the
// sender's Read returns: pion routes by the reports' SSRC) until the
// connection closes, and keeps the loss its reports say. The interceptors
// in the read path see every packet first. It answers the member's NACKs
// too (nack.go).
//
// The loss kept is what the listener's downlink lost before any repair:
// the larger of the report's fraction lost and the share of the packets
// since its previous report that it asked to have resent. With NACK, a
// listener on a short round trip gets almost everything in the end and
// reports almost no loss; but the talker's FEC is what saves the packets a
// resend cannot bring back in time (a long round trip, a lost resend), so
// it must hear of the loss the link has, not of what was left after repair.
// A NACK also names a packet that is only late: on a link that reorders
// (100 ± 50 ms of jitter) browsers ask for a third of the packets, the talker
// hears of that much loss and spends bits on FEC, which then saves the
// packets that come too late to play (BENCHMARKS.md "Bad networks": no
// condition measured worse for it).
func (p *peer) readFloorReports(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, receiveMTU)
	var acc nackAccount
	var pace pacerOf // the member's NACK budget
	for {
		n, _, err := read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		ssrc := p.floorSSRC.Load()
		for _, pkt := range pkts {
			var blocks []rtcp.ReceptionReport
			switch r := pkt.(type) {
			case *rtcp.ReceiverReport:
				blocks = r.Reports
			case *rtcp.SenderReport: // a listener that sends too
				blocks = r.Reports
			case *rtcp.TransportLayerNack:
				if r.MediaSSRC == ssrc && p.sfu.lossRepair {
					acc.nacked(r)
					p.answerNACK(r, &pace)
				}
			}
			for _, b := range blocks {
				if b.SSRC == ssrc {
					first, sent := p.room.firstSent(p)
					f := max(b.FractionLost, acc.report(b.LastSequenceNumber, first, sent))
					p.downLoss.set(f, int64(time.Since(epoch)))
				}
			}
		}
	}
}

// maxNackedTracked bounds the distinct sequence numbers one report interval
// remembers: an honest listener asks for a few a second (the NACK budget
// answers at most nackBudgetRate) and browsers report about every 5 s; past
// the bound the count stops, and the share it gives is a lower bound.
const maxNackedTracked = 512

// nackAccount counts the distinct packets a listener asked to have resent
// between two of its receiver reports.
type nackAccount struct {
	seqs    map[uint16]struct{}
	highest uint32 // extended highest sequence number of the previous report
	started bool
}

func (a *nackAccount) nacked(nk *rtcp.TransportLayerNack) {
	if a.seqs == nil {
		a.seqs = map[uint16]struct{}{}
	}
	for _, pair := range nk.Nacks {
		for _, seq := range pair.PacketList() {
			if len(a.seqs) < maxNackedTracked {
				a.seqs[seq] = struct{}{}
			}
		}
	}
}

// report returns the share, in 256ths, of the packets expected since the
// previous report (highest is this report's extended highest sequence
// number) that were asked for again, and starts the next interval. The
// first report's interval starts at the floor track's first packet, first
// (ok false if none was sent yet), so the talker hears of a listener's loss
// one report sooner.
func (a *nackAccount) report(highest uint32, first uint16, ok bool) uint8 {
	var expected int64
	if a.started {
		expected = int64(highest) - int64(a.highest)
	} else if ok {
		expected = int64(uint16(highest)-first) + 1
	}
	a.highest, a.started = highest, true
	n := len(a.seqs)
	clear(a.seqs)
	if expected <= 0 || n == 0 {
		return 0
	}
	return uint8(min(int64(n)*256/expected, 255))
}

// firstSent returns the first sequence number p's floor track carried.
func (r *room) firstSent(p *peer) (uint16, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.out.first, p.out.sent
}

// lossFeedbackFactory makes the interceptor of one member's connection that
// writes its listeners' loss into the receiver reports the SFU sends it.
type lossFeedbackFactory struct{ p *peer }

func (f lossFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &lossFeedback{p: f.p}, nil
}

type lossFeedback struct {
	interceptor.NoOp
	p *peer

	// The uplink's own loss before repair (the packets the SFU asked the
	// member to resend, nack.go), for the same reason as the listeners'
	// (readFloorReports): as of the previous report.
	mu      sync.Mutex
	highest map[uint32]uint32 // per SSRC reported on: extended highest sequence number
	nacked  uint64            // p.upNacked then
}

// BindRTCPWriter raises the fraction lost of each report block of an
// outgoing receiver report to the room's listener loss, and to the share
// of the member's packets the SFU had to ask for again. The blocks are
// about the member's own stream (the SFU receives nothing else from it),
// and the report interceptor makes them afresh for every report.
func (l *lossFeedback) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, pkt := range pkts {
			rr, ok := pkt.(*rtcp.ReceiverReport)
			if !ok || len(rr.Reports) == 0 {
				continue
			}
			loss := l.p.room.listenerLoss(l.p, int64(time.Since(epoch)))
			l.mu.Lock()
			nacked := l.p.upNacked.Load()
			for i := range rr.Reports {
				b := &rr.Reports[i]
				b.FractionLost = max(b.FractionLost, loss, l.uplinkShare(b.SSRC, b.LastSequenceNumber, nacked))
			}
			l.nacked = nacked
			l.mu.Unlock()
		}
		return w.Write(pkts, a)
	})
}

// uplinkShare returns, in 256ths, the share of the packets of ssrc since
// the previous report that were asked for again. Called with l.mu held.
func (l *lossFeedback) uplinkShare(ssrc, highest uint32, nacked uint64) uint8 {
	if l.highest == nil {
		l.highest = map[uint32]uint32{}
	}
	prev, ok := l.highest[ssrc]
	if !ok && len(l.highest) >= maxRemoteStreams {
		clear(l.highest) // SSRCs of old negotiations
	}
	l.highest[ssrc] = highest
	expected := int64(highest) - int64(prev)
	asked := int64(nacked - l.nacked)
	if !ok || expected <= 0 || asked <= 0 {
		return 0
	}
	return uint8(min(asked*256/expected, 255))
}
