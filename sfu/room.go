package sfu

// A room, as the SFU sees it: the members that have a media session, and who
// holds the floor. One mutex guards it; the floor holder's reader takes it for
// the fan-out of each packet (forward.go), everything else takes it briefly.

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// A room does not keep its id: the SFU's map names it (see SFU.rooms).
type room struct {
	mu     sync.Mutex
	peers  map[uuid.UUID]*peer
	order  []*peer   // the fan-out list: every member with a media session
	holder uuid.UUID // who may talk, as the registry last said; Nil: nobody
	turn   uint64    // counts grants: each starts a turn, which forward.go anchors anew
	hist   *history  // the holder's last packets, for NACKs (nack.go); nil until loss repair needs it

	// The fan-out's scratch, reused under mu: the listeners of the packet
	// at hand, and one lane per goroutine writing to them (lanes.go).
	targets []*peer
	lanes   []*lane
}

func newRoom() *room {
	return &room{peers: make(map[uuid.UUID]*peer)}
}

// empty reports whether the room has nothing left worth remembering.
// Called with the SFU's lock held, which every mutation of r also holds.
func (r *room) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers) == 0 && r.holder == uuid.Nil
}

func (r *room) peer(id uuid.UUID) *peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[id]
}

func (r *room) add(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.peers[p.id] = p
	r.order = append(r.order, p)
	r.updateHolds(p)
}

// remove takes the member out of the fan-out and forgets a floor it held.
// It returns the member's peer, or nil if it had no media session.
func (r *room) remove(id uuid.UUID) *peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holder == id {
		r.holder = uuid.Nil
	}
	p := r.peers[id]
	if p != nil {
		r.unlink(p)
	}
	return p
}

// drop takes p out of the fan-out if it is still its member's peer.
func (r *room) drop(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers[p.id] == p {
		r.unlink(p)
	}
}

// unlink removes p from the maps. Called with r.mu held.
func (r *room) unlink(p *peer) {
	delete(r.peers, p.id)
	for i, q := range r.order {
		if q == p {
			// Copy, don't shift in place: the slice must not keep p alive.
			r.order = append(r.order[:i:i], r.order[i+1:]...)
			break
		}
	}
	p.holds.Store(false)
}

func (r *room) removeAll() []*peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.order
	for _, p := range all {
		p.holds.Store(false)
	}
	r.order, r.peers, r.holder = nil, map[uuid.UUID]*peer{}, uuid.Nil
	return all
}

// setHolder gives the floor to holder. A member who had it, and every
// other member when it goes to someone, has its packets in flight spoiled
// for the optimistic floor (hold.go): they belong to a turn that ended or a
// press that cannot win. A release to nobody spoils only the releaser's.
func (r *room) setHolder(holder uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	moved := holder != r.holder && holder != uuid.Nil
	if moved {
		r.turn++
	}
	r.holder = holder
	for _, p := range r.order {
		lost := r.updateHolds(p)
		if lost || (moved && p.id != holder) {
			p.turnEnds.Add(1)
		}
	}
}

func (r *room) setRole(p *peer, role Role) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.role = role
	if r.updateHolds(p) || !role.MayTalk() {
		p.turnEnds.Add(1)
	}
}

// setReady marks whether p's media path is up. Packets it misses while it
// is not look like loss to it, which they are.
func (r *room) setReady(p *peer, ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.ready = ready
}

// updateHolds keeps p.holds, the readers' lock-free hint, equal to "p may
// talk now". A listen-only member never holds the floor, whatever the
// registry said: defence in depth. It notes when p came to hold it
// (hold.go) and reports whether p just lost it. Called with r.mu held.
func (r *room) updateHolds(p *peer) (lost bool) {
	now := p.id == r.holder && p.role.MayTalk()
	was := p.holds.Load() // only writers under r.mu change it
	if now && !was {
		// Before holds: a reader that sees the grant sees its time.
		p.grantAt.Store(int64(time.Since(epoch)))
	}
	p.holds.Store(now)
	return was && !now
}
