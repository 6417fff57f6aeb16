package signal

// Forgetting a room at the load balancer (docs/cluster.md, "Forgetting a
// room"). In a cluster HAProxy keeps, for each room id a WebSocket named in
// its URL (/ws?r=), a stick entry naming the node it went to; a node tells
// HAProxy to forget the entry as soon as it has no use for it: when no room
// with that id lives here (members waiting for a resume count as living)
// and no open WebSocket named that id. Both events check it: the registry
// purging a room (Server.RoomGone, from room.Config.OnGone) and a
// connection closing. Both decide under the registry's lock, so neither
// can miss a room being created or purged beside it, and each forget is
// sent once.
//
// While a forget is outstanding (asked, not answered), a new WebSocket
// naming that id is refused with HTTP 503: HAProxy may have routed it here
// by the entry being cleared, and a room made here now would lose its entry
// a moment later. The client retries; the retry goes by the hash ring, or
// by the entry it re-creates.
//
// Nothing here logs or counts an id; the ids leave the process only through
// Config.Forget.

import (
	"sync"
	"time"

	"sotto/room"
)

// ForgetRetryAfter is the Retry-After of a WebSocket refused while its
// room's forget is outstanding. HAProxy answers a forget within a
// millisecond or two, and the forgetter gives up after a few seconds
// (internal/haproxy.CallTimeout); the clients' own backoff (300 ms, then
// 1 s, 2 s) mostly outlasts it already, so the hint is the smallest whole
// second.
const ForgetRetryAfter = time.Second

// lbForgets counts, per room id, the open WebSockets whose URL named it,
// and the forgets asked and not yet answered. A nil *lbForgets (no
// Config.Forget) counts nothing and forgets nothing.
type lbForgets struct {
	forget func(id room.ID, done func())

	mu sync.Mutex
	// Both are keyed by string(id[:]), as the registry's rooms are, so a
	// deleted key leaves no id behind in the map's memory.
	open       map[string]int
	forgetting map[string]struct{}
}

func newLBForgets(forget func(id room.ID, done func())) *lbForgets {
	if forget == nil {
		return nil
	}
	return &lbForgets{forget: forget, open: make(map[string]int), forgetting: make(map[string]struct{})}
}

// acquire counts a WebSocket whose URL named rt, before it is upgraded. It
// reports false, counting nothing, when the room's forget is outstanding:
// the request is to be refused.
func (f *lbForgets) acquire(rt route) bool {
	if f == nil || !rt.hasRoom {
		return true
	}
	k := string(rt.room[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.forgetting[k]; busy {
		return false
	}
	f.open[k]++
	return true
}

// release uncounts a WebSocket acquire counted, once it has left its room
// (or never got that far); if it was the last to name a room that does not
// live, the room is forgotten.
func (f *lbForgets) release(reg *room.Registry, rt route) {
	if f == nil || !rt.hasRoom {
		return
	}
	id := rt.room
	reg.WithRoom(id, func(live bool) {
		k := string(id[:])
		f.mu.Lock()
		f.open[k]--
		last := f.open[k] <= 0
		if last {
			delete(f.open, k)
		}
		start := last && !live && f.begin(k)
		f.mu.Unlock()
		if start {
			f.send(id)
		}
	})
}

// roomGone runs under the registry's lock when it purges a room: with no
// WebSocket naming it, the room is forgotten now.
func (f *lbForgets) roomGone(id room.ID) {
	if f == nil {
		return
	}
	k := string(id[:])
	f.mu.Lock()
	start := f.open[k] == 0 && f.begin(k)
	f.mu.Unlock()
	if start {
		f.send(id)
	}
}

// begin marks a forget of k outstanding, unless one is already. Caller
// holds f.mu.
func (f *lbForgets) begin(k string) bool {
	if _, busy := f.forgetting[k]; busy {
		return false
	}
	f.forgetting[k] = struct{}{}
	return true
}

// send asks for the forget, outside f.mu: Config.Forget may call done at
// once (a full queue), and done takes f.mu.
func (f *lbForgets) send(id room.ID) {
	f.forget(id, func() {
		f.mu.Lock()
		delete(f.forgetting, string(id[:]))
		f.mu.Unlock()
	})
}
