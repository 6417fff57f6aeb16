package signal

// Routing keys (docs/protocol.md, "Routing key"; docs/cluster.md). In a
// cluster, HAProxy picks a node for a WebSocket by its URL: /ws?r=<room id>
// by a consistent hash of the room id, /ws?np=<nameplate> by the nameplate's
// prefix. The key is what the client will name in its first message anyway
// (create, join and resume carry the room id, knock the nameplate), so the
// server learns nothing new. But the URL is only a claim: a client that
// named one room in the URL and another in its join would put that room on a
// node of its choosing, and a room on two nodes is two rooms. So a
// connection is bound to the key its URL named, and a message that names
// anything else is refused with route_mismatch, before anything is looked up.
//
// The value is checked as the proxy sees it, undecoded: HAProxy hashes the
// raw characters, so a value written with percent escapes (which decode to
// the same id) would hash elsewhere, and 2^22 spellings of one room id are
// enough to pick any node. Only the canonical spelling is accepted.

import (
	"net/http"
	"strings"

	"sotto/internal/b64url"
	"sotto/room"
)

// Routing key query parameters.
const (
	RouteRoomParam      = "r"
	RouteNameplateParam = "np"
)

// route is what a connection's URL named: nothing (a single node, or an old
// client), a room, or a nameplate.
type route struct {
	hasRoom   bool
	room      room.ID
	nameplate string // "" unless the URL named one
}

// named reports whether the URL named anything.
func (r route) named() bool { return r.hasRoom || r.nameplate != "" }

// allowsRoom reports whether a create, join or resume for id may run on
// this connection: its URL named id, or nothing.
func (r route) allowsRoom(id room.ID) bool {
	return !r.named() || (r.hasRoom && r.room == id)
}

// allowsKnock reports whether a knock at nameplate may run on this
// connection: its URL named that nameplate, or nothing.
func (r route) allowsKnock(nameplate string) bool {
	return !r.named() || r.nameplate == nameplate
}

var routeMismatch = &protoError{codeRouteMismatch,
	"this connection's URL named another room or code; open a new connection naming this one"}

// parseRoute reads the routing key from a raw query string. It reports
// false when r or np is present but not exactly one canonical value: an id
// of 16 bytes in unpadded base64url, a nameplate of digits, each at most
// once, and not both. Other parameters are ignored, as they always were.
func parseRoute(rawQuery string) (route, bool) {
	var rt route
	seen := 0
	for part := range strings.SplitSeq(rawQuery, "&") {
		key, value, _ := strings.Cut(part, "=")
		switch key {
		case RouteRoomParam:
			if rt.hasRoom || !b64url.DecodeFixed(rt.room[:], value) {
				return route{}, false
			}
			rt.hasRoom = true
		case RouteNameplateParam:
			if rt.nameplate != "" || !validNameplate(value) {
				return route{}, false
			}
			rt.nameplate = value
		default:
			continue
		}
		seen++
	}
	return rt, seen <= 1
}

// validNameplate is the knock message's rule for a nameplate.
func validNameplate(s string) bool {
	return len(s) >= room.MinNameplateDigits && len(s) <= room.MaxNameplateDigits && allDigits(s)
}

// routeOf returns the routing key of a WebSocket request, and false (the
// request is to be refused) when it is malformed, or when it is missing and
// Config.RequireRoute says a key is needed.
func (s *Server) routeOf(r *http.Request) (route, bool) {
	rt, ok := parseRoute(r.URL.RawQuery)
	if ok && s.cfg.RequireRoute && !rt.named() {
		return route{}, false
	}
	return rt, ok
}
