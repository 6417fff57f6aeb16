package sfu

// NACK for audio: a listener's lost packet, sent again.
//
// Opus in-band FEC rebuilds a lost packet from the next one, coarsely, and
// only single losses; a listener's downlink that drops 10% loses whole
// syllables to bursts. The SFU already holds every packet it forwarded, as
// ciphertext it cannot read but can send again byte for byte (the E2EE
// trailer and the SRTP protection of the resent copy are as valid as the
// first time). A browser asks for it with a NACK (RFC 4585) when the app's
// offer has "a=rtcp-fb:111 nack" (static/js/media.js; browsers do not offer
// it for audio by default), and its jitter buffer plays the packet if it
// arrives in time: on a link with a round trip well under the buffer's
// depth, most losses are repaired before anyone hears them.
//
// pion's responder keeps the last nackHistory packets of each floor track
// and resends what a NACK names, at most once per round trip per packet.
// What a member may ask for is bounded here, before the responder reads
// it: nackBudgetRate packets a second, so a member that NACKs everything
// over and over gets its own stream at most twice over, not a multiple of
// the room's.

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

const (
	// nackHistory is how many packets of each floor track are kept for
	// resending: 64 packets of 20 ms are 1.28 s, longer than any jitter
	// buffer waits, for about 10 KB per member (pion requires a power of
	// two).
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

type nackBudgetFactory struct{}

func (nackBudgetFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackBudget{}, nil
}

// nackBudget drops from a member's incoming RTCP the NACKs that ask for
// more than its budget. pion binds its reader once per sender and per
// receiver, and each runs in its own read loop, hence the lock. Nothing below it parses RTCP into the attributes, so the packets the
// responder parses are the filtered ones.
type nackBudget struct {
	interceptor.NoOp
	mu   sync.Mutex
	pace pacerOf // packets asked for, GCRA as forward.go's pacer
}

func (n *nackBudget) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			i, attr, err := r.Read(b, a)
			if err != nil {
				return i, attr, err
			}
			// Nothing left of a packet: read the next rather than hand
			// the readers above an empty one (an error would end them).
			if i = n.filter(b, i); i > 0 {
				return i, attr, nil
			}
		}
	})
}

// filter returns the length of b[:i] after the NACKs over budget are taken
// out of it. RTCP with no NACK in it is returned as it is.
func (n *nackBudget) filter(b []byte, i int) int {
	pkts, err := rtcp.Unmarshal(b[:i])
	if err != nil {
		return i // pion drops it too
	}
	now := int64(time.Since(epoch))
	kept := pkts[:0]
	dropped := false
	for _, p := range pkts {
		if nk, ok := p.(*rtcp.TransportLayerNack); ok && !n.allow(now, nackedPackets(nk)) {
			dropped = true
			continue
		}
		kept = append(kept, p)
	}
	if !dropped {
		return i
	}
	if len(kept) == 0 {
		return 0
	}
	out, err := rtcp.Marshal(kept)
	if err != nil || len(out) > len(b) {
		return 0
	}
	return copy(b, out)
}

func (n *nackBudget) allow(now int64, packets int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pace.allowN(now, packets)
}

// nackedPackets counts the packets a NACK asks for.
func nackedPackets(nk *rtcp.TransportLayerNack) int {
	n := 0
	for _, p := range nk.Nacks {
		n += len(p.PacketList())
	}
	return n
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
