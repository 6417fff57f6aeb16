package signal

// Knocks: joining by a typed room code (docs/protocol.md, "Joining by
// code"). A joiner who has only the code (nameplate + password part) asks
// the server to relay a PAKE exchange (pake/) to one member of the room the
// nameplate names. The server sees the nameplate and four opaque messages;
// the password part never reaches it. It relays at most those four, in
// turn, counts each exchange that fails once the joiner has had the
// member's answer (the joiner's one guess), and after the room's limit the
// registry retires the nameplate.

import (
	"crypto/rand"
	"net/netip"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"sotto/internal/sweeptimer"
	"sotto/room"
)

// Limits of knocks. Each is documented in docs/protocol.md.
const (
	// MaxKnockDataChars bounds one PAKE message, base64url. Ours are 33 to
	// 65 bytes (at most 88 characters).
	MaxKnockDataChars = 256
	// KnockTimeout ends an exchange that has not finished: a joiner typing
	// is done before it knocks, and each step is one round trip.
	KnockTimeout = 20 * time.Second
	// MaxKnocksPerRoom bounds exchanges in progress for one room, so that
	// knocks cannot flood its members.
	MaxKnocksPerRoom = 4
	// KnockAddrEvery and KnockAddrBurst: knocks per client address (IPv4
	// address or IPv6 /64), one per 10 s after a burst of 6 (the burst is
	// Config.KnockAddrBurst, flag --knocks-per-ip: a large office behind one
	// NAT address may want more).
	KnockAddrEvery = 10 * time.Second
	KnockAddrBurst = 6
	// KnockFailureRate and KnockFailureBurst bound failed exchanges over
	// the whole server, whatever the number of addresses: with the room's
	// MaxKnockFailures and a 7-digit password part this caps a guesser's
	// server-wide odds (docs/security.md). A knock reserves a failure at
	// the step where the member's answer is relayed to the joiner (the
	// joiner's one guess) and gets it back unless it ends as a wrong code,
	// so exchanges in flight count too: in any window of T seconds at most
	// KnockFailureBurst + KnockFailureRate*T exchanges get a member's
	// answer and fail. A knock that merely waits for its member holds
	// nothing (review of issue 12, item 2: reserving at the start let ~10
	// addresses keep the budget empty by knocking at their own room and
	// never answering). When spent, a new knock gets try_later, and an
	// answer finding none left ends its knock with result try_later,
	// unrelayed.
	KnockFailureRate  = 0.2
	KnockFailureBurst = 20
	// maxKnockAddrs bounds the per-address table; entries idle for a
	// minute whose limiter has refilled are swept every
	// AddrTableSweep while it has entries, and when it is full; a new
	// address finding it still full is refused (try_later): bounded memory
	// beats fairness here.
	maxKnockAddrs = 16384
	knockAddrIdle = time.Minute
)

// knockDeadline is KnockTimeout; tests shorten it.
var knockDeadline = KnockTimeout

// Results a knock ends with, as knock_done reports them.
const (
	knockOK      = "ok"      // the member delivered the secret
	knockFailed  = "failed"  // a side found the other's proof wrong (a wrong code)
	knockTimeout = "timeout" // not finished within KnockTimeout
	knockGone    = "gone"    // the other side left or disconnected
	knockRefused = "refused" // the member declined before answering (it cannot, or will not, answer more tries)
	// knockTryLater: the member answered when the server-wide budget of
	// failed exchanges was spent; its answer was not relayed.
	knockTryLater = "try_later"
)

// A knock's steps: 1 the joiner's first message went to the member, 2 the
// member answered, 3 the joiner confirmed, 4 the member sent the sealed
// secret (done).
type knock struct {
	id     string // random, base64url: the wire name
	room   room.ID
	member uuid.UUID
	joiner *conn
	step   int
	timer  *time.Timer
}

type knockAddr struct {
	lim  *rate.Limiter
	seen time.Time
}

type knockTable struct {
	mu        sync.Mutex
	byID      map[string]*knock
	perRoom   map[string]int // string(room id) -> knocks in progress
	addrs     map[netip.Prefix]*knockAddr
	failures  bucket // reserved by each knock past step 1: see KnockFailureRate
	now       func() time.Time
	addrBurst int           // Config.KnockAddrBurst, this node's share (cluster.go)
	addrEvery time.Duration // KnockAddrEvery, this node's share
	sweeper   sweeptimer.Timer
}

func newKnockTable(lim knockLimits, now func() time.Time) *knockTable {
	return &knockTable{
		now:       now,
		byID:      make(map[string]*knock),
		perRoom:   make(map[string]int),
		addrs:     make(map[netip.Prefix]*knockAddr),
		failures:  newBucket(lim.failureRate, lim.failureBurst, now()),
		addrBurst: lim.addrBurst,
		addrEvery: lim.addrEvery,
	}
}

