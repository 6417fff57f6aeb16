package client

// Entering and leaving the room, and the room's events as they arrive.

import (
	"context"
	"errors"
	"fmt"
)

// Join joins the room of the client's secret; if the server has no such
// room, it creates it from the same secret, as the app does (and joins after
// all if another member created it in the meantime). Its sealed hello (sid
// and public key) goes out as the server's joined arrives; then it
// negotiates media and returns once the server's answer is applied.
// WaitConnected waits for the media path.
func (c *Client) Join(ctx context.Context) error {
	err := c.enterRoom(ctx, "join")
	if errors.Is(err, ErrNoSuchRoom) {
		err = c.enterRoom(ctx, "create")
		if errors.Is(err, ErrRoomExists) {
			err = c.enterRoom(ctx, "join")
		}
	}
	if err != nil {
		c.setGone()
		return err
	}
	return c.afterEnter(ctx)
}

// Create creates the room (room_exists if it is live), then does what Join
// does after entering.
func (c *Client) Create(ctx context.Context) error {
	if err := c.enterRoom(ctx, "create"); err != nil {
		c.setGone()
		return err
	}
	return c.afterEnter(ctx)
}

// enterRoom sends create or join. The joined reply is handled on the reader
// goroutine (handle), before any room event that follows it.
func (c *Client) enterRoom(ctx context.Context, typ string) error {
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	if state != outside {
		return fmt.Errorf("client: %s: %w", typ, ErrClosed)
	}
	m := outMsg{Type: typ, Room: b64.EncodeToString(c.keys.RoomID[:])}
	if typ == "create" {
		m.Verifier = b64.EncodeToString(c.keys.Verifier[:])
	} else {
		m.Auth = b64.EncodeToString(c.keys.RoomAuth[:])
	}
	if c.cfg.Listen {
		m.Role = "listen"
	}
	m.Token = c.cfg.Token
	_, err := c.sig.call(ctx, m)
	return err
}

func (c *Client) afterEnter(ctx context.Context) error {
	if c.cfg.NoMedia {
		return nil
	}
	if err := c.startMedia(ctx); err != nil {
		return fmt.Errorf("client: media: %w", err)
	}
	return nil
}

// Leave closes the PeerConnection and leaves the room, and erases the
// membership's keys (our pair, our sender keys, every member's epochs).
// The client can then only be closed.
//
// The PeerConnection goes first, so that nothing of ours is still on its
// way to the server when the leave makes it close its end.
func (c *Client) Leave(ctx context.Context) error {
	c.mu.Lock()
	if c.state != inside {
		c.mu.Unlock()
		return fmt.Errorf("client: leave: %w", ErrClosed)
	}
	c.forced = false
	c.stopTalkLocked()
	pc := c.pc
	c.mu.Unlock()
	if pc != nil {
		_ = pc.GracefulClose()
	}
	_, err := c.sig.call(ctx, outMsg{Type: "leave"})
	c.setGone()
	return err
}

func (c *Client) setGone() {
	c.mu.Lock()
	c.state = gone
	c.stopTalkLocked()
	c.eraseKeysLocked()
	c.mu.Unlock()
}

// handle runs on the signaling reader goroutine for every server message,
// in the order the server sent them.
func (c *Client) handle(m *inMsg) {
	defer c.flushEvents() // what the key code queued (hello, key, rotate)
	ev := Event{Type: m.Type}
	switch m.Type {
	case "joined":
		c.mu.Lock()
		c.state, c.self, c.nameplate = inside, m.Self, m.Nameplate
		for _, w := range m.Members {
			if w.ID != m.Self {
				c.members[w.ID] = &member{role: w.Role} // there before us: they get our first key
			}
		}
		if m.Floor != nil {
			c.holder = m.Floor.Holder
		}
		c.k.sched.begin()
		c.mu.Unlock()
		// The hello goes out here, on the reader, so that it is queued
		// before any key blob we send in answer to a member's hello.
		_ = c.sendHello("")
		return
	case "member_joined":
		w := m.joinedMember()
		ev.Member = w.ID
		c.mu.Lock()
		c.members[w.ID] = &member{role: w.Role, later: true}
		c.mu.Unlock()
		// Tell the newcomer our sid and public key; it cannot have seen our
		// first hello. Its own hello makes us rotate (openHello).
		_ = c.sendHello(w.ID)
	case "member_role":
		w := m.joinedMember()
		ev.Member, ev.Role = w.ID, w.Role
		c.mu.Lock()
		if mem := c.members[w.ID]; mem != nil {
			mem.role = w.Role
		}
		c.mu.Unlock()
	case "removed":
		// The server closes the connection next; the client is done.
		ev.Reason = m.Reason
		c.setGone()
	case "member_back":
		// A member resumed on a new connection: it needs our hello and
		// our current key again, never a new one (docs/keys.md).
		ev.Member = m.memberID()
		_ = c.sendHello(ev.Member)
		c.mu.Lock()
		if mem := c.members[ev.Member]; mem != nil && mem.hasHello {
			c.sendOwnKeysLocked(mem.sid)
		}
		c.mu.Unlock()
	case "member_left":
		// Its epochs are erased at once, and we move to a key it never got.
		ev.Member = m.memberID()
		c.mu.Lock()
		c.queueEventLocked(ev) // before the rotation's
		if mem := c.members[ev.Member]; mem != nil {
			if mem.hasHello {
				c.k.ring.RemoveMember(mem.sid)
			}
			delete(c.members, ev.Member)
			c.k.sched.trigger(rotateLeave)
		}
		c.mu.Unlock()
		return
	case "blob":
		var ok bool
		if ev, ok = c.openBlob(m); !ok {
			return
		}
	case "floor_granted", "floor_released":
		ev.Member, ev.Reason, ev.By = m.memberID(), m.Reason, m.By
		c.floorEvent(m.Type, ev.Member)
	case "floor_busy":
		ev.Member = m.Holder
	case "ice":
		c.remoteCandidate(m.Candidate)
		return
	case "knock", "knock_data", "knock_done":
		c.answerKnock(m)
		return
	case "knock_failed":
	case "nameplate":
		c.mu.Lock()
		c.nameplate = m.Nameplate
		c.mu.Unlock()
	case "error":
		if m.ID != 0 {
			return // the request's caller gets it
		}
		ev.Code = m.Code
		c.mu.Lock()
		c.strayErrors++
		c.mu.Unlock()
	default: // left, answer, pong: replies only; unknown types are ignored
		return
	}
	c.mu.Lock()
	c.queueEventLocked(ev)
	c.mu.Unlock()
}
