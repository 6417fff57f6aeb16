// Package room is Sotto's in-memory room registry and floor control.
//
// It does no I/O: no network, no disk, no logging. Everything a room is lives in
// the Registry's maps, and the moment a room's last member leaves, the room, its
// nameplate and its verifier are deleted from those maps. The signaling layer
// calls the Registry and is told about changes through each member's Sink.
package room

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults for Config. They are documented in README.md and as flags in main.go.
const (
	DefaultMaxRooms          = 10000
	DefaultMaxMembersPerRoom = 50
	DefaultTalkTimeLimit     = 60 * time.Second

	// MinNameplateDigits is the shortest nameplate handed out. Nameplates grow a
	// digit whenever live rooms would fill more than 1/NameplateSparsity of the
	// space, so a random pick almost always succeeds on the first try and a
	// mistyped nameplate rarely lands on another live room.
	MinNameplateDigits = 3
	// MaxNameplateDigits is the longest: the code a member reads out is
	// this plus 7 password digits, and clients (pake.MaxNameplateDigits,
	// static/js/pake/code.js) parse no more. 10^12 nameplates at sparsity 10
	// is far beyond any MaxRooms; past it, creating a room fails cleanly.
	MaxNameplateDigits = 12
	NameplateSparsity  = 10
	// maxNameplateTries bounds the random search at one length before growing.
	maxNameplateTries = 32

	// DefaultMaxKnockFailures is how many failed code exchanges (knocks) a
	// room's nameplate survives: at this many the nameplate, and with it the
	// room code, is retired and a new one given out. With a 7-digit
	// password part, a guesser's odds per code are 5 in 10^7.
	DefaultMaxKnockFailures = 5

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

	// DefaultMaxRoomsPerOwner caps the rooms one owner (the signaling
	// layer's client address: an IPv4 address or IPv6 /64) is a member
	// of, connected or detached, counted until its last member there is
	// gone. Connected, the signaling server's 32 connections per address,
	// one room each, bound it already; a detached member keeps its room
	// for the resume grace without a connection, and without this cap one
	// address could create, drop the connection and create again until it
	// held every room (issue 12 #4: 9,999 rooms in 11 s). The same 32:
	// detaching frees no room, and filling DefaultMaxRooms takes 313
	// owners. Joins count too, or two addresses could pass rooms between
	// them (one joins, the creator leaves).
	DefaultMaxRoomsPerOwner = 32

	// FloorTurnReserve is how long the floor, when it comes free, is kept
	// for the member whose request was refused first while it was held:
	// anyone else asking then gets the floor as busy, that member named as
	// its holder. Without it, first come first served let a holder that
	// asks again the instant the talk-time cap (or its own release) frees
	// the floor win every time: with a 2 s cap it held the floor for all of
	// 20 s while another member pressed 196 times and won none (issue 12
	// #7). So a waiting member gets the floor within one turn plus this.
	// 2 s is time to hear the floor come free and press again; a waiter who
	// has given up costs the room no more than that.
	FloorTurnReserve = 2 * time.Second
)

// ID is the room's only handle on the server: 16 bytes the client derives from
// the room secret. The server cannot invert it.
type ID [16]byte

// Verifier is SHA-256 of the room-auth token. Joiners present the token; the
// server stores only this hash.
type Verifier [32]byte

// VerifierOf returns the verifier for a room-auth token.
func VerifierOf(authToken []byte) Verifier { return sha256.Sum256(authToken) }

// Role is what a member may do in a room.
type Role uint8

const (
	RoleTalk   Role = iota + 1 // may take the floor
	RoleListen                 // may never take the floor
)

func (r Role) String() string {
	switch r {
	case RoleTalk:
		return "talk"
	case RoleListen:
		return "listen"
	}
	return "invalid"
}

// ParseRole maps the wire names "talk" and "listen" to a Role.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "talk":
		return RoleTalk, true
	case "listen":
		return RoleListen, true
	}
	return 0, false
}

