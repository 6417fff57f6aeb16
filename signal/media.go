package signal

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"sotto/room"
)

// Media is the SFU as signaling sees it: it turns a member's SDP offer into an
// answer and trades ICE candidates. Signaling checks that the member is in the
// room and that the SDP and candidates are within MaxSDPBytes and
// MaxCandidateBytes; it never parses them. With Config.Media nil, offer and ice
// messages are answered with media_unavailable.
//
// Offer and Candidate run on the member's reader goroutine: while one runs,
// that member's other messages wait (other members are not affected), and the
// goroutine's stack grows to whatever the call needs, for as long as the
// connection lives. ctx is cancelled when the member leaves its room or the
// connection starts to close.
type Media interface {
	// Offer answers a member's SDP offer. member carries the role, so that
	// the SFU can refuse to forward a listen-only member whatever else
	// happens. sendCandidate passes the server's
	// own ICE candidates (JSON objects, e.g. RTCIceCandidateInit, at most
	// MaxCandidateBytes) to the member; it never blocks, may be called from
	// any goroutine, and does nothing once Leave has been called.
	Offer(ctx context.Context, roomID room.ID, member room.Member, sdp string, sendCandidate func(candidate json.RawMessage)) (answer string, err error)
	// Candidate adds one of the member's ICE candidates (a JSON object).
	Candidate(ctx context.Context, roomID room.ID, member uuid.UUID, candidate json.RawMessage) error
	// Leave ends the member's media session. It is called once, after the
	// member has left the room (or disconnected), if it ever sent an offer or
	// a candidate. It must not block for long.
	Leave(roomID room.ID, member uuid.UUID)
}

// FloorHolding is what a Media that holds a talker's packets until its
// floor is granted (the optimistic floor, docs/protocol.md) does besides:
// signaling advertises FloorHoldMS in joined as floor_hold_ms, and tells it
// of every floor_request it refuses, before the client hears so, so that
// the packets of that press reach no one.
type FloorHolding interface {
	// FloorHoldMS is how long before its grant a talker's packet may
	// arrive and still be forwarded; 0: none are held.
	FloorHoldMS() int64
	FloorRefused(roomID room.ID, member uuid.UUID)
}

// ErrBadMedia is what a Media returns (wrapped or not) when the client's SDP or
// candidate is unusable; the client gets bad_message. Any other error is the
// server's fault: the client gets internal.
var ErrBadMedia = errors.New("signal: unusable SDP or ICE candidate")
