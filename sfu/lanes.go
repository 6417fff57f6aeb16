package sfu

// A big room's fan-out over every core.
//
// One talker's packet goes to every listener, one copy each, under the
// room's lock so that listeners never see two talkers interleaved. In one
// goroutine that is one core's work: at ~10 µs a copy (encryption, and the
// kernel's loopback delivery charged to the sender), a room of 2,000
// listeners needs 20 ms per packet, all of the 20 ms Opus gives it, and the
// talker's packets pile up behind. So past lanesFrom listeners the copies
// are split into lanes, one goroutine each, up to GOMAXPROCS; the room's
// goroutine runs the first lane and waits for the others before it lets go
// of the lock, so ordering is as before. Each lane has its own header
// scratch and fan-out arena; each listener is in exactly one lane, so its
// stream state and SRTP context are touched by one goroutine. The lanes'
// sendmmsg calls on one socket take turns in the kernel (Go serialises
// writes on one file descriptor), while the other lane encrypts.

import (
	"runtime"
	"sync"

	"github.com/pion/rtp"
)

// laneSize is the number of listeners per lane below which a room's
// fan-out stays in one goroutine: starting a goroutine and waiting for it
// costs a few microseconds, a tenth of one copy's; 256 copies are ~2.5 ms.
const laneSize = 256

// lanesFrom is laneSize; tests shorten it.
var lanesFrom = laneSize

// lane is one goroutine's share of a fan-out.
type lane struct {
	out rtp.Packet // header scratch: rewritten per listener
	fan fanout     // the copies the SFU writes itself (fanout.go)
	n   int        // copies sent in the last run
}

// lane returns the room's i-th lane, made on first use. Called with r.mu held.
func (r *room) lane(i int) *lane {
	for len(r.lanes) <= i {
		r.lanes = append(r.lanes, new(lane))
	}
	return r.lanes[i]
}

// fanOut sends src's packet in to targets and returns how many copies went
// out. Called with r.mu held.
func (r *room) fanOut(src *peer, in *rtp.Packet, targets []*peer, now int64) int {
	lanes := min(runtime.GOMAXPROCS(0), len(targets)/lanesFrom)
	if lanes <= 1 {
		return r.lane(0).run(src, in, targets, r.turn, now)
	}
	per := (len(targets) + lanes - 1) / lanes
	var wg sync.WaitGroup
	for i := 1; i < lanes; i++ {
		l, part := r.lane(i), targets[i*per:min((i+1)*per, len(targets))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.n = l.run(src, in, part, r.turn, now)
		}()
	}
	n := r.lane(0).run(src, in, targets[:per], r.turn, now)
	wg.Wait()
	for _, l := range r.lanes[1:lanes] {
		n += l.n
	}
	return n
}

// run rewrites and sends in to each of targets.
func (l *lane) run(src *peer, in *rtp.Packet, targets []*peer, turn uint64, now int64) int {
	out := &l.out
	out.Header = rtp.Header{Version: 2, PayloadType: in.PayloadType}
	out.Payload = in.Payload
	n := 0
	for _, dst := range targets {
		out.SequenceNumber, out.Timestamp, out.Marker = dst.out.rewrite(src.num, turn, &in.Header, now)
		if l.write(dst, out) {
			n++
		}
	}
	n += l.flush(src.sfu)
	out.Payload = nil // do not keep the reader's buffer reachable
	return n
}
