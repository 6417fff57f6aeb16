package signal

import (
	"errors"

	"sotto/room"
)

// Operator mode: when Config.Admit is set, create and join must carry an
// operator token (docs/tokens.md), checked before the registry is asked
// anything, so that a client without one learns nothing about which rooms
// exist.

// MaxTokenBytes bounds the token field. Real tokens are about 130 bytes.
const MaxTokenBytes = 512

// CloseRemoved is the close code of a member the operator removed.
const CloseRemoved = 4003

// Admission is a token that passed: who the embedding app says the client
// is, and the most it may do.
type Admission struct {
	User string    // the app's user id: never logged, never sent to others
	Role room.Role // the role the token grants
	// Undo, if not nil, returns the token to the unused state: called when
	// the create or join it was for fails (a join that finds no room, so
	// that the app's next step, a create, can present the same token).
	Undo func()
}

// AdmitFunc checks a token for a room. Its errors are wrapped sentinels
// below; anything else is the server's fault (internal).
type AdmitFunc func(token string, id room.ID) (Admission, error)

// Token errors an AdmitFunc returns, each with its own wire code.
var (
	ErrTokenMissing  = errors.New("signal: operator token missing")
	ErrTokenInvalid  = errors.New("signal: operator token invalid")  // malformed, forged or for another room
	ErrTokenExpired  = errors.New("signal: operator token expired")  // or valid for longer than allowed
	ErrTokenReplayed = errors.New("signal: operator token replayed") // already used
	ErrTokenBusy     = errors.New("signal: operator token store full")
)

// admit runs the operator check for a create or join, and returns the
// member's user id and role.
func (c *conn) admit(m *inMsg) (room.Role, Admission, *protoError) {
	if c.s.cfg.Admit == nil {
		if m.has.has(fToken) {
			return 0, Admission{}, badMessage(`this server does not use operator tokens; leave out "token"`)
		}
		if m.Role == room.RolePriority {
			// Only an operator token grants priority: in an open room
			// nobody could tell who may have it.
			return 0, Admission{}, &protoError{codeRoleNotAllowed, "priority comes only with a token from an app; this server has none"}
		}
		return m.Role, Admission{}, nil
	}
	if !m.has.has(fToken) {
		return 0, Admission{}, tokenError(ErrTokenMissing)
	}
	a, err := c.s.cfg.Admit(m.Token, m.Room)
	if err != nil {
		return 0, Admission{}, tokenError(err)
	}
	role := a.Role
	if m.has.has(fRole) {
		// A client may ask for less than its token allows, never for more.
		if rank(m.Role) > rank(a.Role) {
			if a.Undo != nil {
				a.Undo()
			}
			if a.Role == room.RoleListen {
				return 0, Admission{}, &protoError{codeRoleNotAllowed, "the token allows listening only"}
			}
			return 0, Admission{}, &protoError{codeRoleNotAllowed, "the token does not grant priority"}
		}
		role = m.Role
	}
	return role, a, nil
}

// rank orders roles by what they allow: listen, talk, priority.
func rank(r room.Role) int {
	switch r {
	case room.RoleListen:
		return 1
	case room.RoleTalk:
		return 2
	case room.RolePriority:
		return 3
	}
	return 0
}

func tokenError(err error) *protoError {
	switch {
	case errors.Is(err, ErrTokenMissing):
		return &protoError{codeTokenMissing, "this server admits only with a token from the app that sent you"}
	case errors.Is(err, ErrTokenInvalid):
		return &protoError{codeTokenInvalid, "the token is not valid for this room"}
	case errors.Is(err, ErrTokenExpired):
		return &protoError{codeTokenExpired, "the token has expired; ask the app for a new one"}
	case errors.Is(err, ErrTokenReplayed):
		return &protoError{codeTokenReplayed, "the token was already used; ask the app for a new one"}
	case errors.Is(err, ErrTokenBusy):
		return &protoError{codeTryLater, "the server is busy; retry in a few seconds"}
	}
	return &protoError{codeInternal, "internal server error"}
}
