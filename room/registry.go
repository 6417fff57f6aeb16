package room

// The Registry: every live room and the limits on them (rooms per server,
// members per room, rooms per owner). A room is created here with its first
// member and purged here when its last member goes; what happens to it in
// between lives in the file named for each idea (see doc.go).

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults for Config. They are documented in README.md and as flags in main.go.
const (
	DefaultMaxRooms          = 10000
	DefaultMaxMembersPerRoom = 50

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
)

// ID is the room's only handle on the server: 16 bytes the client derives from
// the room secret. The server cannot invert it.
type ID [16]byte

// Verifier is SHA-256 of the room-auth token. Joiners present the token; the
// server stores only this hash.
type Verifier [32]byte

// VerifierOf returns the verifier for a room-auth token.
func VerifierOf(authToken []byte) Verifier { return sha256.Sum256(authToken) }

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

// Config sets the Registry's limits. Zero fields take the defaults: the
// Default constants above, and those beside the idea each limits (floor.go,
// knock.go, resume.go).
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
	// OnGone, if set, is told each room that is purged (its last member
	// gone, detached members included), after it is deleted, for the
	// signaling layer to tell a load balancer to forget the room's id.
	// Same rules as OnFloor; WithRoom runs under the same lock, so the two
	// see one order of events.
	OnGone func(id ID)
	// MaxKnockFailures: see DefaultMaxKnockFailures.
	MaxKnockFailures int
	// ResumeGrace: see DefaultResumeGrace. Negative: no grace, a dropped
	// connection leaves at once.
	ResumeGrace time.Duration
	// MaxRoomsPerOwner: see DefaultMaxRoomsPerOwner.
	MaxRoomsPerOwner int
	// NodePrefix, when set, starts every nameplate this registry mints: in
	// a cluster each node has its own (1 to MaxNodePrefixDigits digits), so
	// the load balancer can send a typed code to the node that holds its
	// room by the code's first digits alone (knock.go). It must satisfy
	// ValidNodePrefix; "" (one node) mints nameplates as before.
	NodePrefix string
}

// Timer is the part of *time.Timer the Registry uses.
type Timer interface{ Stop() bool }

// registry-owned state of one live room. Each group of fields belongs to the
// file of its idea: membership, operator bans, owners, knocks, the floor.
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
	if err := ValidNodePrefix(cfg.NodePrefix); err != nil {
		// The server checks its flags before it builds a registry; a bad
		// prefix here is a programming error, not an operator's typo.
		panic(err)
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
	if err := checkJoin(role, user, sink); err != nil {
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

// Counts returns the number of live rooms and members (for metrics).
func (r *Registry) Counts() (rooms, members int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rooms), r.members
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
	id := rm.id
	delete(r.nameplates, rm.nameplate)
	delete(r.rooms, string(rm.id[:]))
	if r.cfg.OnGone != nil {
		r.cfg.OnGone(id)
	}
	// Drop our references so nothing derived from the secret stays reachable
	// through a stray pointer to the struct.
	*rm = liveRoom{}
}

// WithRoom calls f, under the registry's lock, with whether a room with id
// lives (members waiting for a resume count), so that what f decides cannot
// race the room's creation or its purge (OnGone). f must neither block nor
// call back into the Registry.
func (r *Registry) WithRoom(id ID, f func(live bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, live := r.rooms[string(id[:])]
	f(live)
}

// find looks up a member of a live room. Caller holds r.mu.
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
