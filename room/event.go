package room

// Events: what a room tells its members, through each member's Sink, and
// why the floor came free. The registry delivers them under its lock, so
// every member of a room sees them in the same order.

import (
	"time"

	"github.com/google/uuid"
)

// Sink receives a member's events. Deliver is called with the registry's lock
// held, so that every member sees a room's events in the same order: it must
// not block and must not call back into the Registry (queue the event and
// return; the signaling layer's bounded send queue does exactly that).
type Sink interface {
	Deliver(Event)
}

// EventKind says what changed in a room.
type EventKind uint8

const (
	MemberJoined     EventKind = iota + 1 // Member joined (not sent to the joiner itself)
	MemberLeft                            // Member left or was disconnected
	FloorGranted                          // Member now holds the floor until Deadline (sent to everyone, holder included)
	FloorReleased                         // Member no longer holds the floor, for Reason (sent to everyone)
	Message                               // Member relayed opaque Data (to one member or to all others)
	Removed                               // Member (the recipient) was removed by the operator; the room is gone for it
	RoleChanged                           // Member's role is now Member.Role (sent to everyone, the member included)
	KnockFailed                           // someone tried a wrong room code (sent to everyone)
	NameplateChanged                      // the room's code was retired: Nameplate is the new one (sent to everyone)
	Signal                                // Data is a whole server message for this member alone, from the signaling layer (a knock)
	MemberBack                            // Member resumed on a new connection (sent to the others: greet it again)
	Replaced                              // the recipient's membership was resumed on another connection: go, without leaving
)

// Reason says why the floor was released.
type Reason uint8

const (
	ReasonReleased    Reason = iota + 1 // the holder let go
	ReasonLeft                          // the holder left or disconnected
	ReasonTimedOut                      // the talk-time cap ran out
	ReasonRoleChanged                   // the holder was made listen-only
	ReasonPreempted                     // a priority member took the floor (Event.By)
)

func (r Reason) String() string {
	switch r {
	case ReasonReleased:
		return "released"
	case ReasonLeft:
		return "left"
	case ReasonTimedOut:
		return "timeout"
	case ReasonRoleChanged:
		return "role"
	case ReasonPreempted:
		return "preempted"
	}
	return "invalid"
}

// Event is one change in a room, as seen by one member.
type Event struct {
	Kind     EventKind
	Member   Member    // whom the event is about
	Deadline time.Time // FloorGranted only
	Reason   Reason    // FloorReleased only
	Data     []byte    // Message and Signal: opaque, never parsed, shared by all recipients (do not modify)
	// Nameplate is the new nameplate (NameplateChanged only).
	Nameplate string
	// By is the priority member that took the floor (FloorReleased with
	// ReasonPreempted only): the interrupted talker's client names it.
	By uuid.UUID
}
