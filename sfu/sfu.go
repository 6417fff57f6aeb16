// Package sfu carries the floor holder's voice to every other member of a room.
//
// Every member has one PeerConnection to the server: its microphone comes up on
// it, and one fixed "floor" track goes down. The server never decodes anything:
// browsers encrypt each Opus frame (SFrame) before it leaves, and the SFU
// forwards those bytes as they came, rewriting only the RTP header so each
// listener hears one continuous stream whoever talks. Talk turns, joins and
// leaves never renegotiate.
//
// The SFU enforces the floor by not forwarding: packets from a member who does
// not hold the floor, or who joined listen-only, are read and dropped. The
// one exception is the optimistic floor (hold.go): a talker's packets that
// come just before its own grant are held, in the mic reader's memory, and
// forwarded on that grant; FloorRefused drops them.
//
// The signaling layer drives it: Offer (and re-Offer for an ICE restart),
// AddCandidate for the client's trickled candidates, SetFloor whenever
// room.Registry grants or releases the floor, and Leave for every member that
// leaves.
package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	registry "sotto/room"
)

// Role is what a member may do: Talk, Listen or Priority. It is room.Role,
// so the registry's value passes through unchanged.
type Role = registry.Role

const (
	Talk   = registry.RoleTalk
	Listen = registry.RoleListen
	// Priority sends as Talk does: taking the floor from a talker is the
	// registry's business; here the floor just moves (SetFloor).
	Priority = registry.RolePriority
)

// Errors. They never carry room or member ids.
var (
	ErrClosed   = errors.New("sfu: closed")
	ErrNoPeer   = errors.New("sfu: member has no media session")
	ErrBadOffer = errors.New("sfu: offer rejected")
	ErrBadRole  = errors.New("sfu: invalid role")
)

// SFU is the media server of all rooms. It is safe for concurrent use.
type SFU struct {
	api *apiConfig
	// lossRepair: NACKs answered, uplink gaps asked for, listeners' loss
	// told to talkers (nack.go, lossfeedback.go); !Config.NoLossRepair.
	lossRepair bool
	// optimistic: a talker's packets that come before its grant are held
	// for it (hold.go); !Config.NoOptimisticFloor.
	optimistic bool
	net        *network

	mu sync.Mutex
	// rooms is keyed by the room id's bytes as a string, not by the
	// [16]byte: Go's map delete clears a slot's key only when the key type
	// holds a pointer, so an array key would leave a deleted room's raw id
	// in the live map until the slot is reused (docs/abuse.md §3, item 4).
	// A string key's bytes live in their own allocation, unreferenced once
	// the entry is deleted. Lookups with s.rooms[string(id[:])] do not
	// allocate.
	rooms  map[string]*room
	closed bool

	nextPeer  atomic.Uint64 // numbers peers so forwarding state never holds a pointer to a dead one
	peers     atomic.Int64  // PeerConnections created and not yet closed
	forwarded atomic.Uint64 // packets written to listeners' floor tracks
	dropped   atomic.Uint64 // packets read from members who did not hold the floor
	// heldForwarded counts packets held before their sender's grant and
	// forwarded on it (hold.go); each was counted in dropped when it came.
	heldForwarded atomic.Uint64
	limited       atomic.Uint64 // holder's packets dropped for exceeding forwardRate
	// uplinkNacked counts the holder's packets the SFU asked it to resend.
	uplinkNacked atomic.Uint64
	resent       atomic.Uint64 // packets sent again to listeners on their NACKs
	nackRefused  atomic.Uint64 // packets asked for over a member's NACK budget
	ended        atomic.Uint64 // media sessions ended for sending too many SSRCs (streams.go)
	ownWrites    atomic.Uint64 // floor packets the SFU encrypted and sent itself (floorwriter.go)
	writeCalls   atomic.Uint64 // system calls that sent them
}

// Stats is a snapshot of the SFU's counters.
type Stats struct {
	Rooms     int    // rooms with at least one media session or a floor holder
	Peers     int64  // open PeerConnections
	Forwarded uint64 // packets written to listeners
	Dropped   uint64 // packets dropped because their sender did not hold the floor
	// HeldForwarded counts packets that came before their sender's grant,
	// were held (hold.go) and forwarded on it; they are in Dropped too, as
	// every packet read from a member that did not hold the floor is.
	HeldForwarded uint64
	Limited       uint64 // holder's packets dropped because they came faster than forwardRate
	// UplinkNACKed counts the floor holder's packets the SFU saw missing
	// and asked it to send again (nack.go).
	UplinkNACKed uint64
	// Resent counts packets sent again to listeners that NACKed them;
	// NACKRefused the packets asked for over a member's budget (nack.go).
	Resent, NACKRefused uint64
	Ended               uint64 // media sessions the SFU ended for sending more than maxRemoteStreams SSRCs
	// Unconsented counts media packets not sent because their address had
	// not answered a consent check (consent.go): a member pointing its
	// stream at a host that never asked for it, or a network change caught
	// in the round trip before consent.
	Unconsented uint64
	// OwnWrites counts floor-track packets the SFU encrypted and sent
	// itself (floorwriter.go), WriteCalls the system calls that sent them:
	// the fewer per packet, the more copies each sendmmsg carried.
	OwnWrites, WriteCalls uint64

	// UDPFiltered counts STUN packets at the UDP port dropped before pion
	// saw them: from an address with no session, naming no ufrag the SFU
	// issued (udpGuard), and binding requests that fail integrity, or come
	// from an address the guard has no room for (consent.go).
	UDPFiltered uint64
	// UDPReadBuffer is the receive buffer the kernel granted the UDP
	// socket (the smallest, if several), as getsockopt reports it: Linux
	// doubles the size asked for, for its per-packet bookkeeping, and
	// reports the doubled value. 0: unknown.
	UDPReadBuffer int
}