// Errors returned by the Registry. The signaling layer maps each to a stable
// wire code, so they never carry room ids or member ids.
var (
	ErrRoomExists   = errors.New("room already exists")
	ErrNoSuchRoom   = errors.New("no such room")
	ErrBadAuth      = errors.New("room auth token does not match")
	ErrTooManyRooms = errors.New("server room limit reached")
	ErrRoomFull     = errors.New("room member limit reached")
	ErrNotMember    = errors.New("not a member of this room")
	ErrNoSuchMember = errors.New("no such member in this room")
	ErrListenOnly   = errors.New("listen-only members cannot take the floor")
	ErrNotHolder    = errors.New("floor is not held by this member")
	ErrBadRole      = errors.New("invalid role")
	ErrNoSink       = errors.New("member needs a sink")
	ErrRemoved      = errors.New("this user was removed from the room")
	ErrBadResume    = errors.New("no member of this room has this resume token")
	ErrOwnerRooms   = errors.New("this owner is in its maximum of rooms")
	ErrRelayRefused = errors.New("relay refused by the sender's budget")
)

// Config sets the Registry's limits. Zero fields take the defaults above.
type Config struct {
	MaxRooms          int
	MaxMembersPerRoom int
	TalkTimeLimit     time.Duration

	// AfterFunc schedules the talk-time cap. Tests replace it with a fake clock;
	// nil means time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) Timer
	// Now reads the clock for floor deadlines; nil means time.Now.
	Now func() time.Time
	// OnFloor, if set, is told every change of a room's floor holder
	// (uuid.Nil when it comes free), for the media layer to switch what it
	// forwards. Like Sink.Deliver it runs under the registry's lock, in
	// order, and must neither block nor call back into the Registry.
	OnFloor func(id ID, holder uuid.UUID)
	// OnRole, if set, is told every change of a member's role, for the
	// media layer to stop forwarding a member made listen-only even before
	// the floor change reaches it. Same rules as OnFloor.
	OnRole func(id ID, member uuid.UUID, role Role)
	// MaxKnockFailures: see DefaultMaxKnockFailures.
	MaxKnockFailures int
	// ResumeGrace: see DefaultResumeGrace. Negative: no grace, a dropped
	// connection leaves at once.
	ResumeGrace time.Duration
	// MaxRoomsPerOwner: see DefaultMaxRoomsPerOwner.
	MaxRoomsPerOwner int
}

// Timer is the part of *time.Timer the Registry uses.
type Timer interface{ Stop() bool }

// Member is what other members (and the server) know of a member: a random id
// and a role. Display names exist only inside end-to-end encrypted blobs.
type Member struct {
	ID   uuid.UUID
	Role Role
}

