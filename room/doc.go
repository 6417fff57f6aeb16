// Package room is Sotto's in-memory room registry and floor control.
//
// It does no I/O: no network, no disk, no logging. Everything a room is lives in
// the Registry's maps, and the moment a room's last member leaves, the room, its
// nameplate and its verifier are deleted from those maps. The signaling layer
// calls the Registry and is told about changes through each member's Sink.
//
// One idea per file, each with its tests beside it:
//   - registry.go: the Registry, its limits, and a room's creation and purge
//   - member.go: members and their roles, joining and leaving
//   - relay.go: the opaque messages members send each other
//   - floor.go: who may talk, the talk-time cap, and whose turn is next
//   - resume.go: a dropped connection, its grace, and the resume
//   - knock.go: nameplates, and knocks (joining by code)
//   - operator.go: the operator removing users, changing roles, listing rooms
//   - event.go: what members are told
package room
