package signal

// Budgets for answers that would help someone guess (a room id, an auth or
// resume token, a nameplate): the failed-join budget, per client address
// and server-wide. A request reserves one guess before the registry is
// asked anything, and gets it back when it turns out not to be a guess
// (it succeeded, or failed for a reason that tells nothing, such as
// room_full). Reserving first is what makes the bound hold: a budget that
// is only checked at the start and charged at the end lets every request
// in flight through at once (docs/abuse.md, issue 12 #6). A connection
// that enters a room gets back the misses it spent on that room
// (repay.go).

import (
	"net/netip"
	"sync"
	"time"

	"sotto/internal/sweeptimer"
)

// bucket is a token bucket whose tokens can be given back. (rate.Limiter
// cannot: once a reservation's time has passed, cancelling it restores
// nothing.) It is not safe for concurrent use; its owner locks.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}

// avail returns the tokens there are now.
func (b *bucket) avail(now time.Time) float64 {
	b.refill(now)
	return b.tokens
}

// take takes one token if there is one.
func (b *bucket) take(now time.Time) bool { return b.takeN(now, 1) }

// takeN takes n tokens if there are as many.
func (b *bucket) takeN(now time.Time, n float64) bool {
	b.refill(now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// give returns a token taken by take.
func (b *bucket) give(now time.Time) {
	b.refill(now)
	b.tokens = min(b.burst, b.tokens+1)
}

// full reports whether the bucket is as if never used: its entry in a
// table can then go.
func (b *bucket) full(now time.Time) bool { return b.avail(now) >= b.burst }

// addrTableSweep is AddrTableSweep; tests shorten it.
var addrTableSweep = AddrTableSweep

// guessBudget is the failed-join budget: a bucket per client address (the
// key MaxConnsPerIP counts against) and one for the whole server. See
// DefaultFailedJoinAddrRate for what it bounds.
type guessBudget struct {
	now       func() time.Time
	addrRate  float64
	addrBurst int

	mu        sync.Mutex
	global    bucket
	addrs     map[netip.Prefix]*guessAddr
	nextSweep time.Time
	sweeper   sweeptimer.Timer
}

// guessAddr is one address's failed joins.
type guessAddr struct {
	b      bucket
	failed time.Time // its last failed join (zero: none)
	// held counts its misses that connections remember and may yet repay
	// (repay.go), heldLast is when the latest of them was kept (zero when
	// held is): failed joins that entering the room would take back.
	held     int
	heldLast time.Time
}

// suspect reports whether the address failed within FailedJoinMemory,
// counting the misses it may yet repay.
func (a *guessAddr) suspect(now time.Time) bool {
	recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) < FailedJoinMemory }
	return recent(a.failed) || recent(a.heldLast)
}

func newGuessBudget(cfg *Config) *guessBudget {
	return &guessBudget{
		now:       cfg.now,
		addrRate:  cfg.FailedJoinAddrRate,
		addrBurst: cfg.FailedJoinAddrBurst,
		global:    newBucket(cfg.FailedJoinRate, cfg.FailedJoinBurst, cfg.now()),
		addrs:     make(map[netip.Prefix]*guessAddr),
	}
}

// addrLocked returns key's entry, making it if the table has room; nil if
// it has none. Caller holds g.mu.
func (g *guessBudget) addrLocked(key netip.Prefix, now time.Time) *guessAddr {
	if !now.Before(g.nextSweep) {
		g.sweepLocked(now)
	}
	if a := g.addrs[key]; a != nil {
		return a
	}
	if len(g.addrs) >= MaxFailedJoinAddrs {
		return nil
	}
	a := &guessAddr{b: newBucket(g.addrRate, g.addrBurst, now)}
	g.addrs[key] = a
	g.sweeper.ArmLocked(&g.mu, addrTableSweep, func() int { return g.sweepLocked(g.now()) })
	return a
}

