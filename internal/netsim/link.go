package netsim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// TCPRetransmitDelay is what a TCP chunk the loss model hits costs instead
// of being lost: a stream cannot skip bytes, so the loss shows as TCP
// shows it, a retransmission after the minimum RTO (Linux's 200 ms), with
// everything behind it held up.
const TCPRetransmitDelay = 200 * time.Millisecond

// unboundedQueue is the TCP rate cap's queue limit: none, as the bounded
// chunk queue (TCPPendingChunks) already limits what waits.
const unboundedQueue = 1 << 62

// verdict is what a link decided for one packet.
type verdict int

const (
	pass verdict = iota
	dropBlocked
	dropLost
	dropTailDrop
)

// link is one direction of a relay: its impairment, the models' state and
// the random source, under one lock so SetConfig can change it mid-run.
type link struct {
	mu     sync.Mutex
	imp    Impairment
	rng    *rand.Rand
	loss   lossState
	bucket tokenBucket
	fifo   time.Time // UDP in FIFO mode: when the last packet leaves
	count  dirCounters
}

// newLink seeds a link's random source with seed on stream, so the two
// directions draw independent sequences from one seed.
func newLink(imp Impairment, seed, stream uint64) *link {
	return &link{imp: imp, rng: rand.New(rand.NewPCG(seed, stream))}
}

// links are a relay's two directions, up (client to server) and down, and
// what both relays say of them: the impairments in force and the counters.
type links struct{ up, down *link }

// newLinks makes both directions of cfg, each on its own random stream.
func newLinks(cfg Config) links {
	return links{up: newLink(cfg.Up, cfg.Seed, streamUp), down: newLink(cfg.Down, cfg.Seed, streamDown)}
}

// SetConfig changes both directions' impairments from the next packet (or
// chunk) on; what already waits for its delay keeps it. The seed is not
// changed.
func (l links) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.up.set(cfg.Up)
	l.down.set(cfg.Down)
	return nil
}

// Config returns the impairments in force (Seed is zero).
func (l links) Config() Config { return Config{Up: l.up.get(), Down: l.down.get()} }

// counts is Stats with both directions' counters filled in.
func (l links) counts() Stats { return Stats{Up: l.up.count.snapshot(), Down: l.down.count.snapshot()} }

func (l *link) set(imp Impairment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.imp = imp
}

func (l *link) get() Impairment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.imp
}

// admitDatagram decides a datagram of size bytes arriving at now: dropped,
// or when it leaves.
func (l *link) admitDatagram(now time.Time, size int) (time.Time, verdict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	imp := &l.imp
	if imp.Block {
		l.count.blocked.Add(1)
		return time.Time{}, dropBlocked
	}
	if l.loss.lose(imp, l.rng) {
		l.count.lost.Add(1)
		return time.Time{}, dropLost
	}
	due := now
	if imp.RateBits > 0 {
		wait, ok := l.bucket.admit(now, size, imp.RateBits, imp.queueBytes())
		if !ok {
			l.count.tailDrop.Add(1)
			return time.Time{}, dropTailDrop
		}
		due = due.Add(wait)
	}
	due = due.Add(latency(imp, l.rng))
	if !imp.Reorder {
		if due.Before(l.fifo) {
			due = l.fifo
		}
		l.fifo = due
	}
	return due, pass
}

// admitChunk decides when a TCP chunk of size bytes read at now leaves; a
// stream loses nothing, so loss costs TCPRetransmitDelay and the rate cap
// has no queue limit (the reader's bounded queue pushes back instead).
// fifo is the connection direction's last departure: chunks of one stream
// never overtake each other.
func (l *link) admitChunk(now time.Time, size int, fifo *time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	imp := &l.imp
	due := now
	if l.loss.lose(imp, l.rng) {
		l.count.retrans.Add(1)
		due = due.Add(TCPRetransmitDelay)
	}
	if imp.RateBits > 0 {
		wait, _ := l.bucket.admit(now, size, imp.RateBits, unboundedQueue)
		due = due.Add(wait)
	}
	due = due.Add(latency(imp, l.rng))
	if due.Before(*fifo) {
		due = *fifo
	}
	*fifo = due
	return due
}
