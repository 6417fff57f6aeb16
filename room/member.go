package room

// Membership: who is in a room and with what role, joining an existing room
// and leaving it. Creating a room (registry.go) adds its first member with
// the same helpers; a leave that empties a room purges it.

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Role is what a member may do in a room.
type Role uint8

const (
	RoleTalk   Role = iota + 1 // may take the floor
	RoleListen                 // may never take the floor
	// RolePriority is a talker whose request takes the floor from a holder
	// who is not priority (Zello's talk priority: a dispatcher, a crew
	// lead). Only an operator token grants it (a member with no operator
	// user id cannot have it), so in an open room nobody can claim it.
	RolePriority
)

func (r Role) String() string {
	switch r {
	case RoleTalk:
		return "talk"
	case RoleListen:
		return "listen"
	case RolePriority:
		return "priority"
	}
	return "invalid"
}

// MayTalk reports whether the role may take the floor: talk and priority.
func (r Role) MayTalk() bool { return r == RoleTalk || r == RolePriority }

// ParseRole maps the wire names "talk", "listen" and "priority" to a Role.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "talk":
		return RoleTalk, true
	case "listen":
		return RoleListen, true
	case "priority":
		return RolePriority, true
	}
	return 0, false
}

// Member is what other members (and the server) know of a member: a random id
// and a role. Display names exist only inside end-to-end encrypted blobs.
type Member struct {
	ID   uuid.UUID
	Role Role
}

// Snapshot is the room as a new member first sees it.
type Snapshot struct {
	Self Member
	// Resume is the member's new resume token (ResumeTokenSize bytes): its
	// client alone holds it, to resume this membership after a dropped
	// connection (Resume).
	Resume    []byte
	Nameplate string
	Members   []Member // including Self, in join order
	Floor     Floor
	TalkLimit time.Duration
}

// member is the registry's own record of a member: what the others know
// (Member) and what only the registry does.
type member struct {
	Member
	// user is the embedding app's user id from an operator token ("" in
	// open rooms). It is never part of an event: the other members and the
	// media layer know only the random member id.
	user string
	// owner is whom the member counts against for MaxRoomsPerOwner ("":
	// nobody). It stays with the member when it resumes elsewhere.
	owner string
	sink  Sink
	// resume is SHA-256 of the member's current resume token.
	resume [sha256.Size]byte
	// detached: the connection dropped; the member waits for a resume
	// until ResumeGrace runs out. detachGen numbers detachments, so that a
	// late expiry cannot take out a member that came back.
	detached  bool
	detachGen uint64
}

// JoinFrom adds a member to an existing room if authToken hashes to its
// verifier. user is the member's operator user id ("" in open rooms): a user
// the operator removed from the room is refused with ErrRemoved until the
// room empties. owner is whom the member counts against for
// MaxRoomsPerOwner ("": nobody): ErrOwnerRooms if this room would be one
// more than owner's maximum.
func (r *Registry) JoinFrom(id ID, authToken []byte, role Role, user, owner string, sink Sink) (Snapshot, error) {
	if err := checkJoin(role, user, sink); err != nil {
		return Snapshot{}, err
	}
	presented := VerifierOf(authToken)
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return Snapshot{}, ErrNoSuchRoom
	}
	if subtle.ConstantTimeCompare(presented[:], rm.verifier[:]) != 1 {
		return Snapshot{}, ErrBadAuth
	}
	if user != "" && rm.removed[user] {
		return Snapshot{}, ErrRemoved
	}
	if len(rm.members) >= r.cfg.MaxMembersPerRoom {
		return Snapshot{}, ErrRoomFull
	}
	if owner != "" && rm.owners[owner] == 0 && r.ownerRooms[owner] >= r.cfg.MaxRoomsPerOwner {
		return Snapshot{}, ErrOwnerRooms
	}
	m, err := r.add(rm, role, user, owner, sink)
	if err != nil {
		return Snapshot{}, err
	}
	r.members++
	rm.broadcast(m.ID, Event{Kind: MemberJoined, Member: m.Member})
	s := r.snapshot(rm, m)
	s.Resume = m.newResume()
	return s, nil
}

