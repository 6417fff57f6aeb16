package client

// The floor: first come, first served, tracked from joined.floor,
// floor_granted and floor_released only (docs/protocol.md). While the client
// holds it, it sends frames (talk.go). A priority member taking the floor
// from it (floor_released, reason preempted) stops its frames at once like
// any release; the browser also tells its user why (talkturn.js preempted).
//
// The browser's twin is static/js/talkturn.js (the talk turn as a pure state
// machine: holder, holding, request and release there too); change one, look
// at the other. The browser opens its mic with the request where the server
// holds packets until the grant (joined.floor_hold_ms, the optimistic floor);
// this member stays grant-first: it sends only while Holding, so it ignores
// floor_hold_ms, which a server must allow (docs/protocol.md).

import "context"

// RequestFloor asks for the floor. It returns nil once the floor is granted
// (the client then sends until it releases it or loses it), ErrFloorBusy if
// another member holds it, ErrListenOnly for a listen-only member.
func (c *Client) RequestFloor(ctx context.Context) error {
	_, err := c.sig.call(ctx, outMsg{Type: "floor_request"})
	return err
}

// ReleaseFloor gives the floor back; sending stops when the server confirms.
func (c *Client) ReleaseFloor(ctx context.Context) error {
	_, err := c.sig.call(ctx, outMsg{Type: "floor_release"})
	return err
}

// FloorHolder returns the member id of the floor holder, "" if nobody.
func (c *Client) FloorHolder() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holder
}

// Holding reports whether this client holds the floor.
func (c *Client) Holding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holder != "" && c.holder == c.self
}

// ForceSend makes the client send frames whether or not it holds the floor,
// as a broken or hostile client would: the server must drop them. Off, it
// sends only while it holds the floor.
func (c *Client) ForceSend(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forced = on
	c.updateTalkLocked()
}

// floorEvent applies floor_granted or floor_released.
func (c *Client) floorEvent(typ, who string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case typ == "floor_granted":
		c.holder = who
	case c.holder == who:
		c.holder = ""
	}
	c.updateTalkLocked()
}
