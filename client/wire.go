package client

// The JSON messages of docs/protocol.md, as a client sees them.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// b64 is the protocol's only binary encoding: base64url without padding.
var b64 = base64.RawURLEncoding

// outMsg is every client-to-server message. Fields a type does not use stay
// empty and are left out: the server refuses unknown or extra keys.
type outMsg struct {
	Type      string          `json:"type"`
	ID        uint32          `json:"id,omitempty"`
	Room      string          `json:"room,omitempty"`
	Verifier  string          `json:"verifier,omitempty"`
	Auth      string          `json:"auth,omitempty"`
	Role      string          `json:"role,omitempty"`
	To        string          `json:"to,omitempty"`
	Data      string          `json:"data,omitempty"`
	SDP       string          `json:"sdp,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
	Token     string          `json:"token,omitempty"`
	Nameplate string          `json:"nameplate,omitempty"`
	Knock     string          `json:"knock,omitempty"`
	Items     []blobItem      `json:"items,omitempty"` // blobs
}

// blobItem is one item of a blobs message: data for one member.
type blobItem struct {
	To   string `json:"to"`
	Data string `json:"data"`
}

// inMsg is every server-to-client message, decoded loosely: clients ignore
// types and fields they do not know.
type inMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`

	// joined
	Self        string       `json:"self"`
	Nameplate   string       `json:"nameplate"`
	Members     []wireMember `json:"members"`
	Floor       *wireFloor   `json:"floor"`
	TalkLimitMS int64        `json:"talk_limit_ms"`

	// member_joined carries an object, the floor events and member_left a
	// member id: see memberID and joinedMember.
	Member json.RawMessage `json:"member"`
	Holder string          `json:"holder"` // floor_busy
	Reason string          `json:"reason"` // floor_released
	By     string          `json:"by"`     // floor_released, reason preempted

	From string `json:"from"` // blob
	Data string `json:"data"`

	SDP       string          `json:"sdp"`       // answer
	Candidate json.RawMessage `json:"candidate"` // ice

	Code    string `json:"code"` // error
	Message string `json:"message"`

	Knock  string `json:"knock"`  // knocking, knock, knock_data, knock_done
	Result string `json:"result"` // knock_done
}

type wireMember struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

type wireFloor struct {
	Holder     string `json:"holder"`
	DeadlineMS int64  `json:"deadline_ms"`
}

// memberID reads "member" as a plain member id (floor events, member_left).
func (m *inMsg) memberID() string {
	var s string
	_ = json.Unmarshal(m.Member, &s)
	return s
}

// joinedMember reads "member" as member_joined's {"id", "role"}.
func (m *inMsg) joinedMember() wireMember {
	var w wireMember
	_ = json.Unmarshal(m.Member, &w)
	return w
}

// Error is an error message from the server, or floor_busy (which answers a
// floor request without being an error on the wire). Compare with errors.Is
// against the sentinels below; Code is stable, Message is for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "sotto: " + e.Code
	}
	return "sotto: " + e.Code + ": " + e.Message
}

// Is matches any *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Server answers a client switches on.
var (
	ErrNoSuchRoom  = &Error{Code: "no_such_room"}
	ErrRoomExists  = &Error{Code: "room_exists"}
	ErrFloorBusy   = &Error{Code: "floor_busy"}
	ErrListenOnly  = &Error{Code: "listen_only"}
	ErrNotHolder   = &Error{Code: "not_holder"}
	ErrTryLater    = &Error{Code: "try_later"}
	ErrRemoved     = &Error{Code: "removed"}
	ErrNoSuchKnock = &Error{Code: "no_such_knock"}
	ErrBadAuth     = &Error{Code: "bad_auth"}
	// ErrRouteMismatch: the request named another room or nameplate than
	// the connection's URL (/ws?r=, ?np=) did.
	ErrRouteMismatch = &Error{Code: "route_mismatch"}
)

// ErrClosed is returned once the client or its connection is closed.
var ErrClosed = errors.New("client: closed")
