package signal

// Repaying the misses of a connection that enters the room it missed
// (issue 15). When a cluster node dies, every member of its rooms comes
// back on a surviving node at once and rebuilds its room there: resume
// (no_such_room), join (no_such_room), create (room_exists if another
// member was first) and join. Each miss was kept as a guess (budget.go), so
// a few hundred members drained the survivor's server-wide budget, and
// everyone on it, members of its own rooms too, got try_later for many
// seconds.
//
// So a connection that enters room X (its create, join or resume for X
// succeeds) gets back what it spent on X on that connection: its
// no_such_room, room_exists and bad_resume answers for X, to the address's
// bucket and the server's, and the address's failed mark if nothing else
// made it suspect. That protects nothing less. A room id is 128 random
// bits, and whether one is live is told for free already: create succeeds
// exactly when join would say no_such_room, and success costs nothing. A
// miss that the same connection follows by entering that very room told it
// nothing a create would not have; a guesser that never enters the rooms
// it asks about keeps paying for every one. Never repaid: bad_auth (a
// wrong room secret is a real guess, whatever follows), misses for any
// other room, misses on another connection, and knocks (knock.go keeps
// its own budgets).
//
// Repaying alone does not get a storm through: a member holds its misses
// until it enters, so a few hundred members arriving together held every
// token, each waiting for one more to go on, and gave up with try_later,
// its misses lost (measured: TestNodeFailureStorm, 150 of 170 still out
// after 31 s, all but the members of rooms the node had). So when the budget would refuse a create, join or resume
// for a room the connection holds a miss for, the request goes ahead on
// that miss instead of a token of its own: a member that got its first
// answer is never stopped halfway. What it then learns is paid for all
// the same. Whether the room is live was paid for by the held miss (the
// same question again); a wrong auth or resume token makes the held miss
// final, as that guess's payment (a wrong auth also charges the address
// and marks it), so each guess at a secret still costs a token of its
// own, and a connection gets past a spent budget only for rooms it asked
// about while there were tokens.
//
// A connection remembers at most MaxHeldMisses misses, on itself, in
// memory only. When it enters a room the misses for that room are repaid
// and the others become final; so do all of them when it closes, and the
// oldest when a new one finds its memory full.

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"sotto/room"
)

// MaxHeldMisses bounds the misses a connection remembers for repaying.
// The app's way back into a room whose node died makes at most three, all
// for that room (resume, join, create: no_such_room, no_such_room,
// room_exists; static/js/session.js #enter, client.Join); one more is
// room for a create that raced a member's leave.
const MaxHeldMisses = 4

// heldMiss is a kept guess its connection may yet repay.
type heldMiss struct {
	room room.ID
	// addr is the address entry that was charged and marked with it; nil
	// when only the server was charged (bad_resume, or no room in the
	// table). Only while it is still the entry in the table does a repay
	// give it anything back: one swept and made again owes the miss
	// nothing.
	addr *guessAddr
	at   time.Time // when it was kept
}

// holdsMiss reports whether the connection holds a miss for id.
func (c *conn) holdsMiss(id room.ID) bool {
	return slices.ContainsFunc(c.misses, func(m heldMiss) bool { return m.room == id })
}

// settleEntry ends a create, join or resume for id with the registry's
// answer err; own says whether it reserved a token of its own
// (reserveGuess), or went ahead on a miss held for id.
func (c *conn) settleEntry(id room.ID, own bool, err error) {
	g := c.s.guesses
	badResume := errors.Is(err, room.ErrBadResume)
	switch {
	case err == nil:
		if own {
			g.settle(c.ipKey, false)
		}
		c.settleMisses(id)
	case own && (badResume || errors.Is(err, room.ErrNoSuchRoom) || errors.Is(err, room.ErrRoomExists)):
		c.remember(g.keep(c.ipKey, id, badResume))
	case own:
		g.settle(c.ipKey, isGuess(err)) // bad_auth is kept for good
	case badResume || errors.Is(err, room.ErrBadAuth):
		// A guess at a secret, with no token of its own: the held miss
		// pays for it, for good.
		i := slices.IndexFunc(c.misses, func(m heldMiss) bool { return m.room == id })
		g.spend(c.ipKey, c.misses[i], !badResume)
		c.misses = slices.Delete(c.misses, i, i+1)
	}
	// Otherwise it went ahead on a held miss and learnt whether the room
	// is live (paid for already), or nothing (room_full, ...).
}