// sweepLocked drops the entries that no longer count and returns how many
// are left. An entry with a full bucket and no recent failure holds
// nothing a new one would not: dropping those keeps an address in memory
// only while it counts for something (security.md §10). Caller holds g.mu.
func (g *guessBudget) sweepLocked(now time.Time) int {
	for k, a := range g.addrs {
		if a.b.full(now) && !a.suspect(now) {
			delete(g.addrs, k)
		}
	}
	g.nextSweep = now.Add(addrTableSweep)
	return len(g.addrs)
}

// close stops the sweeps (Server.Shutdown).
func (g *guessBudget) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweeper.StopLocked()
}

// reserve takes one guess for key, from its address's bucket and from the
// server's, before the registry is asked. It reports false, having taken
// nothing, when either is spent, or when the address is suspect (it
// failed within FailedJoinMemory, or the table had no room for it) and
// the server's bucket is down to its last FailedJoinPriority share: that
// share is kept for addresses that have not failed. Every true must be
// followed by settle.
func (g *guessBudget) reserve(key netip.Prefix) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.addrLocked(key, now)
	floor := 1.0
	if a == nil || a.suspect(now) {
		floor = max(1, g.global.burst*FailedJoinPriority)
	}
	if g.global.avail(now) < floor || (a != nil && a.b.avail(now) < 1) {
		return false
	}
	g.global.take(now)
	if a != nil {
		a.b.take(now)
	}
	return true
}

// settle ends a reservation: a guess (the answer would help a guesser)
// keeps the tokens and marks the address; anything else gives them back.
func (g *guessBudget) settle(key netip.Prefix, guess bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.addrs[key]
	if guess {
		if a != nil {
			a.failed = now
		}
		return
	}
	g.global.give(now)
	if a != nil {
		a.b.give(now)
	}
}

// charge spends a guess after the fact, if there is one to spend, and
// marks the address (a wrong room code: the knock budget bounded it
// already).
func (g *guessBudget) charge(key netip.Prefix) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.global.take(now)
	if a := g.addrLocked(key, now); a != nil {
		a.b.take(now)
		a.failed = now
	}
}

// blobBudget is each client address's blob fan-out: see BlobFanoutRate.
type blobBudget struct {
	now   func() time.Time
	rate  float64
	burst int

	mu        sync.Mutex
	addrs     map[netip.Prefix]*bucket
	nextSweep time.Time
	sweeper   sweeptimer.Timer
}

func newBlobBudget(cfg *Config) *blobBudget {
	return &blobBudget{now: cfg.now, rate: cfg.BlobRate, burst: cfg.BlobBurst, addrs: make(map[netip.Prefix]*bucket)}
}

// take spends the bytes of a blob of chars characters going to recipients
// members; false: over the address's budget, or no room in the table.
func (t *blobBudget) take(key netip.Prefix, chars, recipients int) bool {
	return t.takeBytes(key, (chars+blobOverhead)*recipients)
}

// takeBytes spends n bytes of the address's budget, all or none (a blobs
// batch costs the sum of its blobs); false: over the budget, or no room in
// the table.
func (t *blobBudget) takeBytes(key netip.Prefix, n int) bool {
	if n <= 0 {
		return true // nobody to send to costs nothing
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !now.Before(t.nextSweep) {
		t.sweepLocked(now)
	}
	b := t.addrs[key]
	if b == nil {
		if len(t.addrs) >= MaxBlobAddrs {
			return false
		}
		nb := newBucket(t.rate, t.burst, now)
		b = &nb
		t.addrs[key] = b
		t.sweeper.ArmLocked(&t.mu, addrTableSweep, func() int { return t.sweepLocked(t.now()) })
	}
	return b.takeN(now, float64(n))
}

// sweepLocked drops refilled buckets, which hold nothing a new one would
// not, so that addresses stay in memory only while they count; it returns
// how many are left. Caller holds t.mu.
func (t *blobBudget) sweepLocked(now time.Time) int {
	for k, b := range t.addrs {
		if b.full(now) {
			delete(t.addrs, k)
		}
	}
	t.nextSweep = now.Add(addrTableSweep)
	return len(t.addrs)
}

// close stops the sweeps (Server.Shutdown).
func (t *blobBudget) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweeper.StopLocked()
}
