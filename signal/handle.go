package signal

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"sotto/room"
)

// handle runs one decoded message on the reader goroutine.
func (c *conn) handle(m *inMsg) {
	switch m.Type {
	case typePing:
		c.reply(replyMsg{Type: typePong, ID: m.ID})
	case typeCreate, typeJoin:
		c.enter(m)
	case typeLeave:
		c.leave(m)
	case typeFloorRequest:
		c.requestFloor(m)
	case typeFloorRelease:
		c.releaseFloor(m)
	case typeBlob:
		c.relay(m)
	case typeBlobs:
		c.relayEach(m)
	case typeOffer:
		c.offer(m)
	case typeIce:
		c.candidate(m)
	case typeKnock:
		c.knock(m)
	case typeKnockData:
		c.knockData(m)
	case typeKnockDone:
		c.knockDone(m)
	case typeResume:
		c.resume(m)
	}
}

// mayEnter checks what create, join and resume need before the registry is
// asked anything: a connection outside any room, whose URL named this room
// or none (route.go).
func (c *conn) mayEnter(m *inMsg) bool {
	if c.inRoom {
		c.fail(m.ID, &protoError{codeAlreadyInRoom, "this connection is already in a room; leave it first"})
		return false
	}
	if !c.route.allowsRoom(m.Room) {
		c.fail(m.ID, routeMismatch)
		return false
	}
	return true
}

var tryLater = &protoError{codeTryLater, "too many failed joins from your address or on this server; retry in a few seconds"}

// reserveGuess reserves one failed join from the connection's address and
// from the server (budget.go) before the registry is asked anything, so
// that even the refusal tells a guesser nothing. When the budget refuses,
// a connection that holds a miss for the same room goes ahead on it
// instead (repay.go); own reports which. On ok, settleEntry must follow
// with the registry's answer.
func (c *conn) reserveGuess(m *inMsg) (own, ok bool) {
	if c.s.guesses.reserve(c.ipKey) {
		return true, true
	}
	if c.holdsMiss(m.Room) {
		return false, true
	}
	c.fail(m.ID, tryLater)
	return false, false
}

// owner is whom the connection's rooms count against in the registry
// (room.Config.MaxRoomsPerOwner): its address, as for MaxConnsPerIP. The
// registry keeps it in memory only, and never logs it.
func (c *conn) owner() string { return c.ipKey.String() }

func isGuess(err error) bool {
	return errors.Is(err, room.ErrNoSuchRoom) || errors.Is(err, room.ErrBadAuth) ||
		errors.Is(err, room.ErrRoomExists) || errors.Is(err, room.ErrBadResume)
}

// enter creates or joins a room.
func (c *conn) enter(m *inMsg) {
	if !c.mayEnter(m) {
		return
	}
	role, pass, perr := c.admit(m)
	if perr != nil {
		c.fail(m.ID, perr)
		return
	}
	own, ok := c.reserveGuess(m)
	if !ok {
		if pass.Undo != nil {
			pass.Undo() // the token was not used: the app may try again with it
		}
		return
	}
	c.q.hold()
	var snap room.Snapshot
	var err error
	if m.Type == typeCreate {
		snap, err = c.s.reg.CreateFrom(m.Room, m.Verifier, role, pass.User, c.owner(), c)
	} else {
		snap, err = c.s.reg.JoinFrom(m.Room, m.Auth[:], role, pass.User, c.owner(), c)
	}
	c.settleEntry(m.Room, own, err)
	if err != nil {
		c.unhold(nil, false)
		if pass.Undo != nil {
			pass.Undo() // the token was not used: the app may try again with it
		}
		c.fail(m.ID, c.registryError(err))
		return
	}
	c.inRoom, c.roomID, c.self = true, m.Room, snap.Self.ID
	// joined goes before anything that reached this member since Join.
	c.unhold(c.s.withFloorHold(joinedReply(m.ID, m.Room, snap, time.Now())), false)
}

func (c *conn) leave(m *inMsg) {
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return
	}
	c.q.hold()
	c.leaveRoom()
	// left goes after the events that reached the member while it was in.
	c.unhold(replyMsg{Type: typeLeft, ID: m.ID}, true)
}

// leaveRoom takes the member out of its room, if it is in one, and ends
// the code exchanges it takes part in: the client said leave.
func (c *conn) leaveRoom() { c.exitRoom(false) }

// dropRoom is the connection ending without a leave. If the network ended
// it (a reset, a timeout, TCP closed without a close frame), the member is
// detached and its client may resume it (resume.go) within the grace; a
// client that closed the WebSocket, broke the protocol or was closed for
// abuse leaves at once.
func (c *conn) dropRoom() { c.exitRoom(c.dropped) }

