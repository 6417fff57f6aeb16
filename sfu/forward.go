package sfu

// The floor: the holder's packets go to every other member's floor track.
//
// Each listener's floor track is one RTP stream for the life of its
// connection, whoever talks. So at the start of every turn (a grant, even to
// the member who talked last), the header is rewritten: the SSRC is the floor
// track's own (pion sets it per binding), the sequence number continues at
// last+1, and the timestamp advances by the wall-clock time since the
// listener's last packet, in 48 kHz units. To the listener's jitter buffer a
// new turn looks like the same talker after a pause, with the marker bit set
// as at any talkspurt. Within one turn the same offsets apply to every
// packet, so the talker's own gaps (loss, DTX) and reordering pass through
// unchanged.
//
// Why every turn, and not only a change of talker (issue 17): a turn's first
// packet often reaches us late for its own timestamp. The talker's pipeline
// takes a while to start (the mic switched on, the encoder leaving DTX, the
// encryption worker), the optimistic floor holds a press's packets until its
// grant (hold.go), and the talker's timestamps ran on through the pause in
// between. Kept, that lateness is what the listener's jitter buffer (NetEq
// counts a packet's arrival against its timestamp, over the last 2 s) takes
// for network jitter, and it raises its target delay for every later turn.
// Anchored to the moment the packet reaches us, the turn starts on time and
// the packets that follow in a burst look early, which costs nothing: the
// buffer plays them out a little faster. Gaps within a turn are left as the
// talker timed them, so real network jitter is still seen.
//
// The one exception: a turn whose first packets are DTX (a mic switched on
// a moment after the grant still sends the silence it was sending) is
// anchored again at its first packet marked as a talkspurt's start, the
// first speech: that is the one the listener waits for.
//
// The payload is the sender's encrypted frame, forwarded byte for byte.

import (
	"time"

	"github.com/pion/rtp"
)

const (
	clockRate = 48000 // Opus RTP clock, whatever the sampling rate inside
	// minTalkerGap is the smallest timestamp step at a change of talker: one
	// 20 ms frame, so the new talker's first frame never overlaps the last
	// frame of the previous one even if both arrive in the same instant.
	minTalkerGap = clockRate / 50
)

// The floor holder's packets are forwarded at most at forwardRate a second,
// with bursts of up to forwardBurst: each one costs a write per listener, so
// a holder sending far faster than any Opus encoder (issue 12 measured
// 2,964 packets/s in, 83,000 out, 60% of a core for one room) would turn the
// server into an amplifier. The excess is dropped and counted (Stats.Limited).
const (
	// forwardRate is 100 packets/s, what Opus sends at the shortest frame we
	// allow (minptime=10; browsers use 20 ms, 50/s), plus 20% so that a
	// sender whose clock runs fast never empties the bucket, however long
	// its turn.
	forwardRate = 120
	// forwardBurst is a full second of 10 ms frames (two of 20 ms) arriving
	// at once, as after a network stall, which a listener's jitter buffer
	// can still use.
	forwardBurst = 100

	forwardInterval  = int64(time.Second) / forwardRate
	forwardTolerance = (forwardBurst - 1) * forwardInterval
)

// pacer is a token bucket in its cheapest form, the generic cell rate
// algorithm (GCRA, from ATM): one number, the time at which the sender will
// have earned its next packet. No allocation, no division per packet.
// Guarded by room.mu.
type pacer struct {
	tat int64 // theoretical arrival time, ns since epoch
}

// allow reports whether a packet received at now is within the rate, and
// if so counts it.
func (b *pacer) allow(now int64) bool {
	tat := max(b.tat, now)
	if tat-now > forwardTolerance {
		return false
	}
	b.tat = tat + forwardInterval
	return true
}

// epoch anchors the monotonic clock the rewrite uses.
var epoch = time.Now()

// outStream is what one listener's floor track has carried so far.
type outStream struct {
	src      uint64 // peer.num of the talker the offsets belong to; 0: none yet
	turn     uint64 // the room.turn they belong to
	srcSSRC  uint32 // and its SSRC (a talker's SSRC may change on renegotiation)
	spoke    bool   // a packet of the turn with the marker bit was sent
	seqDelta uint16
	tsDelta  uint32
	from     uint16 // the first sequence number sent with these offsets

	sent   bool
	first  uint16 // the first sequence number sent
	last   uint16 // highest sequence number sent
	lastTS uint32 // its timestamp
	lastAt int64  // and when it was sent, ns since epoch
}

// rewrite returns the listener's sequence number, timestamp and marker for
// packet h from talker src in turn (room.turn), received at now.
func (o *outStream) rewrite(src, turn uint64, h *rtp.Header, now int64) (seq uint16, ts uint32, marker bool) {
	marker = h.Marker
	fresh := o.src != src || o.turn != turn || o.srcSSRC != h.SSRC
	// The turn's first speech after its DTX, in order: only the timestamp
	// is anchored anew, the talker's numbering stays (a loss is a loss).
	firstSpeech := !fresh && h.Marker && !o.spoke && int16(h.SequenceNumber+o.seqDelta-o.last) > 0
	if (fresh || firstSpeech) && o.sent {
		idle := min(now-o.lastAt, int64(time.Hour)) // keeps the product in range
		gap := max(uint32(idle*clockRate/int64(time.Second)), minTalkerGap)
		if fresh {
			o.seqDelta = o.last + 1 - h.SequenceNumber
		}
		o.tsDelta = o.lastTS + gap - h.Timestamp
	}
	if fresh || firstSpeech {
		o.src, o.turn, o.srcSSRC = src, turn, h.SSRC
		o.spoke, o.from = false, h.SequenceNumber+o.seqDelta
		marker = true // start of a talkspurt: let the jitter buffer resync
	}
	o.spoke = o.spoke || h.Marker
	seq = h.SequenceNumber + o.seqDelta
	ts = h.Timestamp + o.tsDelta
	if !o.sent {
		o.first = seq
	}
	if !o.sent || int16(seq-o.last) > 0 {
		o.sent, o.last, o.lastTS, o.lastAt = true, seq, ts, now
	}
	return seq, ts, marker
}

// forward sends one packet of src to every other member of the room. src's
// mic reader calls it; the room lock makes one talker's fan-out finish before
// the next talker's begins, so a listener's stream never interleaves two
// talkers, and SetFloor takes effect between two packets.
func (r *room) forward(src *peer, in *rtp.Packet) {
	now := int64(time.Since(epoch))
	r.mu.Lock()
	defer r.mu.Unlock()
	if !src.holds.Load() { // the floor moved while we read
		src.sfu.dropped.Add(1)
		return
	}
	if !src.pace.allow(now) {
		src.sfu.limited.Add(1)
		return
	}
	if src.sfu.lossRepair {
		if r.hist == nil {
			r.hist = new(history)
		}
		r.hist.keep(src.num, in)
	}
	targets := r.targets[:0]
	for _, dst := range r.order {
		if dst != src && dst.ready {
			targets = append(targets, dst)
		}
	}
	r.targets = targets
	n := r.fanOut(src, in, targets, now)
	clear(targets) // hold no peer past its packet
	src.sfu.forwarded.Add(uint64(n))
}