// New opens the UDP port (and the optional ICE-TCP mux) and returns an SFU.
func New(cfg Config) (*SFU, error) {
	api, nw, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	return &SFU{api: api, lossRepair: !cfg.NoLossRepair, optimistic: !cfg.NoOptimisticFloor, net: nw, rooms: make(map[string]*room)}, nil
}

// UDPAddrs returns the addresses the UDP mux listens on (useful with port 0).
func (s *SFU) UDPAddrs() []net.Addr { return s.net.udp.GetListenAddresses() }

// Offer answers a member's SDP offer. The first offer creates the member's
// PeerConnection with role; a later one is a renegotiation on the same
// PeerConnection (a client restarting ICE after a network change sends one)
// and leaves the role alone: SetRole changes it.
//
// The answer carries the server's candidates: they are host candidates on the
// mux, known within a millisecond, and putting them in the answer means no
// candidate can reach the client before the answer it belongs to. sendCandidate
// is called (from any goroutine) only for candidates found after the answer
// was made; it may be nil. The client's own candidates come in AddCandidate.
//
// An Offer whose ctx is already cancelled when it looks for the member's
// peer neither creates one nor touches (role included) the one there:
// signaling cancels the ctx of a connection whose member was resumed on
// another before it ends the member's media, so a late offer from the old
// connection can neither leave a PeerConnection nobody owns nor renegotiate
// the new connection's (see join).
func (s *SFU) Offer(ctx context.Context, roomID [16]byte, member uuid.UUID, role Role,
	sdp string, sendCandidate func(candidateJSON []byte),
) (answer string, err error) {
	if role != Listen && !role.MayTalk() {
		return "", ErrBadRole
	}
	if sendCandidate == nil {
		sendCandidate = func([]byte) {}
	}
	// Junk is turned away before it costs a PeerConnection.
	if err := checkOffer(sdp); err != nil {
		return "", err
	}
	sdp = withoutDialCandidates(sdp)
	p, fresh, err := s.join(ctx, roomID, member, role)
	if err != nil {
		return "", err
	}
	// join returned p with p.sig held, so a concurrent AddCandidate for this
	// member waits until the remote description is in place.
	defer p.sig.Unlock()
	if fresh {
		if err = p.open(s.api.forPeer(p)); err == nil {
			answer, err = p.answer(ctx, sdp, sendCandidate)
		}
		if err != nil {
			// A member whose first offer fails has no media session at all
			// (but keeps a floor the registry gave it).
			s.drop(roomID, p)
		}
		return answer, err
	}
	// A failed re-offer leaves the working session alone.
	return p.answer(ctx, sdp, sendCandidate)
}

// AddCandidate adds one of the member's trickled ICE candidates, given as the
// JSON of an RTCIceCandidateInit ({"candidate": ..., "sdpMid": ...}).
func (s *SFU) AddCandidate(roomID [16]byte, member uuid.UUID, candidateJSON []byte) error {
	return s.AddCandidateContext(context.Background(), roomID, member, candidateJSON)
}

// AddCandidateContext is AddCandidate for a caller whose session may have
// been taken over: a candidate whose ctx is cancelled by the time it holds
// the member's peer is not added (see Offer).
func (s *SFU) AddCandidateContext(ctx context.Context, roomID [16]byte, member uuid.UUID, candidateJSON []byte) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(candidateJSON, &c); err != nil {
		return fmt.Errorf("sfu: candidate: %w", err)
	}
	p := s.find(roomID, member)
	if p == nil {
		return ErrNoPeer
	}
	p.sig.Lock()
	defer p.sig.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.addCandidate(c)
}

// SetFloor names the member whose packets every other member hears; uuid.Nil
// silences the room. The signaling layer calls it whenever room.Registry
// grants or releases the floor, also before the holder's media is connected.
func (s *SFU) SetFloor(roomID [16]byte, holder uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[string(roomID[:])]
	if r == nil {
		if holder == uuid.Nil || s.closed {
			return
		}
		// Remember the holder of a room whose media has not started yet; Leave
		// of that member (or SetFloor(Nil)) forgets it again.
		r = newRoom()
		s.rooms[string(roomID[:])] = r
	}
	r.setHolder(holder)
	if r.empty() {
		delete(s.rooms, string(roomID[:]))
	}
}