// LeaveFrom removes a member, on a leave by the connection whose sink this
// is. If it held the floor the floor is released; if it was the last member
// the room is purged. Leaving twice returns ErrNotMember, and so does the
// leave of an old connection after a resume moved the member to another:
// that leaves the member alone.
func (r *Registry) LeaveFrom(id ID, mid uuid.UUID, sink Sink) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, mid)
	if err != nil {
		return err
	}
	if m.sink != sink {
		return ErrNotMember
	}
	r.drop(rm, m)
	return nil
}

// drop takes a member out of its room, and purges the room if it was the
// last. Caller holds r.mu.
func (r *Registry) drop(rm *liveRoom, m *member) {
	mid := m.ID
	delete(rm.members, mid)
	rm.forgetTurn(mid)
	if m.owner != "" {
		if rm.owners[m.owner]--; rm.owners[m.owner] <= 0 {
			delete(rm.owners, m.owner)
			if r.ownerRooms[m.owner]--; r.ownerRooms[m.owner] <= 0 {
				delete(r.ownerRooms, m.owner)
			}
		}
	}
	for i, o := range rm.order {
		if o == mid {
			rm.order = append(rm.order[:i], rm.order[i+1:]...)
			break
		}
	}
	r.members--
	if len(rm.members) == 0 {
		r.purge(rm)
		return
	}
	// The others hear the floor come free before they hear who left, the
	// order in which a client must undo them.
	if rm.floor.Holder == mid {
		r.release(rm, m.Member, ReasonLeft)
	}
	rm.broadcast(uuid.Nil, Event{Kind: MemberLeft, Member: m.Member})
}

// snapshot is the room as self sees it on joining or resuming. Caller holds
// r.mu.
func (r *Registry) snapshot(rm *liveRoom, self *member) Snapshot {
	s := Snapshot{Self: self.Member, Nameplate: rm.nameplate, Floor: rm.floor, TalkLimit: r.cfg.TalkTimeLimit}
	s.Members = make([]Member, 0, len(rm.order))
	for _, id := range rm.order {
		s.Members = append(s.Members, rm.members[id].Member)
	}
	return s
}

// checkJoin refuses what no create or join may carry: an unknown role, a
// priority role without an operator user id (only an operator token grants
// it), no sink.
func checkJoin(role Role, user string, sink Sink) error {
	if role != RoleTalk && role != RoleListen && (role != RolePriority || user == "") {
		return ErrBadRole
	}
	if sink == nil {
		return ErrNoSink
	}
	return nil
}

// add makes a new member with a fresh random id, counted against owner.
// Caller holds r.mu.
func (r *Registry) add(rm *liveRoom, role Role, user, owner string, sink Sink) (*member, error) {
	for {
		id, err := uuid.NewRandom()
		if err != nil {
			return nil, fmt.Errorf("member id: %w", err)
		}
		if _, taken := rm.members[id]; taken {
			continue // 2^-122; loop rather than trust luck
		}
		m := &member{Member: Member{ID: id, Role: role}, user: user, owner: owner, sink: sink}
		if owner != "" {
			if rm.owners == nil {
				rm.owners = make(map[string]int)
			}
			if rm.owners[owner]++; rm.owners[owner] == 1 {
				r.ownerRooms[owner]++
			}
		}
		rm.members[id] = m
		rm.order = append(rm.order, id)
		return m, nil
	}
}

// broadcast delivers e to every member except skip, in join order.
func (rm *liveRoom) broadcast(skip uuid.UUID, e Event) {
	for _, id := range rm.order {
		if id != skip {
			rm.members[id].sink.Deliver(e)
		}
	}
}
