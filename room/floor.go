package room

// The floor: who may talk. One talker at a time, first come first served,
// released by the holder, by the talk-time cap, or by the holder leaving,
// detaching or being made listen-only; when it comes free it is kept a
// moment for the member who asked first while it was held (FloorTurnReserve).
// The one exception to first come: a priority member's request takes the
// floor from a holder who is not priority (preempt), and passes a turn kept
// for a member who is not priority.

import (
	"time"

	"github.com/google/uuid"
)

const (
	// DefaultTalkTimeLimit is the default talk-time cap (Config.TalkTimeLimit),
	// documented in README.md and as a flag in main.go.
	DefaultTalkTimeLimit = 60 * time.Second

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

// Floor describes who may talk. Holder is uuid.Nil when the floor is free.
type Floor struct {
	Holder   uuid.UUID
	Deadline time.Time // when the talk-time cap releases it
}

// RequestFloor grants the floor if it is free (first come, first served),
// except that for FloorTurnReserve after it comes free it is kept for the
// member refused first during the turn that ended. It returns the floor as
// it is after the request: if Holder is not mid, the floor is busy (Holder
// is then whoever holds it, or whom it is kept for). A holder asking again
// keeps the floor and its deadline.
//
// A priority member (RolePriority) is refused only by another priority
// member: its request takes the floor from a holder who is not priority
// (preempt), and passes a turn kept for a member who is not priority (that
// member then waits for the turn after the priority member's).
func (r *Registry) RequestFloor(id ID, mid uuid.UUID) (Floor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rm, m, err := r.find(id, mid)
	if err != nil {
		return Floor{}, err
	}
	if !m.Role.MayTalk() {
		return Floor{}, ErrListenOnly
	}
	if h := rm.floor.Holder; h != uuid.Nil {
		if h == mid {
			return rm.floor, nil
		}
		if holder := rm.members[h]; outranks(m, holder) {
			r.preempt(rm, holder, m)
			return rm.floor, nil
		}
		if rm.waiter == uuid.Nil {
			rm.waiter = mid
		}
		return rm.floor, nil
	}
	next := uuid.Nil // who waits for the turn after this one
	if rm.turn != uuid.Nil && rm.turn != mid && r.cfg.Now().Before(rm.turnUntil) {
		if !outranks(m, rm.members[rm.turn]) {
			return Floor{Holder: rm.turn}, nil
		}
		next = rm.turn
	}
	r.grant(rm, m, next)
	return rm.floor, nil
}

// outranks reports whether m's request takes the floor from (or a kept turn
// away from) other: m is priority and other is not. Priority members among
// themselves are first come, first served.
func outranks(m, other *member) bool {
	return m.Role == RolePriority && (other == nil || other.Role != RolePriority)
}

// preempt ends holder's turn for p, a priority member, and grants p the
// floor. Everyone gets FloorReleased (ReasonPreempted, By p) then
// FloorGranted; the media layer is told once, so it switches straight from
// holder to p. The member refused first during the ended turn, or else the
// interrupted holder (cut off mid-sentence, it most likely wants to finish),
// waits for the turn after p's (FloorTurnReserve). Caller holds r.mu.
func (r *Registry) preempt(rm *liveRoom, holder, p *member) {
	r.stopTimer(rm)
	rm.floor = Floor{}
	next := rm.waiter
	if next == uuid.Nil || next == p.ID {
		next = holder.ID
	}
	rm.broadcast(uuid.Nil, Event{Kind: FloorReleased, Member: holder.Member, Reason: ReasonPreempted, By: p.ID})
	r.grant(rm, p, next)
}

// grant gives m the free floor, until the talk-time cap, with next (or
// nobody: uuid.Nil) waiting for the turn after it. Caller holds r.mu.
func (r *Registry) grant(rm *liveRoom, m *member, next uuid.UUID) {
	rm.waiter, rm.turn = next, uuid.Nil
	rm.floorGrant++
	grant, id := rm.floorGrant, rm.id
	rm.floor = Floor{Holder: m.ID, Deadline: r.cfg.Now().Add(r.cfg.TalkTimeLimit)}
	rm.floorTimer = r.cfg.AfterFunc(r.cfg.TalkTimeLimit, func() { r.expire(id, grant) })
	r.floorChanged(rm)
	rm.broadcast(uuid.Nil, Event{Kind: FloorGranted, Member: m.Member, Deadline: rm.floor.Deadline})
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
	r.stopTimer(rm)
	rm.floor = Floor{}
	// The first member refused during this turn has the next (see
	// FloorTurnReserve), if it can still take it.
	if w := rm.members[rm.waiter]; w != nil && !w.detached && w.Role.MayTalk() {
		rm.turn, rm.turnUntil = w.ID, r.cfg.Now().Add(FloorTurnReserve)
	}
	rm.waiter = uuid.Nil
	r.floorChanged(rm)
	rm.broadcast(uuid.Nil, Event{Kind: FloorReleased, Member: holder, Reason: why})
}

// stopTimer stops the talk-time cap of the turn that is ending. Caller
// holds r.mu.
func (r *Registry) stopTimer(rm *liveRoom) {
	if rm.floorTimer != nil {
		rm.floorTimer.Stop()
		rm.floorTimer = nil
	}
}

// floorChanged tells the media layer (Config.OnFloor) who holds the floor now.
// Caller holds r.mu.
func (r *Registry) floorChanged(rm *liveRoom) {
	if r.cfg.OnFloor != nil {
		r.cfg.OnFloor(rm.id, rm.floor.Holder)
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
