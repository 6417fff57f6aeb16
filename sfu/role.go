package sfu

import "github.com/google/uuid"

// SetRole changes a member's role while its media session runs: the
// operator made it listen-only (or a talker again). A listen-only member's
// packets are dropped from the next one on, whatever the floor says. A
// member with no media session yet gets its role with its first offer.
func (s *SFU) SetRole(roomID [16]byte, member uuid.UUID, role Role) {
	if role != Listen && !role.MayTalk() {
		return
	}
	if p := s.find(roomID, member); p != nil {
		p.room.setRole(p, role)
	}
}