// allowAddr spends one of the address's knocks.
func (kt *knockTable) allowAddr(key netip.Prefix, now time.Time) bool {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	a := kt.addrs[key]
	if a == nil {
		if len(kt.addrs) >= maxKnockAddrs && kt.sweepLocked(now) >= maxKnockAddrs {
			return false
		}
		a = &knockAddr{lim: rate.NewLimiter(rate.Every(kt.addrEvery), kt.addrBurst)}
		kt.addrs[key] = a
		kt.sweeper.ArmLocked(&kt.mu, addrTableSweep, func() int { return kt.sweepLocked(kt.now()) })
	}
	a.seen = now
	return a.lim.AllowN(now, 1)
}

// failuresLeft reports whether a failed exchange could be reserved now. A
// knock starting takes none (it is reserved when the member answers), but
// one that would find none left then is refused at once.
func (kt *knockTable) failuresLeft() bool {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	return kt.failures.avail(kt.now()) >= 1
}

// sweepLocked drops addresses idle for knockAddrIdle whose knocks have
// refilled (with a larger --knocks-per-ip that takes longer than the idle
// time: dropping earlier would hand out a fresh burst) and returns how many
// are left. Caller holds kt.mu.
func (kt *knockTable) sweepLocked(now time.Time) int {
	for k, v := range kt.addrs {
		if now.Sub(v.seen) > knockAddrIdle && v.lim.TokensAt(now) >= float64(kt.addrBurst) {
			delete(kt.addrs, k)
		}
	}
	return len(kt.addrs)
}

// close stops the sweeps (Server.Shutdown).
func (kt *knockTable) close() {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	kt.sweeper.StopLocked()
}

// removeLocked takes k out of the table, once: it reports whether it did.
// Caller holds kt.mu.
func (kt *knockTable) removeLocked(k *knock) bool {
	if kt.byID[k.id] != k {
		return false
	}
	delete(kt.byID, k.id)
	key := string(k.room[:])
	if kt.perRoom[key]--; kt.perRoom[key] <= 0 {
		delete(kt.perRoom, key)
	}
	k.timer.Stop()
	return true
}

// forJoiner returns the knock c is making, if any.
func (kt *knockTable) forJoiner(c *conn) *knock {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	for _, k := range kt.byID {
		if k.joiner == c {
			return k
		}
	}
	return nil
}

// knock starts an exchange: the joiner's first PAKE message goes to one
// member of the room the nameplate names.
func (c *conn) knock(m *inMsg) {
	kt := c.s.knocks
	switch {
	case c.s.cfg.Admit != nil:
		// Operator mode admits only with a token, and a knock carries none:
		// without this a client with no token could probe nameplates and
		// spend rooms' code tries.
		c.fail(m.ID, &protoError{codeTokenMissing, "this server admits only with a token from the app that sent you; joining by code is off"})
		return
	case c.inRoom:
		c.fail(m.ID, &protoError{codeAlreadyInRoom, "this connection is already in a room"})
		return
	case !c.route.allowsKnock(m.Nameplate):
		c.fail(m.ID, routeMismatch)
		return
	case kt.forJoiner(c) != nil:
		c.fail(m.ID, &protoError{codeKnockPending, "this connection is already joining by code; wait for it to end"})
		return
	// Spent budgets: refuse before looking, as enter does. The knock's
	// failure is reserved only when its member answers (knockData).
	case !kt.failuresLeft():
		c.fail(m.ID, wrongCodesTryLater)
		return
	case !kt.allowAddr(c.ipKey, c.s.cfg.now()):
		c.fail(m.ID, &protoError{codeTryLater, "too many codes tried from your address; retry in a few seconds"})
		return
	case !c.s.guesses.reserve(c.ipKey):
		c.fail(m.ID, tryLater)
		return
	}
	rid, member, err := c.s.reg.KnockTarget(m.Nameplate)
	c.s.guesses.settle(c.ipKey, isGuess(err)) // a guessed nameplate costs like a guessed room
	if err != nil {
		c.fail(m.ID, c.registryError(err))
		return
	}
	var idb [16]byte
	rand.Read(idb[:])
	k := &knock{id: b64.EncodeToString(idb[:]), room: rid, member: member, joiner: c, step: 1}
	kt.mu.Lock()
	if kt.perRoom[string(rid[:])] >= MaxKnocksPerRoom {
		kt.mu.Unlock()
		c.fail(m.ID, &protoError{codeTryLater, "others are joining this room by code right now; retry in a few seconds"})
		return
	}
	kt.perRoom[string(rid[:])]++
	kt.byID[k.id] = k
	k.timer = time.AfterFunc(knockDeadline, func() { c.s.endKnock(k, knockTimeout, nil, false) })
	kt.mu.Unlock()

	c.reply(knockingMsg{Type: typeKnocking, ID: m.ID, Knock: k.id})
	msg := encode(knockMsg{Type: typeKnock, Knock: k.id, Data: m.Data})
	if err := c.s.reg.Notify(rid, member, room.Event{Kind: room.Signal, Data: msg}); err != nil {
		c.s.endKnock(k, knockGone, nil, true) // the member left between the two calls
	}
}

