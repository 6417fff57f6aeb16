package signal

// The optimistic floor (issue 17, docs/protocol.md): a Media that holds a
// talker's first packets until its grant (FloorHolding) lets clients open
// the microphone on press; signaling advertises it in joined and tells it
// of refused requests.

import "sotto/room"

// floorHolding returns the Media's FloorHolding, or nil if it holds nothing.
func (s *Server) floorHolding() FloorHolding {
	if h, ok := s.cfg.Media.(FloorHolding); ok && h.FloorHoldMS() > 0 {
		return h
	}
	return nil
}

// withFloorHold is a joined reply that advertises the hold, if any.
func (s *Server) withFloorHold(m joinedMsg) joinedMsg {
	if h := s.floorHolding(); h != nil {
		m.FloorHoldMS = h.FloorHoldMS()
	}
	return m
}

// floorRefused tells the Media that the member's floor_request is refused,
// before the member hears so: the press's packets must reach no one.
func (s *Server) floorRefused(id room.ID, c *conn) {
	if h := s.floorHolding(); h != nil {
		h.FloorRefused(id, c.self)
	}
}
