package room

// The operator's hand on a live room: removing a user (and refusing them
// until the room empties), changing a user's role, and listing rooms. Users
// are the embedding app's ids from operator tokens; other members and the
// media layer only ever see random member ids.

import (
	"slices"

	"github.com/google/uuid"
)

// Info is what the operator API may know of a live room: its id and how
// many are in it. The server has no names.
type Info struct {
	ID        ID
	Members   int
	Listeners int // members with RoleListen
}

// RemoveUserMembers is the operator removing a user from a room: every
// member that joined with that user id gets a Removed event and is taken out
// (the others see it leave), and the user is refused by JoinFrom until the
// room empties. It returns the ids of the members it removed, so that the
// media layer can drop them at once rather than when their connections
// finish closing. The ban holds even when it removed none, so a user cannot
// slip back in while the operator's request races their reconnect.
func (r *Registry) RemoveUserMembers(id ID, user string) ([]uuid.UUID, error) {
	if user == "" {
		return nil, ErrNoSuchMember
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return nil, ErrNoSuchRoom
	}
	if rm.removed == nil {
		rm.removed = make(map[string]bool)
	}
	rm.removed[user] = true
	var out []uuid.UUID
	for _, mid := range slices.Clone(rm.order) {
		m := rm.members[mid]
		if m == nil || m.user != user {
			continue
		}
		out = append(out, mid)
		m.sink.Deliver(Event{Kind: Removed, Member: m.Member})
		r.drop(rm, m) // may purge the room, after which rm is zeroed
		if rm.members == nil {
			break
		}
	}
	return out, nil
}

// SetUserRole changes the role of every member that joined with that user
// id. A holder made listen-only loses the floor at once (reason
// ReasonRoleChanged). Everyone, the member included, gets a RoleChanged
// event. It returns how many members matched; ErrNoSuchMember if none.
// role is RoleTalk or RoleListen (else ErrBadRole): RolePriority comes only
// with an operator token, at join; this can take it away, never give it.
func (r *Registry) SetUserRole(id ID, user string, role Role) (int, error) {
	if role != RoleTalk && role != RoleListen {
		return 0, ErrBadRole
	}
	if user == "" {
		return 0, ErrNoSuchMember
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return 0, ErrNoSuchRoom
	}
	n := 0
	for _, mid := range rm.order {
		m := rm.members[mid]
		if m.user != user {
			continue
		}
		n++
		if m.Role == role {
			continue
		}
		m.Role = role
		if role == RoleListen {
			rm.forgetTurn(m.ID)
		}
		if r.cfg.OnRole != nil {
			r.cfg.OnRole(rm.id, m.ID, role)
		}
		if role == RoleListen && rm.floor.Holder == m.ID {
			r.release(rm, m.Member, ReasonRoleChanged)
		}
		rm.broadcast(uuid.Nil, Event{Kind: RoleChanged, Member: m.Member})
	}
	if n == 0 {
		return 0, ErrNoSuchMember
	}
	return n, nil
}

// RoleOf returns a member's current role, which the operator may have
// changed since it joined.
func (r *Registry) RoleOf(id ID, mid uuid.UUID) (Role, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, m, err := r.find(id, mid)
	if err != nil {
		return 0, err
	}
	return m.Role, nil
}

// Rooms lists the live rooms, for the operator API.
func (r *Registry) Rooms() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info, 0, len(r.rooms))
	for _, rm := range r.rooms {
		info := Info{ID: rm.id, Members: len(rm.members)}
		for _, m := range rm.members {
			if m.Role == RoleListen {
				info.Listeners++
			}
		}
		out = append(out, info)
	}
	return out
}