func (c *conn) exitRoom(detach bool) {
	c.dropKnocks()
	if !c.inRoom {
		return
	}
	// The media session ends before the registry lets the member go: once
	// it is detached, its client may resume on another connection and offer
	// there at once, and a Leave made after that would close the new
	// connection's PeerConnection. (A resume before this point marks us
	// replaced, and the new connection ends the old session itself.)
	if c.mediaUsed {
		c.mediaGen.Add(1)
		c.cancelMedia()
		if !c.replaced.Load() { // else the new connection owns the member's media
			c.s.cfg.Media.Leave(c.roomID, c.self)
		}
		c.mediaMu.Lock()
		c.mediaCancel = nil
		c.mediaMu.Unlock()
		c.mediaUsed, c.mediaCtx = false, nil
	}
	var err error
	if detach {
		err = c.s.reg.Detach(c.roomID, c.self, c)
	} else {
		err = c.s.reg.LeaveFrom(c.roomID, c.self, c)
	}
	// ErrNotMember: the operator removed it, or its client resumed it on
	// another connection, already.
	if err != nil && !errors.Is(err, room.ErrNotMember) {
		c.s.log.Error("leaving a room failed", "err", err) // registry errors carry no ids
	}
	c.inRoom, c.roomID, c.self = false, room.ID{}, uuid.Nil
}

func (c *conn) requestFloor(m *inMsg) {
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return
	}
	c.q.hold()
	floor, err := c.s.reg.RequestFloor(c.roomID, c.self)
	if err != nil || floor.Holder != c.self {
		c.s.floorRefused(c.roomID, c) // the press's held packets go nowhere
	}
	if err != nil {
		c.unhold(nil, false)
		c.fail(m.ID, c.registryError(err))
		return
	}
	if floor.Holder != c.self {
		// floor_busy answers the request; it is not floor state (an event
		// held with it may already say the floor came free). Clients track
		// the floor from floor_granted / floor_released.
		c.unhold(floorBusyMsg{Type: typeFloorBusy, ID: m.ID, Holder: floor.Holder.String()}, false)
		return
	}
	granted := c.q.tagHeld(m.ID, func(e room.Event) bool {
		return e.Kind == room.FloorGranted && e.Member.ID == c.self
	})
	var reply any
	if !granted {
		// The holder asked again: the registry broadcast nothing, so answer
		// the requester alone with the floor it still holds.
		reply = floorGrantedMsg{Type: typeFloorGranted, ID: m.ID, Member: c.self.String(),
			DeadlineMS: remainingMS(floor.Deadline, time.Now())}
	}
	c.unhold(reply, false)
}

func (c *conn) releaseFloor(m *inMsg) {
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return
	}
	c.q.hold()
	if err := c.s.reg.ReleaseFloor(c.roomID, c.self); err != nil {
		c.unhold(nil, false)
		c.fail(m.ID, c.registryError(err))
		return
	}
	c.q.tagHeld(m.ID, func(e room.Event) bool {
		return e.Kind == room.FloorReleased && e.Member.ID == c.self && e.Reason == room.ReasonReleased
	})
	c.unhold(nil, false)
}

// relay passes a blob on, unread: names and hellos inside are encrypted by
// the clients. A blob has no reply unless it fails.
func (c *conn) relay(m *inMsg) {
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return
	}
	to := uuid.Nil // everyone else
	if m.has.has(fTo) {
		if m.To == uuid.Nil {
			c.fail(m.ID, c.registryError(room.ErrNoSuchMember))
			return
		}
		to = m.To
	}
	allow := func(n int) bool { return c.s.blobs.take(c.ipKey, len(m.Data), n) }
	if err := c.s.reg.RelayIf(c.roomID, c.self, to, []byte(m.Data), allow); err != nil {
		c.fail(m.ID, c.registryError(err))
	}
}

// mediaReady checks what every media message needs, and starts the member's
// media session on first use.
func (c *conn) mediaReady(m *inMsg) bool {
	if c.s.cfg.Media == nil {
		c.fail(m.ID, &protoError{codeMediaUnavailable, "this server has no media support"})
		return false
	}
	if !c.inRoom {
		c.fail(m.ID, notInRoom)
		return false
	}
	if !c.mediaUsed {
		ctx, cancel := context.WithCancel(context.Background())
		c.mediaMu.Lock()
		c.mediaCancel = cancel
		c.mediaMu.Unlock()
		if c.isClosing() {
			cancel() // shut ran before mediaCancel was set
		}
		c.mediaUsed, c.mediaCtx = true, ctx
	}
	return true
}