// remember adds a kept miss to the connection's memory, making the oldest
// final if it is full.
func (c *conn) remember(m heldMiss) {
	if len(c.misses) == MaxHeldMisses {
		c.s.guesses.finalize(c.ipKey, c.misses[0])
		c.misses = slices.Delete(c.misses, 0, 1)
	}
	c.misses = append(c.misses, m)
}

// settleMisses runs when the connection enters id: its misses for id are
// repaid, the others become final, and it remembers none.
func (c *conn) settleMisses(id room.ID) {
	for _, m := range c.misses {
		if m.room == id {
			c.s.guesses.repay(c.ipKey, m)
		} else {
			c.s.guesses.finalize(c.ipKey, m)
		}
	}
	c.misses = nil
}

// forgetMisses makes every miss the connection remembers final: it is
// closing.
func (c *conn) forgetMisses() {
	for _, m := range c.misses {
		c.s.guesses.finalize(c.ipKey, m)
	}
	c.misses = nil
}

// keep ends a reservation whose answer was a repayable miss for id: the
// server's token is kept, and the address's, which is marked as failed
// until the miss is repaid or final. A bad_resume (serverOnly) gives the
// address its token back and leaves it unmarked: a resume token is 256
// random bits, so charging its address protects nothing, while every
// member behind a NAT coming back after a restart (or a grace that ran
// out) gets bad_resume once (review of issue 12, item 9); the server-wide
// charge stays, as for every answer that tells anything (a bad_resume says
// the room exists).
func (g *guessBudget) keep(key netip.Prefix, id room.ID, serverOnly bool) heldMiss {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	m := heldMiss{room: id, at: now}
	a := g.addrs[key]
	switch {
	case a == nil:
	case serverOnly:
		a.b.give(now)
	default:
		a.held++
		a.heldLast = now
		m.addr = a
	}
	return m
}

// repay gives a remembered miss back: the server's token, and the
// address's with its mark.
func (g *guessBudget) repay(key netip.Prefix, m heldMiss) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.global.give(now)
	if a := g.unhold(key, m); a != nil {
		a.b.give(now)
	}
}

// finalize makes a remembered miss final: its tokens stay spent, and its
// mark counts as a failed join at the time it was kept.
func (g *guessBudget) finalize(key netip.Prefix, m heldMiss) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a := g.unhold(key, m); a != nil && m.at.After(a.failed) {
		a.failed = m.at
	}
}

// spend makes a remembered miss the payment, for good, of a guess at a
// secret that went ahead on it: the server's token stays spent. A wrong
// auth (addr) costs the address too: the miss's token if it took one,
// else one now if there is one, and marks it failed now. A wrong resume
// token costs the address nothing (see keep): a token the miss took is
// given back.
func (g *guessBudget) spend(key netip.Prefix, m heldMiss, addr bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.unhold(key, m)
	switch {
	case !addr:
		if a != nil {
			a.b.give(now)
		}
	case a != nil:
		a.failed = now
	default:
		if a = g.addrLocked(key, now); a != nil {
			a.b.take(now)
			a.failed = now
		}
	}
}

// unhold takes m's mark off its address entry and returns the entry; nil
// if m charged none, or the entry is no longer the one in the table.
// Caller holds g.mu.
func (g *guessBudget) unhold(key netip.Prefix, m heldMiss) *guessAddr {
	a := m.addr
	if a == nil || g.addrs[key] != a {
		return nil
	}
	a.held--
	if a.held == 0 {
		a.heldLast = time.Time{}
	}
	return a
}
