package room

// Resume: a member whose connection drops without a leave stays in its room,
// detached, for the resume grace, and its client may take the membership
// back on a new connection with the member's resume token.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/google/uuid"
)

const (
	// DefaultResumeGrace is how long a member whose connection dropped
	// (without leaving) stays in its room, detached, for its client to
	// resume the membership with its resume token. A blip then costs the
	// others no leave and join; a member that does not come back leaves when
	// it runs out. The app reconnects within about 2.5 s of a server being
	// reachable again; a half-open connection it finds in up to 23 s is
	// replaced at once by the resume, whatever the grace.
	DefaultResumeGrace = 15 * time.Second
	// ResumeTokenSize is the resume token's length in bytes. The registry
	// keeps only its SHA-256, and a new token replaces it at every resume.
	ResumeTokenSize = 32
)

// discard is a detached member's sink: what happens while it is away is
// in the snapshot its resume returns.
type discard struct{}

func (discard) Deliver(Event) {}

// Detach is a member's connection dropping without a leave: the member
// stays, without a sink, for ResumeGrace; the floor, if it held it, comes
// free at once (nobody can talk through a dead connection). Others are told
// nothing more. Like LeaveFrom, only the member's own connection may.
// With no grace configured it is LeaveFrom.
func (r *Registry) Detach(id ID, mid uuid.UUID, sink Sink) error {
	if r.cfg.ResumeGrace < 0 {
		return r.LeaveFrom(id, mid, sink)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, mid)
	if err != nil {
		return err
	}
	if m.sink != sink || m.detached {
		return ErrNotMember
	}
	m.detached = true
	rm.forgetTurn(mid)
	m.sink = discard{}
	m.detachGen++
	gen := m.detachGen
	if rm.floor.Holder == mid {
		r.release(rm, m.Member, ReasonLeft)
	}
	r.cfg.AfterFunc(r.cfg.ResumeGrace, func() { r.expireDetached(id, mid, gen) })
	return nil
}

// expireDetached is a detached member's grace running out.
func (r *Registry) expireDetached(id ID, mid uuid.UUID, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, mid)
	if err != nil || !m.detached || m.detachGen != gen {
		return // gone already, or back
	}
	r.drop(rm, m)
}

// Resume gives a member back to a new connection (sink) on its resume
// token. The member keeps its id and role; it gets a fresh snapshot and a
// new token (the one presented is spent), and the others get MemberBack,
// so that they greet it again (what it missed while away is gone). If the
// member's old connection is still attached (a half-open TCP connection
// the server has not noticed yet), it gets Replaced and must go without
// leaving. ErrBadResume for an unknown or spent token.
func (r *Registry) Resume(id ID, token []byte, sink Sink) (Snapshot, error) {
	if sink == nil {
		return Snapshot{}, ErrNoSink
	}
	presented := sha256.Sum256(token)
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return Snapshot{}, ErrNoSuchRoom
	}
	var m *member
	for _, mid := range rm.order {
		// Constant time per member: a guesser learns nothing from timing.
		if x := rm.members[mid]; subtle.ConstantTimeCompare(presented[:], x.resume[:]) == 1 {
			m = x
		}
	}
	if m == nil || len(token) != ResumeTokenSize {
		return Snapshot{}, ErrBadResume
	}
	if !m.detached {
		m.sink.Deliver(Event{Kind: Replaced, Member: m.Member})
		// As in Detach: nobody talks through the connection it replaces
		// (the media layer drops that session next).
		if rm.floor.Holder == m.ID {
			r.release(rm, m.Member, ReasonLeft)
		}
	}
	m.sink, m.detached = sink, false
	m.detachGen++ // a pending expiry now finds a newer generation
	rm.broadcast(m.ID, Event{Kind: MemberBack, Member: m.Member})
	s := r.snapshot(rm, m)
	s.Resume = m.newResume()
	return s, nil
}

// newResume makes the member's next resume token, keeps its hash, and
// returns it. Caller holds r.mu.
func (m *member) newResume() []byte {
	tok := make([]byte, ResumeTokenSize)
	rand.Read(tok) // never fails (crypto/rand, Go 1.24+)
	m.resume = sha256.Sum256(tok)
	return tok
}