// FloorRefused tells the SFU that the member's floor_request was refused
// (the floor is busy, or the request failed): the packets of that press,
// held or still on their way, are never forwarded (hold.go). The signaling
// layer calls it before it answers the request.
func (s *SFU) FloorRefused(roomID [16]byte, member uuid.UUID) {
	if p := s.find(roomID, member); p != nil {
		p.turnEnds.Add(1)
	}
}

// HoldWindow is how long before its grant a talker's packet may arrive and
// still be forwarded on it (hold.go), which clients learn as floor_hold_ms;
// 0 when the optimistic floor is off (Config.NoOptimisticFloor).
func (s *SFU) HoldWindow() time.Duration {
	if !s.optimistic {
		return 0
	}
	return holdWindow
}

// Leave closes the member's PeerConnection, if it has one, and waits until
// nothing of it runs any more. Call it for every member that leaves the room,
// whether or not it ever sent an offer: it also forgets a floor it held.
func (s *SFU) Leave(roomID [16]byte, member uuid.UUID) {
	s.mu.Lock()
	r := s.rooms[string(roomID[:])]
	var p *peer
	if r != nil {
		p = r.remove(member)
		if r.empty() {
			delete(s.rooms, string(roomID[:]))
		}
	}
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
}

// drop removes p, if it is still the member's peer, and closes it.
func (s *SFU) drop(roomID [16]byte, p *peer) {
	s.mu.Lock()
	if r := s.rooms[string(roomID[:])]; r != nil {
		r.drop(p)
		if r.empty() {
			delete(s.rooms, string(roomID[:]))
		}
	}
	s.mu.Unlock()
	p.close()
}

// end ends p's media session from the SFU's side: it leaves the fan-out, as
// if its member had left, and its PeerConnection is closed. The member keeps
// its place in the room and a floor the registry gave it; a new offer starts
// a new session. p does not know its room's id, so the room is found by
// pointer: this runs only when a session misbehaves.
func (s *SFU) end(p *peer) {
	s.mu.Lock()
	for key, r := range s.rooms {
		if r == p.room {
			r.drop(p)
			if r.empty() {
				delete(s.rooms, key)
			}
			break
		}
	}
	s.mu.Unlock()
	p.close()
}

// Close closes every PeerConnection and the sockets. The SFU cannot be used
// afterwards.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var all []*peer
	for id, r := range s.rooms {
		all = append(all, r.removeAll()...)
		delete(s.rooms, id)
	}
	s.mu.Unlock()
	for _, p := range all {
		p.close()
	}
	s.net.close()
	return nil
}

// Stats returns the SFU's counters.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	n := len(s.rooms)
	s.mu.Unlock()
	st := Stats{
		Rooms: n, Peers: s.peers.Load(),
		Forwarded: s.forwarded.Load(), Dropped: s.dropped.Load(), HeldForwarded: s.heldForwarded.Load(),
		Limited: s.limited.Load(), Ended: s.ended.Load(), UplinkNACKed: s.uplinkNacked.Load(),
		Resent: s.resent.Load(), NACKRefused: s.nackRefused.Load(),
		OwnWrites: s.ownWrites.Load(), WriteCalls: s.writeCalls.Load(),
	}
	if s.net == nil { // an SFU made in a unit test, without sockets
		return st
	}
	st.Unconsented = s.net.consent.refused.Load()
	st.UDPFiltered = s.net.consent.dropped.Load()
	st.UDPReadBuffer = s.net.rcvbuf
	if s.net.guard != nil {
		st.UDPFiltered += s.net.guard.filtered.Load()
	}
	return st
}

// join finds the member's peer or registers a new one, and returns it with
// p.sig locked. fresh is true when the caller must open its PeerConnection.
//
// ctx is checked under s.mu, before anything is created or changed: a Leave
// made by whoever cancelled ctx took s.mu before, so a cancelled Offer that
// comes after it sees the cancellation and touches nothing (see Offer).
func (s *SFU) join(ctx context.Context, roomID [16]byte, member uuid.UUID, role Role) (p *peer, fresh bool, err error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return nil, false, err
		}
		r := s.rooms[string(roomID[:])]
		if r == nil {
			r = newRoom()
			s.rooms[string(roomID[:])] = r
		}
		p = r.peer(member)
		if p == nil {
			if p, err = newPeer(s, r, member, role); err != nil {
				if r.empty() {
					delete(s.rooms, string(roomID[:]))
				}
				s.mu.Unlock()
				return nil, false, err
			}
			p.sig.Lock() // uncontended: nobody else can see p yet
			r.add(p)
			s.mu.Unlock()
			return p, true, nil
		}
		// An existing session keeps its role: SetRole changes it, from the
		// registry. role here was read by the caller before the offer, and
		// may be stale by now (an operator's demotion in between).
		s.mu.Unlock()

		p.sig.Lock()
		if !p.isClosed() {
			return p, false, nil
		}
		// It left while we waited; start again with a new one.
		p.sig.Unlock()
	}
}

func (s *SFU) find(roomID [16]byte, member uuid.UUID) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[string(roomID[:])]; r != nil {
		return r.peer(member)
	}
	return nil
}