// knockData relays the next PAKE message of an exchange, from whichever
// side's turn it is.
func (c *conn) knockData(m *inMsg) {
	kt := c.s.knocks
	kt.mu.Lock()
	k := kt.byID[m.Knock]
	if k == nil || !c.inKnock(k) {
		kt.mu.Unlock()
		c.fail(m.ID, noSuchKnock)
		return
	}
	fromJoiner := k.joiner == c
	if fromJoiner != (k.step == 2) {
		kt.mu.Unlock()
		c.fail(m.ID, &protoError{codeBadMessage, "not this side's turn in the code exchange"})
		return
	}
	if k.step == 1 && !kt.failures.take(kt.now()) {
		// The member's answer is the joiner's guess: it goes out only
		// with a failure reserved (KnockFailureRate), and none is left.
		kt.removeLocked(k)
		kt.mu.Unlock()
		c.s.knockEnded(k, knockTryLater, nil, false)
		return
	}
	k.step++
	step := k.step
	if step == 4 {
		// The member checked the joiner's proof before sending this: the
		// exchange is over, and nothing (a timer, a late knock_done) may
		// end it otherwise once the lock is let go. It found the
		// joiner's proof right: no wrong code, its failure goes back.
		kt.removeLocked(k)
		kt.failures.give(kt.now())
	}
	kt.mu.Unlock()

	msg := knockMsg{Type: typeKnockData, Knock: k.id, Data: m.Data}
	if fromJoiner {
		if err := c.s.reg.Notify(k.room, k.member, room.Event{Kind: room.Signal, Data: encode(msg)}); err != nil {
			c.s.endKnock(k, knockGone, nil, true)
		}
		return
	}
	k.joiner.reply(msg)
	if step == 4 {
		k.joiner.reply(knockDoneMsg{Type: typeKnockDone, Knock: k.id, Result: knockOK})
	}
}

// knockDone is either side giving up: the other's proof was wrong.
func (c *conn) knockDone(m *inMsg) {
	kt := c.s.knocks
	kt.mu.Lock()
	k := kt.byID[m.Knock]
	ok := k != nil && c.inKnock(k)
	kt.mu.Unlock()
	if !ok {
		c.fail(m.ID, noSuchKnock)
		return
	}
	result := knockFailed
	if k.joiner != c && k.step < 2 {
		result = knockRefused // the member declined to answer: not a wrong code
	}
	c.s.endKnock(k, result, c, false)
}

// dropKnocks ends the exchanges c takes part in: it is leaving its room or
// disconnecting. Runs on c's reader, before its room fields are cleared.
func (c *conn) dropKnocks() {
	kt := c.s.knocks
	var mine []*knock
	replaced := c.replaced.Load() // its member's knocks are now the new connection's
	kt.mu.Lock()
	for _, k := range kt.byID {
		if k.joiner == c || (!replaced && c.inKnock(k)) {
			mine = append(mine, k)
		}
	}
	kt.mu.Unlock()
	for _, k := range mine {
		c.s.endKnock(k, knockGone, c, k.joiner != c)
	}
}

// inKnock reports whether c is one of k's two sides. Called with the knock
// table's lock held; reads c's room fields, so only on c's reader.
func (c *conn) inKnock(k *knock) bool {
	return k.joiner == c || (c.inRoom && c.roomID == k.room && c.self == k.member)
}

var noSuchKnock = &protoError{codeNoSuchKnock, "no code exchange with this id is in progress for you"}

var wrongCodesTryLater = &protoError{codeTryLater, "too many wrong codes on this server; retry in a few seconds"}

// endKnock ends an exchange once, tells each side that did not end it, and
// counts it as a failed guess when the joiner had the member's answer (its
// one guess) and did not get the secret. A member who leaves mid-exchange
// (memberGone) is not the joiner's guess.
func (s *Server) endKnock(k *knock, result string, by *conn, memberGone bool) {
	kt := s.knocks
	kt.mu.Lock()
	if !kt.removeLocked(k) {
		kt.mu.Unlock()
		return
	}
	guessed := k.step >= 2 // the member's answer went out, with a failure reserved
	counted := result != knockOK && guessed && !memberGone
	if guessed && !counted {
		kt.failures.give(kt.now()) // no wrong code: the reserved failure goes back
	}
	kt.mu.Unlock()
	s.knockEnded(k, result, by, counted)
}

// knockEnded tells the sides of k, which its caller took out of the
// table, how it ended, and counts it if counted.
func (s *Server) knockEnded(k *knock, result string, by *conn, counted bool) {
	done := knockDoneMsg{Type: typeKnockDone, Knock: k.id, Result: result}
	if by != k.joiner {
		k.joiner.reply(done)
	}
	if by == nil || by == k.joiner {
		s.reg.Notify(k.room, k.member, room.Event{Kind: room.Signal, Data: encode(done)}) // a member gone needs no word
	}
	// Counted after the sides are told, so that the member reads the end of
	// its exchange before the room-wide knock_failed.
	if counted {
		s.guesses.charge(k.joiner.ipKey)
		if _, err := s.reg.KnockFailed(k.room); err != nil {
			s.log.Error("retiring a room code failed", "err", err) // registry errors carry no ids
		}
	}
}
