package signal

import (
	"sync"

	"sotto/room"
)

// outMsg is one message waiting for a connection's writer. Every message is
// encoded to JSON by the writer: never under the registry's lock (a blob to
// 49 members would otherwise be encoded 49 times under it), and never on the
// reader, whose stack then stays small (see readLoop).
type outMsg struct {
	// ev, when ev.Kind != 0, is a room event.
	ev room.Event
	// id is echoed on the requester's own floor_granted / floor_released.
	id uint32
	// msg, otherwise, is a server message value (one of the *Msg types).
	msg any
	// pong, if set, is the payload of a pong frame to send instead.
	pong   []byte
	isPong bool
}

// sendQueue is a connection's bounded outbox, filled by the reader (replies),
// by other members' readers through room.Sink (events) and by the SFU (ICE
// candidates), and emptied by the writer.
//
// It is a slice under a mutex rather than a buffered channel: a channel of
// DefaultSendQueue outMsgs would cost every idle connection tens of KiB up
// front, while this slice is nil until something is queued. Pushing never blocks; a push past the
// bound fails and the caller drops the client.
type sendQueue struct {
	mu    sync.Mutex
	max   int
	items []outMsg
	// While holding, pushes go to held, where the writer cannot see them; see
	// hold.
	holding bool
	held    []outMsg
	closed  bool
	// ready wakes the writer; it has room for one wake-up, which is all a
	// writer that drains everything it finds needs.
	ready chan struct{}
}

func newSendQueue(max int) sendQueue {
	return sendQueue{max: max, ready: make(chan struct{}, 1)}
}

// push queues m. It reports false if the queue is full; a closed queue drops
// m and reports true (the connection is already going away).
func (q *sendQueue) push(m outMsg) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	if len(q.items)+len(q.held) >= q.max {
		return false
	}
	if q.holding {
		q.held = append(q.held, m)
		return true
	}
	q.items = append(q.items, m)
	q.wake()
	return true
}

func (q *sendQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// hold keeps the writer from seeing anything pushed until unhold. The reader
// holds around each registry call it makes so that it can put its reply in
// the right place among the events that call and other members cause: after
// a join, events can reach the new member before Join has even returned, and
// the client must see joined first.
func (q *sendQueue) hold() {
	q.mu.Lock()
	q.holding = true
	q.mu.Unlock()
}

// tagHeld sets id on the first held event own matches, the requester's copy
// of the event its request caused. It reports whether one matched.
func (q *sendQueue) tagHeld(id uint32, own func(room.Event) bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.held {
		if q.held[i].ev.Kind != 0 && own(q.held[i].ev) {
			q.held[i].id = id
			return true
		}
	}
	return false
}

// unhold ends a hold, queueing reply (if not nil) before the held messages,
// or after them if replyLast. It reports false if the queue overflowed.
func (q *sendQueue) unhold(reply any, replyLast bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	held := q.held
	q.holding, q.held = false, nil
	if q.closed {
		return true
	}
	if reply != nil && !replyLast {
		q.items = append(q.items, outMsg{msg: reply})
	}
	q.items = append(q.items, held...)
	if reply != nil && replyLast {
		q.items = append(q.items, outMsg{msg: reply})
	}
	if len(q.items) > 0 {
		q.wake()
	}
	return len(q.items) <= q.max
}

// take removes and returns everything queued.
func (q *sendQueue) take() []outMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	// A fresh slice each time rather than items[:0]: an idle connection then
	// keeps no buffer from its last burst.
	q.items = nil
	return items
}

// close drops everything queued and makes later pushes no-ops.
func (q *sendQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed, q.items, q.held = true, nil, nil
}