// Floor describes who may talk. Holder is uuid.Nil when the floor is free.
type Floor struct {
	Holder   uuid.UUID
	Deadline time.Time // when the talk-time cap releases it
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

// Info is what the operator API may know of a live room: its id and how
// many are in it. The server has no names.
type Info struct {
	ID        ID
	Members   int
	Listeners int // members with RoleListen
}

// registry-owned state of one live room.
type liveRoom struct {
	id        ID
	verifier  Verifier
	nameplate string
	members   map[uuid.UUID]*member
	order     []uuid.UUID // join order, for stable member lists
	// removed holds the operator user ids removed from this room: they are
	// refused until the room empties, when it goes with the room.
	removed map[string]bool
	// owners counts the members of each owner (CreateFrom, JoinFrom).
	owners map[string]int
	// knockFailures counts failed code exchanges on this nameplate;
	// knockNext picks which member answers the next knock (round robin).
	knockFailures int
	knockNext     int
	floor         Floor
	// waiter is the first member refused the floor during the current
	// turn; turn, until turnUntil, the member the free floor is kept for
	// (FloorTurnReserve). uuid.Nil: none.
	waiter    uuid.UUID
	turn      uuid.UUID
	turnUntil time.Time
	// floorTimer releases the floor at the talk-time cap; floorGrant numbers
	// grants so a timer that fires late cannot release a newer grant.
	floorTimer Timer
	floorGrant uint64
}

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

// discard is a detached member's sink: what happens while it is away is
// in the snapshot its resume returns.
type discard struct{}

func (discard) Deliver(Event) {}

// Registry holds every live room. It is safe for concurrent use.
//
// One mutex guards everything: each operation is a few map lookups, far below
// the cost of the WebSocket message that triggered it, and one lock makes the
// order of events identical for every member of a room.
type Registry struct {
	cfg Config

	mu sync.Mutex
	// rooms is keyed by string(id[:]), not by ID: Go's map delete clears a
	// slot's key only when the key type holds pointers, so an ID key would
	// leave a purged room's id in the map's memory until the slot is
	// reused. A string key is cleared, and its bytes become garbage.
	rooms      map[string]*liveRoom
	nameplates map[string]ID
	members    int
	// ownerRooms counts, for each owner, the rooms it has a member in.
	ownerRooms map[string]int
}

// NewRegistry returns an empty registry.
func NewRegistry(cfg Config) *Registry {
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	if cfg.MaxMembersPerRoom <= 0 {
		cfg.MaxMembersPerRoom = DefaultMaxMembersPerRoom
	}
	if cfg.TalkTimeLimit <= 0 {
		cfg.TalkTimeLimit = DefaultTalkTimeLimit
	}
	if cfg.MaxKnockFailures <= 0 {
		cfg.MaxKnockFailures = DefaultMaxKnockFailures
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = DefaultResumeGrace
	}
	if cfg.MaxRoomsPerOwner <= 0 {
		cfg.MaxRoomsPerOwner = DefaultMaxRoomsPerOwner
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry{
		cfg:        cfg,
		rooms:      make(map[string]*liveRoom),
		nameplates: make(map[string]ID),
		ownerRooms: make(map[string]int),
	}
}

// Config returns the effective configuration (defaults filled in).
func (r *Registry) Config() Config { return r.cfg }

// CreateFrom makes a new room with the caller as its first member. user is
// the embedding app's user id from the member's operator token (see
// RemoveUserMembers); "" is no user, as in open rooms. owner is whom the
// member counts against for MaxRoomsPerOwner ("": nobody): ErrOwnerRooms if
// owner is in its maximum of rooms already.
func (r *Registry) CreateFrom(id ID, v Verifier, role Role, user, owner string, sink Sink) (Snapshot, error) {
	if err := checkJoin(role, sink); err != nil {
		return Snapshot{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if owner != "" && r.ownerRooms[owner] >= r.cfg.MaxRoomsPerOwner {
		return Snapshot{}, ErrOwnerRooms
	}
	if _, ok := r.rooms[string(id[:])]; ok {
		return Snapshot{}, ErrRoomExists
	}
	if len(r.rooms) >= r.cfg.MaxRooms {
		return Snapshot{}, ErrTooManyRooms
	}
	plate, err := r.newNameplate()
	if err != nil {
		return Snapshot{}, err
	}
	rm := &liveRoom{id: id, verifier: v, nameplate: plate, members: make(map[uuid.UUID]*member)}
	m, err := r.add(rm, role, user, owner, sink)
	if err != nil {
		return Snapshot{}, err
	}
	r.rooms[string(id[:])] = rm
	r.nameplates[plate] = id
	r.members++
	s := r.snapshot(rm, m)
	s.Resume = m.newResume()
	return s, nil
}

// JoinFrom adds a member to an existing room if authToken hashes to its
// verifier. user is the member's operator user id ("" in open rooms): a user
// the operator removed from the room is refused with ErrRemoved until the
// room empties. owner is whom the member counts against for
// MaxRoomsPerOwner ("": nobody): ErrOwnerRooms if this room would be one
// more than owner's maximum.
func (r *Registry) JoinFrom(id ID, authToken []byte, role Role, user, owner string, sink Sink) (Snapshot, error) {
	if err := checkJoin(role, sink); err != nil {
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

// RoleOf returns a member's current role.
func (r *Registry) RoleOf(id ID, mid uuid.UUID) (Role, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, m, err := r.find(id, mid)
	if err != nil {
		return 0, err
	}
	return m.Role, nil
}

// KnockTarget finds the room a nameplate names and the member who answers
// its next knock (members take turns, so one broken client cannot stop
// everyone joining by code). ErrNoSuchRoom if no live room has it.
func (r *Registry) KnockTarget(nameplate string) (ID, uuid.UUID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.nameplates[nameplate]
	if !ok {
		return ID{}, uuid.Nil, ErrNoSuchRoom
	}
	rm := r.rooms[string(id[:])]
	// A detached member cannot answer: skip it.
	for range rm.order {
		rm.knockNext = (rm.knockNext + 1) % len(rm.order)
		if m := rm.members[rm.order[rm.knockNext]]; !m.detached {
			return id, m.ID, nil
		}
	}
	return ID{}, uuid.Nil, ErrNoSuchRoom // nobody here to answer
}

// Notify hands a member an event from the signaling layer (Kind Signal),
// in order with the room's other events.
func (r *Registry) Notify(id ID, to uuid.UUID, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, m, err := r.find(id, to)
	if err != nil {
		return err
	}
	m.sink.Deliver(e)
	return nil
}

// KnockFailed counts a failed code exchange: everyone is told someone
// tried a wrong code, and at MaxKnockFailures the nameplate is retired and
// everyone gets the new one. It reports whether it retired the nameplate.
// A room that is gone is no error: there is nothing left to protect.
func (r *Registry) KnockFailed(id ID) (retired bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return false, nil
	}
	rm.knockFailures++
	rm.broadcast(uuid.Nil, Event{Kind: KnockFailed})
	if rm.knockFailures < r.cfg.MaxKnockFailures {
		return false, nil
	}
	plate, err := r.newNameplate()
	if err != nil {
		return false, err
	}
	delete(r.nameplates, rm.nameplate)
	rm.nameplate = plate
	r.nameplates[plate] = id
	rm.knockFailures = 0
	rm.broadcast(uuid.Nil, Event{Kind: NameplateChanged, Nameplate: plate})
	return true, nil
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

// RequestFloor grants the floor if it is free (first come, first served),
// except that for FloorTurnReserve after it comes free it is kept for the
// member refused first during the turn that ended. It returns the floor as
// it is after the request: if Holder is not mid, the floor is busy (Holder
// is then whoever holds it, or whom it is kept for). A holder asking again
// keeps the floor and its deadline.
func (r *Registry) RequestFloor(id ID, mid uuid.UUID) (Floor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, mid)
	if err != nil {
		return Floor{}, err
	}
	if m.Role != RoleTalk {
		return Floor{}, ErrListenOnly
	}
	if rm.floor.Holder != uuid.Nil {
		if rm.floor.Holder != mid && rm.waiter == uuid.Nil {
			rm.waiter = mid
		}
		return rm.floor, nil
	}
	if rm.turn != uuid.Nil && rm.turn != mid && r.cfg.Now().Before(rm.turnUntil) {
		return Floor{Holder: rm.turn}, nil
	}
	rm.waiter, rm.turn = uuid.Nil, uuid.Nil
	rm.floorGrant++
	grant := rm.floorGrant
	rm.floor = Floor{Holder: mid, Deadline: r.cfg.Now().Add(r.cfg.TalkTimeLimit)}
	rm.floorTimer = r.cfg.AfterFunc(r.cfg.TalkTimeLimit, func() { r.expire(id, grant) })
	r.floorChanged(rm)
	rm.broadcast(uuid.Nil, Event{Kind: FloorGranted, Member: m.Member, Deadline: rm.floor.Deadline})
	return rm.floor, nil
}

// ReleaseFloor frees the floor held by mid.
func (r *Registry) ReleaseFloor(id ID, mid uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, _, err := r.find(id, mid)
	if err != nil {
		return err
	}
	if rm.floor.Holder != mid {
		return ErrNotHolder
	}
	r.release(rm, rm.members[mid].Member, ReasonReleased)
	return nil
}

// RelayIf delivers an opaque payload from one member to another (to !=
// uuid.Nil) or to every other member of the room (to == uuid.Nil). The
// registry never looks inside data: it is end-to-end encrypted by the
// clients. allow, if not nil, is asked first with the number of members the
// data would go to: if it says no, nothing is delivered and the error is
// ErrRelayRefused. allow runs under the registry's lock and must not call
// back into the Registry.
func (r *Registry) RelayIf(id ID, from, to uuid.UUID, data []byte, allow func(recipients int) bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, from)
	if err != nil {
		return err
	}
	e := Event{Kind: Message, Member: m.Member, Data: data}
	if to == uuid.Nil {
		if allow != nil && !allow(len(rm.members)-1) {
			return ErrRelayRefused
		}
		rm.broadcast(from, e)
		return nil
	}
	target, ok := rm.members[to]
	if !ok || to == from {
		return ErrNoSuchMember
	}
	if allow != nil && !allow(1) {
		return ErrRelayRefused
	}
	target.sink.Deliver(e)
	return nil
}

// Counts returns the number of live rooms and members (for metrics).
func (r *Registry) Counts() (rooms, members int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rooms), r.members
}

// expire is the talk-time cap firing. grant identifies the grant it was set for.
func (r *Registry) expire(id ID, grant uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, ok := r.rooms[string(id[:])]
	if !ok || rm.floorGrant != grant || rm.floor.Holder == uuid.Nil {
		return // the room is gone, or this grant already ended
	}
	r.release(rm, rm.members[rm.floor.Holder].Member, ReasonTimedOut)
}

// release frees the floor and tells every member why. Caller holds r.mu.
func (r *Registry) release(rm *liveRoom, holder Member, why Reason) {
	if rm.floorTimer != nil {
		rm.floorTimer.Stop()
		rm.floorTimer = nil
	}
	rm.floor = Floor{}
	// The first member refused during this turn has the next (see
	// FloorTurnReserve), if it can still take it.
	if w := rm.members[rm.waiter]; w != nil && !w.detached && w.Role == RoleTalk {
		rm.turn, rm.turnUntil = w.ID, r.cfg.Now().Add(FloorTurnReserve)
	}
	rm.waiter = uuid.Nil
	r.floorChanged(rm)
	rm.broadcast(uuid.Nil, Event{Kind: FloorReleased, Member: holder, Reason: why})
}

func (r *Registry) floorChanged(rm *liveRoom) {
	if r.cfg.OnFloor != nil {
		r.cfg.OnFloor(rm.id, rm.floor.Holder)
	}
}

// purge deletes every trace of a room. Caller holds r.mu.
func (r *Registry) purge(rm *liveRoom) {
	if rm.floorTimer != nil {
		rm.floorTimer.Stop()
	}
	if rm.floor.Holder != uuid.Nil {
		rm.floor = Floor{}
		r.floorChanged(rm)
	}
	delete(r.nameplates, rm.nameplate)
	delete(r.rooms, string(rm.id[:]))
	// Drop our references so nothing derived from the secret stays reachable
	// through a stray pointer to the struct.
	*rm = liveRoom{}
}

func (r *Registry) find(id ID, mid uuid.UUID) (*liveRoom, *member, error) {
	rm, ok := r.rooms[string(id[:])]
	if !ok {
		return nil, nil, ErrNoSuchRoom
	}
	m, ok := rm.members[mid]
	if !ok {
		return nil, nil, ErrNotMember
	}
	return rm, m, nil
}

func (r *Registry) snapshot(rm *liveRoom, self *member) Snapshot {
	s := Snapshot{Self: self.Member, Nameplate: rm.nameplate, Floor: rm.floor, TalkLimit: r.cfg.TalkTimeLimit}
	s.Members = make([]Member, 0, len(rm.order))
	for _, id := range rm.order {
		s.Members = append(s.Members, rm.members[id].Member)
	}
	return s
}

// newNameplate picks a random, unused, all-digit nameplate. Caller holds r.mu.
func (r *Registry) newNameplate() (string, error) {
	digits := MinNameplateDigits
	for pow10(digits) < int64(NameplateSparsity)*int64(len(r.rooms)+1) {
		digits++
	}
	for ; digits <= MaxNameplateDigits; digits++ {
		space := big.NewInt(pow10(digits))
		for try := 0; try < maxNameplateTries; try++ {
			n, err := rand.Int(rand.Reader, space)
			if err != nil {
				return "", fmt.Errorf("nameplate: %w", err)
			}
			plate := fmt.Sprintf("%0*d", digits, n.Int64())
			if _, used := r.nameplates[plate]; !used {
				return plate, nil
			}
		}
	}
	return "", errors.New("nameplate: no free nameplate")
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

func checkJoin(role Role, sink Sink) error {
	if role != RoleTalk && role != RoleListen {
		return ErrBadRole
	}
	if sink == nil {
		return ErrNoSink
	}
	return nil
}

// newResume makes the member's next resume token, keeps its hash, and
// returns it. Caller holds r.mu.
func (m *member) newResume() []byte {
	tok := make([]byte, ResumeTokenSize)
	rand.Read(tok) // never fails (crypto/rand, Go 1.24+)
	m.resume = sha256.Sum256(tok)
	return tok
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

// forgetTurn drops mid's claim on the next turn (FloorTurnReserve): it
// left, detached or may no longer talk.
func (rm *liveRoom) forgetTurn(mid uuid.UUID) {
	if rm.waiter == mid {
		rm.waiter = uuid.Nil
	}
	if rm.turn == mid {
		rm.turn = uuid.Nil
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