func (c *conn) offer(m *inMsg) {
	if !c.mediaReady(m) {
		return
	}
	// The role now, not at join: the operator may have changed it.
	role, err := c.s.reg.RoleOf(c.roomID, c.self)
	if err != nil {
		c.fail(m.ID, c.registryError(err))
		return
	}
	answer, err := c.s.cfg.Media.Offer(c.mediaCtx, c.roomID, room.Member{ID: c.self, Role: role}, m.SDP, c.candidateSender())
	if err != nil {
		c.fail(m.ID, c.mediaError(err, "the SDP offer was refused"))
		return
	}
	c.reply(answerMsg{Type: typeAnswer, ID: m.ID, SDP: answer})
}

func (c *conn) candidate(m *inMsg) {
	if !c.mediaReady(m) {
		return
	}
	if err := c.s.cfg.Media.Candidate(c.mediaCtx, c.roomID, c.self, m.Candidate); err != nil {
		c.fail(m.ID, c.mediaError(err, "the ICE candidate was refused"))
	}
}

// candidateSender returns the function the SFU calls with its own ICE
// candidates. It may be called from any goroutine; once the member leaves
// the room it does nothing.
func (c *conn) candidateSender() func(json.RawMessage) {
	gen := c.mediaGen.Load()
	return func(cand json.RawMessage) {
		if c.mediaGen.Load() != gen {
			return
		}
		// Checked here, in the SFU's goroutine: the writer must be able to
		// marshal it.
		if len(cand) == 0 || len(cand) > MaxCandidateBytes || cand[0] != '{' || !json.Valid(cand) {
			c.s.log.Error("media sent an ICE candidate that is not a small JSON object; dropped")
			return
		}
		c.reply(iceMsg{Type: typeIce, Candidate: slices.Clone(cand)})
	}
}

func (c *conn) mediaError(err error, refused string) *protoError {
	if errors.Is(err, ErrBadMedia) {
		return badMessage(refused)
	}
	// Media errors may hold addresses from SDP or ICE: never logged. A
	// cancelled call is no failure: the connection is closing, or its
	// member moved to another (sfu.Offer), and nobody reads the reply.
	if !errors.Is(err, context.Canceled) {
		c.s.log.Error("media failed")
	}
	return &protoError{codeInternal, "media failed on the server"}
}

var notInRoom = &protoError{codeNotInRoom, "this connection is not in a room; create or join one first"}

// registryError maps a room.Registry error to its wire code.
func (c *conn) registryError(err error) *protoError {
	switch {
	case errors.Is(err, room.ErrRoomExists):
		return &protoError{codeRoomExists, "a room with this id already exists"}
	case errors.Is(err, room.ErrNoSuchRoom):
		return &protoError{codeNoSuchRoom, "no room with this id"}
	case errors.Is(err, room.ErrBadAuth):
		return &protoError{codeBadAuth, "the room auth token is wrong"}
	case errors.Is(err, room.ErrRoomFull):
		return &protoError{codeRoomFull, "the room is full"}
	case errors.Is(err, room.ErrTooManyRooms):
		return &protoError{codeServerFull, "the server has too many rooms"}
	case errors.Is(err, room.ErrOwnerRooms):
		return &protoError{codeTooManyRooms, "your address is in too many rooms, counting those left by a dropped connection for a few seconds; leave one or retry in a minute"}
	case errors.Is(err, room.ErrNotMember):
		return notInRoom
	case errors.Is(err, room.ErrNoSuchMember):
		return &protoError{codeNoSuchMember, "no other member with this id in the room"}
	case errors.Is(err, room.ErrListenOnly):
		return &protoError{codeListenOnly, "listen-only members cannot take the floor"}
	case errors.Is(err, room.ErrNotHolder):
		return &protoError{codeNotHolder, "the floor is not yours to release"}
	case errors.Is(err, room.ErrRelayRefused):
		return &protoError{codeTooManyBlobs, "your address has sent more blob data than the server relays; wait a few seconds"}
	case errors.Is(err, room.ErrBadResume):
		return &protoError{codeBadResume, "this resume token is not (or no longer) valid; join again"}
	case errors.Is(err, room.ErrRemoved):
		return &protoError{codeRemoved, "you were removed from this room; you can join again once it has emptied"}
	}
	c.s.log.Error("unexpected registry error", "err", err) // registry errors carry no ids
	return &protoError{codeInternal, "internal server error"}
}
