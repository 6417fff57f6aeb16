package signal

import (
	"testing"

	"github.com/gorilla/websocket"

	"sotto/room"
)

// unlimited lifts the per-connection rate limit, which would otherwise be the
// thing measured, and the send queue bound: the room's owner gets two events
// per op, thousands a second, and on a loaded machine its writer can lag
// hundreds behind (no real room produces events at that rate).
var unlimited = Config{MessageRate: 1e9, MessageBurst: 1e9, SendQueue: 1 << 20}

// BenchmarkJoinLeave is one join and one leave over a real WebSocket, each
// waiting for its answer, into a room another member keeps alive.
func BenchmarkJoinLeave(b *testing.B) {
	ts := startServer(b, unlimited, room.Config{})
	s := newSecrets()
	owner := ts.dial(b)
	owner.create(s, 1)
	go func() { // member_joined and member_left, one each per op
		for {
			if _, _, err := owner.ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	c := ts.dial(b)
	join := []byte(`{"type":"join","room":"` + s.room + `","auth":"` + s.auth + `"}`)
	leave := []byte(`{"type":"leave"}`)
	for b.Loop() {
		joinLeave(b, c, join, leave)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joins/s")
}

// BenchmarkJoinLeaveParallel runs join+leave on GOMAXPROCS connections at
// once, each in its own room, all through the one registry.
func BenchmarkJoinLeaveParallel(b *testing.B) {
	ts := startServer(b, unlimited, room.Config{})
	b.RunParallel(func(pb *testing.PB) {
		s := newSecrets()
		owner := ts.dial(b)
		owner.create(s, 1)
		go func() {
			for {
				if _, _, err := owner.ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		c := ts.dial(b)
		join := []byte(`{"type":"join","room":"` + s.room + `","auth":"` + s.auth + `"}`)
		leave := []byte(`{"type":"leave"}`)
		for pb.Next() {
			joinLeave(b, c, join, leave)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joins/s")
}

func joinLeave(b *testing.B, c *client, join, leave []byte) {
	if err := c.ws.WriteMessage(websocket.TextMessage, join); err != nil {
		b.Fatal(err)
	}
	if m, err := c.tryRead(5e9); err != nil || m.Type != typeJoined {
		b.Fatalf("join: %+v %v", m, err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, leave); err != nil {
		b.Fatal(err)
	}
	if m, err := c.tryRead(5e9); err != nil || m.Type != typeLeft {
		b.Fatalf("leave: %+v %v", m, err)
	}
}
