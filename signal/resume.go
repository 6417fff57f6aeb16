package signal

// Resuming a membership (docs/protocol.md, "Resuming"): a client whose
// connection dropped, without leaving, sends resume with the token its last
// joined carried, on a new connection, within the grace the registry keeps
// the member for. It gets its member id back, a fresh snapshot and a new
// token; the others get member_back and greet it again. No operator token
// is needed: the resume token is the proof, and it is spent by its use.

import "time"

// CloseReplaced is the close code of a connection whose member was resumed
// on another connection (it was half-open, and its client had moved on).
const CloseReplaced = 4009

// CloseClientLostServer is the close code a client sends when it gives up
// on a connection whose pings go unanswered: the server then treats it as
// a network drop (the member waits for a resume), not as a leave.
const CloseClientLostServer = 4000

func (c *conn) resume(m *inMsg) {
	// Resume tokens are 256 random bits; the budget is a second line of
	// defence, as for joins.
	if !c.mayEnter(m) {
		return
	}
	own, ok := c.reserveGuess(m)
	if !ok {
		return
	}
	c.q.hold()
	snap, err := c.s.reg.Resume(m.Room, m.Resume[:], c)
	c.settleEntry(m.Room, own, err) // a bad_resume costs the server only: see guessBudget.keep
	if err != nil {
		c.unhold(nil, false)
		c.fail(m.ID, c.registryError(err))
		return
	}
	// The member's media session, if its old connection had one, ends: the
	// client makes a new PeerConnection, and its offer comes on this one.
	if c.s.cfg.Media != nil {
		c.s.cfg.Media.Leave(m.Room, snap.Self.ID)
	}
	c.inRoom, c.roomID, c.self = true, m.Room, snap.Self.ID
	c.unhold(c.s.withFloorHold(joinedReply(m.ID, m.Room, snap, time.Now())), false)
}
